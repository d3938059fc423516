"""Validated input tables: :class:`Cohort`, :class:`Events`, :class:`Custody`, and the
:class:`Exclusions` ledger.

``from_frame`` maps the user's column names onto pbr's roles (:mod:`pbr.schema`),
checks types and row-level date logic up front, and either raises a
:class:`~pbr.errors.SchemaError` naming the column, the row and the fix
(``on_invalid="raise"``, the default) or moves the bad rows to the ledger with their
reason (``on_invalid="exclude"``).  Rows in = rows kept + rows excluded, always.
"""

from __future__ import annotations

import datetime as _dt
import itertools
import threading
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import polars as pl

from pbr import _scratch
from pbr._frames import from_pandas
from pbr._memo import Memo, memoised
from pbr.errors import SchemaError
from pbr.schema import COHORT, CUSTODY, EVENTS, TableSchema, normalise_term

__all__ = ["Cohort", "Custody", "Events", "Exclusion", "Exclusions", "align_custody",
           "as_frame", "check_id_types"]

OnInvalid = Literal["raise", "exclude"]
Duplicates = Literal["exclude", "keep"]
#: the ledger rule of an exact duplicate event row (pbr rule D1)
DUPLICATE_EVENT = "duplicate_event"
ROW = "row"  # column holding each kept row's 0-based position in the input table
#: Court-event key of a row without court_event_id: this base plus the disposal day.
NO_COURT_ID_BASE = -(2**62)


@dataclass(frozen=True)
class Exclusion:
    """Rows of one input table left out by one rule.

    Examples
    --------
    ``from_frame(..., on_invalid="exclude")`` records one per rule broken:

    >>> import datetime, polars as pl
    >>> df = pl.DataFrame({"offender_id": [1, 2, 3],
    ...                    "index_date": [datetime.date(2020, 1, 1), None, None]})
    >>> (e,) = Cohort.from_frame(df, on_invalid="exclude").exclusions.entries
    >>> e.table, e.rule, e.reason
    ('cohort', 'missing_index_date', 'index_date is missing')
    >>> e.rows.tolist(), e.count
    ([1, 2], 2)
    """

    table: str
    rule: str
    reason: str
    rows: np.ndarray  # 0-based row numbers in the input table

    @property
    def count(self) -> int:
        return int(self.rows.size)


@dataclass(frozen=True)
class Exclusions:
    """The ledger of rows left out, with their rule and reason.

    Examples
    --------
    >>> import numpy as np
    >>> led = Exclusions((Exclusion("events", "missing_offence_date",
    ...                             "offence_date is missing", np.array([3])),))
    >>> led.counts()["count"].to_list()
    [1]
    """

    entries: tuple[Exclusion, ...] = ()

    def __add__(self, other: Exclusions) -> Exclusions:
        return Exclusions(self.entries + other.entries)

    def __len__(self) -> int:
        return sum(e.count for e in self.entries)

    def count(self, table: str | None = None, rule: str | None = None) -> int:
        """Number of excluded rows, optionally for one table and/or rule."""
        return sum(e.count for e in self.entries
                   if (table is None or e.table == table) and (rule is None or e.rule == rule))

    def counts(self) -> pl.DataFrame:
        """One row per (table, rule): the reason and the number of rows."""
        return pl.DataFrame(
            {"table": [e.table for e in self.entries], "rule": [e.rule for e in self.entries],
             "reason": [e.reason for e in self.entries],
             "count": [e.count for e in self.entries]},
            schema={"table": pl.String, "rule": pl.String, "reason": pl.String,
                    "count": pl.Int64})

    def to_frame(self) -> pl.DataFrame:
        """One row per excluded input row: table, row (0-based), rule, reason."""
        parts = [pl.DataFrame({"table": pl.Series([e.table] * e.count, dtype=pl.String),
                               "row": pl.Series(e.rows.astype(np.int64)),
                               "rule": pl.Series([e.rule] * e.count, dtype=pl.String),
                               "reason": pl.Series([e.reason] * e.count, dtype=pl.String)})
                 for e in self.entries]
        if not parts:
            return pl.DataFrame(schema={"table": pl.String, "row": pl.Int64,
                                        "rule": pl.String, "reason": pl.String})
        return pl.concat(parts)

    def __str__(self) -> str:
        if not self.entries:
            return "Exclusions: none"
        lines = ["Exclusions:"]
        for e in self.entries:
            lines.append(f"  {e.table:<8} {e.rule:<28} {e.count:>10,}  {e.reason}")
        return "\n".join(lines)


def as_frame(data: Any, table: str) -> pl.DataFrame:
    """A polars DataFrame from a polars or pandas frame (or a dict of columns)."""
    data = from_pandas(data)
    if isinstance(data, pl.DataFrame):
        return data
    if isinstance(data, pl.LazyFrame):
        return data.collect()
    if isinstance(data, Mapping):
        return pl.DataFrame(dict(data))
    raise SchemaError(
        f"{table}: expected a polars or pandas DataFrame, got {type(data).__name__}; "
        "read files with pbr.io.read_table")


# --------------------------------------------------------------------------- helpers
def _select_roles(df: pl.DataFrame, schema: TableSchema, mapping: Mapping[str, str | None],
                  ) -> tuple[pl.DataFrame, dict[str, str]]:
    """Rename the user's columns to roles; other columns are kept as attributes."""
    rename: dict[str, str] = {}
    for role in schema.roles:
        source = mapping.get(role, role)
        if source is None:
            continue
        if source not in df.columns:
            if role in schema.optional and mapping.get(role) is None:
                continue
            hint = (f"pass {role}='<your column>' to {schema.name.capitalize()}.from_frame"
                    f" or rename the column to {role!r}")
            raise SchemaError(
                f"{schema.name}: missing column {source!r} (role {role}); columns present: "
                f"{', '.join(df.columns[:20])}. Fix: {hint}")
        rename[source] = role
    clash = [c for c in df.columns if c in schema.roles and c not in rename and
             c not in rename.values()]
    extra = [c for c in df.columns if c not in rename]
    shadowed = [c for c in extra if c in rename.values()]
    if shadowed:
        role = shadowed[0]
        raise SchemaError(
            f"{schema.name}: {role}={mapping[role]!r} takes the role {role} from column "
            f"{mapping[role]!r}, but the table also has a column named {role!r}, which "
            f"would be read as something else. Fix: drop or rename column {role!r}, or "
            f"leave {role}= out to use it")
    out = df.select([pl.col(s).alias(r) for s, r in rename.items()]
                    + [pl.col(c) for c in extra if c not in clash and c != ROW])
    return out, {r: s for s, r in rename.items()}


