"""Protected characteristics of a cohort: the group columns and the age bands.

The Equality Act 2010, section 4, names nine protected characteristics (age, disability,
gender reassignment, marriage and civil partnership, pregnancy and maternity, race,
religion or belief, sex, sexual orientation; [EqualityAct-2010]); section 149 (the
public sector equality duty) asks public bodies, commissioners of rehabilitation
services among them, to have due regard to the effect of what they do on people who
share them.  pbr reports any column named in ``by``; ``age_band`` is derived.

Age bands (:data:`AGE_BANDS`) are those of the MoJ proven reoffending statistics'
tables by age (10-14, 15-17, 18-20, 21-24, 25-29, 30-34, 35-39, 40-44, 45-49, 50+;
[MoJ-PRS-Bulletins] **[R]**): the age at the index date in whole years, from an ``age``
column or from ``date_of_birth`` and ``index_date``.  An age below 10 (the age of
criminal responsibility in England and Wales) or above 110 is refused.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from pbr.errors import SchemaError, SpecError

__all__ = ["AGE_BANDS", "MAX_GROUPS", "NOT_RECORDED", "age_band", "group_columns"]

#: (lowest age, highest age or None, label), in order
AGE_BANDS: tuple[tuple[int, int | None, str], ...] = (
    (10, 14, "10-14"), (15, 17, "15-17"), (18, 20, "18-20"), (21, 24, "21-24"),
    (25, 29, "25-29"), (30, 34, "30-34"), (35, 39, "35-39"), (40, 44, "40-44"),
    (45, 49, "45-49"), (50, None, "50+"))
#: the label of a missing value (kept as a group, never the reference)
NOT_RECORDED = "not recorded"
#: more groups than this in one characteristic is almost surely an identifier column
MAX_GROUPS = 60
MIN_AGE, MAX_AGE = 10, 110


def _check_bands(bands: Sequence[tuple[int, int | None, str]]) -> None:
    prev = None
    for i, b in enumerate(bands):
        if len(b) != 3 or not isinstance(b[0], int) or not (b[1] is None or isinstance(
                b[1], int)) or not isinstance(b[2], str):
            raise SpecError(f"age_bands[{i}]: (lowest, highest or None, label), got {b!r}")
        lo, hi, _ = b
        if hi is not None and hi < lo:
            raise SpecError(f"age_bands[{i}]: highest {hi} below lowest {lo}")
        if prev is not None and lo != prev + 1:
            raise SpecError(f"age_bands[{i}]: starts at {lo}; the bands must follow on "
                            f"without gaps or overlaps (previous band ends at {prev})")
        if hi is None and i != len(bands) - 1:
            raise SpecError(f"age_bands[{i}]: only the last band may be open-ended")
        prev = hi


def age_band(frame: pl.DataFrame,
             bands: Sequence[tuple[int, int | None, str]] = AGE_BANDS) -> pl.Series:
    """Each row's age band at its index date.

    Examples
    --------
    >>> import polars as pl
    >>> age_band(pl.DataFrame({"age": [17, 18, 52]})).to_list()
    ['15-17', '18-20', '50+']
    """
    _check_bands(bands)
    if "age" in frame.columns:
        age = frame["age"]
        if not age.dtype.is_numeric():
            raise SchemaError(f"column 'age': years as numbers, got {age.dtype}")
        age = age.cast(pl.Float64).floor()
        source = "age"
    elif "date_of_birth" in frame.columns and "index_date" in frame.columns:
        dob, idx = frame["date_of_birth"], frame["index_date"]
        for name, s in (("date_of_birth", dob), ("index_date", idx)):
            if s.dtype != pl.Date:
                raise SchemaError(f"column {name!r}: dates (pl.Date), got {s.dtype}; fix: "
                                  "parse it, e.g. pl.col(name).str.to_date()")
        years = (idx.dt.year() - dob.dt.year()).cast(pl.Int32)
        before = (idx.dt.month().cast(pl.Int32) * 100 + idx.dt.day().cast(pl.Int32)) < (
            dob.dt.month().cast(pl.Int32) * 100 + dob.dt.day().cast(pl.Int32))
        age = (years - before.cast(pl.Int32)).cast(pl.Float64)
        source = "date_of_birth"
    else:
        raise SchemaError("age_band: the cohort has no 'age' column and no 'date_of_birth' "
                          "with 'index_date'; fix: add one, or leave age_band out of by=")
    vals = age.to_list()
    for i, a in enumerate(vals):
        if a is not None and not MIN_AGE <= a <= MAX_AGE:
            raise SchemaError(f"column {source!r}, row {i}: age {a:g} at the index date is "
                              f"outside {MIN_AGE}-{MAX_AGE}; fix the record or drop the row")
    first = bands[0][0]
    labels: list[str | None] = []
    for a in vals:
        if a is None:
            labels.append(None)
            continue
        if a < first:
            raise SchemaError(f"age {a:g} is below the first band ({first}); fix: add a band")
        labels.append(next(lab for lo, hi, lab in bands if lo <= a and (hi is None or a <= hi)))
    return pl.Series("age_band", labels, dtype=pl.String)


def group_columns(frame: pl.DataFrame, by: str | Sequence[str],
                  bands: Sequence[tuple[int, int | None, str]] = AGE_BANDS
                  ) -> tuple[pl.DataFrame, list[str]]:
    """The frame with each characteristic as text (missing: ``"not recorded"``) and
    ``age_band`` derived when asked for and not present."""
    keys = [by] if isinstance(by, str) else list(by)
    if not keys:
        raise SpecError("by: name at least one characteristic, e.g. by=['sex', 'age_band']")
    if len(set(keys)) != len(keys):
        raise SpecError(f"by: {keys} names a characteristic twice")
    out = frame
    for k in keys:
        if k == "age_band" and k not in frame.columns:
            out = out.with_columns(age_band(frame, bands))
        elif k not in frame.columns:
            raise SchemaError(f"by: no column {k!r} in the cohort; columns: "
                              f"{', '.join(frame.columns)}; fix: carry it on the cohort "
                              "(CohortRule carry=) or leave it out")
        groups = out[k].n_unique()
        if groups > MAX_GROUPS:
            raise SpecError(f"by: {k!r} has {groups} distinct values; a characteristic has "
                            f"at most {MAX_GROUPS} groups (is it an identifier?)")
    out = out.with_columns([pl.col(k).cast(pl.String).fill_null(NOT_RECORDED) for k in keys])
    return out, keys
