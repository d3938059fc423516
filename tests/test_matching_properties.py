"""Hypothesis properties of nearest-neighbour matching.

The kernels (sorted scores, union-find "next free" pointers) agree with a plain Python
twin that applies the documented rule literally: treated units in order (largest or
smallest score first with ties by smaller id, row order, or the seeded permutation),
each taking the free control with the smallest
(distance, -score, id) within its stratum and the caliper, in ``ratio`` rounds.
Scores are multiples of 1/16, so exact ties are common and distances exact.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
from hypothesis import given
from hypothesis import strategies as st

import pbr


@st.composite
def problems(draw: Any) -> dict[str, Any]:
    n = draw(st.integers(2, 40))
    ids = draw(st.lists(st.integers(0, 10_000), min_size=n, max_size=n, unique=True))
    treated = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    if all(treated) or not any(treated):
        treated[0] = not treated[0]
    return {
        "id": ids,
        "t": [int(v) for v in treated],
        "s": [draw(st.integers(0, 16)) / 16 for _ in range(n)],
        "g": [draw(st.integers(0, 2)) for _ in range(n)],
        "x": [draw(st.integers(-4, 4)) / 2 for _ in range(n)],
        "ratio": draw(st.integers(1, 3)),
        "caliper": draw(st.sampled_from([None, 1 / 16, 3 / 16, 0.5])),
        "exact": draw(st.booleans()),
        "order": draw(st.sampled_from(["largest", "smallest", "data", "random"])),
        "shuffle": draw(st.randoms(use_true_random=False)),
    }


def twin(p: dict[str, Any], replace: bool, cap: int | None) -> list[tuple[int, int, int]]:
    """(treated id, control id, round) by the literal rule."""
    units = list(zip(p["id"], p["t"], p["s"], p["g"], strict=True))
    tr = [u for u in units if u[1]]
    co = [u for u in units if not u[1]]
    if p["order"] == "random":
        tr = [tr[i] for i in np.random.default_rng(3).permutation(len(tr))]
    elif p["order"] != "data":
        sign = -1 if p["order"] == "largest" else 1
        tr.sort(key=lambda u: (sign * u[2], u[0]))
    cal = np.inf if p["caliper"] is None else p["caliper"]
    left = {u[0]: (cap if replace else 1) for u in co}
    got: dict[int, list[int]] = {u[0]: [] for u in tr}
    out = []
    for rnd in range(p["ratio"]):
        for t in tr:
            if rnd > 0 and len(got[t[0]]) < rnd:
                continue
            cands = [c for c in co if (not p["exact"] or c[3] == t[3])
                     and c[0] not in got[t[0]] and (left[c[0]] is None or left[c[0]] > 0)]
            if not cands:
                continue
            best = min(cands, key=lambda c: (abs(c[2] - t[2]), -c[2], c[0]))
            if abs(best[2] - t[2]) > cal:
                continue
            got[t[0]].append(best[0])
            if left[best[0]] is not None:
                left[best[0]] -= 1
            out.append((t[0], best[0], rnd + 1))
    return sorted(out)


def run(p: dict[str, Any], **options: Any) -> pbr.MatchResult:
    df = pl.DataFrame({k: p[k] for k in ("id", "t", "s", "g", "x")})
    return pbr.match(df, "t", score="s", id="id", ratio=p["ratio"], caliper=p["caliper"],
                     caliper_scale="absolute", exact=["g"] if p["exact"] else [],
                     order=p["order"], seed=3 if p["order"] == "random" else None, **options)


def triples(m: pbr.MatchResult) -> list[tuple[int, int, int]]:
    return sorted((int(a), int(b), int(r)) for a, b, r in
                  m.pairs.select("treated_id", "control_id", "round").iter_rows())


@given(problems())
def test_without_replacement_equals_twin(p: dict[str, Any]) -> None:
    m = run(p)
    assert triples(m) == twin(p, replace=False, cap=None)
    # no control is used twice; every pair lies within the caliper
    assert m.pairs["control_id"].is_unique().all()
    if p["caliper"] is not None:
        assert (m.pairs["distance"] <= p["caliper"]).all()


@given(problems(), st.integers(1, 3))
def test_reuse_cap_equals_twin(p: dict[str, Any], cap: int) -> None:
    m = run(p, replace=True, reuse_max=cap)
    assert triples(m) == twin(p, replace=True, cap=cap)
    assert (m.pairs["control_id"].value_counts()["count"] <= cap).all()


@given(problems())
def test_with_replacement_equals_twin(p: dict[str, Any]) -> None:
    m = run(p, replace=True)
    assert triples(m) == twin(p, replace=True, cap=None)
    if p["caliper"] is not None:
        assert (m.pairs["distance"] <= p["caliper"]).all()


@given(problems())
def test_row_order_does_not_matter(p: dict[str, Any]) -> None:
    """Matching in score order: shuffled rows give identical pairs, distances, subclasses
    and per-unit weights (ties are broken by id, never by row position)."""
    if p["order"] in ("data", "random"):
        p = {**p, "order": "largest"}
    m = run(p)
    perm = list(range(len(p["id"])))
    p["shuffle"].shuffle(perm)
    q = dict(p)
    for k in ("id", "t", "s", "g", "x"):
        q[k] = [p[k][i] for i in perm]
    m2 = run(q)
    assert m.pairs.equals(m2.pairs)
    assert m.frame.sort("id").equals(m2.frame.sort("id"))


@given(problems())
def test_mahalanobis_equals_brute_force(p: dict[str, Any]) -> None:
    df = pl.DataFrame({k: p[k] for k in ("id", "t", "x", "s")})
    cal = None if p["caliper"] is None else 4 * p["caliper"]
    m = pbr.match(df, "t", ["x", "s"], id="id", distance="mahalanobis", order="data",
                  ratio=p["ratio"], caliper=cal, caliper_scale="absolute")
    if cal is not None:
        assert (m.pairs["distance"] <= cal).all()
    t = np.array(p["t"], bool)
    z = np.column_stack([p["x"], p["s"]]).astype(float)
    from pbr.matching.nearest import whiten

    w = whiten(z, t)
    ids = np.array(p["id"])
    tr, co = np.flatnonzero(t), np.flatnonzero(~t)
    used: set[int] = set()
    got: dict[int, list[int]] = {int(i): [] for i in tr}
    expected = []
    for rnd in range(p["ratio"]):
        for i in tr:
            if rnd > 0 and len(got[int(i)]) < rnd:
                continue
            cands = [int(c) for c in co if int(c) not in used]
            if not cands:
                continue
            d = [float(((w[i] - w[c]) ** 2).sum()) for c in cands]
            j = min(range(len(cands)), key=lambda k: (d[k], ids[cands[k]]))
            if cal is not None and np.sqrt(d[j]) > cal:
                continue
            used.add(cands[j])
            got[int(i)].append(cands[j])
            expected.append((int(ids[i]), int(ids[cands[j]]), rnd + 1))
    assert triples(m) == sorted(expected)


def test_parallel_kernels_equal_serial(monkeypatch: Any) -> None:
    """With replacement the search runs in parallel above PARALLEL_MIN treated units;
    the parallel and one-thread kernels give identical results."""
    import pbr.matching.nearest as nearest

    rng = np.random.default_rng(7)
    n = 3_000
    df = pl.DataFrame({"id": rng.permutation(n), "t": (rng.random(n) < 0.3).astype(int),
                       "s": rng.integers(0, 200, n) / 200, "x": rng.normal(size=n)})
    kw: dict[str, Any] = {"score": "s", "id": "id", "replace": True, "ratio": 3,
                          "caliper": 0.01, "caliper_scale": "absolute"}
    maha: dict[str, Any] = {"id": "id", "replace": True, "ratio": 2,
                            "distance": "mahalanobis", "order": "data"}
    serial = (pbr.match(df, "t", **kw).pairs, pbr.match(df, "t", ["x", "s"], **maha).pairs)
    monkeypatch.setattr(nearest, "PARALLEL_MIN", 0)
    parallel = (pbr.match(df, "t", **kw).pairs, pbr.match(df, "t", ["x", "s"], **maha).pairs)
    assert serial[0].equals(parallel[0]) and serial[1].equals(parallel[1])