def _as_date(df: pl.DataFrame, role: str, source: str, table: str) -> tuple[pl.DataFrame, pl.Expr]:
    """Cast a role column to Date. Returns the frame and an expr flagging bad strings."""
    dtype = df.schema[role]
    if dtype == pl.Date:
        return df, pl.lit(False)
    if isinstance(dtype, pl.Datetime):
        return df.with_columns(pl.col(role).dt.date()), pl.lit(False)
    if dtype == pl.String or isinstance(dtype, pl.Categorical):
        parsed = pl.col(role).cast(pl.String).str.strip_chars().str.to_date(
            "%Y-%m-%d", strict=False)
        bad = pl.col(f"__raw_{role}").is_not_null() & pl.col(role).is_null() \
            & (pl.col(f"__raw_{role}").cast(pl.String).str.strip_chars() != "")
        return df.with_columns(pl.col(role).alias(f"__raw_{role}"), parsed.alias(role)), bad
    if dtype == pl.Null:
        return df.with_columns(pl.col(role).cast(pl.Date)), pl.lit(False)
    raise SchemaError(
        f"{table}: column {source!r} (role {role}) has type {dtype}; expected a date. Fix: "
        f"give pl.Date / datetime values or ISO 'YYYY-MM-DD' strings")


def _as_id(df: pl.DataFrame, source: str, table: str) -> pl.DataFrame:
    dtype = df.schema["offender_id"]
    if dtype.is_integer():
        return df.with_columns(pl.col("offender_id").cast(pl.Int64)) if dtype != pl.Int64 else df
    if dtype == pl.String:
        return df
    if isinstance(dtype, pl.Categorical | pl.Enum):
        return df.with_columns(pl.col("offender_id").cast(pl.String))
    if dtype == pl.Null:
        return df.with_columns(pl.col("offender_id").cast(pl.Int64))
    raise SchemaError(
        f"{table}: column {source!r} (role offender_id) has type {dtype}; expected integers "
        "or strings. Fix: cast it, e.g. pl.col(...).cast(pl.Int64)")


def _as_category(df: pl.DataFrame, role: str, source: str, table: str) -> pl.DataFrame:
    dtype = df.schema[role]
    if isinstance(dtype, pl.Categorical):
        return df
    if isinstance(dtype, pl.Enum) or dtype == pl.String:
        return df.with_columns(pl.col(role).cast(pl.String).cast(pl.Categorical))
    if dtype.is_integer() or dtype == pl.Null:
        return df.with_columns(pl.col(role).cast(pl.String).cast(pl.Categorical))
    raise SchemaError(
        f"{table}: column {source!r} (role {role}) has type {dtype}; expected text codes. "
        "Fix: cast it to strings")


def _never(df: pl.DataFrame, expr: pl.Expr) -> bool:
    """Whether a row rule is known false on every row without evaluating it."""
    if expr.meta.eq(pl.lit(False)):
        return True
    roots = expr.meta.root_names()
    return (len(roots) == 1 and roots[0] in df.columns
            and expr.meta.eq(pl.col(roots[0]).is_null()) and df[roots[0]].null_count() == 0)


def _apply_rules(df: pl.DataFrame, table: str, rules: list[tuple[str, str, pl.Expr]],
                 on_invalid: OnInvalid, sources: Mapping[str, str],
                 defer: Collection[str] = ()) -> tuple[pl.DataFrame, Exclusions]:
    """Evaluate row rules in order; the first failing rule is a row's reason.

    Rules named in ``defer`` are left out of the first pass that asks whether any row
    fails: the caller checks them on its own pass over the data and validates again
    without ``defer`` when one fails.  Once any other rule fails, every rule is
    evaluated, deferred ones included."""
    if on_invalid not in ("raise", "exclude"):
        raise SchemaError(f"on_invalid must be 'raise' or 'exclude', got {on_invalid!r}")
    if not rules:
        return df, Exclusions()
    # fast path: one pass that only asks whether any row fails any rule; rules that
    # cannot fail (a literal False, a null test on a column without nulls: polars keeps
    # null counts, so the test costs nothing) are left out of it
    live = [expr for name, _, expr in rules if name not in defer and not _never(df, expr)]
    any_bad = bool(live) and df.select(pl.any_horizontal([e.fill_null(False) for e in live])
                                       .any()).item()
    if not any_bad:
        return df.drop([c for c in df.columns if c.startswith("__raw_")]), Exclusions()
    code = pl.lit(0, dtype=pl.Int8)
    for k, (_, _, expr) in reversed(list(enumerate(rules, start=1))):
        code = pl.when(expr.fill_null(False)).then(pl.lit(k, dtype=pl.Int8)).otherwise(code)
    codes = df.select(code.alias("c"))["c"].to_numpy()
    bad = np.flatnonzero(codes)
    if bad.size == 0:
        return df.drop([c for c in df.columns if c.startswith("__raw_")]), Exclusions()
    df = df.with_row_index(ROW)  # rows are left out: the kept ones keep their numbers
    if on_invalid == "raise":
        first = int(bad[0])
        rule, reason, _ = rules[int(codes[first]) - 1]
        row = df.row(first, named=True)
        who = row.get("offender_id")
        shown = {sources.get(k, k): v for k, v in row.items()
                 if k != ROW and not k.startswith("__raw_") and k in sources}
        raise SchemaError(
            f"{table} row {first} (offender_id={who!r}): {reason} [{rule}]; "
            f"values {shown}. {bad.size:,} row(s) fail validation in all. Fix the source data,"
            f" or pass on_invalid='exclude' to leave such rows out (they are then listed in "
            f"the exclusions ledger with their reason)")
    entries = []
    for k, (rule, reason, _) in enumerate(rules, start=1):
        rows = np.flatnonzero(codes == k)
        if rows.size:
            entries.append(Exclusion(table, rule, reason, rows))
    kept = df.filter(pl.Series(codes == 0))
    return kept.drop([c for c in kept.columns if c.startswith("__raw_")]), \
        Exclusions(tuple(entries))


def _normalise_disposal_types(df: pl.DataFrame, mapping: Mapping[str, str] | None
                              ) -> tuple[pl.DataFrame, _Tally | None]:
    """``disposal_type`` in pbr's spelling (rule P2): each value normalised
    (:func:`pbr.schema.normalise_term`), then mapped by ``mapping`` (keys and values
    normalised the same way).  Works on the distinct values; the column is rewritten
    only when some value changes.  Also returns the rows per code of the column as
    returned, when they were counted (a categorical column without nulls, unchanged)."""
    table: dict[str, str] = {}
    if mapping is not None:
        if not isinstance(mapping, Mapping) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in mapping.items()):
            raise SchemaError(
                f"events: disposal_type_map must map the data's disposal types to pbr's, "
                f"text to text, e.g. {{'fine': 'conviction'}}; got {mapping!r}")
        table = {normalise_term(k): normalise_term(v) for k, v in mapping.items()}
    tally = _Tally.of(df["disposal_type"])
    values = (tally.values()["value"].to_list() if tally is not None
              else df["disposal_type"].drop_nulls().unique().cast(pl.String).to_list())
    change = {}
    for v in values:
        norm = normalise_term(v)
        target = table.get(norm, norm)
        if target != v:
            change[v] = target
    if not change:
        return df, tally
    return df.with_columns(pl.col("disposal_type").cast(pl.String).replace(change)
                           .cast(pl.Categorical)), None


