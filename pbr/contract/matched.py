"""A matched comparison group in a contract run: the match, and the cohort cut to it.

:func:`run_match` runs :func:`pbr.match` on the cohort file's columns inside the run;
:func:`matched_frame` cuts the measured frame to the matched units with their group and
match weight (the treated are the cohort, the matched controls the comparison group),
after checking that every matched unit is in the cohort given, that each was measured
from the index date the match gives it (``MatchSpec.pseudo_index``) and that no pair or
stratum crosses cohort labels.  Rules: docs/methodology/payments.md, "The chain:
measure -> compare -> pay"; docs/methodology/matching.md.
"""

from __future__ import annotations

import polars as pl

from pbr.contract.spec import Contract
from pbr.errors import ContractError, PbrError
from pbr.matching.match import match as _match
from pbr.matching.result import MatchResult
from pbr.matching.spec import MatchSpec
from pbr.measures import MEASURE_COLUMNS

__all__ = ["GROUP", "WEIGHT", "matched_frame", "run_match"]

#: the columns the run adds to the measured frame for a matched comparison group
GROUP, WEIGHT = "matched_group", "match_weight"


def run_match(spec: MatchSpec, frame: pl.DataFrame, where: str) -> MatchResult:
    """``pbr.match`` on the cohort file's columns (the measured frame without the
    measure's outputs), in cohort order."""
    if spec.pseudo_index != "own":
        raise ContractError(f"{where}: pseudo_index = {spec.pseudo_index!r} measures the "
                            "comparison units from other dates than the cohort file's own "
                            "index_date, but a match run inside the run comes after the "
                            "measure step. Fix: run pbr.match first and give its "
                            "MatchResult as comparator= with match.cohort() (its pseudo "
                            "index dates, the cohort column joined) as the cohort, or use "
                            "pseudo_index = \"own\"")
    data = frame.drop([c for c in MEASURE_COLUMNS if c in frame.columns])
    try:
        return _match(data, spec=spec)
    except PbrError as exc:
        raise ContractError(f"{where}: pbr.match on the cohort file: {exc}") from None


def matched_frame(m: MatchResult, contract: Contract, frame: pl.DataFrame, where: str
                  ) -> tuple[pl.DataFrame, list[str]]:
    """The measured frame cut to the matched units, with their group and weight."""
    s, by = m.spec, contract.cohort_column
    for name in (GROUP, WEIGHT):
        if name in frame.columns:
            raise ContractError(f"{where}: the cohort file already has a column {name!r}, "
                                "which the run adds for the matched groups; rename it")
    units = m.frame.select(pl.col(s.id).alias("offender_id"),
                           pl.col(s.treatment).cast(pl.Boolean).alias(GROUP),
                           pl.col("weight").cast(pl.Float64).alias(WEIGHT))
    if units["offender_id"].dtype != frame["offender_id"].dtype:
        raise ContractError(f"{where}: the match's ids (column {s.id!r}, "
                            f"{units['offender_id'].dtype}) are not of the cohort's "
                            f"offender_id type ({frame['offender_id'].dtype}), so no offender "
                            "would join; match on the cohort's offender_id")
    used = units.filter(pl.col(WEIGHT) > 0)
    absent = used.join(frame.select("offender_id"), on="offender_id", how="anti")
    if absent.height:
        raise ContractError(f"{where}: {absent.height:,} matched unit(s) (e.g. id "
                            f"{absent['offender_id'][0]!r}) are not in the cohort given; the "
                            "cohort and events must cover the treated and the matched "
                            "controls, e.g. match.cohort() with the cohort column joined")
    joined = frame.join(units, on="offender_id", how="left", maintain_order="left")
    if s.treatment in frame.columns and s.treatment != GROUP:
        own = pl.col(s.treatment).cast(pl.Boolean)
        clash = joined.filter(pl.col(GROUP).is_not_null() & (own != pl.col(GROUP)))
        if clash.height:
            raise ContractError(f"{where}: the cohort file's {s.treatment!r} disagrees with "
                                f"the match's treatment for {clash.height:,} offender(s) "
                                f"(e.g. offender_id {clash['offender_id'][0]!r}); match on "
                                "this cohort file")
    kept = joined.filter(pl.col(WEIGHT) > 0)
    notes = []
    out = joined.filter(pl.col(WEIGHT).is_null() | (pl.col(WEIGHT) == 0))
    if out.height:
        t = int(out.filter(pl.col(GROUP).fill_null(False)).height)
        c = int(out.filter(~pl.col(GROUP).fill_null(True)).height)
        notes.append(f"matched comparator ({m.spec.name}): {out.height:,} offender(s) of the "
                     f"cohort given are left out of the comparison, not in the matched group "
                     f"({t:,} treated and {c:,} comparison units unmatched or discarded, "
                     f"{out.height - t - c:,} not in the match)")
    _same_dates(m, kept, where)
    _same_cohort(m, kept, by, where)
    labels = kept.group_by(by).agg(pl.col(GROUP).any().alias("t"),
                                   (~pl.col(GROUP)).any().alias("c")).sort(by)
    lonely = labels.filter(pl.col("t") & ~pl.col("c"))[by].to_list()
    if lonely:
        raise ContractError(f"{where}: cohort(s) {lonely} have matched treated offenders but "
                            "no matched control, so there is nothing to compare them with; "
                            "check the match (caliper, exact strata)")
    return kept, notes


