"""MatchResult: the matched comparison group with its pairs, weights and provenance."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from pbr._memo import Memo, memoised
from pbr.data import Exclusions
from pbr.errors import SchemaError, SpecError
from pbr.matching.propensity import PropensityModel
from pbr.matching.spec import MatchSpec

if TYPE_CHECKING:
    from pbr.matching.balance import BalanceResult
    from pbr.matching.effects import EffectResult

__all__ = ["MatchResult"]


@dataclass(frozen=True)
class MatchResult:
    """A matched comparison group.

    Attributes
    ----------
    frame
        Every unit considered (input row order), its columns plus ``ps`` (the propensity
        score, when there is one), ``weight`` (ATT weight: 1 for matched treated units; a
        control's weight is the sum over its matches of ``1 / (controls of that treated
        unit)``, rescaled so matched controls' weights average 1 as in MatchIt; 0 if
        unmatched), ``subclass`` (the pair / match group or stratum; null for controls
        matched with replacement), ``matched`` and ``discarded`` (outside common
        support).
    pairs
        One row per (treated, control) pair: ``treated_id``, ``control_id``,
        ``distance``, ``subclass``, ``round`` (1..ratio) and ``pair_weight``.  Empty for
        the exact and CEM methods (which form strata, not pairs).
    spec
        The :class:`MatchSpec` applied.
    model
        The fitted :class:`~pbr.matching.propensity.PropensityModel` (None with a
        user-supplied score or no model).
    caliper
        The caliper in the distance's own units (None: no caliper).
    exclusions
        Input rows left out (missing covariates under ``missing="drop"``).
    notes
        Warnings kept in the record (e.g. a propensity model that did not converge).

    Examples
    --------
    Two treated units matched in data order to their nearest controls on a supplied
    score; two controls are left unmatched (weight 0).

    >>> import polars as pl, pbr
    >>> df = pl.DataFrame({"id": [1, 2, 3, 4, 5, 6], "t": [1, 1, 0, 0, 0, 0],
    ...                    "s": [0.8, 0.4, 0.75, 0.45, 0.1, 0.9]})
    >>> m = pbr.match(df, "t", score="s", id="id", order="data")
    >>> m.pairs.select("treated_id", "control_id", "subclass").rows()
    [(1, 3, 1), (2, 4, 2)]
    >>> m.frame["weight"].to_list()
    [1.0, 1.0, 1.0, 1.0, 0.0, 0.0]
    >>> print(m.explain(1))
    unit 1: treated, propensity score 0.800000, weight 1, subclass 1
      pair with control 3: distance 0.05 (propensity), round 1, subclass 1, pair weight 1
    >>> print(m.explain(5))
    unit 5: control, propensity score 0.100000, weight 0, subclass None
      unmatched: not the nearest available control of any treated unit
    """

    frame: pl.DataFrame
    pairs: pl.DataFrame
    spec: MatchSpec
    model: PropensityModel | None
    caliper: float | None
    exclusions: Exclusions = field(default_factory=Exclusions)
    notes: tuple[str, ...] = ()
    balance_columns: tuple[str, ...] = ()
    input_columns: tuple[str, ...] = ()
    _memo: Memo = field(default_factory=Memo, init=False, repr=False, compare=False)

    # ------------------------------------------------------------------ views
    @property
    def treated(self) -> np.ndarray:
        """Boolean treatment indicator per unit of ``frame``."""
        return self.frame[self.spec.treatment].cast(pl.Boolean).to_numpy()

    @property
    def matched_frame(self) -> pl.DataFrame:
        """The matched units (weight > 0), MatchIt's ``match.data()``."""
        return self.frame.filter(pl.col("weight") > 0)

    def pair_rows(self) -> tuple[np.ndarray, np.ndarray]:
        """Row positions in ``frame`` of each pair's treated unit and control."""
        index = self.frame.select(pl.col(self.spec.id).alias("_id")).with_row_index("_pos")

        def rows(column: str) -> np.ndarray:
            joined = self.pairs.select(pl.col(column).alias("_id")).join(
                index, on="_id", how="left", maintain_order="left")
            return joined["_pos"].to_numpy().astype(np.int64)

        return rows("treated_id"), rows("control_id")

    def to_frame(self) -> pl.DataFrame:
        """The per-unit frame (polars)."""
        return self.frame

    def to_html(self, path: Any = None, **options: Any) -> Any:
        """The self-contained HTML report of this match (:func:`pbr.report.html_report`,
        whose ``options`` it takes), written to ``path`` when given; returns the
        :class:`~pbr.report.HtmlReport`."""
        from pbr import _render  # the report layer lends its renderer (layer 0 registry)

        return _render.render("html", self, path=path, **options)

    def to_pandas(self) -> Any:
        """The per-unit frame as a pandas DataFrame."""
        return self.frame.to_pandas()

    def cohort(self) -> pl.DataFrame:
        """Matched units as a cohort for :func:`pbr.measure`: ``offender_id``,
        ``index_date`` (a treated unit's own; a comparison unit's pseudo index date by
        ``spec.pseudo_index``, see :meth:`pseudo_index_dates`), ``treated``, ``weight``
        (MatchIt's, unchanged) and ``subclass``; one row per matched unit."""
        dates = self._pseudo[0]
        return self.matched_frame.select(
            pl.col(self.spec.id).alias("offender_id"),
            pl.col(self.spec.treatment).cast(pl.Boolean).alias("treated"),
            "weight", "subclass").insert_column(1, dates["index_date"])

    def pseudo_index_dates(self) -> pl.DataFrame:
        """The index date each matched unit's outcomes are measured from, and why.

        One row per matched unit (weight > 0, the order of ``frame``): the id column,
        ``treated``, ``index_date`` and ``source``.  Treated units keep their own
        ``index_date``; a comparison unit's pseudo index date follows
        ``spec.pseudo_index`` (docs/methodology/matching.md, "Pseudo index dates"):

        * ``"own"``: its own ``index_date`` (its own qualifying event);
        * ``"matched"``: the index date of the treated unit it was matched to; a control
          matched to several treated units (with replacement) takes the earliest, and
          keeps its one row and its MatchIt weight;
        * ``"offset"``: its ``reference_date`` plus ``offset_days`` (None: the lower
          median of the matched treated units' ``index_date - reference_date``).

        A date the rule needs but lacks is refused (SchemaError naming the units), never
        left empty.

        Examples
        --------
        Treated unit 1 (index date 1 March) is matched to control 3; control 4, matched
        to treated unit 2 (1 May), was released on 10 April.  Treated units started 20 and
        30 days after their release: the lower median offset is 20 days.

        >>> import datetime as dt, polars as pl, pbr
        >>> df = pl.DataFrame({"id": [1, 2, 3, 4], "t": [1, 1, 0, 0],
        ...     "s": [0.8, 0.4, 0.75, 0.45],
        ...     "index_date": [dt.date(2021, 3, 1), dt.date(2021, 5, 1), None, None],
        ...     "release": [dt.date(2021, 2, 9), dt.date(2021, 4, 1),
        ...                 dt.date(2021, 1, 5), dt.date(2021, 4, 10)]})
        >>> m = pbr.match(df, "t", score="s", id="id", pseudo_index="matched")
        >>> m.pseudo_index_dates().filter(~pl.col("treated")).rows()
        [(3, False, datetime.date(2021, 3, 1), 'index date of matched treated unit 1'), \
(4, False, datetime.date(2021, 5, 1), 'index date of matched treated unit 2')]
        >>> m = pbr.match(df, "t", score="s", id="id", pseudo_index="offset",
        ...               reference_date="release")
        >>> m.pseudo_index_dates()["index_date"].to_list()[2:]
        [datetime.date(2021, 1, 25), datetime.date(2021, 4, 30)]
        >>> print(m.provenance["pseudo_index"])
        offset: release + 20 days (lower median of index_date - release, 2 matched treated)
        """
        return self._pseudo[0]

    @memoised
    def _pseudo(self) -> tuple[pl.DataFrame, str]:
        s = self.spec
        if s.index_date not in self.frame.columns:
            raise SchemaError(f"column {s.index_date!r} (index_date) is not in the "
                              "matched data; pass index_date='<column>' to pbr.match")
        m = self.matched_frame
        t = m[s.treatment].cast(pl.Boolean)
        own = m[s.index_date]
        source = pl.Series("source", ["own index date"] * m.height, pl.String)
        rule, drawn = self._pseudo_rule(m, t.to_numpy())
        if drawn is None:
            dates, src = own, source
        else:
            both = pl.DataFrame({"t": t, "own": own, "d": drawn[0], "a": source,
                                 "b": drawn[1]})
            dates = both.select(pl.when("t").then("own").otherwise("d"))[:, 0]
            src = both.select(pl.when("t").then("a").otherwise("b"))[:, 0]
        missing = dates.is_null()
        if missing.any():
            who = m[s.id].filter(missing).head(3).to_list()
            raise SchemaError(f"column {s.index_date!r} (index_date): {int(missing.sum()):,} "
                              f"matched unit(s) have no index date (e.g. ids {who}) under "
                              f"pseudo_index={s.pseudo_index!r}; fill it, drop these units "
                              "before matching, or choose another pseudo_index rule")
        out = pl.DataFrame({s.id: m[s.id], "treated": t,
                            "index_date": dates.alias("index_date"), "source": src})
        return out, rule

    def _pseudo_rule(self, m: pl.DataFrame, t: np.ndarray
                     ) -> tuple[str, tuple[pl.Series, pl.Series] | None]:
        """The rule as recorded and, unless "own", each matched unit's pseudo date and
        its source (treated rows are replaced by their own date by the caller)."""
        s = self.spec
        if s.pseudo_index == "own":
            return f"own: each comparison unit's own {s.index_date}", None
        if s.pseudo_index == "matched":
            own = self.frame.select(pl.col(s.id).alias("treated_id"),
                                    pl.col(s.index_date).alias("_date"))
            per = self.pairs.select("treated_id", "control_id").join(
                own, on="treated_id", how="left")
            lacking = per.filter(pl.col("_date").is_null())
            if lacking.height:
                raise SchemaError(
                    f"column {s.index_date!r} (index_date): matched treated unit(s) "
                    f"{lacking['treated_id'].unique().sort().head(3).to_list()} have no "
                    "index date, so their controls get no pseudo index date; fill it")
            first = per.sort(["_date", "treated_id"]).group_by(
                "control_id", maintain_order=True).agg(
                pl.col("_date").first(), pl.col("treated_id").first().alias("_from"),
                pl.len().alias("_n"))
            got = m.select(pl.col(s.id).alias("control_id")).join(
                first, on="control_id", how="left", maintain_order="left")
            src = got.select(pl.format("index date of matched treated unit {}",
                                       pl.col("_from").cast(pl.String))
                             + pl.when(pl.col("_n") > 1).then(
                                 pl.format(" (earliest of {})", pl.col("_n"))).otherwise(
                                 pl.lit("")))[:, 0]
            return (f"matched: each comparison unit takes the {s.index_date} of the treated "
                    "unit it was matched to (with replacement: the earliest)",
                    (got["_date"], src))
        ref = s.reference_date
        assert ref is not None
        offset = s.offset_days
        if offset is None:
            tm = m.filter(pl.Series(t)).select(
                (pl.col(s.index_date) - pl.col(ref)).dt.total_days().alias("d")
            )["d"].drop_nulls().sort()
            if tm.len() == 0:
                raise SchemaError(f"offset_days: no matched treated unit has both "
                                  f"{s.index_date!r} and {ref!r}, so their median offset "
                                  "is undefined; give offset_days")
            offset = int(tm[(tm.len() - 1) // 2])
            how = f"lower median of {s.index_date} - {ref}, {tm.len():,} matched treated"
        else:
            how = "offset_days"
        dates = m.select((pl.col(ref) + pl.duration(days=offset)).alias("index_date"))[:, 0]
        src = m.select(pl.format(f"{ref} {{}} + {offset} days",
                                 pl.col(ref).cast(pl.String)))[:, 0]
        return f"offset: {ref} + {offset} days ({how})", (dates, src)

    # ------------------------------------------------------------------ summaries
    def sample_sizes(self) -> pl.DataFrame:
        """Units per group: all, matched, effective (ESS), unmatched, discarded."""
        t = self.treated
        w = self.frame["weight"].to_numpy()
        disc = self.frame["discarded"].to_numpy()
        rows = []
        for label, mask in (("all", np.ones(t.size, bool)), ("matched", w > 0),
                            ("unmatched", (w == 0) & ~disc), ("discarded", disc)):
            rows.append((label, float((mask & ~t).sum()), float((mask & t).sum())))
        ess = [float(w[g].sum() ** 2 / (w[g] ** 2).sum()) if (w[g] > 0).any() else 0.0
               for g in (~t, t)]
        rows.insert(2, ("matched (ESS)", ess[0], ess[1]))
        return pl.DataFrame(rows, schema=["sample", "control", "treated"], orient="row")

    def summary(self, by: str | list[str] | None = None) -> pl.DataFrame:
        """The sample sizes table (see :meth:`sample_sizes`); with ``by``, per group:
        treated, matched treated, matched controls and their weight, discarded."""
        if by is None:
            return self.sample_sizes()
        keys = [by] if isinstance(by, str) else list(by)
        for k in keys:
            if k not in self.frame.columns:
                raise SpecError(f"summary(by=...): no column {k!r}")
        t = pl.col(self.spec.treatment).cast(pl.Boolean)
        m = pl.col("weight") > 0
        return self.frame.group_by(keys).agg(
            t.sum().cast(pl.Int64).alias("treated"),
            (t & m).sum().cast(pl.Int64).alias("treated_matched"),
            (~t & m).sum().cast(pl.Int64).alias("controls_matched"),
            pl.col("weight").filter(~t).sum().alias("control_weight"),
            pl.col("discarded").sum().cast(pl.Int64).alias("discarded"),
        ).sort(keys, nulls_last=True)

    def balance(self, covariates: list[str] | None = None) -> BalanceResult:
        """Covariate balance before and after matching (:func:`pbr.matching.balance`)."""
        from pbr.matching.balance import balance

        return balance(self, covariates)

    def effect(self, outcomes: Any, outcome: str, **options: Any) -> EffectResult:
        """The ATT on an outcome (:func:`pbr.matching.estimate_effect`)."""
        from pbr.matching.effects import estimate_effect

        return estimate_effect(self, outcomes, outcome, **options)

    # ------------------------------------------------------------------ explain
    def explain(self, unit_id: Any) -> str:
        """Why a unit has its controls (or none), its weight and subclass."""
        s = self.spec
        row = self.frame.filter(pl.col(s.id) == unit_id)
        if row.height == 0:
            raise SpecError(f"unit {unit_id!r} is not in the matched data")
        r = row.row(0, named=True)
        score = "" if r.get("ps") is None else f", propensity score {r['ps']:.6f}"
        lines = [f"unit {unit_id}: {'treated' if r[s.treatment] else 'control'}{score}, "
                 f"weight {r['weight']:.4g}, subclass {r['subclass']}"]
        if r["discarded"]:
            lines.append(f"  discarded: propensity score outside the common support "
                         f"(discard={s.discard!r})")
        side, other = ("treated_id", "control_id") if r[s.treatment] else \
            ("control_id", "treated_id")
        pairs = self.pairs.filter(pl.col(side) == unit_id).sort(["subclass", "round"])
        for p in pairs.iter_rows(named=True):
            lines.append(f"  pair with {other[:-3]} {p[other]}: distance {p['distance']:.6g} "
                         f"({s.distance}), round {p['round']}, subclass {p['subclass']}, "
                         f"pair weight {p['pair_weight']:.4g}")
        if s.method != "nearest" and r["subclass"] is not None:
            n = self.frame.filter(pl.col("subclass") == r["subclass"])
            nt = int(n[s.treatment].cast(pl.Int64).sum())
            lines.append(f"  {s.method} stratum with {nt} treated and {n.height - nt} control "
                         "unit(s)")
        elif pairs.height == 0 and not r["discarded"]:
            pool = self.frame.filter(~pl.col(s.treatment).cast(pl.Boolean)
                                     & ~pl.col("discarded"))
            for c in s.exact:
                pool = pool.filter(pl.col(c) == r[c])
            if pool.height == 0:
                why = f"no comparison unit in its exact stratum ({', '.join(s.exact)})"
            elif self.caliper is not None:
                why = "no available control within the caliper"
            else:
                why = "every eligible control was already used"
            lines.append(f"  unmatched: {why}" if r[s.treatment] else
                         "  unmatched: not the nearest available control of any treated unit")
        if self.caliper is not None:
            lines.append(f"  caliper {self.caliper:.6g} on the {s.distance} distance")
        if r["weight"] > 0 and s.index_date in self.frame.columns:
            kind = "index date" if r[s.treatment] else "pseudo index date"
            try:
                got = self.pseudo_index_dates().filter(pl.col(s.id) == unit_id).row(
                    0, named=True)
                lines.append(f"  {kind} {got['index_date']}: {got['source']} (rule "
                             f"{self.pseudo_index_rule()})")
            except SchemaError as exc:
                lines.append(f"  {kind}: not drawn ({exc})")
        return "\n".join(lines)

    # ------------------------------------------------------------------ provenance
    @memoised
    def provenance(self) -> dict[str, Any]:
        """Version, spec (TOML), seed, the input fingerprint (SHA-256 of the units
        considered, after the missing-value rule, in input order) and the pseudo index
        date rule (:meth:`pseudo_index_rule`)."""
        from pbr._version import __version__
        from pbr.measures import _frame_fingerprint

        text = self.spec.to_toml()
        return {"pbr_version": __version__, "spec": text,
                "spec_sha256": hashlib.sha256(text.encode()).hexdigest(),
                "seed": self.spec.seed,
                "input_sha256": _frame_fingerprint(self.frame.select(self.input_columns)),
                "score": "user" if self.model is None else f"logit: {self.model.formula}",
                "pseudo_index": self.pseudo_index_rule()}

    def pseudo_index_rule(self) -> str:
        """How the comparison units' pseudo index dates are drawn, as recorded in
        :attr:`provenance` (the offset in days when it is the treated units' median)."""
        if self.spec.pseudo_index == "own":
            return f"own: each comparison unit's own {self.spec.index_date}"
        try:
            return self._pseudo[1]
        except SchemaError as exc:  # provenance is kept even when no date can be drawn
            return f"{self.spec.pseudo_index}: not drawn ({exc})"

    def __str__(self) -> str:
        s = self.spec
        how = {"nearest": f"1:{s.ratio} nearest neighbour "
                          f"{'with' if s.replace else 'without'} replacement",
               "exact": "exact matching", "cem": "coarsened exact matching"}[s.method]
        lines = [f"Matched comparison ({s.name}): {how} on the {s.distance} distance, "
                 f"order {s.order}" + (", ties data (MatchIt's rule on row order)"
                                       if s.ties == "data" else "")]
        if self.caliper is not None:
            lines.append(f"  caliper {self.caliper:.6g} ({s.caliper} {s.caliper_scale})")
        if s.exact:
            lines.append(f"  exact on {', '.join(s.exact)}")
        lines.append(f"  {'sample':<16}{'control':>12}{'treated':>12}")
        for r in self.sample_sizes().iter_rows():
            lines.append(f"  {r[0]:<16}{r[1]:>12,.2f}{r[2]:>12,.2f}" if r[0].endswith(")")
                         else f"  {r[0]:<16}{int(r[1]):>12,}{int(r[2]):>12,}")
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)
