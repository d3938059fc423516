"""Read and write contracts as TOML files, and hash files for manifests."""

from __future__ import annotations

import hashlib
from pathlib import Path

from pbr.contract.spec import Contract
from pbr.errors import ContractError
from pbr.io.specs import read_text

__all__ = ["read_contract", "sha256_file", "write_contract"]


def read_contract(path: str | Path) -> Contract:
    """Read a :class:`~pbr.contract.Contract` from a TOML file (numbers as Decimal).

    Raises
    ------
    ContractError
        The file does not exist, is not TOML, or has an invalid field (the message
        names the file, the field and the fix).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "c.toml"
    >>> _ = p.write_text('[contract]\\nname = "x"\\n[comparator]\\nvalues = {binary_rate = 50}\\n'
    ...                  '[[component]]\\nname = "b"\\nkind = "linear"\\nmeasure = "binary_rate"\\n'
    ...                  'basis = "points"\\nprice = 2.50\\n')
    >>> read_contract(p).components[0].price
    Decimal('2.50')
    """
    path = Path(path)
    text = read_text(path, "contract", ContractError)
    try:
        return Contract.from_toml(text)
    except ContractError as exc:
        raise ContractError(f"{str(path)!r}: {exc}") from None


def write_contract(contract: Contract, path: str | Path) -> Path:
    """Write a contract as TOML; :func:`read_contract` reads it back equal."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(contract.to_toml(), encoding="utf-8")
    return path


def sha256_file(path: str | Path) -> str:
    """SHA-256 of a file's bytes, as hex.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "f"
    >>> _ = p.write_bytes(b"")
    >>> sha256_file(p)[:12]
    'e3b0c44298fc'
    """
    h = hashlib.sha256()
    with Path(path).open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
