"""Seeded synthetic cohorts and event histories: pbr's bundled example data.

:func:`generate` draws a cohort of adult offenders with quarterly index dates, their
covariates and a ``treated`` flag, and the extract of proven offences a reoffending
study would receive: prior history, the index offence, offences in and after the
follow-up year, breaches, offences on the index day, and offences of people outside the
cohort, in offence-date order.  It is pure and vectorised numpy; every random step uses
one ``numpy.random.default_rng(seed)``, so the same seed gives identical frames.

The data-generating process:

1. Covariates: sex, age at the index date, age at first sanction, prior sanctions,
   index offence category, and the sentence (``caution``, ``community``,
   ``custody<12m``, ``custody12m+``: a multinomial logit on priors and category).
2. Offending: court events in the follow-up year arrive as a gamma-Poisson process with
   mean ``exp(eta) * G * exp(treatment_effect * treated)``, ``G ~ Gamma(k, 1/k)``, where
   ``eta`` is linear in the covariates, so ``true_risk = 1 - (1 + exp(eta) / k) ** -k``
   is the exact probability of an offence in the year without treatment (with ``k = 1``
   it is ``logistic(eta)``).  The second year runs at 75% of the first year's rate.
3. Treatment is selected on ``true_risk`` and provider (the riskier are treated more
   often), so a naive treated-versus-untreated comparison is biased against treatment;
   within strata of ``true_risk`` it is unbiased.
4. A court event holds one or more offences (geometric, mean about 1.6) sharing its
   ``court_event_id`` and ``disposal_date``; only a single minor offence is cautioned.
   Disposal lags mix 0-28 days (30%) with a lognormal of median 90 days capped at 550,
   so some offences are proven after the six-month waiting period.

Calibration (tests/test_synth.py): under the MoJ rules (offence within 12 months,
proven within a further 6, breaches excluded) about 27% of the cohort reoffend, about
50% of ``custody<12m`` releases, with about 3.4 reoffences per reoffender.  Published
figures for comparison (MoJ, Proven reoffending statistics quarterly bulletins): 26.3%
and 2.79 reoffences per reoffender for the 2009 cohort, 26.9% and 2.88 for July 2010 to
June 2011 (all ages); adults 25.6% and releases from under 12 months 59.7% for July to
September 2019.

Offence codes are Home Office style strings with illustrative weights in custody-
equivalent days, in the manner of the ONS Crime Severity Score (ONS, Research outputs:
developing a Crime Severity Score for England and Wales, 2016); the serious codes
stand in for the MoJ serious violent and sexual offences list.  Neither is official.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from pbr.errors import SpecError
from pbr.period import Period, date_to_day

__all__ = ["CATEGORIES", "SENTENCES", "SynthData", "generate"]

#: Offence categories, in the order of the offence table below.
CATEGORIES = (
    "violence", "sexual", "robbery", "burglary", "theft", "criminal_damage", "drugs",
    "fraud", "public_order", "motoring", "breach", "other",
)
#: Sentences of the index event, the kinds of adult cohort in MoJ proven reoffending.
SENTENCES = ("caution", "community", "custody<12m", "custody12m+")

# code, category, share within category, weight (custody-equivalent days), minor, serious
_OFFENCES = (
    ("HO00100", "violence", 0.002, 7979.0, False, True),  # homicide
    ("HO00501", "violence", 0.03, 1800.0, False, True),  # wounding with intent
    ("HO00502", "violence", 0.07, 540.0, False, True),  # wounding
    ("HO00801", "violence", 0.30, 110.0, False, False),  # actual bodily harm
    ("HO00802", "violence", 0.10, 30.0, False, False),  # assault on an emergency worker
    ("HO10501", "violence", 0.498, 8.0, True, False),  # common assault
    ("HO01900", "sexual", 0.20, 2555.0, False, True),  # rape
    ("HO02000", "sexual", 0.50, 365.0, False, True),  # sexual assault
    ("HO08801", "sexual", 0.30, 30.0, False, False),  # exposure
    ("HO03401", "robbery", 0.85, 1096.0, False, False),  # robbery of personal property
    ("HO03402", "robbery", 0.15, 1460.0, False, False),  # robbery of business property
    ("HO02801", "burglary", 0.65, 540.0, False, False),  # burglary in a dwelling
    ("HO03001", "burglary", 0.35, 150.0, False, False),  # burglary, other building
    ("HO04600", "theft", 0.55, 6.0, True, False),  # shoplifting
    ("HO04900", "theft", 0.25, 12.0, True, False),  # other theft
    ("HO04500", "theft", 0.10, 30.0, False, False),  # theft from a vehicle
    ("HO04801", "theft", 0.10, 60.0, False, False),  # theft of a vehicle
    ("HO05800", "criminal_damage", 0.92, 10.0, True, False),  # criminal damage
    ("HO05600", "criminal_damage", 0.08, 300.0, False, False),  # arson
    ("HO09201", "drugs", 0.30, 15.0, True, False),  # possession, class A
    ("HO09202", "drugs", 0.40, 3.0, True, False),  # possession, class B
    ("HO09203", "drugs", 0.20, 1100.0, False, False),  # supply, class A
    ("HO09204", "drugs", 0.10, 200.0, False, False),  # supply, class B
    ("HO05301", "fraud", 0.70, 60.0, False, False),  # fraud by false representation
    ("HO04300", "fraud", 0.30, 7.0, True, False),  # dishonest use of electricity
    ("HO06600", "public_order", 0.70, 8.0, True, False),  # threatening behaviour
    ("HO06601", "public_order", 0.15, 180.0, False, False),  # affray
    ("HO06602", "public_order", 0.15, 120.0, False, False),  # possession of a weapon
    ("HO80100", "motoring", 0.20, 200.0, False, False),  # dangerous driving
    ("HO80200", "motoring", 0.50, 12.0, False, False),  # drink driving
    ("HO80300", "motoring", 0.30, 60.0, False, False),  # driving while disqualified
    ("HO08300", "breach", 0.60, 15.0, False, False),  # breach of a community order
    ("HO08310", "breach", 0.40, 20.0, False, False),  # breach of a suspended sentence
    ("HO09900", "other", 0.60, 30.0, False, False),  # other indictable offence
    ("HO10000", "other", 0.40, 5.0, True, False),  # other summary offence
)
_CODES = tuple(row[0] for row in _OFFENCES)
_CODE_CAT = np.array([CATEGORIES.index(row[1]) for row in _OFFENCES], np.int8)
_MINOR = np.array([row[4] for row in _OFFENCES])
_BREACH = CATEGORIES.index("breach")

# Category shares of offences; the breach share applies to the second and later
# offences of a court event only (a breach alone is drawn by its own process).
_SHARES = np.array([.20, .012, .015, .045, .26, .06, .11, .035, .085, .09, .05, .088])
_NO_BREACH = np.where(np.arange(len(CATEGORIES)) == _BREACH, 0.0, _SHARES)
# Log-rate effects of the index offence category and the sentence (reference: community).
_CAT_EFFECT = np.array([0.0, -0.8, 0.1, 0.3, 0.35, 0.1, 0.05, -0.4, 0.1, -0.3, 0.3, 0.0])
_SENTENCE_EFFECT = np.array([-0.2, 0.0, 1.0, -0.15])
_AREA_EFFECT = np.array([0.10, -0.10, 0.05, -0.05, 0.0, 0.15, -0.15, 0.08])
_PROVIDER_UPTAKE = np.array([0.4, -0.3, 0.1, -0.2, 0.25, -0.1])
_FRAILTY_SHAPE = 0.6  # k: heavier tails than a geometric (k = 1)
_LATER_YEAR = 0.75  # second-year rate relative to the first
_QUICK_SHARE, _QUICK_MAX, _LAG_MEDIAN, _LAG_SIGMA, _LAG_CAP = 0.30, 28, 90.0, 0.8, 550
_RES = 4096  # resolution of the lookup-table samplers: shares are rounded to 1/4096


def _lookup(shares: np.ndarray, group: np.ndarray, n_groups: int) -> np.ndarray:
    """Sampler table: entry ``g * _RES + u`` (``u`` uniform in [0, _RES)) is an item of g."""
    table = np.zeros((n_groups, _RES), np.int16)
    for g in range(n_groups):
        idx = np.flatnonzero((group == g) & (shares > 0))
        if idx.size:
            cut = np.rint(np.cumsum(shares[idx]) / shares[idx].sum() * _RES).astype(np.int64)
            cut[-1] = _RES
            table[g] = np.repeat(idx, np.diff(cut, prepend=0))
    return table.ravel()


_WITHIN = np.array([row[2] for row in _OFFENCES])
_CODE_TABLE = _lookup(_WITHIN, _CODE_CAT, len(CATEGORIES))
_MINOR_TABLE = _lookup(_WITHIN * _MINOR, _CODE_CAT, len(CATEGORIES))
_ANY_TABLE = _lookup(_SHARES, np.zeros(len(CATEGORIES)), 1).astype(np.int8)
_MAIN_TABLE = _lookup(_NO_BREACH, np.zeros(len(CATEGORIES)), 1).astype(np.int8)
_CAUTIONABLE = np.array([bool(_MINOR[c == _CODE_CAT].any()) for c in range(len(CATEGORIES))])


def _draw(rng: np.random.Generator, table: np.ndarray, size: int) -> np.ndarray:
    return table[rng.integers(0, _RES, size, dtype=np.int32)]


def _cats(*names: str) -> list[int]:
    return [CATEGORIES.index(name) for name in names]


@dataclass(frozen=True, eq=False)
class SynthData:
    """A synthetic cohort with its event extract, custody spells and offence tables.

    Attributes
    ----------
    cohort
        One row per offender: ``offender_id``, ``index_date``, ``provider``, ``area``,
        ``cohort_period``, ``sex``, ``age``, ``prior_sanctions`` (sanctions before the
        index one), ``age_first_sanction``, ``offence_category``, ``sentence``,
        ``treated`` and ``true_risk`` (probability of an offence in the follow-up year,
        eventually proven, without treatment).
    events
        Proven offences in offence-date order, including people not in the cohort.
    custody
        Custody spells ``offender_id``, ``start_date``, ``end_date`` (inclusive),
        non-overlapping per offender, in start-date order.
    severity_weights
        Offence code to weight (illustrative custody-equivalent days).
    serious_codes
        Codes of serious violent and sexual offences.
    true_effect
        The log rate ratio of treatment on the offending rate used to draw the data.
    """

    cohort: pl.DataFrame
    events: pl.DataFrame
    custody: pl.DataFrame
    severity_weights: dict[str, float]
    serious_codes: tuple[str, ...]
    true_effect: float

    def __repr__(self) -> str:
        return (
            f"SynthData({self.cohort.height:,} offenders, {self.events.height:,} events, "
            f"{self.custody.height:,} custody spells, true_effect={self.true_effect})"
        )


def generate(
    n_offenders: int = 10_000,
    *,
    seed: int = 0,
    start: date = date(2019, 1, 1),
    quarters: int = 4,
    n_providers: int = 4,
    treatment_effect: float = -0.15,
    history_years: int = 5,
    not_in_cohort_share: float = 0.05,
) -> SynthData:
    """Draw a synthetic cohort, its proven-offence extract and custody spells.

    Parameters
    ----------
    n_offenders
        Number of offenders in the cohort.
    seed
        Seed of ``numpy.random.default_rng``; the same seed gives identical frames.
    start
        First day of the first cohort period.
    quarters
        Number of consecutive three-month cohort periods the index dates spread over.
    n_providers
        Number of providers; each covers two areas.
    treatment_effect
        Log rate ratio: treatment multiplies the offending rate by ``exp(treatment_effect)``.
    history_years
        Years of prior history before the index date that the extract includes.
    not_in_cohort_share
        Approximate share of event rows that belong to people outside the cohort.

    Returns
    -------
    SynthData
        Frames ``cohort``, ``events`` and ``custody``, and the offence tables.

    Examples
    --------
    >>> data = generate(1_000, seed=0)
    >>> data.cohort.height, data.cohort["offender_id"].is_unique().all()
    (1000, True)
    >>> data.events.columns[:4]
    ['offender_id', 'offence_date', 'disposal_date', 'disposal_type']

    Offenders the scheme treated were riskier to begin with (selection on risk):

    >>> risk = data.cohort.group_by("treated").agg(pl.col("true_risk").mean()).sort("treated")
    >>> risk["true_risk"][1] > risk["true_risk"][0]
    True
    """
    _check(n_offenders, quarters, n_providers, history_years, not_in_cohort_share,
           treatment_effect)
    rng = np.random.default_rng(seed)
    n = n_offenders + round(n_offenders * not_in_cohort_share / (1.0 - not_in_cohort_share))
    p = _people(rng, n, date_to_day(start), quarters, n_providers)
    k = _FRAILTY_SHAPE
    mu = np.exp(p["eta"])
    p["true_risk"] = 1.0 - (1.0 + mu / k) ** -k
    # Selection on risk and provider: the logit of treatment rises with the logit of
    # true_risk (about a quarter of the cohort is treated).
    z = np.log(p["true_risk"] / (1.0 - p["true_risk"])) + 0.6
    uptake = _PROVIDER_UPTAKE[p["provider"] % _PROVIDER_UPTAKE.size]
    p["treated"] = rng.random(n) < 1.0 / (1.0 + np.exp(0.9 - 1.1 * z - uptake))
    frailty = rng.gamma(k, 1.0 / k, n)
    rate = mu * frailty * np.exp(treatment_effect * p["treated"])
    blocks = [_index_block(rng, p), _history_block(rng, p, history_years)]
    blocks += _after_index_blocks(rng, p, rate, frailty)
    court, events = _assemble(blocks)
    del blocks
    custody = _custody(rng, p, court)
    ids = 1_000_000 + np.cumsum(rng.integers(1, 41, n, dtype=np.int64))
    ids = ids[rng.permutation(n)]
    return SynthData(
        cohort=_cohort_frame(p, ids[:n_offenders], start, quarters, n_providers),
        events=_events_frame(events, ids),
        custody=pl.DataFrame({
            "offender_id": ids[custody["person"]],
            "start_date": _dates(custody["start"]),
            "end_date": _dates(custody["end"]),
        }),
        severity_weights={row[0]: row[3] for row in _OFFENCES},
        serious_codes=tuple(row[0] for row in _OFFENCES if row[5]),
        true_effect=float(treatment_effect),
    )


def _check(
    n: int, quarters: int, n_providers: int, history_years: int, share: float, effect: float
) -> None:
    for name, value, low in (
        ("n_offenders", n, 1), ("quarters", quarters, 1), ("n_providers", n_providers, 1),
        ("history_years", history_years, 0),
    ):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
            raise SpecError(f"{name} must be a whole number >= {low}, got {value!r}")
    if not 0.0 <= share < 1.0:
        raise SpecError(f"not_in_cohort_share must be in [0, 1), got {share!r}")
    if not np.isfinite(effect):
        raise SpecError(f"treatment_effect must be a finite number, got {effect!r}")


def _people(
    rng: np.random.Generator, n: int, start: int, quarters: int, n_providers: int
) -> dict[str, np.ndarray]:
    """Covariates, index and conviction days, and the log offending rate ``eta``."""
    bounds = np.concatenate([Period(3 * q, "months").add(np.array([start]))
                             for q in range(quarters + 1)]).astype(np.int64)
    quarter = rng.integers(0, quarters, n)
    index = bounds[quarter] + (rng.random(n) * np.diff(bounds)[quarter]).astype(np.int64)
    weights = 1.0 / np.sqrt(np.arange(1, n_providers + 1))
    provider = rng.choice(n_providers, n, p=weights / weights.sum())
    area = 2 * provider + (rng.random(n) < 0.45)
    male = rng.random(n) < 0.85
    age = np.minimum(18 + rng.gamma(2.2, 7.0, n).astype(np.int64), 85)
    first_timer = rng.random(n) < 0.2
    afs = 10 + ((age - 9) * rng.beta(1.0, 2.3, n)).astype(np.int64)
    afs = np.where(first_timer, age, np.minimum(afs, age))
    career_rate = rng.gamma(1.0, 0.45, n)  # sanctions a year
    priors = np.where(first_timer, 0, 1 + rng.poisson(career_rate * (age - afs + 0.5)))
    priors = np.minimum(priors, 300)
    category = _draw(rng, _MAIN_TABLE, n)
    lp = np.log1p(priors)
    # Sentence: multinomial logit (Gumbel-max) on priors and the offence category;
    # cautions only where the category has minor offences.
    scores = np.column_stack([
        np.where(_CAUTIONABLE[category], 1.3 - 0.9 * lp + 0.8 * first_timer, -np.inf),
        np.full(n, 1.2),
        -2.0 + 0.85 * lp + 0.4 * np.isin(category, _cats("violence", "burglary", "theft")),
        -2.0 + 0.35 * lp + 2.0 * np.isin(category, _cats("sexual", "robbery", "burglary"))
        + 0.5 * (category == CATEGORIES.index("drugs")),
    ])
    sentence = np.argmax(scores + rng.gumbel(size=scores.shape), axis=1)
    served = np.where(  # days served before release: half the sentence
        sentence == 2, rng.integers(14, 183, n),
        np.where(sentence == 3, np.minimum(rng.lognormal(np.log(365), 0.6, n), 2000), 0),
    ).astype(np.int64)
    eta = (
        -1.85 - 0.025 * (np.minimum(age, 60) - 30) + 0.15 * male + 0.5 * lp
        - 0.03 * (np.minimum(afs, 30) - 16) + _CAT_EFFECT[category]
        + _SENTENCE_EFFECT[sentence] + _AREA_EFFECT[area % _AREA_EFFECT.size]
    )
    # The criminal career starts on a day within the year of age at first sanction.
    birth = index - (365.25 * (age + rng.random(n))).astype(np.int64)
    career = birth + (365.25 * (afs + rng.random(n))).astype(np.int64)
    return {
        "index": index, "quarter": quarter, "provider": provider, "area": area,
        "male": male, "age": age, "afs": afs, "priors": priors, "category": category,
        "sentence": sentence, "conviction": index - served, "career": career, "eta": eta,
    }


def _index_block(rng: np.random.Generator, p: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The index offences, proven on the conviction day (or cautioned on the index day)."""
    return _court_events(rng, np.arange(p["index"].size), p["conviction"], p["category"],
                         forward=False, single=False, caution_share=0.0,
                         cautioned=p["sentence"] == 0)


