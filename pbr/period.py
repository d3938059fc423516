"""Calendar periods ("12 months", "182 days") and all of pbr's date arithmetic.

Dates inside pbr are ``int32`` day numbers counted from 1970-01-01 (the physical
representation of a polars ``Date``).  :class:`Period` is the one owner of calendar
arithmetic: adding months clamps to the end of the month, so 29 February 2020 plus
12 months is 28 February 2021, and 31 August 2019 plus 6 months is 29 February 2020.
This is the "calendar period, not 365/182 days" reading of the MoJ follow-up year and
six-month waiting period (docs/methodology/measures.md, rule W1).
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass
from typing import Literal

import numpy as np

from pbr.errors import PeriodError

__all__ = ["NULL_DAY", "Period", "date_to_day", "day_to_date"]

#: Sentinel day number for a missing date in int32 arrays.
NULL_DAY = np.iinfo(np.int32).min

_EPOCH = _dt.date(1970, 1, 1)
_UNITS = {
    "day": "days", "days": "days", "d": "days",
    "week": "weeks", "weeks": "weeks", "w": "weeks",
    "month": "months", "months": "months", "m": "months",
    "year": "years", "years": "years", "y": "years",
}
_PATTERN = re.compile(r"^\s*(\d+)\s*([A-Za-z]+)\s*$")


def date_to_day(value: _dt.date) -> int:
    """Day number (days since 1970-01-01) of a date.

    Examples
    --------
    >>> import datetime
    >>> date_to_day(datetime.date(1970, 1, 2))
    1
    """
    return (value - _EPOCH).days


def day_to_date(day: int) -> _dt.date:
    """Date of a day number.

    Examples
    --------
    >>> day_to_date(0)
    datetime.date(1970, 1, 1)
    """
    return _EPOCH + _dt.timedelta(days=int(day))


@dataclass(frozen=True, slots=True)
class Period:
    """A length of time in whole calendar units.

    Parameters
    ----------
    n
        Number of units, >= 0.
    unit
        ``"days"``, ``"weeks"``, ``"months"`` or ``"years"``.

    Examples
    --------
    >>> import datetime
    >>> Period.parse("12 months")
    Period('12 months')
    >>> Period.parse("1 year").add_date(datetime.date(2020, 2, 29))
    datetime.date(2021, 2, 28)
    """

    n: int
    unit: Literal["days", "weeks", "months", "years"]

    def __post_init__(self) -> None:
        if isinstance(self.n, bool) or not isinstance(self.n, int | np.integer) or self.n < 0:
            raise PeriodError(f"Period length must be a whole number >= 0, got {self.n!r}")
        if self.unit not in ("days", "weeks", "months", "years"):
            raise PeriodError(
                f"Period unit must be days, weeks, months or years, got {self.unit!r}"
            )

    @classmethod
    def parse(cls, text: str | Period) -> Period:
        """Parse ``"12 months"``, ``"6 months"``, ``"182 days"``, ``"1 year"``."""
        if isinstance(text, Period):
            return text
        if not isinstance(text, str):
            raise PeriodError(f"expected a period such as '12 months', got {text!r}")
        m = _PATTERN.match(text)
        if not m or m.group(2).lower() not in _UNITS:
            raise PeriodError(
                f"cannot read period {text!r}: write a whole number and a unit, "
                "e.g. '12 months', '6 months', '182 days' or '1 year'"
            )
        return cls(int(m.group(1)), _UNITS[m.group(2).lower()])  # type: ignore[arg-type]

    def __str__(self) -> str:
        unit = self.unit[:-1] if self.n == 1 else self.unit
        return f"{self.n} {unit}"

    def __repr__(self) -> str:
        return f"Period('{self}')"

    @property
    def months(self) -> int:
        """Length in months (0 for day/week periods)."""
        return self.n * 12 if self.unit == "years" else self.n if self.unit == "months" else 0

    @property
    def days(self) -> int:
        """Length in days (0 for month/year periods)."""
        return self.n * 7 if self.unit == "weeks" else self.n if self.unit == "days" else 0

    def add(self, days: np.ndarray) -> np.ndarray:
        """Add this period to an array of int32 day numbers (NULL_DAY stays NULL_DAY).

        Month arithmetic clamps to the last day of the target month.
        """
        arr = np.asarray(days)
        if arr.dtype != np.int32:
            arr = arr.astype(np.int32)
        null = arr == NULL_DAY
        if self.months == 0:
            out = arr.astype(np.int64) + self.days
        else:
            d = np.where(null, 0, arr).astype("datetime64[D]")
            month0 = d.astype("datetime64[M]")
            dom = (d - month0.astype("datetime64[D]")).astype(np.int64)
            target = month0 + np.timedelta64(self.months, "M")
            length = ((target + np.timedelta64(1, "M")).astype("datetime64[D]")
                      - target.astype("datetime64[D]")).astype(np.int64)
            out = (target.astype("datetime64[D]").astype(np.int64)
                   + np.minimum(dom, length - 1))
        out = np.where(null, NULL_DAY, out)
        if out.size and (out.max(initial=0) > np.iinfo(np.int32).max):
            raise PeriodError("date arithmetic overflowed the int32 day range")
        return out.astype(np.int32)

    def add_date(self, value: _dt.date) -> _dt.date:
        """Add this period to one date."""
        return day_to_date(int(self.add(np.array([date_to_day(value)], np.int32))[0]))
