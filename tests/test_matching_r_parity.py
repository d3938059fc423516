"""pbr.match against R's MatchIt 4.5.1 where pbr offers MatchIt's rule
(tests/fixtures/matchit_parity: README.md, matchit_parity.R and its raw output).

* ``ties="data"``: on data with many exact ties in the propensity score (three coarse
  integer covariates, 30 distinct scores), the same pairs as MatchIt's default
  nearest-neighbour path for 1:1 (largest / smallest / data order, with replacement,
  with a caliper, within exact strata) and 1:2, 1:3 (rounds, with a caliper);
  ``ties="id"`` (the default) gives other pairs on the same data.
* ``discard=``: the balance table before matching and the SMD denominators use every
  unit, discarded ones too, as MatchIt's ``summary()`` does (all six statistics of both
  tables to 1e-6).

The test suite never runs R: it reads the committed output.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pbr
from pbr.errors import SpecError

FIX = Path(__file__).parent / "fixtures" / "matchit_parity"
TIE_COVARIATES = ["x1", "x2", "x3"]
DISCARD_COVARIATES = ["age", "priors", "female", "area", "risk"]

#: case -> (input file, pbr.match options giving MatchIt's call in matchit_parity.R)
CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "nn_1to1": ("ties", {}),
    "nn_1to1_data_order": ("ties", {"order": "data"}),
    "nn_1to1_smallest": ("ties", {"order": "smallest"}),
    "nn_1to1_replace": ("ties", {"replace": True}),
    "nn_1to1_caliper": ("ties", {"caliper": 0.05, "caliper_scale": "absolute"}),
    "nn_1to1_exact_x2": ("ties", {"exact": ["x2"]}),
    "nn_1to1_control": ("ties_k", {"discard": "control"}),
    "nn_1to2_control": ("ties_k", {"ratio": 2, "discard": "control"}),
    "nn_1to3_caliper_control": ("ties_k", {"ratio": 3, "caliper": 0.05,
                                           "caliper_scale": "absolute",
                                           "discard": "control"}),
}


@pytest.fixture(scope="module")
def r_pairs() -> pl.DataFrame:
    return pl.read_csv(FIX / "ties_pairs.csv")


@pytest.fixture(scope="module")
def r_scores() -> pl.DataFrame:
    return pl.read_csv(FIX / "ties_ps.csv")


def _pairs(m: pbr.MatchResult) -> set[tuple[int, int, int]]:
    return set(m.pairs.select("treated_id", "round", "control_id").iter_rows())


def _expected(r_pairs: pl.DataFrame, case: str) -> set[tuple[int, int, int]]:
    return set(r_pairs.filter(pl.col("case") == case)
               .select("treated", "k", "control").iter_rows())


@pytest.mark.parametrize("case", list(CASES))
def test_ties_data_gives_matchits_pairs(case: str, r_pairs: pl.DataFrame,
                                        r_scores: pl.DataFrame) -> None:
    source, options = CASES[case]
    data = pl.read_csv(FIX / f"{source}.csv")
    score = r_scores.filter(pl.col("data") == source)["ps"].to_numpy()
    want = _expected(r_pairs, case)
    assert want
    own = pbr.match(data, "t", TIE_COVARIATES, id="id", ties="data", **options)
    # pbr's own glm fit: the same scores to 1e-8, identical within tied rows
    np.testing.assert_allclose(own.frame["ps"].to_numpy(), score, atol=1e-8)
    assert _pairs(own) == want
    given = pbr.match(data, "t", TIE_COVARIATES, id="id", ties="data", score=score,
                      **options)
    assert _pairs(given) == want
    # the id rule breaks the same ties otherwise: the fixture tells the rules apart
    by_id = pbr.match(data, "t", TIE_COVARIATES, id="id", score=score, **options)
    assert by_id.spec.ties == "id"
    assert _pairs(by_id) != want
    assert len(_pairs(by_id)) == len(want)  # same number of pairs, other controls


def test_ties_data_on_exact_ties_by_hand() -> None:
    """MatchIt's walk on the (score, row) order, worked by hand (matchit_parity.R's
    README gives the R calls that printed the same choices)."""
    def one(t: list[int], s: list[float], **kw: Any) -> list[tuple[int, int]]:
        df = pl.DataFrame({"id": [10 * (i + 1) for i in range(len(t))], "t": t, "s": s})
        m = pbr.match(df, "t", score="s", id="id", ties="data", order="data", **kw)
        return m.pairs.select("treated_id", "control_id").rows()

    # controls tied below the treated unit: the later row (the walk goes down)
    assert one([0, 0, 1], [0.4, 0.4, 0.5]) == [(30, 20)]
    # tied above: the earlier row (the walk goes up)
    assert one([0, 0, 1], [0.6, 0.6, 0.5]) == [(30, 10)]
    # tied with the treated unit: the last control before its row, else the first after
    assert one([0, 0, 1, 0], [0.5] * 4) == [(30, 20)]
    assert one([1, 0, 0], [0.5] * 3) == [(10, 20)]
    # equal distance below and above: the lower score (the id rule takes the higher)
    assert one([0, 1, 0], [0.4, 0.5, 0.6]) == [(20, 10)]
    assert one([0, 1, 0], [0.6, 0.5, 0.4]) == [(20, 30)]
    df = pl.DataFrame({"id": [10, 20, 30], "t": [0, 1, 0], "s": [0.4, 0.5, 0.6]})
    assert pbr.match(df, "t", score="s", id="id").pairs["control_id"].to_list() == [30]
    # otherwise the nearest, as every rule
    assert one([0, 1, 0], [0.1, 0.5, 0.55]) == [(20, 30)]


def test_ties_data_mahalanobis_takes_the_earlier_row() -> None:
    """MatchIt's Mahalanobis path takes the first of the nearest in row order
    (``which_min``); pbr's id rule the smaller id."""
    df = pl.DataFrame({"id": [5, 3, 9, 7], "t": [0, 0, 1, 1], "x": [1.0, -1.0, 0.0, 4.0]})
    kw: dict[str, Any] = {"id": "id", "distance": "mahalanobis", "order": "data"}
    data = pbr.match(df, "t", ["x"], ties="data", **kw)
    assert data.pairs.select("treated_id", "control_id").rows() == [(9, 5), (7, 3)]
    by_id = pbr.match(df, "t", ["x"], **kw)
    assert by_id.pairs.select("treated_id", "control_id").rows() == [(9, 3), (7, 5)]