#: rows per piece of the hash pass (a piece's hashes stay in cache while every column
#: is folded in)
HASH_PIECE_ROWS = 1 << 17
#: rows read to guess whether a column holds the rows in its order
ORDER_SAMPLE = 4096
_INTEGER_PHYSICAL = (pl.Int8, pl.Int16, pl.Int32, pl.Int64, pl.UInt8, pl.UInt16, pl.UInt32,
                     pl.UInt64)


def _hash_keys(s: pl.Series) -> tuple[pl.Series, bool]:
    """A null-free integer series equal wherever ``s`` is equal, and whether it is also
    unequal wherever ``s`` is: the physical values (integers, day numbers, categorical
    codes) when they are integers without nulls (True), else polars' hash of each value
    (equal values hash alike, nulls included; False)."""
    phys = s.to_physical()
    if phys.dtype in _INTEGER_PHYSICAL and not phys.null_count():
        return phys, True
    return phys.hash(seed=0), False


class _Columns:
    """Every column's key values (:func:`_hash_keys`) as zero-copy chunk arrays, with
    the row where each chunk starts."""

    def __init__(self, frame: pl.DataFrame) -> None:
        self.n = frame.height
        self.arrays: list[list[np.ndarray]] = []
        self.starts: list[np.ndarray] = []
        #: per column: whether its key values are the values (else hashes of them)
        self.exact_columns: list[bool] = []
        for c in frame.columns:
            keys, exact = _hash_keys(frame[c])
            self.exact_columns.append(exact)
            arrays = [chunk.to_numpy() for chunk in keys.get_chunks()]
            self.arrays.append(arrays)
            self.starts.append(np.cumsum([0] + [a.size for a in arrays]))

    @property
    def exact(self) -> bool:
        """Whether every column's key values are its values."""
        return all(self.exact_columns)

    def piece(self, a: int, b: int) -> tuple[np.ndarray, ...]:
        """Rows ``a`` to ``b`` of every column (within one chunk of each)."""
        out = []
        for arrays, starts in zip(self.arrays, self.starts, strict=True):
            c = int(np.searchsorted(starts, a, side="right")) - 1
            o = int(starts[c])
            out.append(arrays[c][a - o:b - o])
        return tuple(out)

    def gather_arrays(self, rows: np.ndarray) -> tuple[np.ndarray, ...]:
        """The key values of ``rows`` (sorted positions), one array a column."""
        out = []
        for arrays, starts in zip(self.arrays, self.starts, strict=True):
            cut = np.searchsorted(rows, starts)
            values = np.empty(rows.size, arrays[0].dtype if arrays else np.int64)
            for c in np.flatnonzero(cut[1:] > cut[:-1]).tolist():  # chunks with rows
                lo, hi = int(cut[c]), int(cut[c + 1])
                values[lo:hi] = arrays[c][rows[lo:hi] - starts[c]]
            out.append(values)
        return tuple(out)

    def gather_spans(self, spans: list[list[int]]) -> tuple[np.ndarray, ...]:
        """The key values of the rows of ``spans`` (``[start, end)``, in order,
        disjoint), one array a column: a copy of each span, chunk by chunk."""
        size = sum(hi - lo for lo, hi in spans)
        out = []
        for arrays, starts in zip(self.arrays, self.starts, strict=True):
            values = np.empty(size, arrays[0].dtype if arrays else np.int64)
            at = 0
            for lo, hi in spans:
                c = int(np.searchsorted(starts, lo, side="right")) - 1
                while lo < hi:  # the span's part in chunk c
                    o = int(starts[c])
                    end = min(hi, o + arrays[c].size)
                    values[at:at + end - lo] = arrays[c][lo - o:end - o]
                    at += end - lo
                    lo = end
                    c += 1
            out.append(values)
        return tuple(out)

    def piece_starts(self) -> np.ndarray:
        """Where each piece of at most :data:`HASH_PIECE_ROWS` rows starts, and ``n``
        last: pieces never straddle a chunk of any column, so each piece reads
        zero-copy views."""
        bounds = {0, self.n}
        for starts in self.starts:
            bounds.update(starts.tolist())
        edges = sorted(bounds)
        cuts = [a for lo, hi in itertools.pairwise(edges)
                for a in range(lo, hi, HASH_PIECE_ROWS)] + [self.n]
        return np.asarray(cuts, np.int64)

    def ordered_column(self) -> tuple[int, int] | None:
        """A column that may hold the rows in its order, and a column to filter its
        runs with (:func:`_repeated_in_runs`); None when none looks ordered.

        Only :data:`ORDER_SAMPLE` rows are read: of the columns of key values
        (a column of hashes says nothing by its order) that never decrease or never
        increase there, the one with the most runs of equal values; the filter is the
        other column with the most distinct values there.  The search checks the order
        of every row and falls back to the radix search where it does not hold."""
        from pbr._kernels import dedupe

        # the first rows of the first piece (within one chunk of every column) of two
        # rows or more
        starts = self.piece_starts()
        wide = np.flatnonzero(np.diff(starts) >= 2)
        if not wide.size:
            return None
        a = int(starts[wide[0]])
        sample = self.piece(a, min(int(starts[wide[0] + 1]), a + ORDER_SAMPLE))
        best, best_runs = None, 0
        for j, values in enumerate(sample):
            if self.exact_columns[j]:
                up, down, runs = dedupe.order(values)
                if (up or down) and runs > best_runs:
                    best, best_runs = j, runs
        if best is None:
            return None
        distinct = [np.unique(v).size if j != best else -1 for j, v in enumerate(sample)]
        sub = int(np.argmax(distinct)) if len(sample) > 1 else best
        return best, sub


def each_piece(fn: Any, n: int, threads: int | None = None) -> None:
    """``fn(k)`` for every ``k < n``, on ``threads`` threads (default: as many as Numba
    uses; the caller's among them) that each take the next ``k`` as soon as they are free.

    For calls into ``nogil`` kernels, one per piece: a thread pool's futures cost about
    30 us a task on the project's machine (3 ms for the two passes over 48 pieces at 1M
    offenders); a shared counter costs next to nothing, and keeps the dynamic balance
    (a slowed virtual CPU simply takes fewer pieces).  The first exception raised by
    any ``fn(k)`` is raised here once every thread has stopped.
    """
    if threads is None:
        import numba

        threads = max(1, numba.get_num_threads())
    counter = itertools.count()  # its next() is atomic under the GIL
    errors: list[BaseException] = []

    def work() -> None:
        try:
            while not errors and (k := next(counter)) < n:
                fn(k)
        except BaseException as exc:  # re-raised below, in the caller
            errors.append(exc)

    helpers = [threading.Thread(target=work, daemon=True) for _ in range(min(threads, n) - 1)]
    for t in helpers:
        t.start()
    work()
    for t in helpers:
        t.join()
    if errors:
        raise errors[0]


