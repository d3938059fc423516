"""OGRS3, the Offender Group Reconviction Scale version 3 (Howard et al. 2009).

A logistic model of proven reoffending within one and two years from static factors:
gender, age at risk, conviction status, the "Copas rate" of sanctions per year of
criminal career, and the current offence category::

    copas = ln(S / (10 + A_c - A_f))          S = previous sanctions + 1
    eta   = age_gender[g, band(a)] + status[k] + 1.251124464 * copas + offence[o]
    p_1yr = logistic(1.402562384 + eta)
    p_2yr = logistic(2.121705678 + eta)

Sources: Howard, Francis, Soothill, Humphreys (2009) *OGRS 3: the revised Offender Group
Reconviction Scale*, MoJ Research Summary 7/09; full-precision coefficients from
``noms-digital-studio/rsr-calculator`` (``lib/data/coefficients.json``, May 2017); the live
HMPPS service ``hmpps-arns-risk-actuarial-api`` (``OGRS3TransformationHelper.kt``).  See
docs/methodology/ogrs3.md and docs/sources.md ([Howard-OGRS3-2009], [NOMS-RSR-2018],
[HMPPS-ARNS-OGRS3]).

The two MoJ implementations disagree in four places; :data:`VARIANTS` chooses between
them (see :func:`ogrs3` for the default and why):

1. drink driving vs other motoring: rsr-calculator gives drink driving +0.2622 and other
   motoring -0.1214; HMPPS's offence-code data give them the other way round;
2. sexual offence not against a child: rsr-calculator 0.003276327, HMPPS 0.0328;
3. female ages 10-15: rsr-calculator negative, HMPPS Kotlin code positive;
4. conviction status: rsr-calculator five levels, HMPPS two (repeat or not).

This module is pure computation: no file I/O, no printing, no clock.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from types import MappingProxyType
from typing import Any, Literal

import numpy as np
import polars as pl

from pbr.data import as_frame
from pbr.errors import SchemaError, SpecError

__all__ = [
    "AGE_BANDS",
    "BAND_NAMES",
    "OFFENCE_CATEGORIES",
    "STATUSES",
    "VARIANTS",
    "Ogrs3Terms",
    "age_on",
    "ogrs3",
    "ogrs3_band",
    "ogrs3_coefficients",
    "ogrs3_score",
    "ogrs3_terms",
]

Coefficients = Literal["full", "4dp"]
Variant = Literal["recommended", "hmpps", "rsr"]
AgeBasis = Literal["risk_start", "assessment"]

VARIANTS: tuple[str, ...] = ("recommended", "hmpps", "rsr")
_COEFFICIENT_SETS: tuple[str, ...] = ("full", "4dp")
_AGE_BASES: tuple[str, ...] = ("risk_start", "assessment")

# ----------------------------------------------------------------------- coefficients
# Each value is (full precision from rsr-calculator, printed "whitepaper" value).
_INTERCEPT_1YR = (1.402562384, 1.40256)
_INTERCEPT_2YR = (2.121705678, 2.1217)
_COPAS = (1.251124464, 1.25112)

#: Lower bounds of the age bands (age at risk, whole years); the last band is open.
AGE_BANDS: tuple[int, ...] = (10, 12, 14, 16, 18, 21, 25, 30, 35, 40, 50)
_AGE_LABELS = ("10-11", "12-13", "14-15", "16-17", "18-20", "21-24", "25-29", "30-34",
               "35-39", "40-49", "50+")

_MALE: tuple[tuple[float, float], ...] = (
    (0.0, 0.0),
    (0.083922902, 0.0839),
    (0.075775765, 0.0758),
    (-0.061594199, -0.0616),
    (-0.625103618, -0.6251),
    (-1.051515067, -1.0515),
    (-1.166679288, -1.1667),
    (-1.325976554, -1.326),
    (-1.368045933, -1.368),
    (-1.499690953, -1.4997),
    (-2.025261458, -2.0253),
)
_FEMALE: tuple[tuple[float, float], ...] = (
    (-0.785038489, -0.785),
    (-0.613852078, -0.6139),
    (-0.669521331, -0.6695),
    (-0.959179629, -0.9592),
    (-0.897480934, -0.8975),
    (-1.028488454, -1.0285),
    (-1.052777806, -1.0528),
    (-1.129127959, -1.1291),
    (-1.42187494, -1.4219),
    (-1.524652221, -1.5247),
    (-2.44983716, -2.4498),
)

#: Conviction-status levels (rsr-calculator's five).  The caution levels have no printed
#: 4-dp value; the "4dp" set rounds them to 4 decimals.
STATUSES: tuple[str, ...] = (
    "first_caution",       # first caution, no conviction
    "second_caution",      # second caution, no conviction
    "first_conviction",    # first-time offender (conviction), no caution
    "multiple_cautions",   # multiple cautions
    "repeat",              # previous sanctions and a current conviction
)
_STATUS: dict[str, tuple[float, float]] = {
    "first_caution": (0.0, 0.0),
    "second_caution": (0.083100501, 0.0831),
    "first_conviction": (0.126142106, 0.12614),
    "multiple_cautions": (0.34859587, 0.3486),
    "repeat": (0.463062792, 0.46306),
}

# Offence categories in rsr-calculator index order (labels as rsr-calculator has them).
_OFFENCE: dict[str, tuple[float, float]] = {
    "violence": (0.0, 0.0),
    "robbery": (-0.634795912, -0.6348),
    "public_order": (0.181917975, 0.1819),
    "sexual_not_child": (0.003276327, 0.0033),
    "sexual_child": (-0.653434071, -0.6534),
    "soliciting": (0.760608858, 0.7606),
    "burglary_domestic": (-0.12394352, -0.1239),
    "burglary_other": (0.240604429, 0.2406),
    "theft": (0.661244321, 0.6612),
    "handling": (0.351866973, 0.3519),
    "fraud": (0.159910192, 0.1599),
    "absconding_bail": (0.733378677, 0.7334),
    "taking_vehicle": (0.380059431, 0.3801),
    "theft_from_vehicle": (0.427225615, 0.4272),
    "drink_driving": (0.262228428, 0.2622),
    "other_motoring": (-0.121439408, -0.1214),
    "criminal_damage": (0.204960477, 0.205),
    "drug_import_export": (-0.795556373, -0.7956),
    "drug_possession_supply": (0.077165871, 0.0772),
    "other": (-0.060667525, -0.0607),
}
_HMPPS_SEXUAL_NOT_CHILD = 0.0328  # HMPPS CSV and test; printed to 4 dp only

_SEX = {"male": 0, "m": 0, "female": 1, "f": 1}

#: Risk bands on the 2-year score, in whole per cent (HMPPS): name -> lowest per cent.
BAND_NAMES: tuple[str, ...] = ("low", "medium", "high", "very high")
_BAND_FLOORS = (0, 50, 75, 90)


def _offence_table(variant: str, which: int) -> dict[str, float]:
    table = {name: pair[which] for name, pair in _OFFENCE.items()}
    if variant in ("recommended", "hmpps"):
        table["drink_driving"], table["other_motoring"] = (
            table["other_motoring"], table["drink_driving"])
    if variant == "hmpps":
        table["sexual_not_child"] = _HMPPS_SEXUAL_NOT_CHILD
    return table


def _age_table(variant: str, which: int) -> np.ndarray[Any, np.dtype[np.float64]]:
    female = [pair[which] for pair in _FEMALE]
    if variant == "hmpps":
        female[:3] = [abs(v) for v in female[:3]]
    return np.array([[pair[which] for pair in _MALE], female], dtype=np.float64)


def _status_table(variant: str, which: int) -> dict[str, float]:
    table = {name: pair[which] for name, pair in _STATUS.items()}
    if variant == "hmpps":
        table = {name: table["repeat" if name == "repeat" else "first_conviction"]
                 for name in table}
    return table


def _check_options(coefficients: str, variant: str) -> int:
    if coefficients not in _COEFFICIENT_SETS:
        raise SpecError(f"coefficients={coefficients!r} is not known; use 'full' "
                        "(rsr-calculator, full precision) or '4dp' (printed whitepaper values)")
    if variant not in VARIANTS:
        raise SpecError(f"variant={variant!r} is not known; use one of {', '.join(VARIANTS)}")
    return _COEFFICIENT_SETS.index(coefficients)


def ogrs3_coefficients(coefficients: Coefficients = "full",
                       variant: Variant = "recommended") -> dict[str, Any]:
    """The OGRS3 coefficients in use for a coefficient set and variant.

    Parameters
    ----------
    coefficients : {"full", "4dp"}
        Full precision (rsr-calculator, 2017) or the printed whitepaper values.
    variant : {"recommended", "hmpps", "rsr"}
        Which MoJ implementation to follow where they disagree (see :func:`ogrs3`).

    Returns
    -------
    dict
        ``intercept_1yr``, ``intercept_2yr``, ``copas``, ``age`` (``{"male": {band: v},
        "female": {...}}``), ``status`` and ``offence`` (category name -> value).

    Examples
    --------
    >>> c = ogrs3_coefficients("4dp")
    >>> c["offence"]["drink_driving"], c["offence"]["other_motoring"]
    (-0.1214, 0.2622)
    >>> c["age"]["female"]["10-11"]
    -0.785
    """
    which = _check_options(coefficients, variant)
    ages = _age_table(variant, which)
    return {
        "intercept_1yr": _INTERCEPT_1YR[which],
        "intercept_2yr": _INTERCEPT_2YR[which],
        "copas": _COPAS[which],
        "age": {sex: dict(zip(_AGE_LABELS, (float(v) for v in ages[i]), strict=True))
                for i, sex in enumerate(("male", "female"))},
        "status": _status_table(variant, which),
        "offence": _offence_table(variant, which),
    }


#: Offence category name -> coefficient (full precision, default ``"recommended"``
#: variant).  The names, in rsr-calculator index order 0-19: violence (against the
#: person), robbery, public_order (incl. harassment), sexual_not_child, sexual_child,
#: soliciting (or prostitution), burglary_domestic, burglary_other, theft (non-motor),
#: handling (stolen goods), fraud (and forgery, incl. welfare fraud), absconding_bail,
#: taking_vehicle (taking and driving away and related), theft_from_vehicle,
#: drink_driving, other_motoring, criminal_damage, drug_import_export (and production),
#: drug_possession_supply, other.
OFFENCE_CATEGORIES: Mapping[str, float] = MappingProxyType(_offence_table("recommended", 0))


# ------------------------------------------------------------------------------ ages
def age_on(birth: date, on: date) -> int:
    """Age in whole years on a date (birthday rule).

    One is subtracted when the birthday has not yet occurred in the year of ``on``; a
    29 February birthday falls on 1 March in other years.

    Examples
    --------
    >>> age_on(date(1965, 12, 7), date(2026, 12, 6))
    60
    >>> age_on(date(1965, 12, 7), date(2026, 12, 7))
    61
    """
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def _age_expr(birth: str, on: str) -> pl.Expr:
    b, d = pl.col(birth), pl.col(on)
    before = (d.dt.month().cast(pl.Int32) * 100 + d.dt.day().cast(pl.Int32)) < (
        b.dt.month().cast(pl.Int32) * 100 + b.dt.day().cast(pl.Int32))
    return d.dt.year().cast(pl.Int32) - b.dt.year().cast(pl.Int32) - before.cast(pl.Int32)


def _band_index(age: int) -> int:
    return sum(1 for floor in AGE_BANDS[1:] if age >= floor)


def _logistic(x: float) -> float:
    return math.exp(x) / (1.0 + math.exp(x)) if x < 0 else 1.0 / (1.0 + math.exp(-x))


# ---------------------------------------------------------------------------- scalar
@dataclass(frozen=True)
class Ogrs3Terms:
    """The terms of one OGRS3 score (each already multiplied by its coefficient)."""

    age: int
    age_at_conviction: int
    age_at_first_sanction: int
    age_term: float
    status_term: float
    copas_term: float
    offence_term: float
    eta: float
    p_1yr: float
    p_2yr: float


def _resolve_age(label: str, age: int | None, birth_date: date | None,
                 on: date | None) -> int:
    if age is not None:
        if on is not None:
            raise SpecError(f"give either {label} as an age or its date, not both")
        return int(age)
    if on is None or birth_date is None:
        raise SpecError(f"{label}: give the age, or birth_date and the date")
    return age_on(birth_date, on)


def ogrs3_terms(*, sex: str, previous_sanctions: int, offence_category: str,
                age: int | None = None, age_at_conviction: int | None = None,
                age_at_first_sanction: int | None = None, birth_date: date | None = None,
                risk_start: date | None = None, conviction_date: date | None = None,
                first_sanction_date: date | None = None, status: str | None = None,
                coefficients: Coefficients = "full",
                variant: Variant = "recommended") -> Ogrs3Terms:
    """OGRS3 for one offender, with every intermediate term.

    Each of the three ages is given directly or from ``birth_date`` and its date
    (``risk_start`` for the age at risk, whichever date the chosen age basis uses).  See
    :func:`ogrs3` for the parameters.

    Examples
    --------
    >>> t = ogrs3_terms(sex="female", previous_sanctions=5, offence_category="criminal_damage",
    ...                 age=43, age_at_conviction=37, age_at_first_sanction=14)
    >>> round(t.eta, 5), round(t.p_1yr, 5), round(t.p_2yr, 5)
    (-2.98948, 0.16982, 0.29572)
    """
    which = _check_options(coefficients, variant)
    sex_index = _SEX.get(str(sex).strip().lower())
    if sex_index is None:
        raise SchemaError(f"sex={sex!r} is not known; use 'male'/'M' or 'female'/'F'")
    a = _resolve_age("age at risk", age, birth_date, risk_start)
    a_c = _resolve_age("age at conviction", age_at_conviction, birth_date, conviction_date)
    if first_sanction_date is not None and conviction_date is not None and (
            first_sanction_date > conviction_date):
        raise SchemaError(f"first sanction {first_sanction_date} is after the conviction "
                          f"{conviction_date}; the first sanction must come on or before it")
    a_f = _resolve_age("age at first sanction", age_at_first_sanction, birth_date,
                       first_sanction_date)
    _check_scalar(a, a_c, a_f, previous_sanctions)
    offence = _offence_table(variant, which)
    if offence_category not in offence:
        raise SchemaError(f"offence_category={offence_category!r} is not an OGRS3 category; "
                          f"use one of {', '.join(offence)}")
    statuses = _status_table(variant, which)
    k = status if status is not None else (
        "repeat" if previous_sanctions > 0 else "first_conviction")
    if k not in statuses:
        raise SchemaError(f"status={k!r} is not known; use one of {', '.join(STATUSES)}")
    age_term = float(_age_table(variant, which)[sex_index, _band_index(a)])
    copas = _COPAS[which] * math.log((previous_sanctions + 1) / (10 + a_c - a_f))
    eta = age_term + statuses[k] + copas + offence[offence_category]
    return Ogrs3Terms(age=a, age_at_conviction=a_c, age_at_first_sanction=a_f,
                      age_term=age_term, status_term=statuses[k], copas_term=copas,
                      offence_term=offence[offence_category], eta=eta,
                      p_1yr=_logistic(_INTERCEPT_1YR[which] + eta),
                      p_2yr=_logistic(_INTERCEPT_2YR[which] + eta))


def _check_scalar(a: int, a_c: int, a_f: int, previous_sanctions: int) -> None:
    if a_c < 10:
        raise SchemaError(f"age at conviction is {a_c}; OGRS3 needs 10 or over "
                          "(check birth and conviction dates)")
    if a < 10:
        raise SchemaError(f"age at risk is {a}; OGRS3 needs 10 or over")
    if a_f > a_c:
        raise SchemaError(f"age at first sanction {a_f} is after age at conviction {a_c}; "
                          "the first sanction must come on or before the conviction")
    if previous_sanctions < 0:
        raise SchemaError(f"previous_sanctions is {previous_sanctions}; "
                          "it must be 0 or more (excluding the current sanction)")


def ogrs3_score(**kwargs: Any) -> tuple[float, float]:
    """One- and two-year OGRS3 probabilities for one offender.

    Takes the keyword arguments of :func:`ogrs3_terms`.

    Examples
    --------
    >>> p1, p2 = ogrs3_score(sex="male", previous_sanctions=0, offence_category="violence",
    ...                      age=20, age_at_conviction=20, age_at_first_sanction=20)
    >>> round(p1, 6), round(p2, 6)
    (0.121616, 0.221305)
    """
    t = ogrs3_terms(**kwargs)
    return t.p_1yr, t.p_2yr


def ogrs3_band(p_2yr: float) -> str:
    """HMPPS risk band of a 2-year OGRS3 probability.

    The probability is taken as a whole per cent (rounded half up, as displayed), then
    banded: low 0-49%, medium 50-74%, high 75-89%, very high 90%+.

    Examples
    --------
    >>> ogrs3_band(0.15710), ogrs3_band(0.745), ogrs3_band(0.9)
    ('low', 'high', 'very high')
    """
    if not 0.0 <= p_2yr <= 1.0:
        raise SpecError(f"p_2yr={p_2yr!r} is not a probability in [0, 1]")
    pct = math.floor(p_2yr * 100 + 0.5)
    return BAND_NAMES[sum(1 for floor in _BAND_FLOORS[1:] if pct >= floor)]


# ------------------------------------------------------------------------ vectorised
def _first_bad_row(mask: pl.Series) -> int:
    return int(np.flatnonzero(mask.fill_null(False).to_numpy())[0])


def ogrs3(frame: Any, *, sex: str = "sex", birth_date: str = "birth_date",
          conviction_date: str = "conviction_date",
          first_sanction_date: str | None = "first_sanction_date",
          first_sanction_age: str | None = None,
          previous_sanctions: str = "previous_sanctions",
          offence_category: str = "offence_category",
          risk_start: str = "risk_start_date", assessment_date: str = "assessment_date",
          status: str | None = None, coefficients: Coefficients = "full",
          age_basis: AgeBasis = "risk_start", variant: Variant = "recommended",
          keep_terms: bool = False) -> pl.DataFrame:
    """OGRS3 one- and two-year reconviction probabilities for every row of a frame.

    Parameters
    ----------
    frame : polars or pandas DataFrame
        One row per offender; dates as dates.
    sex, birth_date, conviction_date, previous_sanctions, offence_category : str
        Column names.  ``sex`` is ``male``/``M`` or ``female``/``F`` (any case);
        ``previous_sanctions`` excludes the current one (``S`` = previous + 1).
    first_sanction_date, first_sanction_age : str or None
        The column with the date of the first sanction, or (set ``first_sanction_age``,
        which then wins) the age at first sanction in whole years.
    offence_category : str
        Names as in :data:`OFFENCE_CATEGORIES` ([NOMS-RSR-2018]).
    risk_start, assessment_date : str
        The date the age-at-risk is taken on, per ``age_basis``.
    status : str or None
        Column of conviction-status levels (:data:`STATUSES`); ``None`` derives it as
        HMPPS does: ``repeat`` with previous sanctions, else ``first_conviction``.
    coefficients : {"full", "4dp"}
        rsr-calculator's full-precision coefficients (default), or the printed 4-dp
        whitepaper values that the HMPPS service uses.
    age_basis : {"risk_start", "assessment"}
        Age for the age/gender term at the start of follow-up (HMPPS, default; the
        population OGRS3 was fitted on) or at the assessment date (rsr-calculator).
    variant : {"recommended", "hmpps", "rsr"}
        Where the two MoJ implementations disagree.  ``"rsr"`` follows rsr-calculator
        throughout; ``"hmpps"`` follows the live HMPPS service throughout (motoring
        swapped, sexual-not-child 0.0328, positive female 10-15 terms, status collapsed
        to repeat/not).  The default ``"recommended"`` takes HMPPS's motoring mapping (the
        live service's offence-code data; drink drivers reoffending less is the more
        plausible), rsr-calculator's sexual-not-child value (HMPPS's is ten times larger,
        probably a typo), rsr-calculator's negative female 10-15 signs (they fit the rest
        of the female curve) and all five status levels.
    keep_terms : bool
        Also return the ages and each term (``ogrs3_age_term`` etc.).

    Returns
    -------
    polars.DataFrame
        The input rows and columns plus ``ogrs3_eta`` (linear predictor without the
        intercept), ``ogrs3_1yr``, ``ogrs3_2yr`` and ``ogrs3_band`` (on the 2-year score).

    Raises
    ------
    SchemaError
        A missing column, null value, unknown sex/category/status, age at conviction or
        at risk under 10, first sanction after the conviction, or negative sanctions; the
        message names the column and first bad row.
    SpecError
        Unknown ``coefficients``, ``variant`` or ``age_basis``.

    Examples
    --------
    >>> import polars as pl
    >>> from datetime import date
    >>> df = pl.DataFrame({"sex": ["M"], "birth_date": [date(1965, 12, 7)],
    ...     "conviction_date": [date(2025, 5, 13)], "first_sanction_age": [47],
    ...     "previous_sanctions": [1], "offence_category": ["soliciting"],
    ...     "risk_start_date": [date(2026, 12, 6)]})
    >>> out = ogrs3(df, first_sanction_age="first_sanction_age", coefficients="4dp")
    >>> out.select(pl.col("ogrs3_1yr", "ogrs3_2yr").round(5), "ogrs3_band").row(0)
    (0.08324, 0.1571, 'low')
    """
    which = _check_options(coefficients, variant)
    if age_basis not in _AGE_BASES:
        raise SpecError(f"age_basis={age_basis!r} is not known; use 'risk_start' (HMPPS) "
                        "or 'assessment' (rsr-calculator)")
    df = as_frame(frame, "ogrs3")
    at = risk_start if age_basis == "risk_start" else assessment_date
    first = first_sanction_age if first_sanction_age is not None else first_sanction_date
    if first is None:
        raise SpecError("give first_sanction_date or first_sanction_age (a column name)")
    needed = [sex, birth_date, conviction_date, first, previous_sanctions, offence_category,
              at] + ([status] if status is not None else [])
    for col in needed:
        if col not in df.columns:
            raise SchemaError(f"ogrs3: column {col!r} is missing; rename it or pass its name "
                              f"(columns are {', '.join(df.columns)})")
        if df[col].null_count():
            raise SchemaError(f"ogrs3: column {col!r} is null in row "
                              f"{_first_bad_row(df[col].is_null())}; fill it or drop the row")
    dates = [birth_date, conviction_date, at] + ([first] if first_sanction_age is None else [])
    work = df
    for col in dict.fromkeys(dates):
        if isinstance(df[col].dtype, pl.Datetime):  # pandas round trips dates as datetimes
            work = work.with_columns(pl.col(col).dt.date())
        elif df[col].dtype != pl.Date:
            raise SchemaError(f"ogrs3: column {col!r} is {df[col].dtype}, not a date; "
                              "cast it with pl.col(...).cast(pl.Date)")

    ages = work.select(
        _age_expr(birth_date, at).alias("a"),
        _age_expr(birth_date, conviction_date).alias("a_c"),
        (pl.col(first).cast(pl.Int32) if first_sanction_age is not None
         else _age_expr(birth_date, first)).alias("a_f"),
        pl.col(previous_sanctions).cast(pl.Int64).alias("prev"),
        pl.col(sex).cast(pl.Utf8).str.strip_chars().str.to_lowercase()
        .replace_strict(_SEX, default=None, return_dtype=pl.Int8).alias("sex_i"),
    )

    def fail(mask: pl.Series, col: str, what: str, fix: str) -> None:
        if mask.fill_null(False).any():
            row = _first_bad_row(mask)
            raise SchemaError(f"ogrs3: column {col!r}, row {row} (value {df[col][row]!r}): "
                              f"{what}; {fix}")

    fail(ages["sex_i"].is_null(), sex, "unknown sex", "use 'male'/'M' or 'female'/'F'")
    fail(ages["a_c"] < 10, conviction_date, "age at conviction under 10",
         "OGRS3 needs 10 or over; check the birth and conviction dates")
    fail(ages["a"] < 10, at, "age at risk under 10", "OGRS3 needs 10 or over")
    if first_sanction_age is None:
        fail(work[first] > work[conviction_date], first, "first sanction after the conviction",
             "the first sanction must come on or before the current conviction")
    fail(ages["a_f"] > ages["a_c"], first, "age at first sanction above age at conviction",
         "the first sanction must come on or before the current conviction")
    fail(ages["prev"] < 0, previous_sanctions, "negative previous sanctions",
         "count sanctions before the current one (0 or more)")

    offence = _offence_table(variant, which)
    off = df[offence_category].cast(pl.Utf8).replace_strict(
        offence, default=None, return_dtype=pl.Float64)
    fail(off.is_null(), offence_category, "unknown OGRS3 offence category",
         f"use one of {', '.join(offence)}")
    statuses = _status_table(variant, which)
    if status is None:
        st = pl.Series(np.where(ages["prev"].to_numpy() > 0, statuses["repeat"],
                                statuses["first_conviction"]))
    else:
        st = df[status].cast(pl.Utf8).replace_strict(statuses, default=None,
                                                     return_dtype=pl.Float64)
        fail(st.is_null(), status, "unknown conviction status",
             f"use one of {', '.join(STATUSES)}")

    a = ages["a"].to_numpy()
    band = np.searchsorted(np.asarray(AGE_BANDS), a, side="right") - 1
    age_term = _age_table(variant, which)[ages["sex_i"].to_numpy().astype(np.intp), band]
    s = ages["prev"].to_numpy().astype(np.float64) + 1.0
    career = 10.0 + ages["a_c"].to_numpy().astype(np.float64) - ages["a_f"].to_numpy()
    copas = _COPAS[which] * np.log(s / career)
    status_term = st.to_numpy().astype(np.float64)
    offence_term = off.to_numpy().astype(np.float64)
    eta = age_term + status_term + copas + offence_term
    p1 = 1.0 / (1.0 + np.exp(-(_INTERCEPT_1YR[which] + eta)))
    p2 = 1.0 / (1.0 + np.exp(-(_INTERCEPT_2YR[which] + eta)))
    pct = np.floor(p2 * 100 + 0.5)
    bands = np.asarray(BAND_NAMES, dtype=object)[
        np.searchsorted(np.asarray(_BAND_FLOORS[1:]), pct, side="right")]

    extra = [pl.Series("ogrs3_eta", eta), pl.Series("ogrs3_1yr", p1),
             pl.Series("ogrs3_2yr", p2), pl.Series("ogrs3_band", bands.tolist(), pl.Utf8)]
    if keep_terms:
        extra = [ages["a"].alias("ogrs3_age"), ages["a_c"].alias("ogrs3_age_at_conviction"),
                 ages["a_f"].alias("ogrs3_age_at_first_sanction"),
                 pl.Series("ogrs3_age_term", age_term), pl.Series("ogrs3_status_term",
                                                                  status_term),
                 pl.Series("ogrs3_copas_term", copas),
                 pl.Series("ogrs3_offence_term", offence_term), *extra]
    return df.with_columns(extra)