def test_ties_argument_is_checked_and_recorded() -> None:
    with pytest.raises(SpecError, match=r"ties: must be one of 'id', 'data', got 'row'"):
        pbr.MatchSpec(ties="row")  # type: ignore[arg-type]
    spec = pbr.MatchSpec(covariates=["x1"], ties="data")
    assert pbr.MatchSpec.from_toml(spec.to_toml()) == spec
    assert 'ties = "data"' in spec.to_toml()
    assert "ties" in str(spec)
    df = pl.read_csv(FIX / "ties.csv")
    m = pbr.match(df, "t", TIE_COVARIATES, id="id", ties="data")
    assert 'ties = "data"' in m.provenance["spec"]
    assert "ties data" in str(m)


# ---------------------------------------------------------------- discard and balance
STATS = {"Means Treated": "mean_treated", "Means Control": "mean_control",
         "Std. Mean Diff.": "smd", "Var. Ratio": "var_ratio", "eCDF Mean": "ecdf_mean",
         "eCDF Max": "ecdf_max"}


@pytest.mark.parametrize("rule", ["none", "both", "control", "treated"])
def test_balance_after_discard_equals_matchit(rule: str) -> None:
    data = pl.read_csv(FIX / "discard.csv")
    r_bal = pl.read_csv(FIX / "discard_balance.csv", null_values="NA").filter(
        pl.col("case") == rule)
    r_units = pl.read_csv(FIX / "discard_units.csv").filter(pl.col("case") == rule)
    m = pbr.match(data, "t", DISCARD_COVARIATES, id="id", discard=rule)
    np.testing.assert_array_equal(m.frame["discarded"].to_numpy(),
                                  r_units["discarded"].to_numpy())
    np.testing.assert_allclose(m.frame["weight"].to_numpy(), r_units["weight"].to_numpy(),
                               atol=1e-12)
    table = m.balance().frame
    assert table.height == r_bal.height // 2
    for r in r_bal.iter_rows(named=True):
        name = "ps" if r["covariate"] == "distance" else r["covariate"]
        row = table.filter(pl.col("covariate") == name).row(0, named=True)
        when = "before" if r["table"] == "all" else "after"
        for theirs, ours in STATS.items():
            if r[theirs] is None:
                assert row[f"{ours}_{when}"] is None, (name, theirs)
            else:
                assert row[f"{ours}_{when}"] == pytest.approx(r[theirs], abs=1e-6), \
                    (rule, name, when, theirs)
        mdiff = r["Means Treated"] - r["Means Control"]
        # MatchIt leaves the pair distance unstandardised when the matched means are
        # equal to sqrt(machine epsilon) (match.qoi.R); pbr always standardises
        if when == "after" and r["Std. Pair Dist."] is not None \
                and abs(mdiff) > np.sqrt(np.finfo(float).eps):
            assert row["pair_distance"] == pytest.approx(r["Std. Pair Dist."], abs=1e-6)