def _repeated_hash_rows(cols: _Columns) -> np.ndarray:
    """Positions of the rows whose hash (of every column) is shared with another row:
    every row that equals another is among them (:mod:`pbr._kernels.dedupe`).  Rows in
    the order of one column are searched run by run of its values
    (:func:`_repeated_in_runs`), others by the radix search."""
    ordered = cols.ordered_column()
    if ordered is not None:
        rows = _repeated_in_runs(cols, *ordered)
        if rows is not None:
            return rows
    return _repeated_radix(cols)


def _repeated_in_runs(cols: _Columns, key: int, sub: int) -> np.ndarray | None:
    """:func:`_repeated_hash_rows` for rows in the order of column ``key`` (its values
    never decrease, or never increase): equal rows are equal in ``key`` and so in one
    run of its values, which each piece searches on its own
    (:func:`pbr._kernels.dedupe.run_repeats`, filtered by column ``sub``); a run that
    goes on from one piece into the next is searched once the pieces are done, from a
    copy of its rows.  None when the rows are not in that order after all, or a run is
    longer than :data:`pbr._kernels.dedupe.MAX_RUN` rows."""
    from pbr._kernels import dedupe

    piece_start = cols.piece_starts()
    n_pieces = piece_start.size - 1
    # per piece: never decreases, never increases, runs short enough, where its first
    # run ends and its last begins, rows found
    state = np.zeros((n_pieces, 6), np.int64)
    found: list[np.ndarray] = [np.zeros(0, np.int64)] * n_pieces
    local = threading.local()

    def scratch() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                           np.ndarray]:
        """This thread's buffers of the search (see run_repeats) and its output."""
        bufs: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                    np.ndarray] | None = getattr(local, "bufs", None)
        if bufs is None:
            r = dedupe.MAX_RUN
            bufs = local.bufs = (
                np.zeros(dedupe.filter_slots(r) + 1, np.uint32), np.zeros(r, np.bool_),
                np.empty(r, np.int64), np.empty(r, np.uint64), np.empty(2 * r, np.int32),
                np.empty(HASH_PIECE_ROWS, np.int64))
        return bufs

    arrays, starts = cols.arrays[key], cols.starts[key]

    def at(row: int) -> Any:  # the key value of a row
        c = int(np.searchsorted(starts, row, side="right")) - 1
        return arrays[c][row - int(starts[c])]

    # the key values on each side of every boundary between pieces
    inner = piece_start[1:-1].tolist()
    last, first = [at(a - 1) for a in inner], [at(a) for a in inner]
    # whether no run goes on across each piece's start, and across its end
    split = [bool(x == y) for x, y in zip(last, first, strict=True)]
    head_done = [True, *(not s for s in split)]
    tail_done = [*(not s for s in split), True]

    def search(p: int) -> None:
        a, b = int(piece_start[p]), int(piece_start[p + 1])
        piece = cols.piece(a, b)
        slots, flag, cand, ch, table, out = scratch()
        if out.size < b - a:
            out = np.empty(b - a, np.int64)
        res = dedupe.run_repeats(piece, piece[key], piece[sub], head_done[p], tail_done[p],
                                 slots, flag, cand, ch, table, out)
        state[p] = res
        found[p] = out[:res[5]] + a

    each_piece(search, n_pieces)
    if not state[:, 2].all():
        return None
    # in order: within every piece, and across every boundary, the same way
    up = bool(state[:, 0].all()) and all(x <= y for x, y in zip(last, first, strict=True))
    down = bool(state[:, 1].all()) and all(x >= y for x, y in zip(last, first, strict=True))
    if not (up or down):
        return None
    # the rows left: a piece's first run where it goes on from the piece before, its
    # last where it goes on into the next; searched together (runs stay apart: the
    # order puts unequal key values between any two of them)
    left: list[list[int]] = []  # [start, end) of the rows left, in order, disjoint
    for p in range(n_pieces):
        a, b = int(piece_start[p]), int(piece_start[p + 1])
        spans = ([[a, a + int(state[p, 3])]] if not head_done[p] else []) \
            + ([[a + int(state[p, 4]), b]] if not tail_done[p] else [])
        for lo, hi in spans:
            if left and lo <= left[-1][1]:  # a piece of one run: its head is its tail
                left[-1][1] = max(left[-1][1], hi)
            else:
                left.append([lo, hi])
    if left:
        rows = np.concatenate([np.arange(lo, hi) for lo, hi in left])
        part = cols.gather_spans(left)
        slots, flag, cand, ch, table, _ = scratch()
        out = np.empty(rows.size, np.int64)
        res = dedupe.run_repeats(part, part[key], part[sub], True, True, slots, flag, cand,
                                 ch, table, out)
        if not res[2]:
            return None
        found.append(rows[out[:res[5]]])
    return np.sort(np.concatenate(found))


def _repeated_radix(cols: _Columns) -> np.ndarray:
    """:func:`_repeated_hash_rows` for rows in any order: the hashes are scattered by
    their top bits, and each bucket searched in a table of its own."""
    from pbr._kernels import dedupe, dynamic

    n = cols.n
    if n >= dedupe.MAX_ROWS:  # pragma: no cover - beyond the packed row numbers
        raise SchemaError(f"events: {n:,} rows; duplicate rows are found in tables of "
                          "fewer than 2^32 rows. Fix: pass duplicates='keep'")
    piece_start = cols.piece_starts()
    bits = dedupe.radix_bits(n)
    hist = np.zeros((piece_start.size - 1, 1 << bits), np.int64)
    # the temporaries (9 bytes a row) in reused memory: memory fresh from the system
    # costs more to touch than the passes themselves (pbr._scratch); each thread
    # hashes its pieces in one buffer of its own, which stays in cache
    local = threading.local()
    with _scratch.Arena() as scratch:
        packed = scratch.empty(n, np.uint64)

        def hash_piece(p: int) -> None:
            a, b = int(piece_start[p]), int(piece_start[p + 1])
            h = getattr(local, "h", None)
            if h is None:
                h = local.h = np.empty(HASH_PIECE_ROWS, np.uint64)
            dedupe.hash_rows(cols.piece(a, b), h[:b - a], bits, hist[p], a, packed[a:b])

        each_piece(hash_piece, piece_start.size - 1)
        # piece k's segment of bucket b starts after its rows of the earlier buckets
        seg_start = piece_start[:-1, None] + np.cumsum(hist, axis=1) - hist
        mark = scratch.empty(n, np.bool_)
        mark.fill(False)
        with dynamic():
            dedupe.repeated(packed, seg_start, hist, mark)
        return np.flatnonzero(mark)


#: counters of one row per chunk at most (else a tally counts the chunks in turn)
TALLY_CELLS = 1 << 20


