"""Shared fixtures and the hypothesis profiles (deadline=None: Numba's first compile)."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "default", deadline=None, max_examples=60,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile(
    "ci", deadline=None, max_examples=120,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile(
    "thorough", deadline=None, max_examples=2000,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.load_profile(os.environ.get("PBR_HYPOTHESIS_PROFILE", "default"))


def day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def make_cohort(rows: Sequence[tuple[Any, str]], **extra: Sequence[Any]) -> pl.DataFrame:
    """Cohort frame from (offender_id, index_date) pairs."""
    return pl.DataFrame({"offender_id": [r[0] for r in rows],
                         "index_date": [day(r[1]) for r in rows], **extra})


def make_events(rows: Sequence[tuple[Any, ...]], court: bool = False) -> pl.DataFrame:
    """Events from (offender_id, offence, disposal, type, code, category[, court_event_id])."""
    data: dict[str, list[Any]] = {
        "offender_id": [r[0] for r in rows],
        "offence_date": [day(r[1]) if r[1] else None for r in rows],
        "disposal_date": [day(r[2]) if r[2] else None for r in rows],
        "disposal_type": [r[3] for r in rows],
        "offence_code": [r[4] for r in rows],
        "offence_category": [r[5] for r in rows],
    }
    if court:
        data["court_event_id"] = [r[6] for r in rows]
    return pl.DataFrame(data, schema_overrides={"offender_id": pl.Int64,
                                                "offence_date": pl.Date,
                                                "disposal_date": pl.Date,
                                                "disposal_type": pl.String,
                                                "offence_code": pl.String,
                                                "offence_category": pl.String})


@pytest.fixture(params=["numba", "polars"])
def engine(request: pytest.FixtureRequest) -> str:
    return str(request.param)
