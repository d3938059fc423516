"""Read and write measure specifications as TOML files."""

from __future__ import annotations

from pathlib import Path

from pbr.errors import SpecError
from pbr.spec import MeasureSpec

__all__ = ["read_spec", "write_spec"]


def read_spec(path: str | Path) -> MeasureSpec:
    """Read a :class:`~pbr.MeasureSpec` from a TOML file (a ``[measure]`` table or bare keys).

    Raises
    ------
    SpecError
        The file does not exist, is not TOML, or has an invalid or unknown field.

    Examples
    --------
    >>> import tempfile, pathlib, pbr
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "spec.toml"
    >>> _ = p.write_text('[measure]\\nname = "six"\\nfollow_up = "6 months"\\n')
    >>> read_spec(p).follow_up
    Period('6 months')
    """
    path = Path(path)
    if not path.is_file():
        raise SpecError(f"cannot read spec {str(path)!r}: the file does not exist")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"cannot read spec {str(path)!r}: {exc}") from exc
    try:
        return MeasureSpec.from_toml(text)
    except SpecError as exc:
        raise SpecError(f"{str(path)!r}: {exc}") from None


def write_spec(spec: MeasureSpec, path: str | Path) -> Path:
    """Write a spec as TOML (``[measure]`` table); :func:`read_spec` reads it back equal.

    Examples
    --------
    >>> import tempfile, pathlib, pbr
    >>> spec = pbr.preset("peterborough_sib")
    >>> p = write_spec(spec, pathlib.Path(tempfile.mkdtemp()) / "spec.toml")
    >>> read_spec(p) == spec
    True
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(spec.to_toml(), encoding="utf-8")
    return path