def test_before_table_keeps_discarded_units() -> None:
    """The table before matching does not move with ``discard=`` (it is the data given),
    and neither do the SMD denominators."""
    data = pl.read_csv(FIX / "discard.csv")
    tables = {rule: pbr.match(data, "t", DISCARD_COVARIATES, id="id", discard=rule)
              .balance().frame for rule in ("none", "both")}
    before = [c for c in tables["none"].columns if c.endswith("_before")]
    assert tables["none"].select(before).equals(tables["both"].select(before))
    m = pbr.match(data, "t", DISCARD_COVARIATES, id="id", discard="both")
    assert m.frame["discarded"].sum() > 0
    ages = m.frame.filter(pl.col("t") == 1)["age"].to_numpy()
    row = tables["both"].filter(pl.col("covariate") == "age").row(0, named=True)
    sd = (row["mean_treated_after"] - row["mean_control_after"]) / row["smd_after"]
    assert sd == pytest.approx(np.std(ages, ddof=1), rel=1e-12)


# ---------------------------------------------------------------- the rule, literally
@st.composite
def tie_problems(draw: Any) -> dict[str, Any]:
    n = draw(st.integers(2, 30))
    treated = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    if all(treated) or not any(treated):
        treated[0] = not treated[0]
    return {"id": draw(st.lists(st.integers(0, 10_000), min_size=n, max_size=n, unique=True)),
            "t": [int(v) for v in treated],
            "s": [draw(st.integers(0, 8)) / 8 for _ in range(n)],  # exact ties, exact gaps
            "g": [draw(st.integers(0, 1)) for _ in range(n)],
            "ratio": draw(st.integers(1, 3)),
            "caliper": draw(st.sampled_from([None, 1 / 8, 3 / 8])),
            "exact": draw(st.booleans()),
            "order": draw(st.sampled_from(["largest", "smallest", "data", "random"])),
            "replace": draw(st.booleans()),
            "cap": draw(st.sampled_from([None, 1, 2]))}


def matchit_twin(p: dict[str, Any]) -> list[tuple[int, int, int]]:
    """MatchIt 4.5's vector path (nn_matchC_vec) written out: every unit in a stable sort
    by score; a treated unit walks down and up from its own place to the nearest usable
    control on each side and takes the lower one at equal distance; ``ratio`` rounds in
    the matching order (R's ``order(-score)`` is stable: ties in row order)."""
    n = len(p["id"])
    pos = sorted(range(n), key=lambda i: p["s"][i])  # stable: row order among ties
    tr = [i for i in range(n) if p["t"][i]]
    if p["order"] == "random":
        tr = [tr[i] for i in np.random.default_rng(3).permutation(len(tr))]
    elif p["order"] != "data":
        tr.sort(key=lambda i: -p["s"][i] if p["order"] == "largest" else p["s"][i])
    cap = (p["cap"] or n + 1) if p["replace"] else 1
    used = dict.fromkeys(range(n), 0)
    got: dict[int, list[int]] = {i: [] for i in tr}
    cal = np.inf if p["caliper"] is None else p["caliper"]
    out = []

    def usable(i: int, c: int) -> bool:
        return (not p["t"][c] and used[c] < cap and c not in got[i]
                and (not p["exact"] or p["g"][c] == p["g"][i]))

    for rnd in range(p["ratio"]):
        for i in tr:
            if len(got[i]) < rnd:
                continue
            at = pos.index(i)
            down = next((c for c in reversed(pos[:at]) if usable(i, c)), None)
            up = next((c for c in pos[at + 1:] if usable(i, c)), None)
            s = p["s"][i]
            if down is None and up is None:
                continue
            if up is None or (down is not None and s - p["s"][down] <= p["s"][up] - s):
                best = down
            else:
                best = up
            assert best is not None
            if abs(p["s"][best] - s) > cal:
                continue
            got[i].append(best)
            used[best] += 1
            out.append((p["id"][i], p["id"][best], rnd + 1))
    return sorted(out)


@settings(max_examples=150, deadline=None)
@given(tie_problems())
def test_ties_data_equals_the_literal_rule(p: dict[str, Any]) -> None:
    df = pl.DataFrame({k: p[k] for k in ("id", "t", "s", "g")})
    m = pbr.match(df, "t", score="s", id="id", ties="data", ratio=p["ratio"],
                  caliper=p["caliper"], caliper_scale="absolute",
                  exact=["g"] if p["exact"] else [], order=p["order"],
                  seed=3 if p["order"] == "random" else None, replace=p["replace"],
                  reuse_max=p["cap"] if p["replace"] else None)
    got = sorted((int(a), int(b), int(r)) for a, b, r in
                 m.pairs.select("treated_id", "control_id", "round").iter_rows())
    assert got == matchit_twin(p)
