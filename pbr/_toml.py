"""Reading specs from TOML, in one place: text or a ``.toml`` path, one table, known keys.

Every spec (:class:`~pbr.spec.MeasureSpec`, :class:`~pbr.cohort.rule.CohortRule`,
:class:`~pbr.compare.ComparisonSpec`, :class:`~pbr.matching.spec.MatchSpec`,
schemes and baselines) reads its TOML through these helpers, so every one accepts the
same inputs and reports a bad file or an unknown key the same way.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any, TypeVar

from pbr.errors import SpecError

__all__ = ["build", "looks_like_path", "read_toml", "table"]

T = TypeVar("T")


def looks_like_path(source: str | Path) -> bool:
    """True for a :class:`~pathlib.Path` or one line of text ending in ``.toml``.

    Examples
    --------
    >>> looks_like_path("spec.toml"), looks_like_path("follow_up = '12 months'")
    (True, False)
    """
    if isinstance(source, Path):
        return True
    return "\n" not in source and source.endswith(".toml")


def read_toml(source: str | Path) -> dict[str, Any]:
    """Parse TOML text or a ``.toml`` file; a syntax error is a :class:`SpecError`.

    Examples
    --------
    >>> read_toml("[measure]\\nfollow_up = '12 months'")
    {'measure': {'follow_up': '12 months'}}
    """
    text = Path(source).read_text(encoding="utf-8") if looks_like_path(source) else str(source)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"cannot read TOML: {exc}") from None


def table(data: Mapping[str, Any], name: str, *, strict: bool = False) -> Mapping[str, Any]:
    """The ``[name]`` table of parsed TOML, or the bare keys when there is none.

    With ``strict``, a document holding other tables but not ``[name]`` is an error.

    Examples
    --------
    >>> table({"match": {"ratio": 2}}, "match"), table({"ratio": 2}, "match")
    ({'ratio': 2}, {'ratio': 2})
    """
    if name in data:
        found = data[name]
        if not isinstance(found, Mapping):
            raise SpecError(f"[{name}] must be a table, got {found!r}")
        return found
    if strict and any(isinstance(v, Mapping) for v in data.values()):
        raise SpecError(f"no [{name}] table in the TOML; put the settings under [{name}]")
    return data


def build(cls: Callable[..., T], data: Mapping[str, Any], what: str = "") -> T:
    """``cls(**data)`` after checking every key is a field of the dataclass ``cls``.

    ``what`` names the table in the error (``"unknown cohort field(s) ..."``).

    Examples
    --------
    >>> from dataclasses import dataclass
    >>> @dataclass
    ... class S:
    ...     a: int = 1
    >>> build(S, {"a": 2})
    S(a=2)
    >>> build(S, {"b": 2}, "demo")
    Traceback (most recent call last):
    pbr.errors.SpecError: unknown demo field(s) b; known fields: a
    """
    known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - known)
    if unknown:
        label = f"{what} " if what else ""
        raise SpecError(f"unknown {label}field(s) {', '.join(unknown)}; known fields: "
                        f"{', '.join(sorted(known))}")
    return cls(**dict(data))