def _same_dates(m: MatchResult, kept: pl.DataFrame, where: str) -> None:
    """Each matched unit was measured from the index date the match gives it (its own,
    or a comparison unit's pseudo index date, ``MatchSpec.pseudo_index``)."""
    try:
        dates = m.pseudo_index_dates()
    except PbrError:   # the match does not know its units' dates: nothing to hold them to
        return
    rule = dates.select(pl.col(m.spec.id).alias("offender_id"),
                        pl.col("index_date").cast(pl.Date).alias("_rule"), "source")
    got = kept.select("offender_id", pl.col("index_date").cast(pl.Date)).join(
        rule, on="offender_id")
    bad = got.filter(pl.col("index_date") != pl.col("_rule"))
    if bad.height:
        r = bad.row(0, named=True)
        raise ContractError(
            f"{where}: {bad.height:,} matched unit(s) were measured from another index date "
            f"than the match gives them (pseudo_index = {m.spec.pseudo_index!r}; e.g. "
            f"offender_id {r['offender_id']!r}: the cohort's {r['index_date']}, the match's "
            f"{r['_rule']} from its {r['source']}). Fix: measure on match.cohort() (with the "
            "cohort column joined) as the cohort")


def _same_cohort(m: MatchResult, kept: pl.DataFrame, by: str, where: str) -> None:
    """Every pair (or stratum) lies within one cohort label: a control matched to another
    cohort's treated offender would be counted in its own cohort's comparison group."""
    label = kept.select("offender_id", pl.col(by).cast(pl.String))
    if m.pairs.height:
        dtype = kept["offender_id"].dtype
        p = (m.pairs.select(pl.col("treated_id").cast(dtype).alias("offender_id"),
                            pl.col("control_id").cast(dtype).alias("control"))
             .join(label, on="offender_id").rename({by: "t_label"})
             .join(label.rename({"offender_id": "control"}), on="control"))
        bad = p.filter(pl.col("t_label") != pl.col(by))
        if bad.height:
            r = bad.row(0, named=True)
            raise ContractError(
                f"{where}: {bad.height:,} pair(s) cross cohorts (e.g. treated "
                f"{r['offender_id']!r} in {r['t_label']!r} with control {r['control']!r} in "
                f"{r[by]!r}), and each cohort is compared with its own rows. Fix: match "
                f"within cohorts: exact = [{by!r}] (MatchSpec.exact)")
        return
    strata = (m.frame.select(pl.col(m.spec.id).alias("offender_id"), "subclass")
              .join(label, on="offender_id").filter(pl.col("subclass").is_not_null())
              .group_by("subclass").agg(pl.col(by).n_unique().alias("k"))
              .filter(pl.col("k") > 1))
    if strata.height:
        raise ContractError(f"{where}: {strata.height:,} stratum/strata hold more than one "
                            f"cohort, and each cohort is compared with its own rows. Fix: "
                            f"add {by!r} to the covariates of the exact or CEM match")
