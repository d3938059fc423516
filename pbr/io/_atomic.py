"""All-or-nothing output files: write every file of a run somewhere else, then move them in.

:func:`atomic_files` hands out temporary paths, in a hidden directory beside the targets
(on the same file system, so a move is a rename), and moves every file onto its target
only when the ``with`` block ends without an error.  A failure anywhere (a bad input, a
full disk, an Excel cell over its limit) leaves every target as it was: byte-identical
when it existed, absent when it did not, and no directory is created.  pbr rule: a
statement, its workbook and its manifest must never disagree because a run stopped
half-way (issue 15, "all-or-nothing outputs").
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pbr.errors import AuditError

__all__ = ["atomic_files"]


def _anchor(path: Path) -> Path:
    """The nearest existing directory at or above ``path``'s parent."""
    parent = path.parent
    while not parent.is_dir():
        if parent.exists():
            raise AuditError(f"cannot write {str(path)!r}: {str(parent)!r} exists and is "
                             "not a directory; choose another output path")
        parent = parent.parent
    return parent


@contextmanager
def atomic_files(*targets: str | Path) -> Iterator[tuple[Path, ...]]:
    """Temporary paths for ``targets``, moved onto them only if the block succeeds.

    Parameters
    ----------
    *targets
        The output files.  Each temporary path keeps its target's file name (and so its
        suffix, which writers dispatch on).

    Yields
    ------
    tuple of pathlib.Path
        One temporary path per target, in order; write each file there.

    Raises
    ------
    AuditError
        Two targets are the same file, or a target is an existing directory.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> d = Path(tempfile.mkdtemp())
    >>> with atomic_files(d / "a.csv", d / "sub" / "b.json") as (a, b):
    ...     _ = a.write_text("x"), b.write_text("{}")
    >>> sorted(p.relative_to(d).as_posix() for p in d.rglob("*") if p.is_file())
    ['a.csv', 'sub/b.json']
    >>> try:
    ...     with atomic_files(d / "a.csv") as (a,):
    ...         _ = a.write_text("half")
    ...         raise RuntimeError("stopped")
    ... except RuntimeError:
    ...     pass
    >>> (d / "a.csv").read_text()
    'x'
    """
    paths = [Path(t).absolute() for t in targets]
    seen: dict[Path, Path] = {}
    for p in paths:
        key = Path(os.path.normcase(os.path.abspath(p)))
        if key in seen:
            raise AuditError(f"two outputs are the same file {str(p)!r}; give each output "
                             "its own path")
        seen[key] = p
        if p.is_dir():
            raise AuditError(f"cannot write {str(p)!r}: it is a directory; give a file path")
    temps: dict[Path, Path] = {}
    staged: list[Path] = []
    try:
        for i, p in enumerate(paths):
            anchor = _anchor(p)
            if anchor not in temps:
                temps[anchor] = Path(tempfile.mkdtemp(prefix=".pbr-tmp-", dir=anchor))
            staged.append(temps[anchor] / str(i) / p.name)
            staged[-1].parent.mkdir()
        yield tuple(staged)
        missing = [str(t) for t, s in zip(paths, staged, strict=True) if not s.is_file()]
        if missing:
            raise AuditError(f"output(s) not written: {', '.join(missing)}")
        for target, tmp in zip(paths, staged, strict=True):
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, target)
    finally:
        for tmp_dir in temps.values():
            shutil.rmtree(tmp_dir, ignore_errors=True)