@dataclass
class _Tally:
    """Rows per physical code of a categorical column (``counts[code]``) and the text of
    every code (``names``): the distinct values and their counts without a group-by."""

    names: pl.Series
    counts: np.ndarray

    @classmethod
    def of(cls, s: pl.Series) -> _Tally | None:
        """The tally of a categorical column without nulls, in one pass over its codes
        (:func:`pbr._kernels.codes.count_codes`); None for any other column."""
        if not isinstance(s.dtype, pl.Categorical | pl.Enum) or s.null_count():
            return None
        from pbr._kernels import codes

        names = (s.dtype.categories.to_series() if isinstance(s.dtype, pl.Categorical)
                 else pl.Series(list(s.dtype.categories), dtype=pl.String)).cast(pl.String)
        m = max(names.len(), 1)
        chunks = [c.to_numpy() for c in s.to_physical().get_chunks()]
        if len(chunks) > 1 and len(chunks) * m <= TALLY_CELLS:
            # the chunks on every thread, each into its own row (summed in order)
            rows = np.zeros((len(chunks), m), np.int64)
            each_piece(lambda k: codes.count_codes(chunks[k], rows[k]), len(chunks))
            return cls(names, rows.sum(axis=0))
        counts = np.zeros(m, np.int64)
        for chunk in chunks:
            codes.count_codes(chunk, counts)
        return cls(names, counts)

    def less(self, s: pl.Series, rows: np.ndarray) -> _Tally:
        """The tally without ``rows`` (positions) of ``s``, the column it counts."""
        gone = s.to_physical().gather(rows).to_numpy().astype(np.int64)
        return _Tally(self.names, self.counts - np.bincount(gone, minlength=self.counts.size))

    def values(self) -> pl.DataFrame:
        """The values that occur (``value``, ``rows``), in code order."""
        seen = np.flatnonzero(self.counts)
        return pl.DataFrame({"value": self.names.gather(seen), "rows": self.counts[seen]},
                            schema={"value": pl.String, "rows": pl.Int64})


def _value_counts(s: pl.Series) -> pl.DataFrame:
    """Rows per value of a text column (``value`` as text, ``rows``; a null value is a
    row of its own), in no particular order; a categorical column without nulls is
    counted through its codes (:class:`_Tally`)."""
    tally = _Tally.of(s)
    if tally is not None:
        return tally.values()
    counted = s.value_counts(name="rows")
    return counted.select(pl.col(s.name).cast(pl.String).alias("value"),
                          pl.col("rows").cast(pl.Int64))


def _duplicate_rows(df: pl.DataFrame) -> np.ndarray:
    """Positions (in ``df``) of the rows that repeat an earlier row exactly, every column
    equal (rule D1).  One hash per row (of the physical values: codes, day numbers);
    rows whose hash is unique cannot repeat, and only the rest are compared."""
    cols = [c for c in df.columns if c != ROW]
    if df.height < 2 or not cols:
        return np.zeros(0, np.int64)
    frame = df.select(cols)
    objects = [c for c in cols if frame.schema[c] == pl.Object]
    if objects:  # Python objects (from pandas) are compared by their repr
        frame = frame.with_columns(pl.Series(c, [repr(v) for v in frame[c].to_list()],
                                             dtype=pl.String) for c in objects)
    keys = _Columns(frame)
    cand = _repeated_hash_rows(keys)
    if not cand.size:
        return np.zeros(0, np.int64)
    # exact comparison among the candidates (a hash collision is not a duplicate): of
    # the key values when they are the values (integers, days, codes), else of the rows
    if keys.exact:
        later = _later_repeats(keys.gather_arrays(cand))
    else:
        sub = frame[cand]
        later = sub.select(~pl.struct(sub.columns).is_first_distinct()).to_series().to_numpy()
    return np.asarray(cand[later], dtype=np.int64)


def _later_repeats(values: tuple[np.ndarray, ...]) -> np.ndarray:
    """Whether each row (one array a column, rows in order) equals an earlier row in
    every column: the rows sorted by every column, then by position, each row equal
    to the one before it."""
    n = values[0].size
    order = np.lexsort((np.arange(n), *reversed(values)))
    same = np.ones(max(n - 1, 0), np.bool_)
    for v in values:
        s = v[order]
        same &= s[1:] == s[:-1]
    later = np.zeros(n, np.bool_)
    later[order[1:][same]] = True
    return later


def _duplicate_entry(df: pl.DataFrame, dup: np.ndarray, table: str) -> Exclusion:
    """The ledger entry of the duplicate rows at positions ``dup`` of ``df`` (input row
    numbers: the ``row`` column when earlier rules left rows out, else the positions)."""
    rows = (df[ROW].gather(dup).to_numpy() if ROW in df.columns else dup).astype(np.int64)
    return Exclusion(table, DUPLICATE_EVENT, "exact duplicate of an earlier event row (every "
                     "column equal): counted once", rows)


def _without_rows(df: pl.DataFrame, dup: np.ndarray) -> pl.DataFrame:
    """``df`` without the rows at positions ``dup``; the kept rows keep their input
    row numbers (``row``)."""
    if ROW not in df.columns:  # rows are left out: the kept ones keep their numbers
        df = df.with_row_index(ROW)
    keep = np.ones(df.height, np.bool_)
    keep[dup] = False
    return df.filter(pl.Series(keep))


def check_id_types(cohort: pl.DataFrame, other: pl.DataFrame, table: str = "events") -> None:
    """Raise :class:`~pbr.errors.SchemaError` when ``offender_id`` is an integer in one
    table and text in the other (rule J2): pbr never casts ids, because ``"00123"`` and
    ``123`` may or may not be the same person.

    Examples
    --------
    >>> import polars as pl
    >>> try:
    ...     check_id_types(pl.DataFrame({"offender_id": [1]}),
    ...                    pl.DataFrame({"offender_id": ["00001"]}))
    ... except SchemaError as exc:
    ...     print(str(exc)[:68])
    offender_id is an integer (Int64) in the cohort but text (String) in
    """
    ct, et = cohort.schema["offender_id"], other.schema["offender_id"]
    if ct.is_integer() == et.is_integer() or cohort.height == 0 or other.height == 0:
        return  # an empty table (a header-only file reads as text) joins nothing either way

    def kind(dtype: Any) -> str:
        return f"an integer ({dtype})" if dtype.is_integer() else f"text ({dtype})"

    examples = []
    for name, frame in (("cohort", cohort), (table, other)):
        shown = frame["offender_id"].drop_nulls().head(1).to_list()
        if shown:
            examples.append(f"{shown[0]!r} in the {name}")
    seen = f" (e.g. {', '.join(examples)})" if examples else ""
    int_side = "cohort" if ct.is_integer() else table
    raise SchemaError(
        f"offender_id is {kind(ct)} in the cohort but {kind(et)} in the {table}{seen}: pbr "
        "does not guess whether '00123' and 123 are the same person. Fix: give both as text,"
        f" e.g. {int_side}.with_columns(pl.col('offender_id').cast(pl.String)) on the "
        f"{int_side} (text ids keep leading zeros), or cast both to integers when no id has "
        "leading zeros")