def _history_block(
    rng: np.random.Generator, p: dict[str, np.ndarray], years: int
) -> dict[str, np.ndarray]:
    """Prior sanctions inside the extract's history window (the last ``years`` years).

    Sanctions are denser early in a criminal career (the age-crime curve): a career
    position ``x`` in [0, 1) has distribution ``1 - (1 - x) ** 1.6``, so the share in the
    window ``[x0, 1)`` is ``(1 - x0) ** 1.6`` and draws within it invert that tail.
    """
    a = 1.6
    last = p["conviction"] - 1
    first = np.minimum(p["career"], last)
    width = np.clip(last - np.maximum(first, p["index"] - round(365.25 * years)) + 1, 0, None)
    count = rng.binomial(p["priors"], (width / (last - first + 1)) ** a)
    person = np.repeat(np.arange(count.size), count)
    back = np.ceil(width[person] * (1.0 - rng.random(person.size)) ** (1.0 / a))
    day = last[person] + 1 - back.astype(np.int64)
    return _court_events(rng, person, day, _further_category(rng, p, person), forward=False,
                         single=False, caution_share=0.4)


def _after_index_blocks(
    rng: np.random.Generator, p: dict[str, np.ndarray], rate: np.ndarray, frailty: np.ndarray
) -> list[dict[str, np.ndarray]]:
    """Offences in the follow-up year and the year after, breaches, index-day offences."""
    index = p["index"]
    n = index.size
    end1 = Period(12, "months").add(index).astype(np.int64)
    end2 = Period(24, "months").add(index).astype(np.int64)
    year1 = np.repeat(np.arange(n), rng.poisson(rate))
    year2 = np.repeat(np.arange(n), rng.poisson(_LATER_YEAR * rate))
    # Offending is more frequent soon after the index date; a few fall on the last day.
    span = (end1 - index)[year1]
    t1 = np.minimum(1 + (span * rng.random(year1.size) ** 1.4).astype(np.int64), span)
    t1 = np.where(rng.random(year1.size) < 0.02, span, t1)
    t2 = 1 + (rng.random(year2.size) * (end2 - end1)[year2]).astype(np.int64)
    person = np.concatenate([year1, year2])
    day = np.concatenate([index[year1] + t1, end1[year2] + t2])
    after = _court_events(rng, person, day, _further_category(rng, p, person), forward=True,
                          single=False, caution_share=0.3)
    # Breaches of orders and licences (supervised sentences only); MoJ excludes them.
    person = np.repeat(np.arange(n), rng.poisson(0.2 * frailty * (p["sentence"] >= 1)))
    day = index[person] + 1 + (rng.random(person.size) * (end2 - index)[person]).astype(np.int64)
    breaches = _court_events(rng, person, day, np.full(person.size, _BREACH, np.int8),
                             forward=True, single=True, caution_share=0.0)
    # Offences on the index day itself, which a follow-up from the next day excludes.
    person = np.flatnonzero(rng.random(n) < 0.06)
    on_index = _court_events(rng, person, index[person], _draw(rng, _MAIN_TABLE, person.size),
                             forward=True, single=True, caution_share=0.3)
    return [after, breaches, on_index]


