"""The simulated population: who is referred, in which contract area and cohort, at what risk.

A :class:`Population` holds one row per referred offender: ``offender_id``, ``area``,
``cohort``, ``p`` (probability of at least one proven reoffence in the follow-up),
``mu`` (expected proven reoffences), ``theta`` (the negative binomial shape of the
later reoffences; ``inf`` for Poisson) and ``risk_decile`` (1 lowest risk to 10
highest, over the whole population).

The outcome model is a hurdle model (docs/methodology/simulation.md, [Mullahy-1986]):
reoffending at all is Bernoulli(``p``); a reoffender commits ``1 + L`` reoffences with
``L ~ NB(mean m, shape theta)``, ``m = mu / p - 1``.  So ``mu >= p`` is required (a
reoffender has at least one reoffence).  It separates the first reoffence, the one a
binary measure counts, from the later ones, which only a frequency measure counts.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
from scipy import stats as _st

from pbr._frames import from_pandas
from pbr.errors import SchemaError, SpecError
from pbr.risk.casemix import CaseMixModel
from pbr.stats.rates import negbin_fit

__all__ = ["COLUMNS", "Population"]

#: the columns of :attr:`Population.frame`, in order
COLUMNS = ("offender_id", "area", "cohort", "p", "mu", "theta", "risk_decile")
_FREQUENCY = ("negbin", "poisson")


def _deciles(p: np.ndarray) -> np.ndarray:
    """Risk deciles 1..10 by rank of ``p`` (ties in row order), over the whole population."""
    n = p.size
    if n == 0:
        return np.zeros(0, dtype=np.int8)
    order = np.argsort(p, kind="stable")
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    return (rank * 10 // n + 1).astype(np.int8)


@dataclass(frozen=True, eq=False)
class Population:
    """Referred offenders with their risk and frequency, per contract area and cohort.

    Build one with :meth:`synthetic` or :meth:`from_cohort` (or from a frame holding
    :data:`COLUMNS` with :meth:`from_frame`).

    Attributes
    ----------
    frame
        One row per offender: :data:`COLUMNS`.
    source
        How the risks and frequencies were obtained, in words.
    frequency
        ``"negbin"`` or ``"poisson"``: the model of later reoffences.
    notes
        Remarks kept in the record (fits at the Poisson boundary, rows left out).

    Examples
    --------
    >>> pop = Population.synthetic(areas=2, cohorts=2, size=100, seed=1)
    >>> pop.frame.height, pop.areas, pop.cohorts
    (400, ('area 01', 'area 02'), ('cohort 1', 'cohort 2'))
    >>> sorted(pop.frame["risk_decile"].unique().to_list())[:3]
    [1, 2, 3]
    """

    frame: pl.DataFrame
    source: str = "given"
    frequency: str = "negbin"
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        frame = from_pandas(self.frame)
        if not isinstance(frame, pl.DataFrame):
            raise SchemaError(f"population: expected a polars or pandas DataFrame, got "
                              f"{type(frame).__name__}")
        missing = [c for c in COLUMNS if c not in frame.columns]
        if missing:
            raise SchemaError(f"population: column(s) {', '.join(missing)} missing; a "
                              f"population holds {', '.join(COLUMNS)} (build it with "
                              "Population.synthetic or Population.from_cohort)")
        if frame.height == 0:
            raise SchemaError("population: no offenders; give at least one row")
        if self.frequency not in _FREQUENCY:
            raise SpecError(f"frequency: 'negbin' or 'poisson', got {self.frequency!r}")
        for c in COLUMNS:
            nulls = frame[c].null_count()
            if nulls:
                row = int(frame[c].is_null().arg_max() or 0)
                raise SchemaError(f"population.{c}: {nulls:,} empty value(s), the first in "
                                  f"row {row}; every offender needs a value")
        frame = frame.select(
            pl.col("offender_id"), pl.col("area").cast(pl.String),
            pl.col("cohort").cast(pl.String), pl.col("p").cast(pl.Float64),
            pl.col("mu").cast(pl.Float64), pl.col("theta").cast(pl.Float64),
            pl.col("risk_decile").cast(pl.Int8))
        p, mu, theta = (frame[c].to_numpy() for c in ("p", "mu", "theta"))
        _check(p, ~((p >= 0) & (p <= 1)), "p", "a probability from 0 to 1 (a percent "
               "divided by 100)")
        _check(mu, ~(np.isfinite(mu) & (mu >= p - 1e-12)), "mu",
               "expected reoffences at least p (a reoffender has at least one reoffence)")
        _check(theta, ~(theta > 0), "theta", "a negative binomial shape > 0 (inf for Poisson)")
        dec = frame["risk_decile"].to_numpy()
        _check(dec, ~((dec >= 1) & (dec <= 10)), "risk_decile", "an integer from 1 to 10")
        if frame["offender_id"].is_duplicated().any():
            row = int(frame["offender_id"].is_duplicated().arg_max() or 0)
            raise SchemaError(f"population.offender_id: {frame['offender_id'][row]!r} (row "
                              f"{row}) repeats; one row per offender")
        object.__setattr__(self, "frame", frame)
        object.__setattr__(self, "notes", tuple(str(n) for n in self.notes))

    # ------------------------------------------------------------------ views
    @property
    def areas(self) -> tuple[str, ...]:
        """Contract areas, in order of first appearance."""
        return tuple(self.frame["area"].unique(maintain_order=True).to_list())

    @property
    def cohorts(self) -> tuple[str, ...]:
        """Cohort labels, in order of first appearance."""
        return tuple(self.frame["cohort"].unique(maintain_order=True).to_list())

    def sizes(self) -> pl.DataFrame:
        """Offenders, expected reoffending rate and reoffences per offender per area and cohort."""
        return (self.frame.group_by("area", "cohort", maintain_order=True)
                .agg(pl.len().alias("n"), pl.col("p").mean().alias("expected_binary"),
                     pl.col("mu").mean().alias("expected_frequency")))

    def with_cohorts(self, labels: Mapping[str, str]) -> Population:
        """The same population with its cohort labels renamed (e.g. onto a contract's periods)."""
        unknown = sorted(set(labels) - set(self.cohorts))
        if unknown:
            raise SpecError(f"labels: cohort(s) {unknown} are not in the population; its "
                            f"cohorts are {list(self.cohorts)}")
        frame = self.frame.with_columns(pl.col("cohort").replace_strict(
            dict(labels), default=pl.col("cohort"), return_dtype=pl.String))
        return Population(frame, self.source, self.frequency, self.notes)

    def fingerprint(self) -> str:
        """SHA-256 of the frame's content (for the manifest)."""
        import hashlib
        h = hashlib.sha256()
        for c in COLUMNS:
            h.update(c.encode())
            s = self.frame[c]
            h.update(s.cast(pl.String).str.join("\x1f").item().encode()
                     if s.dtype == pl.String else s.to_numpy().tobytes())
        return h.hexdigest()

    def __str__(self) -> str:
        f = self.frame
        p, mu = float(f["p"].to_numpy().mean()), float(f["mu"].to_numpy().mean())
        return (f"Population: {f.height:,} offenders in {len(self.areas)} area(s) x "
                f"{len(self.cohorts)} cohort(s); mean p {p:.4f}, mean reoffences {mu:.4f} "
                f"per offender ({self.frequency}); {self.source}")

    # ------------------------------------------------------------------ builders
    @classmethod
    def from_frame(cls, frame: Any, *, source: str = "given", frequency: str = "negbin"
                   ) -> Population:
        """A population from a frame holding :data:`COLUMNS` (``risk_decile`` may be left
        out: it is then computed from ``p``)."""
        df = from_pandas(frame)
        if isinstance(df, pl.DataFrame) and "risk_decile" not in df.columns and "p" in df.columns:
            df = df.with_columns(pl.Series("risk_decile",
                                           _deciles(df["p"].cast(pl.Float64).to_numpy())))
        return cls(df, source, frequency)

    @classmethod
    def synthetic(cls, *, areas: int | Sequence[str] = 21,
                  cohorts: int | Sequence[str] = 4,
                  size: int | Mapping[str, int] | Mapping[tuple[str, str], int] = 5000,
                  rate: float = 0.45, concentration: float = 4.0,
                  per_reoffender: float = 3.0, theta: float = 1.0, area_sd: float = 0.1,
                  frequency_slope: float = 0.0,
                  seed: int = 0) -> Population:
        """A seeded synthetic population in ten equal risk bands per area and cohort.

        Risks follow a Beta distribution with mean ``rate`` and ``concentration``
        (a + b): band d (1..10) has the Beta quantile at ``(d - 0.5) / 10``, moved on the
        logit scale by a normal area effect (sd ``area_sd``, drawn from ``seed``).
        Reoffenders commit ``per_reoffender`` reoffences on average (the first and
        ``m = per_reoffender - 1`` later ones; with ``frequency_slope`` s, band d's
        later reoffences are ``m (p_d / rate)^s``, so higher-risk reoffenders reoffend
        more often; NB with shape ``theta``; ``inf`` gives
        Poisson).  Offenders of a band share their parameters, so the simulation draws
        the band's counts, not each offender.

        Parameters
        ----------
        areas, cohorts
            How many (labelled ``area 01``..., ``cohort 1``...) or the labels.
        size
            Offenders per area and cohort: one number, a mapping area -> size, or a
            mapping (area, cohort) -> size.

        Examples
        --------
        >>> pop = Population.synthetic(areas=1, cohorts=1, size=1000, rate=0.3, area_sd=0)
        >>> round(pop.frame["p"].mean(), 1), pop.frame["risk_decile"].n_unique()
        (0.3, 10)
        """
        area_names = ([f"area {i + 1:02d}" for i in range(areas)] if isinstance(areas, int)
                      else [str(a) for a in areas])
        cohort_names = ([f"cohort {i + 1}" for i in range(cohorts)] if isinstance(cohorts, int)
                        else [str(c) for c in cohorts])
        if not area_names or not cohort_names:
            raise SpecError("areas, cohorts: give at least one of each")
        if len(set(area_names)) != len(area_names) or len(set(cohort_names)) != len(cohort_names):
            raise SpecError("areas, cohorts: labels must be unique")
        if not 0 < rate < 1:
            raise SpecError(f"rate: a proportion strictly between 0 and 1, got {rate!r}")
        if not concentration > 0:
            raise SpecError(f"concentration: > 0, got {concentration!r}")
        if not np.isfinite(frequency_slope):
            raise SpecError(f"frequency_slope: a finite number, got {frequency_slope!r}")
        if not per_reoffender >= 1:
            raise SpecError(f"per_reoffender: reoffences per reoffender, at least 1, got "
                            f"{per_reoffender!r}")
        if not theta > 0:
            raise SpecError(f"theta: the negative binomial shape, > 0 (inf for Poisson), got "
                            f"{theta!r}")
        if not area_sd >= 0:
            raise SpecError(f"area_sd: >= 0, got {area_sd!r}")
        cells = [(a, c) for a in area_names for c in cohort_names]
        given: dict[Any, Any] = {} if isinstance(size, int) else dict(size)
        if isinstance(size, int):
            sizes: dict[tuple[str, str], Any] = {key: size for key in cells}
        elif all(isinstance(k, tuple) for k in given):
            sizes = {(str(k[0]), str(k[1])): v for k, v in given.items()}
        else:
            sizes = {(a, c): given.get(a) for a, c in cells}
            unknown = sorted(set(map(str, given)) - set(area_names))
            if unknown:
                raise SpecError(f"size: area(s) {unknown} are not among {area_names}")
        missing = [key for key in cells if sizes.get(key) is None]
        if missing or set(sizes) != set(cells):
            raise SpecError(f"size: give a size for every area (or every (area, cohort)); "
                            f"missing {missing[:3] or sorted(set(sizes) - set(cells))[:3]}")
        for key, k in sizes.items():
            if isinstance(k, bool) or not isinstance(k, int) or k < 1:
                raise SpecError(f"size: offenders per area and cohort, an integer >= 1; "
                                f"{key} has {k!r}")
        a_, b_ = rate * concentration, (1 - rate) * concentration
        q = _st.beta.ppf((np.arange(10) + 0.5) / 10, a_, b_)
        q = np.clip(q, 1e-9, 1 - 1e-9)
        shift = np.random.default_rng(np.random.SeedSequence(seed)).normal(
            0.0, area_sd, len(area_names)) if area_sd > 0 else np.zeros(len(area_names))
        cols: dict[str, list[Any]] = {c: [] for c in COLUMNS}
        next_id = 1
        for ai, a in enumerate(area_names):
            pa = 1 / (1 + np.exp(-(np.log(q / (1 - q)) + shift[ai])))
            for c in cohort_names:
                k = int(sizes[(a, c)])
                per = np.full(10, k // 10)
                per[: k % 10] += 1
                for d in range(10):
                    cnt = int(per[d])
                    cols["offender_id"] += range(next_id, next_id + cnt)
                    next_id += cnt
                    cols["area"] += [a] * cnt
                    cols["cohort"] += [c] * cnt
                    cols["p"] += [float(pa[d])] * cnt
                    later = (per_reoffender - 1.0) * (float(pa[d]) / rate) ** frequency_slope
                    cols["mu"] += [float(pa[d]) * (1.0 + later)] * cnt
                    cols["theta"] += [float(theta)] * cnt
                    cols["risk_decile"] += [d + 1] * cnt
        frame = pl.DataFrame(cols, schema={"offender_id": pl.Int64, "area": pl.String,
                                           "cohort": pl.String, "p": pl.Float64,
                                           "mu": pl.Float64, "theta": pl.Float64,
                                           "risk_decile": pl.Int8})
        source = (f"synthetic (seed {seed}): Beta risk with mean {rate} and concentration "
                  f"{concentration} in ten bands, area sd {area_sd} on the logit scale; "
                  f"{per_reoffender} reoffences per reoffender"
                  + (f" (later ones x (p / {rate})^{frequency_slope})" if frequency_slope
                     else "") + f", theta {theta}")
        return cls(frame, source, "poisson" if math.isinf(theta) else "negbin")

    @classmethod
    def from_cohort(cls, frame: Any, *, risk: CaseMixModel | str,
                    frequency: str = "negbin", area: str = "area", cohort: str = "cohort",
                    offender_id: str | None = "offender_id", baseline: Any = None,
                    risk_options: Mapping[str, Any] | None = None,
                    frequency_by_risk: bool = False) -> Population:
        """A population from a cohort frame with per-offender risk.

        Parameters
        ----------
        frame
            One row per offender with ``area`` and ``cohort`` columns (and what ``risk``
            needs).
        risk
            A fitted binary :class:`~pbr.risk.CaseMixModel` (its ``predict``), ``"ogrs3"``
            (the one-year OGRS3 probability, :func:`pbr.risk.ogrs3`, from the frame's
            OGRS3 columns), or the name of a column holding probabilities.
        frequency
            ``"negbin"`` or ``"poisson"``: the model of later reoffences, fitted on the
            reoffenders of ``baseline`` (intercept only: ``reoffences - 1`` by
            :func:`pbr.stats.negbin_fit`, or its mean for Poisson).
        baseline
            A measured baseline cohort: a :class:`~pbr.MeasureResult` or a frame with
            ``reoffended`` and ``reoffences``; default ``frame`` itself when it has them.
        risk_options
            Keyword arguments of :func:`pbr.risk.ogrs3` (column names, ``age_basis``...)
            when ``risk="ogrs3"``.
        frequency_by_risk
            Let the later reoffences depend on risk: ``log m = b0 + b1 logit(p)``, fitted
            on the baseline's reoffenders (their ``p`` from ``risk``, so a separate
            ``baseline`` needs what ``risk`` reads).  Offenders then differ in ``m`` and
            their later reoffences are drawn one by one (slower, still exact).

        Examples
        --------
        >>> import polars as pl
        >>> f = pl.DataFrame({"area": ["a"] * 4, "cohort": ["q1"] * 4,
        ...                   "risk": [0.2, 0.4, 0.6, 0.8], "reoffended": [0, 1, 1, 1],
        ...                   "reoffences": [0, 1, 3, 2]})
        >>> pop = Population.from_cohort(f, risk="risk", frequency="poisson",
        ...                              offender_id=None)
        >>> pop.frame["mu"].round(3).to_list()
        [0.4, 0.8, 1.2, 1.6]
        """
        df = from_pandas(frame)
        if not isinstance(df, pl.DataFrame):
            raise SchemaError(f"frame: expected a polars or pandas DataFrame, got "
                              f"{type(df).__name__}")
        if frequency not in _FREQUENCY:
            raise SpecError(f"frequency: 'negbin' or 'poisson', got {frequency!r}")
        for name, col in (("area", area), ("cohort", cohort)):
            if col not in df.columns:
                raise SchemaError(f"{name}: column {col!r} is not in the frame; its columns are "
                                  f"{', '.join(df.columns)}")
        if risk_options is not None and risk != "ogrs3":
            raise SpecError("risk_options: only read with risk=\"ogrs3\" (the options of "
                            "pbr.risk.ogrs3); remove it")
        p, how = _risk(df, risk, risk_options)
        bad = np.flatnonzero(~((p >= 0) & (p <= 1)))
        if bad.size:
            raise SchemaError(f"risk: row {int(bad[0])} has probability {p[bad[0]]!r}; risks "
                              "must lie in [0, 1] (missing covariates give NaN)")
        base = df if baseline is None else baseline
        base = getattr(base, "frame", base)
        base = from_pandas(base)
        if not isinstance(base, pl.DataFrame) or not {"reoffended", "reoffences"} <= set(
                base.columns):
            raise SchemaError("baseline: the frequency model is fitted on a measured baseline "
                              "with columns reoffended and reoffences (a MeasureResult or its "
                              "frame); give baseline=")
        reo = base.filter(pl.col("reoffended").cast(pl.Boolean))
        if reo.height < 2:
            raise SchemaError(f"baseline: {reo.height} reoffender(s); the frequency model needs "
                              "at least 2")
        later = reo["reoffences"].cast(pl.Float64).to_numpy() - 1.0
        if (later < 0).any():
            raise SchemaError("baseline.reoffences: a reoffender with no reoffence; check the "
                              "reoffended and reoffences columns")
        notes: list[str] = []
        if not isinstance(frequency_by_risk, bool):
            raise SpecError(f"frequency_by_risk: True or False, got {frequency_by_risk!r}")
        if frequency_by_risk:
            base_p = p if baseline is None else _risk(base, risk, risk_options)[0]
            rp = np.clip(base_p[base["reoffended"].cast(pl.Boolean).to_numpy()], 1e-9,
                         1 - 1e-9)
            X = np.column_stack([np.ones(rp.size), np.log(rp / (1 - rp))])
        else:
            X = np.ones((later.size, 1))
        if frequency == "poisson":
            import statsmodels.api as sm
            coef = np.asarray(sm.GLM(later, X, family=sm.families.Poisson()).fit().params)
            theta = math.inf
        else:
            fit = negbin_fit(later, X)
            coef, theta = np.asarray(fit.coef), float(fit.theta)
            if fit.note:
                notes.append(f"frequency: {fit.note}")
        pc = np.clip(p, 1e-9, 1 - 1e-9)
        m_i = (np.exp(coef[0] + coef[1] * np.log(pc / (1 - pc))) if frequency_by_risk
               else np.full(df.height, float(np.exp(coef[0]))))
        m = float(np.exp(coef[0]))
        ids = (df[offender_id] if offender_id is not None and offender_id in df.columns
               else pl.Series("offender_id", np.arange(1, df.height + 1)))
        out = pl.DataFrame({"offender_id": ids, "area": df[area].cast(pl.String),
                            "cohort": df[cohort].cast(pl.String), "p": p,
                            "mu": p * (1.0 + m_i), "theta": np.full(df.height, theta),
                            "risk_decile": _deciles(p)})
        source = (f"risk from {how}; later reoffences of reoffenders {frequency} fitted on "
                  f"{reo.height:,} baseline reoffenders: "
                  + (f"log mean {coef[0]:.4f} + {coef[1]:.4f} logit(p)" if frequency_by_risk
                     else f"mean {m:.4f}")
                  + (f", theta {theta:.4f}" if math.isfinite(theta) else ""))
        return cls(out, source, "poisson" if math.isinf(theta) else "negbin", tuple(notes))


def _check(values: np.ndarray, bad: np.ndarray, column: str, fix: str) -> None:
    where = np.flatnonzero(bad)
    if where.size:
        raise SchemaError(f"population.{column}: row {int(where[0])} holds "
                          f"{values[where[0]]!r}; expected {fix} ({where.size:,} row(s))")


def _risk(df: pl.DataFrame, risk: CaseMixModel | str, risk_options: Mapping[str, Any] | None
          ) -> tuple[np.ndarray, str]:
    """Each row's probability of any reoffence, and how it was obtained."""
    if isinstance(risk, CaseMixModel):
        if risk.measure != "binary_rate":
            raise SpecError(f"risk: the case-mix model predicts {risk.measure}; the "
                            "population needs a binary model (the probability of any "
                            "reoffence)")
        p = np.asarray(risk.predict(df), dtype=np.float64)
        how = f"case-mix model ({risk.family} on {', '.join(risk.covariates)})"
    elif risk == "ogrs3":
        from pbr.risk.ogrs3 import ogrs3
        p = ogrs3(df, **dict(risk_options or {}))["ogrs3_1yr"].cast(pl.Float64).to_numpy()
        how = "OGRS3 one-year probability"
    elif isinstance(risk, str):
        if risk not in df.columns:
            raise SchemaError(f"risk: column {risk!r} is not in the frame; give a column "
                              "of probabilities, 'ogrs3' or a fitted CaseMixModel")
        p = df[risk].cast(pl.Float64).to_numpy()
        how = f"column {risk!r}"
    else:
        raise SpecError(f"risk: a CaseMixModel, 'ogrs3' or a column name, got {risk!r}")
    return p, how
