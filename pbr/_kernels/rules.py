"""The counting rules of the proven-reoffending measure, written once for both kernels.

A measure is a per-offender reduction over the events that qualify in the offender's
window.  Both Numba paths, the grouped kernel over prepared histories
(:mod:`pbr._kernels.reoffending`) and the one-call join (:mod:`pbr._kernels.onepass`),
apply the rules here; they differ only in how they find an offender's events (a sorted
run of the grouped layout, or a hash-join hit) and where they keep its accumulator (a
scratch row, or words of the offender's join record).  The polars twin
(:mod:`pbr._reference`) is the only other statement of the rules.

A rule set (:class:`RuleSet`) is:

* ``words``: the names of the accumulator's words.  The accumulator of offender ``j`` is
  the row ``acc[j, :len(words)]`` of a float64 array (a float word holds every integer
  below 2**53 exactly, and the non-exact severity sum needs a float);
* ``init(acc, j)``: the empty accumulator;
* ``qualifies(o, d, lo, hi, dlast, a, tables)``: whether an event with offence day ``o``,
  disposal day ``d`` and attribute ``a`` counts in the window ``[lo, hi]`` with disposals
  up to ``dlast`` (rules W1-W3, A1-A2, P1, F1);
* ``fold(acc, j, o, d, idx, a, tables, scale, new_unit)``: add a qualifying event of the
  offender with index day ``idx``; ``new_unit`` says whether it is the first qualifying
  event of its counting unit (rule C1: the caller finds duplicates of a court event).
  Folds must not depend on the order of the events (the one-call path meets them in
  input order);
* ``finalise(acc, j, scale, outs, r)``: write row ``r`` of the outputs ``outs`` (the
  arrays of the rule outputs, in table order) from the accumulator;
* ``outputs``: the output table (:class:`Output`): every per-offender output, its dtype,
  its value for an offender with nothing to count, and what writes it (``"rule"``:
  ``finalise``; ``"window"``: the kernels, from the offender's window).  The engine
  allocates and names the result arrays from this table.

``tables`` is ``(flags, weight, weight_int)``, one entry per attribute ``a`` (an event's
disposal type, code and category in the grouped layout; its offence code in the one-call
path): ``flags`` has the bits :data:`A_COUNTS` (P1 and F1 pass), :data:`A_SERIOUS` and
:data:`A_UNMAPPED`; ``weight`` and ``weight_int`` are the severity weight and the weight
times ``scale`` (:attr:`pbr.spec.MeasureSpec.severity_scale`).  With ``scale > 0`` the
integer weights are summed and divided by ``scale`` once, an exact decimal sum;
otherwise the float weights are summed in event order (grouped path only).

The kernels are compiled for the active rule set (:func:`active`, :func:`use`): the
default :data:`DEFAULT`, cached on disk, or another one compiled the first time it is
used in a process (:func:`specialise`).  ARCHITECTURE.md walks through adding a measure.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from numba import njit

__all__ = ["A_COUNTS", "A_SERIOUS", "A_UNMAPPED", "DEFAULT", "Output", "RuleSet", "active",
           "specialise", "use"]

#: attribute flag bits (``tables[0]``)
A_COUNTS = 1  # its type, code and category pass the spec's filters (P1, F1)
A_SERIOUS = 2  # its code is on the serious list (M4)
A_UNMAPPED = 4  # its code has no severity weight (S1)

# the default accumulator's words
COUNT = 0  # qualifying offences in the counting unit (M1, C1)
SEVERITY = 1  # sum of weights (M3): integer weights when scale > 0, else float weights
SERIOUS = 2  # 1 when a qualifying offence is serious (M4)
FIRST = 3  # fewest days from the index day to a qualifying offence (M5); inf: none
UNMAPPED = 4  # qualifying offences whose code has no weight (S1)
WORDS = ("count", "severity", "serious", "first", "unmapped")


@dataclass(frozen=True)
class Output:
    """One per-offender output of the measure kernels.

    Attributes
    ----------
    name
        The key of its array in the engine's result arrays.
    dtype
        Its numpy type in the grouped kernel's result arrays.
    null
        Its value for an offender with no qualifying event or not measurable.
    finalised
        ``"rule"``: written by the rule set's ``finalise``, in table order; ``"window"``:
        written by the kernels from the offender's window (status, last counting day).
    """

    name: str
    dtype: type
    null: Any
    finalised: str = "rule"


@dataclass(frozen=True)
class RuleSet:
    """A set of counting rules and its output table (see the module docstring).

    Attributes
    ----------
    name
        A label (error messages, the compiled kernels' cache of rule sets).
    words
        The accumulator's word names; ``len(words)`` words per offender.
    init, qualifies, fold, finalise
        ``@njit(inline="always")`` functions with the signatures of the module docstring.
    outputs
        The output table.
    """

    name: str
    words: tuple[str, ...]
    init: Any
    qualifies: Any
    fold: Any
    finalise: Any
    outputs: tuple[Output, ...]

    @property
    def width(self) -> int:
        """Accumulator words per offender."""
        return len(self.words)

    @property
    def rule_outputs(self) -> tuple[Output, ...]:
        """The outputs ``finalise`` writes, in the order of its ``outs`` tuple."""
        return tuple(o for o in self.outputs if o.finalised == "rule")

    def dtypes(self) -> dict[str, type]:
        """Output name -> numpy type, in table order."""
        return {o.name: o.dtype for o in self.outputs}


@njit(cache=True, inline="always")
def init(acc, j):
    """The empty accumulator of offender ``j``."""
    acc[j, COUNT] = 0.0
    acc[j, SEVERITY] = 0.0
    acc[j, SERIOUS] = 0.0
    acc[j, FIRST] = np.inf
    acc[j, UNMAPPED] = 0.0


@njit(cache=True, inline="always")
def qualifies(o, d, lo, hi, dlast, a, tables):
    """Whether an event counts: offence day in ``[lo, hi]``, disposal day up to
    ``dlast`` (W1-W3, A1-A2), and its attribute passes the proof and offence filters
    (P1, F1)."""
    if o < lo or o > hi or d > dlast:
        return False
    return (tables[0][a] & A_COUNTS) != 0


@njit(cache=True, inline="always")
def fold(acc, j, o, d, idx, a, tables, scale, new_unit):
    """Add a qualifying event to offender ``j``'s accumulator (M1, M3-M5, S1, C1)."""
    if new_unit:
        acc[j, COUNT] += 1.0
    if scale > 0:
        acc[j, SEVERITY] += tables[2][a]
    else:
        acc[j, SEVERITY] += tables[1][a]
    f = tables[0][a]
    if f & A_SERIOUS:
        acc[j, SERIOUS] = 1.0
    if f & A_UNMAPPED:
        acc[j, UNMAPPED] += 1.0
    days = o - idx
    if days < acc[j, FIRST]:
        acc[j, FIRST] = days


@njit(cache=True, inline="always")
def finalise(acc, j, scale, outs, r):
    """Row ``r`` of the rule outputs (reoffences, severity, serious, days_to_first,
    unmapped) from offender ``j``'s accumulator."""
    outs[0][r] = acc[j, COUNT]
    outs[1][r] = acc[j, SEVERITY] / scale if scale > 0 else acc[j, SEVERITY]
    outs[2][r] = acc[j, SERIOUS] != 0.0
    first = acc[j, FIRST]
    outs[3][r] = -1 if first == np.inf else first
    outs[4][r] = acc[j, UNMAPPED]


#: the output table of the measure kernels (``Histories.measure_arrays``' keys and types)
OUTPUTS = (
    Output("reoffences", np.int32, 0),
    Output("severity", np.float64, 0.0),
    Output("serious", np.bool_, False),
    Output("days_to_first", np.int32, -1),
    Output("status", np.int8, 1, "window"),
    Output("unmapped", np.int32, 0),
    Output("window_end", np.int32, 0, "window"),
)

#: the rules of :mod:`pbr.spec`'s measures
DEFAULT = RuleSet("default", WORDS, init, qualifies, fold, finalise, OUTPUTS)

_active: list[RuleSet] = [DEFAULT]


def active() -> RuleSet:
    """The rule set the engine's kernels apply now (:data:`DEFAULT` unless inside
    :func:`use`)."""
    return _active[-1]


@contextlib.contextmanager
def use(rules: RuleSet) -> Iterator[RuleSet]:
    """Apply ``rules`` instead of the active rule set inside a ``with`` block: the hook
    for a measure under development and for tests (the engine compiles its kernels for
    a new rule set on first use, in this process only).  Not thread-safe: it changes the
    rule set of every thread."""
    if not isinstance(rules, RuleSet):
        raise TypeError(f"rules: expected a RuleSet, got {rules!r}")
    depth = len(_active)
    _active.append(rules)
    try:
        yield rules
    finally:
        del _active[depth:]


_RULE_NAMES = ("init", "qualifies", "fold", "finalise")
_specialised: dict[tuple[int, str], Any] = {}


def specialise(kernel: Any, rules: RuleSet, helpers: tuple[Any, ...] = ()) -> Any:
    """``kernel`` (a Numba dispatcher whose module imports this module's rule functions
    by name) compiled for ``rules``: the same Python code, with the rule functions and
    ``helpers`` (inlined dispatchers that call them) rebound to ``rules``' own.

    The default rule set returns ``kernel`` itself (compiled once, cached on disk); any
    other is compiled on its first call in the process and kept for the next.
    """
    if rules is DEFAULT:
        return kernel
    key = (id(rules), kernel.py_func.__qualname__)
    if key not in _specialised:
        bound: dict[str, Any] = {n: getattr(rules, n) for n in _RULE_NAMES}
        bound["N_WORDS"] = rules.width
        for h in helpers:
            bound[h.py_func.__name__] = _rebind(h, bound, inline="always")
        _specialised[key] = (rules, _rebind(kernel, bound, parallel=True))
    return _specialised[key][1]


def _rebind(dispatcher: Any, bound: dict[str, Any], **options: Any) -> Any:
    """A new dispatcher of ``dispatcher``'s Python function with the globals ``bound``."""
    import types

    f = dispatcher.py_func
    g = {**f.__globals__, **bound}
    clone: Callable[..., Any] = types.FunctionType(f.__code__, g, f.__name__, f.__defaults__,
                                                   f.__closure__)
    return njit(**options)(clone)