def align_custody(cohort: Cohort, custody: Custody) -> Custody:
    """Custody spells whose ``offender_id`` has the cohort's type, after
    :func:`check_id_types`: when the types differ one table is empty (a header-only
    file reads its ids as text), and no spell can belong to a cohort offender."""
    ct, st = cohort.data.schema["offender_id"], custody.data.schema["offender_id"]
    if ct == st or (ct.is_integer() and st.is_integer()):
        return custody
    data = custody.data if custody.n == 0 else custody.data.head(0)
    return replace(custody, data=data.with_columns(pl.col("offender_id").cast(ct)))


# --------------------------------------------------------------------------- tables
@dataclass(frozen=True)
class _Table:
    """A validated input table: the kept rows, the ledger of the others, the number of
    input rows and the user's column for each role."""

    #: the kept rows; without the ``row`` column when no row was left out (``frame``
    #: then numbers them on first use: a materialised index of a 6M-row table cost
    #: 9-14 ms a call on the project's machine, and the measure path never reads it)
    data: pl.DataFrame
    exclusions: Exclusions = field(default_factory=Exclusions)
    n_input: int = 0
    columns: Mapping[str, str] = field(default_factory=dict)
    #: values derived from the rows on first use (row numbers, date spans, value sets),
    #: kept apart so that the table itself is never changed after construction
    _memo: Memo = field(default_factory=Memo, init=False, repr=False, compare=False)

    @memoised
    def frame(self) -> pl.DataFrame:
        """The kept rows with their input row number in the first column, ``row``."""
        d = self.data
        return d if ROW in d.columns else d.with_row_index(ROW)

    @property
    def n(self) -> int:
        """Number of kept rows."""
        return self.data.height

    @property
    def _values(self) -> pl.DataFrame:
        """A frame with the kept rows' columns, distinct values, first row, minima and
        maxima: ``data`` (events read it before their duplicate rows are left out)."""
        return self.data

    def date_span(self, *columns: str) -> tuple[_dt.date, _dt.date] | None:
        """The earliest and the latest date in ``columns`` of the kept rows (None
        without rows); found once per table and columns."""
        cache: dict[str, tuple[Any, Any]] = self._memo.get("spans", dict)
        with self._memo.lock:
            todo = [c for c in dict.fromkeys(columns) if c not in cache]
            if todo:  # each column's minimum and maximum, found once (one polars pass)
                row = self._values.select(
                    *(pl.col(c).min().alias(f"lo{i}") for i, c in enumerate(todo)),
                    *(pl.col(c).max().alias(f"hi{i}") for i, c in enumerate(todo))).row(0)
                for i, c in enumerate(todo):
                    cache[c] = (row[i], row[len(todo) + i])
        los = [cache[c][0] for c in columns if cache[c][0] is not None]
        his = [cache[c][1] for c in columns if cache[c][1] is not None]
        lo, hi = (min(los), max(his)) if los and his else (None, None)
        return (lo, hi) if isinstance(lo, _dt.date) and isinstance(hi, _dt.date) else None


@dataclass(frozen=True)
class Cohort(_Table):
    """A validated cohort: one row per offender with an index date.

    Build it with :meth:`from_frame`.  ``frame`` holds the kept rows with the role
    columns ``offender_id`` and ``index_date`` (pl.Date), every other column of the input
    (grouping and covariate columns), and ``row``, the input row number.

    Examples
    --------
    >>> import datetime, polars as pl
    >>> df = pl.DataFrame({"pnc": [1, 2], "release": [datetime.date(2020, 1, 1)] * 2})
    >>> Cohort.from_frame(df, offender_id="pnc", index_date="release").n
    2
    """

    @classmethod
    def from_frame(cls, data: Any, *, offender_id: str = "offender_id",
                   index_date: str = "index_date", on_invalid: OnInvalid = "raise") -> Cohort:
        """Validate a cohort table; see the class docstring."""
        if isinstance(data, Cohort):
            return data
        return cls._validate(data, offender_id, index_date, on_invalid, check_duplicates=True)

    @classmethod
    def _validate(cls, data: Any, offender_id: str, index_date: str, on_invalid: OnInvalid,
                  *, check_duplicates: bool) -> Cohort:
        """``from_frame``; without ``check_duplicates`` the caller must find duplicate
        ids itself (``prepare`` does, in its hash join) and then call ``from_frame``."""
        df = as_frame(data, "cohort")
        n_input = df.height
        df, sources = _select_roles(df, COHORT, {"offender_id": offender_id,
                                                  "index_date": index_date})
        df = _as_id(df, sources["offender_id"], "cohort")
        df, bad_date = _as_date(df, "index_date", sources["index_date"], "cohort")
        rules = [
            ("missing_offender_id", "offender_id is missing", pl.col("offender_id").is_null()),
            ("unparseable_index_date", "index_date is not a date in YYYY-MM-DD form", bad_date),
            ("missing_index_date", "index_date is missing", pl.col("index_date").is_null()),
        ]
        ids = df["offender_id"]
        if check_duplicates and ids.n_unique() < df.height:  # full test only when one exists
            # among rows that pass the other rules, the first of an offender is kept
            valid = (pl.col("offender_id").is_not_null() & pl.col("index_date").is_not_null()
                     & ~bad_date)
            key = pl.when(valid).then(pl.col("offender_id"))
            rules.append(("duplicate_offender", "offender_id appears more than once in the "
                          "cohort (the first valid row is kept)",
                          valid & key.is_duplicated() & ~key.is_first_distinct()))
        frame, led = _apply_rules(df, "cohort", rules, on_invalid, sources)
        return cls(frame, led, n_input, sources)


