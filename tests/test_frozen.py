"""Frozen objects are never changed after construction (issue 17).

A scan of pbr's source (ast) refuses the ways a frozen dataclass gets changed behind its
back: writing its ``__dict__`` (or reading it, the first step of writing it), ``vars()``,
``object.__setattr__`` / ``object.__delattr__`` outside construction (``__init__``,
``__post_init__``, ``__new__``, ``__setstate__``, or a helper of the same module called
only from those, e.g. a field group's validation called by ``__post_init__``) and
``functools.cached_property`` on a frozen dataclass (it writes the instance's
``__dict__``).  Values found on first use go into a separate cache
(``pbr._memo.Memo`` / ``memoised``, ``pbr._engine.layout.Derived``).  The behaviour of
the caches themselves is checked here too.
"""

from __future__ import annotations

import ast
import datetime as dt
import pickle
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path

import polars as pl
import pytest

import pbr
from pbr._memo import Memo, memoised
from pbr.data import Cohort, Events

PKG = Path(pbr.__file__).parent
CONSTRUCTION = {"__init__", "__post_init__", "__new__", "__setstate__"}


def _is_frozen_dataclass(cls: ast.ClassDef) -> bool:
    for d in cls.decorator_list:
        if isinstance(d, ast.Call) and ast.unparse(d.func).endswith("dataclass"):
            for kw in d.keywords:
                if kw.arg == "frozen" and isinstance(kw.value, ast.Constant) and kw.value.value:
                    return True
    return False


