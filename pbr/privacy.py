"""Pseudonymised offender identifiers: keyed, consistent across tables, never reversible.

Commissioners and providers exchange cohort and event extracts keyed by police or
prison identifiers (PNC, NOMIS numbers).  pbr never needs the real identifier: only that
the same person has the same key in every table.  :func:`pseudonymise` replaces the
identifier columns of a table by a keyed hash of each value:

* **keyed** (BLAKE2b in its keyed mode, a MAC: RFC 7693 section 2.5; Python's
  ``hashlib``, no network, no external service): without the key nobody can recompute
  a pseudonym from a known identifier (which a plain hash allows, by hashing every
  possible PNC);
* **consistent**: the same key maps the same identifier to the same pseudonym in every
  table and every run, so cohorts and events still join and results are reproducible;
* **one-way**: there is no lookup table to leak.  Whoever holds the key and the original
  extract can re-identify a person by pseudonymising the extract again; keep the key
  with the data controller, out of the repository and out of the analysis outputs.

Identifiers are hashed in their text form (``str`` of an integer, the string itself):
the integer 1234 and the string ``"1234"`` get the same pseudonym.  Missing identifiers
stay missing.  The pseudonym is the hex digest (32 characters for the default 16-byte
digest); a call that would map two different identifiers to one pseudonym raises.
Each distinct identifier is hashed once in Python (about a microsecond each: a few
seconds for millions of people, once per extract).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import polars as pl

from pbr._frames import to_polars
from pbr.errors import SchemaError, SpecError

__all__ = ["pseudonymise"]

MIN_KEY_BYTES = 16


def _key_bytes(key: bytes | str) -> bytes:
    raw = key.encode("utf-8") if isinstance(key, str) else key
    if not isinstance(raw, bytes | bytearray):
        raise SpecError(f"key: give bytes or text, got {type(key).__name__}")
    if len(raw) < MIN_KEY_BYTES:
        raise SpecError(
            f"key: {len(raw)} bytes is too short to keep pseudonyms secret; give at least "
            f"{MIN_KEY_BYTES} random bytes, e.g. secrets.token_bytes(32), and keep them out "
            "of the repository")
    if len(raw) > 64:  # BLAKE2b keys are at most 64 bytes: hash longer ones down first
        raw = hashlib.blake2b(raw, digest_size=64).digest()
    return bytes(raw)


def pseudonymise(frame: Any, key: bytes | str, *,
                 columns: str | Sequence[str] = ("offender_id",),
                 digest_size: int = 16) -> Any:
    """Replace identifier columns by keyed, consistent, one-way pseudonyms.

    Parameters
    ----------
    frame
        A polars or pandas DataFrame (returned as the same kind).
    key
        The secret: at least 16 bytes (text is UTF-8 encoded).  The same key gives the
        same pseudonyms in every table and every run.
    columns
        The identifier column(s) to replace (default ``offender_id``).
    digest_size
        Bytes of the BLAKE2b digest (8-64; the pseudonym has twice as many hex
        characters).  16 bytes makes a collision among a billion identifiers about a
        one-in-10^21 event.

    Returns
    -------
    The frame with each identifier column replaced by text pseudonyms (nulls kept).

    Raises
    ------
    SchemaError
        A column is missing, or is not integers or text.
    SpecError
        The key is too short, ``digest_size`` is out of range, or two identifiers would
        share a pseudonym.

    Examples
    --------
    >>> import polars as pl
    >>> key = b"0123456789abcdef-not-a-real-key"
    >>> cohort = pl.DataFrame({"offender_id": [101, 102, None]})
    >>> events = pl.DataFrame({"offender_id": ["102"]})
    >>> c = pseudonymise(cohort, key)
    >>> c["offender_id"][0] != "101", c["offender_id"][2] is None
    (True, True)
    >>> c["offender_id"][1] == pseudonymise(events, key)["offender_id"][0]
    True
    """
    if not 8 <= digest_size <= 64:
        raise SpecError(f"digest_size: give 8 to 64 bytes, got {digest_size!r}")
    secret = _key_bytes(key)
    cols = [columns] if isinstance(columns, str) else list(columns)
    is_pandas = not isinstance(frame, pl.DataFrame)
    df = to_polars(frame) if is_pandas else frame
    if not isinstance(df, pl.DataFrame):  # pragma: no cover - defensive
        raise SchemaError("pseudonymise: give a polars or pandas DataFrame")
    for col in cols:
        if col not in df.columns:
            raise SchemaError(f"pseudonymise: no column {col!r}; columns: "
                              f"{', '.join(df.columns)}. Fix: name the identifier column "
                              "with columns=")
        dtype = df.schema[col]
        if not (dtype.is_integer() or dtype in (pl.String, pl.Categorical, pl.Null)):
            raise SchemaError(f"pseudonymise: column {col!r} has type {dtype}; identifiers "
                              "must be integers or text. Fix: cast it to strings")
    out = df
    for col in cols:
        text = df[col].cast(pl.String)
        uniq = text.drop_nulls().unique()
        values = uniq.to_list()
        digests = [hashlib.blake2b(v.encode("utf-8"), key=secret,
                                   digest_size=digest_size).hexdigest() for v in values]
        if len(set(digests)) != len(digests):
            raise SpecError(f"pseudonymise: two identifiers in {col!r} share a pseudonym; "
                            "use a larger digest_size")
        mapping = pl.DataFrame({"__id": uniq, "__pseudonym": pl.Series(digests,
                                                                        dtype=pl.String)})
        mapped = (pl.DataFrame({"__id": text}).join(mapping, on="__id", how="left",
                                                     maintain_order="left")["__pseudonym"])
        out = out.with_columns(mapped.alias(col))
    return out.to_pandas() if is_pandas else out