def _further_category(
    rng: np.random.Generator, p: dict[str, np.ndarray], person: np.ndarray
) -> np.ndarray:
    """Main offence category of another court event: 30% repeat the index category."""
    other = _draw(rng, _MAIN_TABLE, person.size)
    return np.where(rng.random(person.size) < 0.3, p["category"][person], other)


def _court_events(
    rng: np.random.Generator,
    person: np.ndarray,
    day: np.ndarray,
    category: np.ndarray,
    *,
    forward: bool,
    single: bool,
    caution_share: float,
    cautioned: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Expand court events into offences.

    ``day`` is the first offence day when ``forward`` (the disposal follows after a lag),
    else the disposal day (the offences precede it).  The offences of one event lie
    within 45 days of each other; only a single minor offence can be cautioned.
    """
    size = person.size
    caution = np.zeros(size, bool) if cautioned is None else cautioned.copy()
    m = np.ones(size, np.int64) if single else np.minimum(rng.geometric(0.58, size), 12)
    m[caution] = 1
    event = np.repeat(np.arange(size, dtype=np.int32), m)
    first = np.cumsum(m) - m
    later = np.ones(event.size, bool)
    later[first] = False
    cat = category.astype(np.int8)[event]
    cat[later] = _draw(rng, _ANY_TABLE, int(later.sum()))
    u = rng.integers(0, _RES, event.size, dtype=np.int32)
    code = _CODE_TABLE[cat * np.int32(_RES) + u]
    forced = first[caution]
    code[forced] = _MINOR_TABLE[cat[forced] * np.int32(_RES) + u[forced]]
    spread = rng.integers(0, 46, event.size, dtype=np.int32)
    spread[first] = 0
    caution |= (m == 1) & _MINOR[code[first]] & (rng.random(size) < caution_share)
    quick = caution | (rng.random(size) < _QUICK_SHARE)
    slow = np.clip(np.rint(rng.lognormal(np.log(_LAG_MEDIAN), _LAG_SIGMA, size)), 1, _LAG_CAP)
    lag = np.where(quick, rng.integers(0, _QUICK_MAX + 1, size), slow).astype(np.int32)
    day = day.astype(np.int32)
    if forward:
        last = np.maximum.reduceat(spread, first) if size else spread
        disposal, offence = day + last + lag, day[event] + spread
    else:
        disposal, offence = day, (day - lag)[event] - spread
    return {"person": person.astype(np.int32), "disposal": disposal, "caution": caution,
            "event": event, "offence": offence, "code": code}


def _assemble(
    blocks: list[dict[str, np.ndarray]],
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Court events numbered in disposal order, and offences in offence-date order."""
    sizes = np.cumsum([0] + [b["person"].size for b in blocks])
    court = {key: np.concatenate([b[key] for b in blocks])
             for key in ("person", "disposal", "caution")}
    court["block"] = np.repeat(np.arange(len(blocks), dtype=np.int8), np.diff(sizes))
    court_id = np.empty(sizes[-1], np.int64)
    court_id[_stable_order(court["disposal"])] = np.arange(1, sizes[-1] + 1)
    offence = np.concatenate([b["offence"] for b in blocks])
    order = _stable_order(offence)
    event = np.concatenate([b["event"] + s for b, s in zip(blocks, sizes[:-1], strict=True)])
    event = event[order]
    return court, {
        "person": court["person"][event], "offence": offence[order],
        "disposal": court["disposal"][event], "caution": court["caution"][event],
        "code": np.concatenate([b["code"] for b in blocks])[order],
        "court_event_id": court_id[event],
    }


def _stable_order(day: np.ndarray) -> np.ndarray:
    """Stable argsort of day numbers: a radix sort when the range fits 16 bits."""
    if day.size and int(day.max()) - int(day.min()) < 2**16:
        return np.argsort((day - day.min()).astype(np.uint16), kind="stable")
    return np.argsort(day, kind="stable")


def _custody(
    rng: np.random.Generator, p: dict[str, np.ndarray], court: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """Index custody spells and custody after other convictions, merged where they overlap.

    Custody after a prior conviction ends before the index conviction.
    """
    custodial = np.flatnonzero(p["sentence"] >= 2)
    prone = 0.05 + 0.2 * (p["sentence"][court["person"]] >= 2)
    jailed = (court["block"] > 0) & ~court["caution"] & (rng.random(prone.size) < prone)
    served = np.rint(rng.lognormal(np.log(40.0), 0.8, int(jailed.sum())))
    person = court["person"][jailed]
    start = court["disposal"][jailed].astype(np.int64)
    end = start + np.clip(served, 1, 1500).astype(np.int64) - 1
    end = np.where(court["block"][jailed] == 1, np.minimum(end, p["conviction"][person] - 1), end)
    keep = end >= start
    person = np.concatenate([custodial, person[keep]]).astype(np.int64)
    start = np.concatenate([p["conviction"][custodial], start[keep]])
    end = np.concatenate([p["index"][custodial] - 1, end[keep]])
    if person.size:
        # Sort by person, then start.  A running maximum of the end day, offset by person,
        # tells where a spell starts after all earlier spells of its person have ended.
        low, width = start.min(), int(end.max() - start.min()) + 2
        order = np.argsort(person * width + (start - low))
        person, start, end = person[order], start[order], end[order]
        running = np.maximum.accumulate(person * width + (end - low)) - person * width
        new = np.r_[True, (person[1:] != person[:-1]) | (start[1:] - low > running[:-1])]
        first = np.flatnonzero(new)
        person, start, end = person[first], start[first], np.maximum.reduceat(end, first)
        order = _stable_order(start)
        person, start, end = person[order], start[order], end[order]
    return {"person": person, "start": start, "end": end}


def _dates(days: np.ndarray) -> pl.Series:
    return pl.Series(days.astype(np.int32)).cast(pl.Date)


def _labels(codes: np.ndarray, labels: list[str] | tuple[str, ...], dtype: type) -> pl.Series:
    """Labels of integer codes, gathered from a small series of the target type."""
    return pl.Series(list(labels), dtype=pl.String).cast(dtype).gather(codes.astype(np.int64))


def _cohort_frame(
    p: dict[str, np.ndarray], ids: np.ndarray, start: date, quarters: int, n_providers: int
) -> pl.DataFrame:
    # Rows in index-date order (ties by offender_id), like a cohort extract.
    order = np.lexsort((ids, p["index"][: ids.size]))
    p = {key: value[order] for key, value in p.items()}
    periods = [Period(3 * q, "months").add_date(start) for q in range(quarters)]
    providers = [f"P{j + 1}" for j in range(n_providers)]
    areas = [f"{name}-{side}" for name in providers for side in "NS"]
    return pl.DataFrame({
        "offender_id": ids[order],
        "index_date": _dates(p["index"]),
        "provider": _labels(p["provider"], providers, pl.String),
        "area": _labels(p["area"], areas, pl.String),
        "cohort_period": _labels(
            p["quarter"], [f"{d.year}Q{(d.month - 1) // 3 + 1}" for d in periods], pl.String
        ),
        "sex": _labels(~p["male"], ("M", "F"), pl.String),
        "age": p["age"].astype(np.int16),
        "prior_sanctions": p["priors"].astype(np.int16),
        "age_first_sanction": p["afs"].astype(np.int16),
        "offence_category": _labels(p["category"], CATEGORIES, pl.String),
        "sentence": _labels(p["sentence"], SENTENCES, pl.String),
        "treated": p["treated"],
        "true_risk": p["true_risk"],
    })


def _events_frame(e: dict[str, np.ndarray], ids: np.ndarray) -> pl.DataFrame:
    return pl.DataFrame([
        pl.Series("offender_id", ids[e["person"]]),
        _dates(e["offence"]).alias("offence_date"),
        _dates(e["disposal"]).alias("disposal_date"),
        _labels(~e["caution"], ("caution", "conviction"), pl.Categorical).alias("disposal_type"),
        _labels(e["code"], _CODES, pl.Categorical).alias("offence_code"),
        _labels(_CODE_CAT[e["code"]], CATEGORIES, pl.Categorical).alias("offence_category"),
        pl.Series("court_event_id", e["court_event_id"]),
    ])
