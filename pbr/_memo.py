"""Values a frozen object derives on first use, kept outside the object.

A frozen dataclass may not change after construction, yet some of its values are worth
finding once and keeping (a table's row numbers, its date span, a result's provenance).
They live in a :class:`Memo`, a small mutable cache held in a field of the frozen object
(``field(default_factory=Memo, init=False, repr=False, compare=False)``), the way
``pbr._engine.layout.Derived`` serves the grouped layout: the object's own fields are
never written after ``__init__`` (``tests/test_frozen.py`` enforces it).
:class:`memoised` is ``functools.cached_property`` for such an object: the value goes
into the object's ``_memo``, not into the object.

``dataclasses.replace`` gives the new object a fresh, empty memo (the field is not an
``__init__`` argument), so nothing derived from the old fields is carried over.  A memo
is copied and pickled with its values (a table sent to another process keeps what it
found) and without its lock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar, overload

T = TypeVar("T")
Owner = TypeVar("Owner")

__all__ = ["Memo", "memoised"]


class Memo:
    """A thread-safe cache of named values, each made once.

    Examples
    --------
    >>> m = Memo()
    >>> m.get("answer", lambda: 6 * 7), m.get("answer", lambda: 0)
    (42, 42)
    >>> m.put("span", (1, 2)); m.peek("span"), m.peek("other")
    ((1, 2), None)
    """

    __slots__ = ("_lock", "_values")

    def __init__(self) -> None:
        self._values: dict[str, Any] = {}
        self._lock = threading.RLock()

    def get(self, name: str, make: Callable[[], T]) -> T:
        """The value of ``name``, made by ``make()`` on first use (once, even when
        several threads ask at the same time)."""
        try:
            value: T = self._values[name]
            return value
        except KeyError:
            pass
        with self._lock:
            if name not in self._values:
                self._values[name] = make()
            made: T = self._values[name]
            return made

    def peek(self, name: str) -> Any:
        """The value of ``name`` if made, else None (nothing is made)."""
        return self._values.get(name)

    def put(self, name: str, value: Any) -> None:
        """Set ``name`` (a value known when the owner is built, or one replacing
        another, as a table's kept rows replace their pending form)."""
        with self._lock:
            self._values[name] = value

    def pop(self, name: str) -> Any:
        """Remove ``name`` and return its value (None if not made)."""
        with self._lock:
            return self._values.pop(name, None)

    @property
    def lock(self) -> threading.RLock:
        """The lock under which :meth:`get` makes values (re-entrant), for an owner
        that replaces one value by another as one step."""
        return self._lock

    def __getstate__(self) -> dict[str, Any]:
        return dict(self._values)

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._values = dict(state)
        self._lock = threading.RLock()

    def __repr__(self) -> str:
        return f"Memo({sorted(self._values)})"

    def __eq__(self, other: object) -> bool:  # never part of its owner's identity
        return isinstance(other, Memo)

    def __hash__(self) -> int:
        return 0


class memoised(Generic[Owner, T]):  # noqa: N801 - used as a decorator, like cached_property
    """A property made once per object and kept in the object's ``_memo`` field (a
    :class:`Memo`): ``functools.cached_property`` for a frozen dataclass, whose
    instances are not written after construction.

    Examples
    --------
    >>> from dataclasses import dataclass, field
    >>> @dataclass(frozen=True)
    ... class Total:
    ...     values: tuple[int, ...]
    ...     _memo: Memo = field(default_factory=Memo, init=False, repr=False, compare=False)
    ...     @memoised
    ...     def total(self) -> int:
    ...         print("adding")
    ...         return sum(self.values)
    >>> t = Total((1, 2, 3))
    >>> t.total
    adding
    6
    >>> t.total
    6
    """

    def __init__(self, fn: Callable[[Owner], T]) -> None:
        self.fn = fn
        self.name = fn.__name__
        self.__doc__ = fn.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> memoised[Owner, T]: ...

    @overload
    def __get__(self, obj: Owner, owner: type | None = None) -> T: ...

    def __get__(self, obj: Owner | None, owner: type | None = None) -> T | memoised[Owner, T]:
        if obj is None:
            return self
        memo: Memo = getattr(obj, "_memo")  # noqa: B009 - any owner with a memo
        return memo.get(self.name, lambda: self.fn(obj))
