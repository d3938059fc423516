"""Adding a measure touches the rule set, its output table and the polars twin only.

A toy measure, ``weekend_offences`` (qualifying offences committed on a Saturday or a
Sunday, whatever the counting unit), is added here the way ARCHITECTURE.md's
walk-through adds one: a rule set extending :data:`pbr._kernels.rules.DEFAULT` (one more
accumulator word, ``init``/``fold``/``finalise`` that call the default ones first, one
more row of the output table) and its polars twin in :data:`pbr._reference.TWINS`.  No
engine file changes: the grouped kernel (``Histories.measure_arrays``), the one-call
path and the polars twin all return the new output, ``pbr.measure``'s frame carries it,
and the engines agree on random histories.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from numba import njit
from test_properties import _refused, _validated, histories, specs

import pbr
from pbr import _reference, _scratch
from pbr._engine.onepass import onepass_arrays
from pbr._kernels import rules

WEEKEND = rules.DEFAULT.width  # the new accumulator word
WEEKEND_OUT = len(rules.DEFAULT.rule_outputs)  # the new output's place in ``outs``


@njit(inline="always")
def _init(acc, j):  # type: ignore[no-untyped-def]
    rules.init(acc, j)
    acc[j, WEEKEND] = 0.0


@njit(inline="always")
def _fold(acc, j, o, d, idx, a, tables, scale, new_unit):  # type: ignore[no-untyped-def]
    rules.fold(acc, j, o, d, idx, a, tables, scale, new_unit)
    if (o + 3) % 7 >= 5:  # day 0, 1970-01-01, was a Thursday (3 with Monday 0)
        acc[j, WEEKEND] += 1.0


@njit(inline="always")
def _finalise(acc, j, scale, outs, r):  # type: ignore[no-untyped-def]
    rules.finalise(acc, j, scale, outs, r)
    outs[WEEKEND_OUT][r] = acc[j, WEEKEND]


TOY = rules.RuleSet(
    "weekend", (*rules.DEFAULT.words, "weekend"), _init, rules.qualifies, _fold, _finalise,
    (*rules.DEFAULT.outputs, rules.Output("weekend_offences", np.int32, 0)))


@pytest.fixture(scope="module")
def weekend() -> Iterator[rules.RuleSet]:
    """The toy rule set active, with its polars twin registered."""
    twin = _reference.Twin(lambda spec, order: (pl.col("offence_date").dt.weekday() >= 6)
                           .sum().cast(pl.Int64))
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(_reference.TWINS, "weekend_offences", twin)
        with rules.use(TOY):
            yield TOY


def _engines(cohort: pl.DataFrame, events: pl.DataFrame, spec: pbr.MeasureSpec
             ) -> dict[str, dict[str, np.ndarray]]:
    """The outputs of the grouped kernel, the one-call path (exact severity only) and
    the polars twin."""
    ev = pbr.Events.from_frame(events, on_invalid="exclude")
    h = pbr.prepare(cohort, ev, horizon=spec)
    out = {"grouped": {k: v.copy() for k, v in h.measure_arrays(spec).items()}}
    ref = _reference.measure_reference(h.cohort.frame, h.events.frame, spec)
    out["polars"] = {o.name: ref[o.name].to_physical().to_numpy().astype(o.dtype)
                     for o in rules.active().outputs}
    if spec.severity_scale is not None:
        with _scratch.Arena() as scratch:
            arrays = onepass_arrays(cohort, ev, spec, None, scratch)[3]
            out["one call"] = {k: np.array(v) for k, v in arrays.items()}
    return out


def test_every_rule_output_has_a_polars_twin() -> None:
    for o in rules.DEFAULT.rule_outputs:
        assert o.name in _reference.TWINS, o.name


@pytest.mark.parametrize("rule_set", [rules.DEFAULT, TOY], ids=lambda r: r.name)
def test_empty_accumulator_finalises_to_the_table_nulls(rule_set: rules.RuleSet) -> None:
    init, finalise, width = rule_set.init, rule_set.finalise, rule_set.width

    @njit
    def empty(outs: Any) -> None:  # the null row, as the kernels write it
        acc = np.empty((1, width), np.float64)
        init(acc, 0)
        finalise(acc, 0, 1.0, outs, 0)

    outs: tuple[np.ndarray, ...] = tuple(np.full(1, 99, o.dtype) for o in rule_set.rule_outputs)
    empty(outs)
    assert [a[0] for a in outs] == [o.null for o in rule_set.rule_outputs]


def test_toy_measure_compiles_in_reasonable_time(weekend: rules.RuleSet) -> None:
    data = pbr.synth.generate(300, seed=3)
    t0 = time.perf_counter()
    arrays = _engines(data.cohort, data.events, pbr.MeasureSpec())
    elapsed = time.perf_counter() - t0  # the first use compiles the toy's three kernels
    assert elapsed < 120, f"compiling the toy rule set's kernels took {elapsed:.0f} s"
    assert arrays["grouped"]["weekend_offences"].sum() > 0
    for name, got in arrays.items():
        for k, v in arrays["polars"].items():
            np.testing.assert_array_equal(got[k], v, err_msg=f"{name}: {k}")


@settings(max_examples=20)  # each example compiles nothing new but runs five engines
@given(histories(), specs())
def test_toy_measure_engines_agree(weekend: rules.RuleSet,
                                   data: tuple[pl.DataFrame, pl.DataFrame],
                                   spec: pbr.MeasureSpec) -> None:
    cohort, events = data
    if _refused(_validated(events), spec):
        return
    arrays = _engines(cohort, events, spec)
    assert set(arrays["polars"]) == {o.name for o in TOY.outputs}
    for name, got in arrays.items():
        for k, v in arrays["polars"].items():
            np.testing.assert_array_equal(got[k], v, err_msg=f"{name}: {k}")
    # the public result frames carry the new output, the same on both engines
    ev = pbr.Events.from_frame(events, on_invalid="exclude")
    fast = pbr.measure(cohort, ev, spec).frame
    slow = pbr.measure(cohort, ev, spec, engine="polars").frame
    assert "weekend_offences" in fast.columns
    assert fast.equals(slow), (fast, slow)
    # the default outputs are the default rule set's, untouched by the new word
    with rules.use(rules.DEFAULT):
        default = _engines(cohort, events, spec)["grouped"]
    for k, v in default.items():
        np.testing.assert_array_equal(arrays["grouped"][k], v, err_msg=k)
