"""The pandas-to-polars boundary, in one place.

pbr computes on polars; the public functions also take pandas DataFrames, and convert
them here, once, where they come in.  pandas is never imported for the check: an object
is a pandas one when a class in its type's MRO is defined in the ``pandas`` package (a
subclass such as a GeoDataFrame counts).
"""

from __future__ import annotations

from typing import Any

import polars as pl

__all__ = ["from_pandas", "is_pandas", "to_polars"]


def is_pandas(obj: Any) -> bool:
    """True for a pandas object (a DataFrame, a Series, or a subclass of one).

    Examples
    --------
    >>> import pandas as pd
    >>> is_pandas(pd.DataFrame({"a": [1]})), is_pandas(pl.DataFrame({"a": [1]}))
    (True, False)
    """
    return any(cls.__module__.partition(".")[0] == "pandas" for cls in type(obj).__mro__)


def from_pandas(obj: Any) -> Any:
    """A pandas DataFrame as a polars DataFrame; anything else as it is.

    Examples
    --------
    >>> import pandas as pd
    >>> from_pandas(pd.DataFrame({"a": [1, 2]})).shape, from_pandas([1, 2])
    ((2, 1), [1, 2])
    """
    if is_pandas(obj) and hasattr(obj, "columns"):
        return pl.from_pandas(obj)
    return obj


def to_polars(obj: Any) -> pl.DataFrame:
    """A polars DataFrame as it is, a pandas DataFrame converted.

    Raises
    ------
    TypeError
        Anything else (the caller names the argument in its own error).

    Examples
    --------
    >>> to_polars({"a": [1]})
    Traceback (most recent call last):
    TypeError: expected a polars or pandas DataFrame, got dict
    """
    out = from_pandas(obj)
    if not isinstance(out, pl.DataFrame):
        raise TypeError(f"expected a polars or pandas DataFrame, got {type(obj).__name__}")
    return out
