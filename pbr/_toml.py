"""Specs as TOML, in one place: text or a ``.toml`` path, one table, known keys.

Every spec (:class:`~pbr.spec.MeasureSpec`, :class:`~pbr.cohort.rule.CohortRule`,
:class:`~pbr.compare.ComparisonSpec`, :class:`~pbr.matching.spec.MatchSpec`,
:class:`~pbr.schemes.Scheme` and :class:`~pbr.risk.Baseline`) reads and writes its TOML
through :class:`TomlDocument` (a document of several tables) or :class:`TomlTable` (one
dataclass as one table), so every one accepts the same inputs, writes its fields the
same way and reports a bad file or an unknown key the same way.  The four one-table
specs also print the same way (:func:`describe`: each field with its value, its default
and its source).
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import fields
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar, Self, TypeVar

import tomli_w

from pbr.errors import SpecError
from pbr.period import Period

__all__ = ["TomlDocument", "TomlTable", "build", "bundled", "bundled_text", "describe",
           "listed", "looks_like_path", "plain", "read_toml", "table"]

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


def _presets(folder: str) -> Any:
    root = resources.files("pbr") / "presets"
    return root / folder if folder else root


def bundled(folder: str = "") -> list[str]:
    """Names of the bundled preset files in ``pbr/presets/<folder>`` (without ``.toml``).

    Examples
    --------
    >>> bundled("schemes")[:2]
    ['crc_pbr_2015', 'doncaster_pbr']
    """
    return sorted(p.name[:-5] for p in _presets(folder).iterdir() if p.name.endswith(".toml"))


def bundled_text(name: str, folder: str = "", what: str = "preset") -> str:
    """The text of a bundled preset file; an unknown name is a :class:`SpecError`
    listing the names there are (``what`` names the kind: "preset", "scheme").

    Examples
    --------
    >>> bundled_text("nonesuch", "schemes", "scheme")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    pbr.errors.SpecError: unknown scheme 'nonesuch'; available: crc_pbr_2015, ...
    """
    names = bundled(folder)
    if name not in names:
        raise SpecError(f"unknown {what} {name!r}; available: {', '.join(names)}")
    return str((_presets(folder) / f"{name}.toml").read_text())


def plain(value: Any) -> Any:
    """A field's value as TOML writes it: a :class:`~pbr.period.Period` as its text, a
    tuple as a list (item by item); anything else (text, numbers, booleans, dates) as is.

    Examples
    --------
    >>> plain((Period(12, "months"), "conviction"))
    ['12 months', 'conviction']
    """
    if isinstance(value, Period):
        return str(value)
    if isinstance(value, tuple):
        return [plain(item) for item in value]
    return value


def listed(value: Any, *, sep: str = ", ", empty: str = "-") -> Any:
    """A field's value as a spec's text shows it: a tuple joined with ``sep`` (``empty``
    when it has no items); anything else as is.

    Examples
    --------
    >>> listed(("conviction", "caution")), listed(()), listed(12)
    ('conviction, caution', '-', 12)
    """
    return (sep.join(value) or empty) if isinstance(value, tuple) else value


def describe(spec: Any, widths: tuple[int, int],
             show: Callable[[str, Any], Any] | None = None) -> str:
    """A dataclass spec as text, the ``__str__`` of every one-table spec: a first line
    with its class and ``name``, then a line per other field with the field's name, its
    value (``show(field, value)``; :func:`listed` unless given), its default and its
    source (the field's ``default_note`` and ``source`` metadata), in columns ``widths``
    wide (name, value).

    Examples
    --------
    >>> from dataclasses import dataclass, field
    >>> @dataclass(frozen=True)
    ... class Demo:
    ...     name: str = "demo"
    ...     codes: tuple[str, ...] = field(default=("a", "b"), metadata={
    ...         "default_note": "a, b", "source": "[V]"})
    >>> print(describe(Demo(), (8, 10)))
    Demo 'demo'
      codes    a, b       default a, b; [V]
    """
    name_width, value_width = widths
    lines = [f"{type(spec).__name__} {spec.name!r}"]
    for f in fields(spec):
        if f.name == "name":
            continue
        value = getattr(spec, f.name)
        shown = listed(value) if show is None else show(f.name, value)
        lines.append(f"  {f.name:<{name_width}} {shown!s:<{value_width}} default "
                     f"{f.metadata['default_note']}; {f.metadata['source']}")
    return "\n".join(lines)


class Replaceable:
    """A frozen dataclass spec copied with some fields changed: :meth:`replace`.

    Shared by the specs whose fields include no ``replace`` (``MatchSpec`` has one, the
    with-replacement flag, and keeps ``replace_fields``).
    """

    __slots__ = ()

    def replace(self, **changes: Any) -> Self:
        """A copy with some fields changed, validated again (``__post_init__`` runs).

        Examples
        --------
        >>> import pbr
        >>> pbr.MeasureSpec().replace(follow_up="6 months").follow_up
        Period('6 months')
        >>> pbr.ComparisonSpec().replace(level=0.9).level
        0.9
        """
        return dataclasses.replace(self, **changes)  # type: ignore[type-var]


class TomlDocument:
    """A spec written as a whole TOML document: :meth:`to_toml` and :meth:`from_toml`.

    A subclass gives :meth:`_document` (its plain TOML values, table by table) and
    :meth:`_from_document` (the spec from parsed TOML); reading text or a path, and the
    errors of a bad file, are the same for every spec.
    """

    __slots__ = ()

    def _document(self) -> dict[str, Any]:
        raise NotImplementedError(type(self).__name__)

    @classmethod
    def _from_document(cls, doc: Mapping[str, Any]) -> Self:
        raise NotImplementedError(cls.__name__)

    def to_toml(self) -> str:
        """The spec as TOML text (reads back equal with :meth:`from_toml`)."""
        return tomli_w.dumps(self._document())

    @classmethod
    def from_toml(cls, source: str | Path) -> Self:
        """Read the spec from TOML text or a ``.toml`` file (:func:`looks_like_path`)."""
        return cls._from_document(read_toml(source))


class TomlTable(TomlDocument):
    """A frozen dataclass spec written as one TOML table, field by field.

    The subclass names its table: ``class MatchSpec(TomlTable, table="match")``.
    :meth:`to_dict` writes every field that is not None through :func:`plain` (a field
    whose metadata has ``omit_default`` only when it differs from its default); a field
    named in ``pairs`` (a tuple of ``(key, value)`` pairs) becomes a table of its own.
    :meth:`from_dict` is :func:`build`, naming the unknown keys with ``label`` (the table
    name unless given); :meth:`from_toml` reads the ``[table]`` table or bare keys
    (``strict``: a document with other tables but not this one is refused).

    Examples
    --------
    >>> from dataclasses import dataclass
    >>> @dataclass(frozen=True)
    ... class Demo(TomlTable, table="demo", pairs=("weights",)):
    ...     follow_up: Period = Period(12, "months")
    ...     codes: tuple[str, ...] = ("a", "b")
    ...     weights: tuple[tuple[str, float], ...] = (("a", 1.5),)
    ...     cap: int | None = None
    >>> print(Demo().to_toml(), end="")
    [demo]
    follow_up = "12 months"
    codes = [
        "a",
        "b",
    ]
    <BLANKLINE>
    [demo.weights]
    a = 1.5
    >>> Demo.from_toml("[demo]\\ncap = 3").cap
    3
    >>> Demo.from_dict({"cpa": 3})
    Traceback (most recent call last):
    pbr.errors.SpecError: unknown demo field(s) cpa; known fields: cap, codes, follow_up, weights
    """

    __slots__ = ()
    _table: ClassVar[str]
    _label: ClassVar[str]
    _strict: ClassVar[bool]
    _pairs: ClassVar[frozenset[str]]

    def __init_subclass__(cls, *, table: str, label: str | None = None, strict: bool = False,
                          pairs: Iterable[str] = (), **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._table = table
        cls._label = table if label is None else label
        cls._strict = strict
        cls._pairs = frozenset(pairs)

    def to_dict(self) -> dict[str, Any]:
        """Plain TOML-able values: periods as text, tuples as lists, None fields left out."""
        out: dict[str, Any] = {}
        for f in fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if value is None or ("omit_default" in f.metadata and value == f.default):
                continue  # a field added later is written only when set (stable hashes)
            if f.name in self._pairs:
                value = {key: plain(item) for key, item in value}
            out[f.name] = plain(value)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Build from plain values; unknown keys raise SpecError naming them."""
        return build(cls, data, cls._label)

    def _document(self) -> dict[str, Any]:
        return {self._table: self.to_dict()}

    @classmethod
    def _from_document(cls, doc: Mapping[str, Any]) -> Self:
        return cls.from_dict(table(doc, cls._table, strict=cls._strict))
