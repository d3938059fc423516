"""Seeded synthetic disposal records, for examples, docs and the ``pbr cohort`` command.

:func:`generate_disposals` draws people with one to several disposals over two years:
immediate custody (with sentence length and release date), court orders, cautions and a
few non-index records (remand hearings), some on the same day, with dates of birth,
the exclusion flags, deaths and provider / area / region.  Same seed, same bytes.
"""

from __future__ import annotations

import datetime as _dt

import numpy as np
import polars as pl

from pbr.period import date_to_day

__all__ = ["generate_disposals"]

_TYPES = np.array(["custody", "court_order", "caution", "remand"])
_TYPE_P = np.array([0.30, 0.42, 0.23, 0.05])
_SENTENCES = np.array([14, 28, 56, 90, 120, 182, 183, 270, 364, 365, 730])
_AREAS = tuple(f"area_{k:02d}" for k in range(1, 9))
_REGION = {a: ("north", "south")[k % 2] for k, a in enumerate(_AREAS)}
_PROVIDER = {a: f"provider_{'ABCD'[k // 2]}" for k, a in enumerate(_AREAS)}


def generate_disposals(n: int, seed: int = 0, *, start: _dt.date = _dt.date(2018, 1, 1),
                       days: int = 730) -> pl.DataFrame:
    """Synthetic disposals of ``n`` people between ``start`` and ``start + days``.

    Columns: offender_id, disposal_date, disposal_type, release_date,
    sentence_length_days, date_of_birth, disposal_category, deported, time_served,
    breach_only, released_from_court, date_of_death, sex, provider, area, region.

    Examples
    --------
    >>> df = generate_disposals(100, seed=3)
    >>> df.equals(generate_disposals(100, seed=3)), df["offender_id"].n_unique()
    (True, 100)
    """
    rng = np.random.default_rng(seed)
    per = 1 + rng.poisson(1.2, n)
    pid = np.repeat(np.arange(1, n + 1, dtype=np.int64), per)
    m = pid.size
    first = date_to_day(start)
    day = first + rng.integers(0, days, m)
    same = rng.random(m) < 0.05  # a second event on the day of the person's previous one
    prev_same = np.r_[False, same[1:] & (pid[1:] == pid[:-1])]
    day = np.where(prev_same, np.r_[day[:1], day[:-1]], day)
    kind = _TYPES[np.searchsorted(np.cumsum(_TYPE_P), rng.random(m), side="right")
                  .clip(0, _TYPES.size - 1)]
    custody = kind == "custody"
    sentence = np.where(custody | (kind == "court_order"),
                        _SENTENCES[rng.integers(0, _SENTENCES.size, m)], -1)
    from_court = custody & (rng.random(m) < 0.02)
    served = custody & ~from_court & (rng.random(m) < 0.03)
    release = np.where(from_court | served, day, day + sentence // 2)
    still_in = custody & (release > first + days + 180)
    age0 = rng.integers(12, 60, n)
    birth = first - age0 * 365 - rng.integers(0, 365, n)
    birth[rng.random(n) < 0.01] = date_to_day(_dt.date(2000, 2, 29))  # a few leap-day births
    death = np.where(rng.random(n) < 0.01, first + rng.integers(0, days + 365, n), -1)
    area = np.array(_AREAS)[rng.integers(0, len(_AREAS), n)][pid - 1]
    category = np.where(custody, "immediate_custody", np.where(
        kind == "court_order", np.where(rng.random(m) < 0.5, "community_order",
                                        "suspended_sentence_order"),
        np.where(kind == "caution", "caution", "remand")))
    as_date = pl.Date
    df = pl.DataFrame({
        "offender_id": pid,
        "disposal_date": pl.Series(day.astype(np.int32)).cast(as_date),
        "disposal_type": kind.astype(str),
        "release_date": pl.Series(np.where(custody & ~still_in, release, 0).astype(np.int32))
        .cast(as_date),
        "sentence_length_days": pl.Series(sentence.astype(np.int32)),
        "date_of_birth": pl.Series(birth[pid - 1].astype(np.int32)).cast(as_date),
        "disposal_category": category.astype(str),
        "deported": custody & (rng.random(m) < 0.02),
        "time_served": served,
        "breach_only": (kind != "caution") & (rng.random(m) < 0.04),
        "released_from_court": from_court,
        "date_of_death": pl.Series(death[pid - 1].astype(np.int32)).cast(as_date),
        "area": area.astype(str),
    })
    df = df.with_columns(
        pl.when(pl.col("disposal_type") == "custody").then(pl.col("release_date"))
        .alias("release_date"),
        pl.when(pl.col("sentence_length_days") >= 0).then(pl.col("sentence_length_days"))
        .alias("sentence_length_days"),
        pl.when(pl.Series(death[pid - 1] >= 0)).then(pl.col("date_of_death"))
        .alias("date_of_death"),
        pl.col("area").replace_strict(_PROVIDER).alias("provider"),
        pl.col("area").replace_strict(_REGION).alias("region"))
    df = df.with_columns(pl.when(pl.Series(still_in)).then(None).otherwise(pl.col("release_date"))
                         .alias("release_date"))
    sex = np.where(rng.random(n) < 0.85, "M", "F")  # drawn last: earlier columns unchanged
    df = df.with_columns(pl.Series("sex", sex[pid - 1].astype(str)))
    return df.sort(["offender_id", "disposal_date"], maintain_order=True)
