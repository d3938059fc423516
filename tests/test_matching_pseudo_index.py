"""Pseudo index dates of matched comparison units (MatchSpec.pseudo_index), worked by
hand: "own", "matched" (1:k, with replacement: the earliest) and "offset" (a fixed
number of days or the treated units' lower median), missing dates refused or excluded
with the count and the reason, and the rule recorded in provenance and explain()."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

import pbr
from pbr.errors import SchemaError, SpecError

D = dt.date


def frame() -> pl.DataFrame:
    """Treated 1 and 2; controls 3..6.  Scores put 3, 4 next to 1 and 5, 6 next to 2."""
    return pl.DataFrame({
        "id": [1, 2, 3, 4, 5, 6], "t": [1, 1, 0, 0, 0, 0],
        "s": [0.80, 0.40, 0.78, 0.83, 0.41, 0.37],
        "index_date": [D(2021, 3, 1), D(2021, 6, 15), D(2020, 1, 1), D(2020, 2, 1),
                       D(2020, 3, 1), D(2020, 4, 1)],
        "release": [D(2021, 2, 19), D(2021, 5, 16), D(2021, 1, 10), D(2021, 2, 1),
                    D(2021, 3, 31), D(2021, 12, 30)]})


def dates(m: pbr.MatchResult) -> dict[int, dt.date]:
    return dict(m.pseudo_index_dates().select("id", "index_date").iter_rows())


def test_own_rule_keeps_each_units_date() -> None:
    m = pbr.match(frame(), "t", score="s", id="id")
    assert dates(m) == {1: D(2021, 3, 1), 2: D(2021, 6, 15), 3: D(2020, 1, 1),
                        5: D(2020, 3, 1)}
    assert m.provenance["pseudo_index"] == "own: each comparison unit's own index_date"
    assert m.cohort()["index_date"].to_list() == list(dates(m).values())


def test_matched_rule_one_to_two() -> None:
    m = pbr.match(frame(), "t", score="s", id="id", ratio=2, pseudo_index="matched")
    assert set(m.pairs.select("treated_id", "control_id").rows()) == {(1, 3), (1, 4),
                                                                       (2, 5), (2, 6)}
    got = dates(m)
    assert got[3] == got[4] == D(2021, 3, 1)  # treated 1's index date
    assert got[5] == got[6] == D(2021, 6, 15)  # treated 2's
    c = m.cohort()
    assert c.columns == ["offender_id", "index_date", "treated", "weight", "subclass"]
    assert c.filter(pl.col("offender_id") == 6)["index_date"].item() == D(2021, 6, 15)
    assert "matched: each comparison unit takes the index_date" in m.provenance[
        "pseudo_index"]
    text = m.explain(6)
    assert "pseudo index date 2021-06-15: index date of matched treated unit 2" in text


def test_matched_rule_with_replacement_takes_the_earliest_and_keeps_weights() -> None:
    """Control 3 is the nearest of both treated units (scores 0.5 and 0.52): it takes
    the earlier index date (treated 2, 1 Jan) and keeps its one row and its MatchIt
    weight (two uses: 2 before rescaling, the only matched control: 1 after)."""
    df = pl.DataFrame({"id": [1, 2, 3, 4], "t": [1, 1, 0, 0], "s": [0.5, 0.52, 0.51, 0.9],
                       "index_date": [D(2021, 3, 1), D(2021, 1, 1), D(2019, 1, 1),
                                      D(2019, 1, 1)]})
    m = pbr.match(df, "t", score="s", id="id", replace=True, pseudo_index="matched")
    assert sorted(m.pairs["control_id"].to_list()) == [3, 3]
    row = m.pseudo_index_dates().filter(pl.col("id") == 3).row(0, named=True)
    assert row["index_date"] == D(2021, 1, 1)
    assert row["source"] == "index date of matched treated unit 2 (earliest of 2)"
    c = m.cohort()
    assert c["offender_id"].to_list() == [1, 2, 3]  # one row per unit
    weights = dict(m.frame.select("id", "weight").iter_rows())
    assert dict(c.select("offender_id", "weight").iter_rows()) == {
        k: v for k, v in weights.items() if v > 0}
    assert weights[3] == 1.0


def test_offset_rule_fixed_days() -> None:
    m = pbr.match(frame(), "t", score="s", id="id", pseudo_index="offset",
                  reference_date="release", offset_days=14)
    got = dates(m)
    assert got[3] == D(2021, 1, 24)  # 10 Jan + 14 days
    assert got[5] == D(2021, 4, 14)  # 31 Mar + 14 days
    assert got[1] == D(2021, 3, 1)  # treated keep their own
    assert m.provenance["pseudo_index"] == "offset: release + 14 days (offset_days)"
    assert "release 2021-01-10 + 14 days" in m.explain(3)
    assert 'pseudo_index = "offset"' in m.provenance["spec"]


def test_offset_rule_treated_median() -> None:
    """Treated 1 started 10 days after release (19 Feb -> 1 Mar), treated 2 30 days
    (16 May -> 15 Jun): the lower median of (10, 30) is 10."""
    m = pbr.match(frame(), "t", score="s", id="id", pseudo_index="offset",
                  reference_date="release")
    assert dates(m)[3] == D(2021, 1, 20)
    assert m.pseudo_index_rule() == ("offset: release + 10 days (lower median of "
                                     "index_date - release, 2 matched treated)")
    # three treated units: offsets 10, 30 and 20 -> median 20
    df = frame().vstack(pl.DataFrame({
        "id": [7], "t": [1], "s": [0.6], "index_date": [D(2021, 9, 21)],
        "release": [D(2021, 9, 1)]}))
    m3 = pbr.match(df, "t", score="s", id="id", pseudo_index="offset",
                   reference_date="release")
    assert "release + 20 days" in m3.pseudo_index_rule()


def test_missing_reference_refused_or_excluded_with_count() -> None:
    df = frame().with_columns(
        pl.when(pl.col("id").is_in([3, 6])).then(None).otherwise(pl.col("release"))
        .alias("release"))
    with pytest.raises(SchemaError, match=r"'release' \(reference_date\): 2 comparison "
                                          r"unit\(s\) have no reference date \(e.g. ids "
                                          r"\[3, 6\]\).*missing_reference='exclude'"):
        pbr.match(df, "t", score="s", id="id", pseudo_index="offset",
                  reference_date="release", offset_days=7)
    m = pbr.match(df, "t", score=df["s"].to_numpy(), id="id", pseudo_index="offset",
                  reference_date="release", offset_days=7, missing_reference="exclude")
    assert m.exclusions.count(rule="missing_reference_date") == 2
    (entry,) = m.exclusions.entries
    assert entry.rows.tolist() == [2, 5]  # input rows of ids 3 and 6
    assert "comparison unit without a reference date" in entry.reason
    assert sorted(m.frame["id"].to_list()) == [1, 2, 4, 5]
    assert set(m.pairs["control_id"].to_list()) == {4, 5}
    assert dates(m)[4] == D(2021, 2, 8)
    assert m.pseudo_index_dates()["index_date"].null_count() == 0


def test_missing_treated_index_date_is_refused() -> None:
    df = frame().with_columns(
        pl.when(pl.col("id") == 2).then(None).otherwise(pl.col("index_date"))
        .alias("index_date"))
    m = pbr.match(df, "t", score="s", id="id", pseudo_index="matched")
    with pytest.raises(SchemaError, match=r"matched treated unit\(s\) \[2\] have no index"):
        m.cohort()
    own = pbr.match(df, "t", score="s", id="id")
    with pytest.raises(SchemaError, match=r"1 matched unit\(s\) have no index date"):
        own.cohort()


def test_spec_checks_and_toml() -> None:
    with pytest.raises(SpecError, match="reference_date: pseudo_index='offset' needs"):
        pbr.MatchSpec(pseudo_index="offset")
    with pytest.raises(SpecError, match="offset_days: only applies with pseudo_index"):
        pbr.MatchSpec(offset_days=3)
    with pytest.raises(SpecError, match="reference_date: only applies"):
        pbr.MatchSpec(pseudo_index="matched", reference_date="release")
    with pytest.raises(SpecError, match="offset_days: expected a whole number"):
        pbr.MatchSpec(pseudo_index="offset", reference_date="r", offset_days=1.5)  # type: ignore[arg-type]
    with pytest.raises(SpecError, match="pseudo_index: 'matched' needs pairs"):
        pbr.MatchSpec(covariates=["a"], method="cem", pseudo_index="matched")
    with pytest.raises(SpecError, match="pseudo_index: must be one of 'own', 'matched', "
                                        "'offset', got 'release'"):
        pbr.MatchSpec(pseudo_index="release")  # type: ignore[arg-type]
    spec = pbr.MatchSpec(pseudo_index="offset", reference_date="release", offset_days=-3,
                         missing_reference="exclude")
    assert pbr.MatchSpec.from_toml(spec.to_toml()) == spec


def test_rule_needs_date_columns() -> None:
    with pytest.raises(SchemaError, match=r"column 'rel' \(reference_date\) is not in"):
        pbr.match(frame(), "t", score="s", id="id", pseudo_index="offset",
                  reference_date="rel")
    df = frame().with_columns(pl.col("release").cast(pl.String))
    with pytest.raises(SchemaError, match=r"'release' \(reference_date\): expected dates"):
        pbr.match(df, "t", score="s", id="id", pseudo_index="offset",
                  reference_date="release")