class _Scan(ast.NodeVisitor):
    """Every mutation-shaped construct in one module, with its line."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.found: list[str] = []
        self.functions: list[ast.FunctionDef | ast.AsyncFunctionDef] = []
        self.classes: list[ast.ClassDef] = []
        #: object.__setattr__ outside construction: (function name, node, text)
        self.setters: list[tuple[str, ast.AST, str]] = []
        #: each function name called in the module -> the functions calling it
        self.callers: dict[str, set[str]] = {}

    def _add(self, node: ast.AST, what: str) -> None:
        self.found.append(f"{self.name}:{getattr(node, 'lineno', '?')}: {what}")

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        if _is_frozen_dataclass(node):
            for item in node.body:
                if isinstance(item, ast.FunctionDef):
                    for d in item.decorator_list:
                        if ast.unparse(d).split(".")[-1] == "cached_property":
                            self._add(item, f"cached_property {item.name!r} on frozen "
                                      f"dataclass {node.name} (use pbr._memo.memoised)")
        self.classes.append(node)
        self.generic_visit(node)
        self.classes.pop()

    def _visit_function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.functions.append(node)
        self.generic_visit(node)
        self.functions.pop()

    visit_FunctionDef = _visit_function  # noqa: N815 - ast.NodeVisitor's names
    visit_AsyncFunctionDef = _visit_function  # noqa: N815

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if node.attr == "__dict__":
            self._add(node, f"{ast.unparse(node)}: an object's __dict__ (keep derived "
                      "values in a Memo field)")
        if (node.attr in ("__setattr__", "__delattr__") and isinstance(node.value, ast.Name)
                and node.value.id == "object"):
            fn = self.functions[-1] if self.functions else None
            if fn is None or fn.name not in CONSTRUCTION:
                where = fn.name if fn is not None else "module level"
                self.setters.append((where, node, f"object.{node.attr} in {where} (only "
                                     f"while the object is built: {', '.join(sorted(CONSTRUCTION))}"
                                     ", or a helper called only from them)"))
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        f = node.func
        called = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) \
            else None
        if called is not None:
            caller = self.functions[-1].name if self.functions else "module level"
            self.callers.setdefault(called, set()).add(caller)
        if isinstance(node.func, ast.Name) and node.func.id == "vars":
            self._add(node, "vars(): an object's __dict__")
        if (isinstance(node.func, ast.Name) and node.func.id in ("setattr", "delattr")
                and self.functions and self.functions[-1].name not in CONSTRUCTION
                and node.args and isinstance(node.args[0], ast.Name)
                and node.args[0].id == "self"):
            self._add(node, f"{node.func.id}(self, ...) outside construction")
        self.generic_visit(node)


def scan(source: str, name: str = "<source>") -> list[str]:
    """What :class:`_Scan` finds in ``source``."""
    s = _Scan(name)
    s.visit(ast.parse(source))
    building = set(CONSTRUCTION)  # construction, and helpers called only from it
    while True:
        more = {fn for fn, calls in s.callers.items()
                if fn not in building and calls and calls <= building}
        if not more:
            break
        building |= more
    for where, node, text in s.setters:
        if where not in building:
            s._add(node, text)
    return s.found


def test_no_frozen_object_is_mutated() -> None:
    found: list[str] = []
    for path in sorted(PKG.rglob("*.py")):
        found += scan(path.read_text(), str(path.relative_to(PKG.parent)))
    assert not found, "\n".join(found)


@pytest.mark.parametrize("source", [
    "def f(x):\n    x.__dict__['a'] = 1\n",
    "def f(x):\n    return x.__dict__.get('a')\n",
    "def f(x):\n    vars(x)['a'] = 1\n",
    "def f(x):\n    object.__setattr__(x, 'a', 1)\n",
    "class A:\n    def later(self):\n        set_ = object.__setattr__\n"
    "        set_(self, 'a', 1)\n",
    "class A:\n    def __post_init__(self):\n        _fix(self)\n    def later(self):\n"
    "        _fix(self)\ndef _fix(a):\n    object.__setattr__(a, 'x', 1)\n",
    "class A:\n    def later(self):\n        object.__delattr__(self, 'a')\n",
    "class A:\n    def later(self):\n        setattr(self, 'a', 1)\n",
    "from functools import cached_property\nfrom dataclasses import dataclass\n"
    "@dataclass(frozen=True)\nclass A:\n    @cached_property\n    def a(self):\n        return 1\n",
    "import functools, dataclasses\n@dataclasses.dataclass(frozen=True)\nclass A:\n"
    "    @functools.cached_property\n    def a(self):\n        return 1\n",
])
def test_the_scan_finds_each_kind_of_mutation(source: str) -> None:
    assert len(scan(source)) == 1, source


@pytest.mark.parametrize("source", [
    "class A:\n    def __post_init__(self):\n        object.__setattr__(self, 'a', 1)\n",
    "class A:\n    def __init__(self):\n        set_ = object.__setattr__\n"
    "        set_(self, 'a', 1)\n",
    "class A:\n    def __post_init__(self):\n        self._fix()\n    def _fix(self):\n"
    "        _norm(self)\ndef _norm(a):\n    object.__setattr__(a, 'x', 1)\n",
    "from functools import cached_property\nclass A:\n    @cached_property\n"
    "    def a(self):\n        return 1\n",  # not frozen: its own __dict__ is fair game
    "from dataclasses import dataclass\n@dataclass(frozen=False)\nclass A:\n"
    "    def f(self):\n        setattr(self.cache, 'a', 1)\n",
])
def test_the_scan_allows_construction_and_plain_objects(source: str) -> None:
    assert scan(source) == []


# --------------------------------------------------------------------- the caches
@dataclass(frozen=True)
class _Sum:
    values: tuple[int, ...]
    calls: list[int] = field(default_factory=list, compare=False)
    _memo: Memo = field(default_factory=Memo, init=False, repr=False, compare=False)

    @memoised
    def total(self) -> int:
        self.calls.append(1)
        return sum(self.values)


def test_memoised_makes_once_and_replace_starts_afresh() -> None:
    s = _Sum((1, 2, 3))
    assert (s.total, s.total, len(s.calls)) == (6, 6, 1)
    assert "total" not in dir(s._memo)  # kept in the memo's values, not as attributes
    t = replace(s, values=(10,))
    assert t.total == 10 and t._memo is not s._memo
    assert s == _Sum((1, 2, 3))  # the memo takes no part in equality
    assert isinstance(_Sum.total, memoised)


def test_memo_makes_once_under_threads() -> None:
    m = Memo()
    made: list[int] = []
    barrier = threading.Barrier(4)

    def make() -> int:
        made.append(1)
        return 7

    def ask() -> None:
        barrier.wait()
        assert m.get("x", make) == 7

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(made) == 1


def test_memo_pickles_with_its_values() -> None:
    m = Memo()
    m.put("a", (1, 2))
    back = pickle.loads(pickle.dumps(m))
    assert back.peek("a") == (1, 2) and back.get("b", lambda: 3) == 3


def _events(duplicate: bool) -> pl.DataFrame:
    d = dt.date(2020, 3, 1)
    rows = 3 if duplicate else 2
    return pl.DataFrame({  # the third row repeats the second
        "offender_id": [1, 2, 2][:rows], "offence_date": [d] * rows,
        "disposal_date": [d] * rows, "disposal_type": ["conviction", "caution", "caution"][:rows],
        "offence_code": ["A", "B", "B"][:rows]})


def test_events_with_duplicates_make_their_rows_on_first_use_without_writing_the_object(
) -> None:
    ev = Events.from_frame(_events(duplicate=True))
    assert ev._with_duplicates() is not None  # pending: the rows with the duplicate
    assert "data" not in dir(ev._memo) and ev._memo.peek("data") is None
    assert ev.n == 2 and ev.exclusions.count(rule="duplicate_event") == 1
    assert ev.data.height == 2  # made now, kept in the memo
    assert ev._with_duplicates() is None and ev._memo.peek("data") is ev.data
    assert ev.frame["row"].to_list() == [0, 1]
    assert ev.disposal_types.rows() == [("caution", 1), ("conviction", 1)]
    assert ev.codes == frozenset({"A", "B"}) and ev.categories == frozenset()
    assert ev.last_disposal == dt.date(2020, 3, 1)


def test_events_pickle_and_replace_keep_their_rows() -> None:
    ev = Events.from_frame(_events(duplicate=True))
    back = pickle.loads(pickle.dumps(ev))  # pickled while still pending
    assert back.data.equals(Events.from_frame(_events(duplicate=True)).data)
    again = replace(ev, n_input=99)
    assert again.n_input == 99 and again.data.equals(ev.data) and again._memo is not ev._memo
    plain = Events.from_frame(_events(duplicate=False))
    assert plain._with_duplicates() is None and plain.n == 2


def test_tables_refuse_assignment_and_cache_spans() -> None:
    c = Cohort.from_frame(pl.DataFrame({"offender_id": [1, 2], "index_date": [
        dt.date(2020, 1, 1), dt.date(2021, 6, 30)]}))
    with pytest.raises(AttributeError):
        c.data = c.data  # type: ignore[misc]
    assert c.date_span("index_date") == (dt.date(2020, 1, 1), dt.date(2021, 6, 30))
    assert c._memo.peek("spans") == {"index_date": (dt.date(2020, 1, 1),
                                                     dt.date(2021, 6, 30))}
    assert c.frame is c.frame
