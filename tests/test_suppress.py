"""Disclosure control: hand-worked suppression, and an intruder who tries to recover
every withheld cell from the published table and its totals by linear programming."""

from __future__ import annotations

import itertools
import re
import warnings

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from pbr.errors import SchemaError, SpecError
from pbr.suppress import (
    DisclosureRules,
    SuppressedTable,
    audit_intervals,
    extend,
    primary_mask,
    secondary_suppression,
    suppress,
)


# ---------------------------------------------------------------------------- the intruder
def attack(cells: np.ndarray, known: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """An intruder's bounds on every unknown cell of a 2-way table with margins.

    Written here from scratch (not pbr's audit): variables are the unknown cells of the
    extended (R+1) x (C+1) array; each row and column of it adds up; cells >= 0.
    """
    v = extend(cells)
    r, c = v.shape
    unknown = [(i, j) for i in range(r) for j in range(c) if not known[i, j]]
    col = {cell: k for k, cell in enumerate(unknown)}
    a, b = [], []
    groups = [[(i, j) for j in range(c)] for i in range(r)] + \
        [[(i, j) for i in range(r)] for j in range(c)]
    for g in groups:
        *inner, total = g
        row = np.zeros(len(unknown))
        rhs = 0.0
        for cell, coef in [*((x, 1.0) for x in inner), (total, -1.0)]:
            if cell in col:
                row[col[cell]] += coef
            else:
                rhs -= coef * v[cell]
        if row.any():
            a.append(row)
            b.append(rhs)
    lo = np.full(v.shape, np.nan)
    hi = np.full(v.shape, np.nan)
    for cell, k in col.items():
        e = np.zeros(len(unknown))
        e[k] = 1
        low = linprog(e, A_eq=np.array(a), b_eq=np.array(b), bounds=(0, None), method="highs")
        high = linprog(-e, A_eq=np.array(a), b_eq=np.array(b), bounds=(0, None),
                       method="highs")
        lo[cell] = low.fun
        hi[cell] = np.inf if high.status == 3 else -high.fun
    return lo, hi


def known_cells(res: SuppressedTable, rows: int, cols: list[str]) -> np.ndarray:
    """Which cells of the extended table a reader knows: published inner cells and every
    margin except those the audit says must be withheld."""
    known = np.ones((rows + 1, len(cols) + 1), bool)
    for i in range(rows):
        for j, c in enumerate(cols):
            known[i, j] = res.status[c][i] == "published"
    for m in res.audit.filter(pl.col("margin")).iter_rows(named=True):
        parts = dict(p.split("=") for p in m["cell"].split(", "))
        i = rows if parts["area"] == "total" else int(parts["area"])
        j = len(cols) if parts["column"] == "total" else cols.index(parts["column"])
        known[i, j] = False
    return known


def cross_tab(cells: np.ndarray) -> pl.DataFrame:
    return pl.DataFrame({"area": [str(i) for i in range(cells.shape[0])],
                         **{f"c{j}": cells[:, j].astype(np.int64)
                            for j in range(cells.shape[1])}})


# ---------------------------------------------------------------------------- hand-worked
def test_hand_worked_two_way_table() -> None:
    # 2 in the corner is small; row 0 and column 0 then hold one withheld cell each, so
    # their smallest published cells (30 and 25) go too, and column 1 then needs 35.
    cells = np.array([[2, 30, 40], [25, 35, 45]])
    res = suppress(cross_tab(cells), wide=True)
    assert res.status["c0"].to_list() == ["primary", "secondary"]
    assert res.status["c1"].to_list() == ["secondary", "secondary"]
    assert res.status["c2"].to_list() == ["published", "published"]
    assert res.frame["c0"].to_list() == [None, None]
    assert res.frame["c2"].to_list() == [40, 45]
    # the corner: x + 30' = 32, x + 25' = 27 -> x in [0, 27]
    a = res.audit.filter(pl.col("cell") == "area=0, column=c0").row(0, named=True)
    assert (a["lower"], a["upper"], a["protected"]) == (0.0, 27.0, True)
    assert res.protected
    lo, hi = attack(cells, known_cells(res, 2, ["c0", "c1", "c2"]))
    assert (lo[0, 0], hi[0, 0]) == (0.0, 27.0)


def test_one_withheld_cell_in_a_row_is_recoverable_and_pbr_never_leaves_one() -> None:
    cells = np.array([[3, 50, 60], [40, 45, 70]])
    known = np.ones((3, 4), bool)
    known[0, 0] = False                      # primary suppression alone
    lo, hi = attack(cells, known)
    assert lo[0, 0] == hi[0, 0] == 3         # the intruder gets it exactly
    res = suppress(cross_tab(cells), wide=True)
    k = known_cells(res, 2, ["c0", "c1", "c2"])
    for line in [*k, *k.T]:
        assert (~line).sum() != 1
    lo, hi = attack(cells, k)
    assert hi[0, 0] - lo[0, 0] >= 10


def test_one_way_table_of_groups() -> None:
    t = pl.DataFrame({"sex": ["F", "M"], "n": [6, 200], "reoffenders": [2, 60],
                      "binary_rate": [2 / 6, 0.3], "mean_days_to_first": [100.0, 120.0]})
    res = suppress(t)
    assert res.status.row(0) == ("F", "primary", "primary", "linked", "dependent")
    assert res.status.row(1) == ("M", "secondary", "secondary", "linked", "dependent")
    assert res.frame["n"].to_list() == [None, None]
    assert "secondary suppression" in res.explain({"sex": "M"}, "n")
    assert "[c]" in str(res)
    # three groups: the two small ones protect each other only if they can trade 10
    t3 = pl.DataFrame({"g": ["a", "b", "c"], "n": [4, 5, 300]})
    r3 = suppress(t3)
    assert r3.status["n"].to_list() == ["primary", "primary", "secondary"]
    t4 = pl.DataFrame({"g": ["a", "b", "c", "d"], "n": [4, 9, 300, 400]})
    assert suppress(t4).status["n"].to_list() == ["primary", "primary", "published",
                                                   "published"]


def test_rates_follow_their_counts_and_complements() -> None:
    t = pl.DataFrame({"g": ["a", "b", "c", "d"], "n": [40, 300, 500, 20],
                      "reoffenders": [38, 100, 5, 10],
                      "binary_rate": [0.95, 1 / 3, 0.01, 0.5]})
    res = suppress(t)
    st_ = res.status
    assert st_["reoffenders"][0] == "primary"          # only 2 of the 40 did not reoffend
    assert st_["reoffenders"][2] == "primary"          # 5 is small
    assert st_["binary_rate"][0] == "linked"
    assert st_["n"][3] == "published"
    # rate on a small denominator, all counts fine
    t2 = pl.DataFrame({"g": ["a", "b"], "n": [12, 900], "reoffenders": [6, 300],
                       "binary_rate": [0.5, 1 / 3]})
    r2 = suppress(t2, DisclosureRules(threshold=5, rate_min_denominator=20))
    assert r2.status["binary_rate"].to_list() == ["small base", "published"]


def test_rounding_to_five() -> None:
    t = pl.DataFrame({"g": ["a", "b", "c"], "n": [12, 13, 102]})
    res = suppress(t, "round_5")
    assert res.frame["n"].to_list() == [10, 15, 100]
    res = suppress(t, "threshold_5_round_5")
    assert res.frame["n"].to_list() == [10, 15, 100]
    t = pl.DataFrame({"g": ["a", "b", "c"], "n": [3, 12, 102]})
    assert suppress(t, "threshold_5_round_5").frame["n"].to_list() == [None, None, 100]


def test_no_keys_threshold_only_and_pandas_input() -> None:
    res = suppress(pl.DataFrame({"n": [5], "reoffenders": [2]}))
    assert res.frame.row(0) == (None, None)
    res = suppress(pl.DataFrame({"n": [50], "reoffenders": [20]}).to_pandas())
    assert res.frame.row(0) == (50, 20)


def test_deterministic() -> None:
    rng = np.random.default_rng(np.random.SeedSequence(4))
    cells = rng.integers(0, 30, size=(4, 3))
    a = suppress(cross_tab(cells), wide=True)
    b = suppress(cross_tab(cells), wide=True)
    assert a.frame.equals(b.frame) and a.status.equals(b.status) and a.audit.equals(b.audit)
    assert a.provenance == b.provenance


def test_cube_functions() -> None:
    assert primary_mask(np.array([0, 3, 10]), 10, zeros=True).tolist() == [True, True, False]
    v = extend(np.array([[3, 5, 20]]))
    s = np.zeros(v.shape, bool)
    s[0, 0] = True
    lo, hi = audit_intervals(v, s)
    assert lo[0, 0] == hi[0, 0] == 3
    m = secondary_suppression(v, s, 10)
    lo, hi = audit_intervals(v, m)
    assert hi[0, 0] - lo[0, 0] >= 10


# ---------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(("table", "kwargs", "error", "match"), [
    (pl.DataFrame({"g": ["a", "b"], "n": [-1, 5]}), {"counts": ["n"]}, SchemaError,
     "row 0"),
    (pl.DataFrame({"g": ["a", "b"], "n": [1.5, 5.0]}), {"counts": ["n"]}, SchemaError,
     "whole number"),
    (pl.DataFrame({"g": ["a", "b"], "n": [None, 5]}), {}, SchemaError, "missing"),
    (pl.DataFrame({"g": ["a", "a"], "n": [1, 5]}), {}, SchemaError, "appears twice"),
    (pl.DataFrame({"g": ["a", "b"], "n": [1, 5]}), {"by": "sex"}, SpecError, "no column"),
    (pl.DataFrame({"g": ["a", "b"], "n": [1, 5]}), {"counts": ["m"]}, SpecError,
     "no column"),
    (pl.DataFrame({"g": ["a", "b"], "x": [0.1, 0.5]}), {}, SpecError, "bases="),
    (pl.DataFrame({"year": [2019, 2020], "n": [4, 50]}), {}, SpecError, "no key columns"),
    (pl.DataFrame({"g": ["a", "b"], "n": [1, 5]}), {"rates": {"r": ("n", "n")}},
     SpecError, "no column"),
    (pl.DataFrame({"g": ["a", "b"], "n": [1, 5], "x": ["u", "v"]}), {"wide": True,
                                                                    "by": "g"},
     SpecError, "neither keys nor counts"),
])
def test_bad_tables(table: pl.DataFrame, kwargs: dict[str, object],
                    error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        suppress(table, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"threshold": -1}, "non-negative"), ({"rounding": 0}, "at least 1"),
    ({"threshold": 2.5}, "whole number"), ({"complement": "yes"}, "True or False"),
    ({"symbol": ""}, "non-empty"),
])
def test_bad_rules(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(SpecError, match=match):
        DisclosureRules(**kwargs)  # type: ignore[arg-type]


def test_unknown_preset() -> None:
    with pytest.raises(SpecError, match="threshold_10"):
        suppress(pl.DataFrame({"g": ["a"], "n": [1]}), "strict")


# ---------------------------------------------------------------------------- property
@settings(max_examples=25, deadline=None)
@given(st.integers(2, 4), st.integers(2, 4), st.integers(0, 2**31 - 1))
def test_no_withheld_cell_can_be_recovered(rows: int, cols: int, seed: int) -> None:
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    cells = rng.integers(0, 40, size=(rows, cols))
    cells[rng.random((rows, cols)) < 0.3] = rng.integers(1, 10)
    rules = DisclosureRules(threshold=10)
    res = suppress(cross_tab(cells), rules, wide=True)
    names = [f"c{j}" for j in range(cols)]
    known = known_cells(res, rows, names)
    for line in itertools.chain(known, known.T):
        assert (~line).sum() != 1
    lo, hi = attack(cells, known)
    unknown = ~known
    assert np.all(hi[unknown] - lo[unknown] >= rules.min_protection - 1e-6)
    # every small count is withheld
    small = (cells > 0) & (cells < 10)
    inner = unknown[:rows, :cols]
    assert np.all(inner[small])


def test_no_warnings_on_a_clean_table() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        suppress(pl.DataFrame({"g": ["a", "b"], "n": [50, 60]}))


def test_disclosure_page_examples_run() -> None:
    from pathlib import Path

    page = Path(__file__).resolve().parents[1] / "docs" / "methodology" / "publication.md"
    blocks = re.findall(r"^```python\n(.*?)^```", page.read_text(encoding="utf-8"),
                        re.DOTALL | re.MULTILINE)
    assert blocks
    scope: dict[str, object] = {}
    for code in blocks:
        exec(compile(code, str(page), "exec"), scope)


def test_three_way_table_gets_a_hypercube() -> None:
    rows = [{"sex": a, "provider": b, "age_band": c, "n": 40 + 3 * i}
            for i, (a, b, c) in enumerate(itertools.product(
                ["F", "M"], ["P1", "P2", "P3"], ["18-20", "21-24", "25-29"]))]
    rows[0]["n"] = 3
    res = suppress(pl.DataFrame(rows))
    withheld = res.status.filter(pl.col("n") != "published")
    assert withheld.height == 8                       # the corners of a 2 x 2 x 2 cube
    for k in ("sex", "provider", "age_band"):
        assert withheld[k].n_unique() == 2
    assert res.protected
    # the seeded table of publication.md: 8 cells withheld with the hypercube, 12 without
    rng = np.random.default_rng(3)
    cells = np.array([int(rng.integers(20, 80)) for _ in range(18)], float).reshape(2, 3, 3)
    cells[0, 0, 0] = 3
    v = extend(cells)
    cube = secondary_suppression(v, primary_mask(v, 10), 10)
    greedy = secondary_suppression(v, primary_mask(v, 10), 10, hypercube=False)
    assert (int(cube.sum()), int(greedy.sum())) == (8, 12)
    for mask in (cube, greedy):
        lo, hi = audit_intervals(v, mask)
        assert np.all((hi - lo)[mask] >= 10)