@dataclass(frozen=True)
class Events(_Table):
    """Validated proven-offence events (one row per offence).

    Roles: ``offender_id``, ``offence_date``, ``disposal_date``, ``disposal_type``,
    ``offence_code``, optional ``offence_category`` and ``court_event_id``.  Text roles
    are stored as ``pl.Categorical``.  Row rules: offender_id, offence_date,
    disposal_date, disposal_type and offence_code present and parseable, and
    disposal_date not before offence_date.  ``disposal_type`` is normalised (rule P2)
    and an exact repeat of an earlier row is ledgered as ``duplicate_event`` and counted
    once (rule D1); see :meth:`from_frame`.

    Examples
    --------
    >>> import datetime, polars as pl
    >>> d = datetime.date
    >>> ev = Events.from_frame(pl.DataFrame({
    ...     "offender_id": [1, 1], "offence_date": [d(2020, 3, 1), d(2020, 5, 1)],
    ...     "disposal_date": [d(2020, 4, 1), d(2020, 4, 1)],
    ...     "disposal_type": ["conviction", "caution"], "offence_code": ["A", "B"]}),
    ...     on_invalid="exclude")
    >>> ev.n, ev.exclusions.count(rule="disposal_before_offence")
    (1, 1)
    """

    def __init__(self, data: pl.DataFrame, exclusions: Exclusions | None = None,
                 n_input: int = 0, columns: Mapping[str, str] | None = None, *,
                 duplicate_rows: np.ndarray | None = None) -> None:
        """The fields as for the other tables; with ``duplicate_rows`` (sorted positions
        in ``data``, not empty), ``data`` is the validated frame still holding those
        exact duplicate rows, and the kept rows are made from it on first use (see
        :meth:`_with_duplicates`)."""
        set_ = object.__setattr__  # construction of a frozen dataclass
        set_(self, "_memo", Memo())
        if duplicate_rows is not None and duplicate_rows.size:
            self._memo.put("pending", (data, duplicate_rows))
        else:
            set_(self, "data", data)
        set_(self, "exclusions", Exclusions() if exclusions is None else exclusions)
        set_(self, "n_input", n_input)
        set_(self, "columns", {} if columns is None else columns)

    def __getattr__(self, name: str) -> Any:
        """``data`` of events built with their exact duplicate rows still in the frame
        (see :meth:`_with_duplicates`): the kept rows, made on first use and kept in
        the table's memo (the frame with duplicates is then let go)."""
        if name == "data":
            memo: Memo = self._memo
            made: pl.DataFrame | None = memo.peek("data")
            if made is not None:
                return made
            with memo.lock:  # once, even when several threads ask
                made = memo.peek("data")
                if made is None:
                    made = _without_rows(*memo.peek("pending"))
                    memo.put("data", made)
                    memo.pop("pending")
                return made
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def _with_duplicates(self) -> tuple[pl.DataFrame, np.ndarray] | None:
        """While the kept rows are not made yet: the validated frame with the exact
        duplicate rows and their positions in it (sorted), else None.

        Leaving out a few rows of a large frame copies all of it (about 50 ms at 6M
        rows on the project's machine); the one-pass measure reads this frame instead
        and skips those rows, and every other reader gets ``data`` on first use.  A
        duplicate repeats a kept row, so the frame has the kept rows' distinct values,
        minima, maxima and first row."""
        pending: tuple[pl.DataFrame, np.ndarray] | None = self._memo.peek("pending")
        return pending

    @property
    def n(self) -> int:
        """Number of kept rows."""
        pending = self._with_duplicates()
        return self.data.height if pending is None else pending[0].height - pending[1].size

    @property
    def _values(self) -> pl.DataFrame:
        pending = self._with_duplicates()
        return self.data if pending is None else pending[0]

    @property
    def has_category(self) -> bool:
        return "offence_category" in self._values.columns

    @property
    def has_court_event(self) -> bool:
        return "court_event_id" in self._values.columns

    @classmethod
    def from_frame(cls, data: Any, *, offender_id: str = "offender_id",
                   offence_date: str = "offence_date", disposal_date: str = "disposal_date",
                   disposal_type: str = "disposal_type", offence_code: str = "offence_code",
                   offence_category: str | None = None, court_event_id: str | None = None,
                   on_invalid: OnInvalid = "raise",
                   disposal_type_map: Mapping[str, str] | None = None,
                   duplicates: Duplicates = "exclude",
                   _defer: Collection[str] = ()) -> Events:
        """Validate an events table; see the class docstring.

        ``offence_category`` and ``court_event_id`` are picked up automatically when
        columns of those names exist.

        ``disposal_type`` values are normalised (lower case, surrounding whitespace
        removed: :func:`pbr.schema.normalise_term`, rule P2) and then mapped through
        ``disposal_type_map`` when given: your extract's vocabulary onto the proof types
        of the spec, e.g. ``{"Fine": "conviction", "Community Order": "conviction",
        "Reprimand": "caution"}`` (keys and values are normalised too; values not in
        the map are kept as they are).

        ``duplicates``: ``"exclude"`` (default) keeps the first of rows that are equal
        in every column and ledgers the others as ``duplicate_event`` (rule D1);
        ``"keep"`` keeps them all, for extracts in which identical rows are distinct
        offences.  (``_defer``, internal: row rules the caller checks on its own pass
        over the data; see ``_apply_rules``.)

        Examples
        --------
        >>> import datetime, polars as pl
        >>> d = datetime.date(2020, 3, 1)
        >>> ev = Events.from_frame(pl.DataFrame({
        ...     "offender_id": [1, 1, 1, 2], "offence_date": [d] * 4, "disposal_date": [d] * 4,
        ...     "disposal_type": ["Fine", " CONVICTION", "conviction", "Caution"],
        ...     "offence_code": ["A", "B", "B", "C"]}), disposal_type_map={"fine": "conviction"})
        >>> ev.disposal_types.rows()
        [('caution', 1), ('conviction', 2)]
        >>> ev.exclusions.counts()["rule"].to_list(), ev.exclusions.entries[0].rows.tolist()
        (['duplicate_event'], [2])
        """
        if isinstance(data, Events):
            return data
        df = as_frame(data, "events")
        n_input = df.height
        mapping = {"offender_id": offender_id, "offence_date": offence_date,
                   "disposal_date": disposal_date, "disposal_type": disposal_type,
                   "offence_code": offence_code, "offence_category": offence_category,
                   "court_event_id": court_event_id}
        for opt in ("offence_category", "court_event_id"):
            if mapping[opt] is None and opt in df.columns:
                mapping[opt] = opt
        df, sources = _select_roles(df, EVENTS, mapping)
        df = _as_id(df, sources["offender_id"], "events")
        bad: dict[str, pl.Expr] = {}
        for role in ("offence_date", "disposal_date"):
            df, bad[role] = _as_date(df, role, sources[role], "events")
        for role in ("disposal_type", "offence_code", "offence_category"):
            if role in df.columns:
                df = _as_category(df, role, sources[role], "events")
        df, tally = _normalise_disposal_types(df, disposal_type_map)
        if "offence_category" in df.columns and df["offence_category"].null_count():
            # a missing category is the empty category "": it matches no include or
            # exclude list (so include_categories leaves it out, exclude lists keep it)
            df = df.with_columns(pl.col("offence_category").cast(pl.String).fill_null("")
                                 .cast(pl.Categorical))
        if "court_event_id" in df.columns:
            dtype = df.schema["court_event_id"]
            if not dtype.is_integer():
                df = df.with_columns(
                    pl.col("court_event_id").cast(pl.String).cast(pl.Categorical)
                    .to_physical().cast(pl.Int64))
            elif dtype != pl.Int64:
                df = df.with_columns(pl.col("court_event_id").cast(pl.Int64))
            if df["court_event_id"].null_count():
                # rows without an id fall back to one conviction event per offender and
                # disposal date (schema.py), keyed far below any real id
                df = df.with_columns(pl.col("court_event_id").fill_null(
                    pl.lit(NO_COURT_ID_BASE, pl.Int64)
                    + pl.col("disposal_date").cast(pl.Date).to_physical().cast(pl.Int64)))
        rules = [
            ("missing_offender_id", "offender_id is missing", pl.col("offender_id").is_null()),
            ("unparseable_offence_date", "offence_date is not a date in YYYY-MM-DD form",
             bad["offence_date"]),
            ("unparseable_disposal_date", "disposal_date is not a date in YYYY-MM-DD form",
             bad["disposal_date"]),
            ("missing_offence_date", "offence_date is missing: the event cannot be placed in a"
             " follow-up window", pl.col("offence_date").is_null()),
            ("missing_disposal_date", "disposal_date is missing: the offence is not proven",
             pl.col("disposal_date").is_null()),
            ("disposal_before_offence", "disposal_date is before offence_date",
             pl.col("disposal_date") < pl.col("offence_date")),
            ("missing_disposal_type", "disposal_type is missing",
             pl.col("disposal_type").is_null()),
            ("missing_offence_code", "offence_code is missing", pl.col("offence_code").is_null()),
        ]
        if duplicates not in ("exclude", "keep"):
            raise SchemaError(f"duplicates must be 'exclude' or 'keep', got {duplicates!r}")
        frame, led = _apply_rules(df, "events", rules, on_invalid, sources, _defer)
        if frame.height != df.height:  # rows left out: the tally counted them
            tally = None
        dup = _duplicate_rows(frame) if duplicates == "exclude" else np.zeros(0, np.int64)
        if dup.size:
            led = led + Exclusions((_duplicate_entry(frame, dup, "events"),))
            if tally is not None:
                tally = tally.less(frame["disposal_type"], dup)
        # with duplicates, the kept rows are made on first use (see _with_duplicates)
        events = cls(frame, led, n_input, sources, duplicate_rows=dup)
        if tally is not None:  # the vocabulary check reads it: counted once, here
            events._memo.put("disposal_types", _disposal_types(tally.values()))
        return events

    @memoised
    def disposal_types(self) -> pl.DataFrame:
        """Rows per ``disposal_type`` value of the kept rows (``disposal_type``, ``rows``),
        sorted by value: the vocabulary a spec's ``proof_types`` is checked against."""
        return _disposal_types(_value_counts(self.data["disposal_type"]))

    def spellings(self, column: str) -> list[str] | None:
        """Every value that ``column`` (``offence_category`` or ``offence_code``) may
        hold: the categories of its type, a superset of the values the rows hold (a
        categorical type's categories may be shared with other columns); None when the
        column has nulls or is not categorical."""
        s = self._values[column]
        if not isinstance(s.dtype, pl.Categorical | pl.Enum) or s.null_count():
            return None
        if isinstance(s.dtype, pl.Categorical):
            names: list[str] = s.dtype.categories.to_series().to_list()
            return names
        return list(s.dtype.categories)

    def holds(self, column: str, values: Collection[str]) -> frozenset[str]:
        """Those of ``values`` that some kept row holds in ``column`` (``offence_category``
        or ``offence_code``).  A categorical column without nulls is read code by code
        until every one of them is found (the rows with duplicates read as well: a
        duplicate repeats a kept row); any other is read in full."""
        from pbr._kernels import codes

        names = self.spellings(column)
        if names is None:
            present = self.categories if column == "offence_category" else self.codes
            return frozenset(v for v in values if v in present)
        code = {v: k for k, v in enumerate(names)}
        wanted = np.zeros(max(len(names), 1), np.bool_)
        for v in values:
            if v in code:
                wanted[code[v]] = True
        asked = wanted.copy()
        left = int(wanted.sum())
        for chunk in self._values[column].to_physical().get_chunks():
            if not left:
                break
            left = codes.find_codes(chunk.to_numpy(), wanted, left)
        return frozenset(names[k] for k in np.flatnonzero(asked & ~wanted))

    @memoised
    def categories(self) -> frozenset[str]:
        """The ``offence_category`` values of the kept rows (empty without the column)."""
        if not self.has_category:
            return frozenset()
        return frozenset(_value_counts(self._values["offence_category"])["value"].to_list())

    @memoised
    def codes(self) -> frozenset[str]:
        """The ``offence_code`` values of the kept rows."""
        return frozenset(_value_counts(self._values["offence_code"])["value"].to_list())

    @property
    def last_disposal(self) -> _dt.date | None:
        """The last disposal date of the kept rows (None without rows): the extract's end
        when no ``as_of`` is given (rule A3)."""
        span = self.date_span("disposal_date") if self.n else None
        return None if span is None else span[1]


