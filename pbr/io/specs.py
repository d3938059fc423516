"""Read and write measure specifications as TOML files."""

from __future__ import annotations

from pathlib import Path

from pbr.errors import PbrError, SpecError
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
    text = read_text(path, "spec", SpecError)
    try:
        return MeasureSpec.from_toml(text)
    except SpecError as exc:
        raise SpecError(f"{str(path)!r}: {exc}") from None


def read_text(path: Path, what: str, error: type[PbrError]) -> str:
    """The UTF-8 text of a spec or contract file; a missing or unreadable file raises
    ``error`` naming the file and the reason."""
    if not path.is_file():
        raise error(f"cannot read {what} {str(path)!r}: the file does not exist")
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"cannot read {what} {str(path)!r}: {exc}") from exc


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
