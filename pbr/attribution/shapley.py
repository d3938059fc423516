"""Exact Shapley values for small coalitions of providers.

For a set of players ``N`` (the providers on an offender's pathway) and a value function
``v`` on its subsets (``v(frozenset()) = 0``), the Shapley value of player ``i`` is

    phi_i = sum over S in N \\ {i} of |S|! (n - |S| - 1)! / n! * (v(S + {i}) - v(S))

([Shapley-1953]). The values are efficient (they sum to ``v(N)``),
symmetric, give nothing to a player who adds nothing, and are additive across games.
pbr computes them exactly (``fractions.Fraction``) by enumerating the ``2**n`` subsets,
so ``n`` is limited to :data:`MAX_PLAYERS`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from fractions import Fraction
from itertools import combinations
from math import factorial

from pbr.errors import SpecError

__all__ = ["MAX_PLAYERS", "Value", "shapley_values"]

#: the largest coalition pbr enumerates exactly (2**12 = 4,096 subsets per pathway)
MAX_PLAYERS = 12

#: a value function: a mapping from coalitions to numbers, or a callable on coalitions
Value = Mapping[frozenset[str], float | int | Decimal | Fraction] | Callable[
    [frozenset[str]], float | int | Decimal | Fraction]


def _exact(x: object, coalition: frozenset[str]) -> Fraction:
    if isinstance(x, bool):
        raise SpecError(f"shapley: the value of coalition {sorted(coalition)} is a bool "
                        f"({x!r}); give a number")
    if isinstance(x, Fraction | int):
        return Fraction(x)
    if isinstance(x, Decimal):
        if not x.is_finite():
            raise SpecError(f"shapley: the value of coalition {sorted(coalition)} is {x}")
        return Fraction(x)
    if isinstance(x, float):
        if x != x or x in (float("inf"), float("-inf")):
            raise SpecError(f"shapley: the value of coalition {sorted(coalition)} is {x}; "
                            "give a finite number")
        return Fraction(x)
    raise SpecError(f"shapley: the value of coalition {sorted(coalition)} is "
                    f"{type(x).__name__} {x!r}; give a number")


def lookup(value: Value, coalition: frozenset[str]) -> Fraction:
    """``v(coalition)`` as an exact fraction; ``v(empty set)`` is 0 unless given."""
    if callable(value):
        return _exact(value(coalition), coalition)
    if coalition in value:
        return _exact(value[coalition], coalition)
    if not coalition:
        return Fraction(0)
    raise SpecError(
        f"shapley: no value for the coalition {{{', '.join(sorted(coalition))}}}, which the "
        "exact Shapley value needs (every subset of a pathway). Fix: give it a value "
        "(0 if those providers together achieve nothing), or use another rule "
        "(rule='time_share')")


def shapley_values(players: Iterable[str], value: Value) -> dict[str, Fraction]:
    """The exact Shapley value of each player.

    Parameters
    ----------
    players
        The providers on the pathway (distinct names).
    value
        ``v`` on every subset of ``players``: a mapping from ``frozenset`` to a number
        (the empty set may be left out: it is 0) or a callable.

    Returns
    -------
    dict
        ``{player: phi}`` as :class:`fractions.Fraction`; the values sum to ``v(players)``.

    Examples
    --------
    >>> v = {frozenset("A"): 1, frozenset("B"): 1, frozenset("AB"): 4}
    >>> {k: str(x) for k, x in shapley_values("AB", v).items()}
    {'A': '2', 'B': '2'}
    """
    names = sorted(set(players))
    n = len(names)
    if n > MAX_PLAYERS:
        raise SpecError(f"shapley: a pathway of {n} providers is more than the {MAX_PLAYERS} "
                        "pbr enumerates exactly; group providers, or use rule='time_share'")
    cache: dict[frozenset[str], Fraction] = {}

    def v(s: frozenset[str]) -> Fraction:
        if s not in cache:
            cache[s] = lookup(value, s)
        return cache[s]

    weight = [Fraction(factorial(k) * factorial(n - k - 1), factorial(n)) for k in range(n)]
    out: dict[str, Fraction] = {}
    for i in names:
        others = [p for p in names if p != i]
        total = Fraction(0)
        for k in range(n):
            for combo in combinations(others, k):
                s = frozenset(combo)
                total += weight[k] * (v(s | {i}) - v(s))
        out[i] = total
    return out