def _disposal_types(counts: pl.DataFrame) -> pl.DataFrame:
    """:attr:`Events.disposal_types` from :func:`_value_counts`' frame."""
    return counts.rename({"value": "disposal_type"}).sort("disposal_type")


@dataclass(frozen=True)
class Custody(_Table):
    """Validated custody spells (``start_date`` to ``end_date`` inclusive) for bed days.

    Overlapping spells of one offender are merged before counting, so a day is counted
    once.

    Examples
    --------
    >>> import datetime, polars as pl
    >>> d = datetime.date
    >>> Custody.from_frame(pl.DataFrame({"offender_id": [1], "start_date": [d(2020, 1, 1)],
    ...                                  "end_date": [d(2020, 1, 10)]})).n
    1
    """

    @classmethod
    def from_frame(cls, data: Any, *, offender_id: str = "offender_id",
                   start_date: str = "start_date", end_date: str = "end_date",
                   on_invalid: OnInvalid = "raise") -> Custody:
        """Validate a custody table; see the class docstring."""
        if isinstance(data, Custody):
            return data
        df = as_frame(data, "custody")
        n_input = df.height
        df, sources = _select_roles(df, CUSTODY, {"offender_id": offender_id,
                                                   "start_date": start_date,
                                                   "end_date": end_date})
        df = _as_id(df, sources["offender_id"], "custody")
        bad: dict[str, pl.Expr] = {}
        for role in ("start_date", "end_date"):
            df, bad[role] = _as_date(df, role, sources[role], "custody")
        rules = [
            ("missing_offender_id", "offender_id is missing", pl.col("offender_id").is_null()),
            ("unparseable_start_date", "start_date is not a date in YYYY-MM-DD form",
             bad["start_date"]),
            ("unparseable_end_date", "end_date is not a date in YYYY-MM-DD form",
             bad["end_date"]),
            ("missing_start_date", "start_date is missing", pl.col("start_date").is_null()),
            ("missing_end_date", "end_date is missing (give the extract date for spells "
             "still open)", pl.col("end_date").is_null()),
            ("end_before_start", "end_date is before start_date",
             pl.col("end_date") < pl.col("start_date")),
        ]
        frame, led = _apply_rules(df, "custody", rules, on_invalid, sources)
        return cls(frame, led, n_input, sources)
