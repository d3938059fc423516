"""Case-mix models: predictions for a current cohort from its baseline's behaviour.

:func:`fit_casemix` fits a model on the baseline cohort's per-offender frame (a
:class:`~pbr.measures.MeasureResult` or a frame with ``reoffended`` and ``reoffences``):

=================  ==========================  ==========================================
measure            outcome per offender        model
=================  ==========================  ==========================================
binary_rate        ``reoffended``              logistic regression (statsmodels ``Logit``)
per_offender       ``reoffences``              Poisson GLM or negative binomial (NB2)
per_reoffender     ``reoffences`` of           the same count models, fitted on the
                   reoffenders                 baseline's reoffenders only
=================  ==========================  ==========================================

:func:`casemix_score` instead takes a supplied prediction column, such as an OGRS3 or
OGRS4/G3 probability.  Either way the result is a frozen :class:`CaseMixModel` whose
``predict(frame)`` gives each current offender's expected outcome under the baseline's
behaviour (for ``binary_rate`` a probability, so its group means are proportions, the
unit of ``MeasureResult.summary()`` and :class:`~pbr.risk.baseline.Baseline`);
:func:`~pbr.compare.adjusted.compare_to_baseline` turns those into adjusted rates.

Sources (docs/sources.md): [MoJ-Definitions-2011] (actual vs predicted rates from a
logistic model of age, gender, criminal history and index offence fitted on a baseline year [V2];
generic form [I]); [MoJ-CRC-Final] (CRC binary rate adjusted with OGRS4/G3 [V]; the count
model for frequency is pbr's analogue [I]); [NOMS-RSR-2018] (OGRS4/G accepted as a
supplied score).  All fits use Newton's method or IRLS from fixed starting values, so the same
data give the same coefficients.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import polars as pl
import statsmodels.api as sm
from scipy.special import expit

from pbr._frames import to_polars
from pbr.errors import SchemaError, SpecError
from pbr.spec import MeasureSpec

__all__ = ["FAMILIES", "MODEL_MEASURES", "CaseMixModel", "casemix_score", "fit_casemix",
           "outcome_frame"]

MODEL_MEASURES = ("binary_rate", "per_offender", "per_reoffender")
FAMILIES = ("logit", "poisson", "negative_binomial", "score")
Missing = Literal["raise", "drop"]


def outcome_frame(data: Any, measure: str) -> tuple[pl.DataFrame, MeasureSpec | None]:
    """The per-offender frame a measure is computed on, and its spec if known.

    ``per_reoffender`` keeps only reoffenders.  ``data`` is a MeasureResult or a
    polars/pandas frame with ``reoffended`` and ``reoffences``.
    """
    if measure not in MODEL_MEASURES:
        raise SpecError(f"measure: one of {', '.join(MODEL_MEASURES)}, got {measure!r}")
    spec = getattr(data, "spec", None)
    frame = getattr(data, "frame", data)
    if not isinstance(frame, pl.DataFrame):
        try:
            frame = to_polars(frame)
        except (TypeError, ValueError, ImportError):
            raise SchemaError(f"expected a MeasureResult or a data frame, got "
                              f"{type(data).__name__}") from None
    for col in ("reoffended", "reoffences"):
        if col not in frame.columns:
            raise SchemaError(f"column {col!r} is missing; pass a MeasureResult or a frame with "
                              "the measure columns reoffended and reoffences")
    if measure == "per_reoffender":
        frame = frame.filter(pl.col("reoffended"))
    return frame, spec if isinstance(spec, MeasureSpec) else None


def _y(frame: pl.DataFrame, measure: str) -> np.ndarray:
    col = "reoffended" if measure == "binary_rate" else "reoffences"
    return frame[col].cast(pl.Float64).to_numpy()


def _missing_rows(frame: pl.DataFrame, columns: Sequence[str]) -> np.ndarray:
    mask = np.zeros(frame.height, np.bool_)
    for col in columns:
        s = frame[col]
        bad = s.is_null()
        if s.dtype.is_float():
            bad = bad | s.is_nan()
        mask |= bad.to_numpy()
    return mask


def _check_missing(frame: pl.DataFrame, columns: Sequence[str], missing: str) -> np.ndarray:
    """Rows kept (bool mask); raises SchemaError on a missing value under 'raise'."""
    if missing not in ("raise", "drop"):
        raise SpecError(f"missing: 'raise' or 'drop', got {missing!r}")
    for col in columns:
        if col not in frame.columns:
            raise SchemaError(f"column {col!r} is missing from the frame; columns: "
                              f"{', '.join(frame.columns)}")
    bad = _missing_rows(frame, columns)
    if bad.any() and missing == "raise":
        row = int(np.flatnonzero(bad)[0])
        cols = [c for c in columns if bool(_missing_rows(frame[row:row + 1], [c])[0])]
        raise SchemaError(f"column {cols[0]!r}: missing value at row {row} ({int(bad.sum())} "
                          "row(s) in all); fill it, or pass missing='drop' to leave such "
                          "offenders out of the fit and the comparison (they are counted)")
    return ~bad


@dataclass(frozen=True)
class CaseMixModel:
    """A fitted (or supplied) prediction of each offender's outcome under baseline behaviour.

    Attributes
    ----------
    measure
        ``"binary_rate"``, ``"per_offender"`` or ``"per_reoffender"``.
    family
        ``"logit"``, ``"poisson"``, ``"negative_binomial"`` or ``"score"`` (supplied).
    covariates
        Covariate columns in model order (for a score: the score column).
    levels
        ``(column, levels)`` of each categorical covariate; the first level is the
        reference (levels sorted, so the choice is deterministic).
    coefficients, std_errors
        ``(term, value)`` pairs: ``const``, numeric covariates, then ``column[level]``
        dummies.  Empty for a supplied score.
    n
        Offenders the model was fitted on (after dropped rows).
    n_dropped
        Baseline rows left out for missing covariates (``missing="drop"``).
    alpha
        Negative-binomial dispersion (variance = mu + alpha mu^2); None otherwise.
    spec
        The baseline's MeasureSpec, when known.
    missing
        ``"raise"`` or ``"drop"``: how rows with missing covariates are handled.
    notes
        Warnings from the fit (convergence, separation), kept in the record.

    Examples
    --------
    >>> import polars as pl
    >>> frame = pl.DataFrame({"reoffended": [True, False, True, False, True, False],
    ...                       "reoffences": [2, 0, 1, 0, 3, 0],
    ...                       "priors": [5.0, 1.0, 2.0, 3.0, 6.0, 0.0]})
    >>> model = fit_casemix(frame, ["priors"])
    >>> model.family, model.n
    ('logit', 6)
    >>> p = model.predict(frame)
    >>> round(float(p.mean()), 12)  # a logit with a constant reproduces the base rate
    0.5
    """

    measure: str
    family: str
    covariates: tuple[str, ...]
    levels: tuple[tuple[str, tuple[Any, ...]], ...] = ()
    coefficients: tuple[tuple[str, float], ...] = ()
    std_errors: tuple[tuple[str, float], ...] = ()
    n: int = 0
    n_dropped: int = 0
    alpha: float | None = None
    spec: MeasureSpec | None = None
    missing: str = "raise"
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.measure not in MODEL_MEASURES:
            raise SpecError(f"measure: one of {', '.join(MODEL_MEASURES)}, got {self.measure!r}")
        if self.family not in FAMILIES:
            raise SpecError(f"family: one of {', '.join(FAMILIES)}, got {self.family!r}")
        if self.family == "logit" and self.measure != "binary_rate":
            raise SpecError("family: 'logit' models the binary rate; for a frequency use "
                            "'poisson' or 'negative_binomial'")
        if self.family in ("poisson", "negative_binomial") and self.measure == "binary_rate":
            raise SpecError("family: the binary rate needs family='logit' (or a score)")
        if self.missing not in ("raise", "drop"):
            raise SpecError(f"missing: 'raise' or 'drop', got {self.missing!r}")

    # ------------------------------------------------------------------ prediction
    def design(self, frame: pl.DataFrame) -> np.ndarray:
        """The design matrix of ``frame`` (rows must have no missing covariate).

        Raises SchemaError for a categorical level the baseline did not have.
        """
        cats = dict(self.levels)
        cols: list[np.ndarray] = [np.ones(frame.height)]
        for name in self.covariates:
            s = frame[name]
            if name not in cats:
                if not (s.dtype.is_numeric() or s.dtype == pl.Boolean):
                    raise SchemaError(f"column {name!r}: the model treats it as numeric but it "
                                      f"holds {s.dtype}; convert it or refit")
                cols.append(s.cast(pl.Float64).to_numpy())
                continue
            levels = cats[name]
            values = s.to_list()
            unseen = sorted({str(v) for v in values} - {str(v) for v in levels})
            if unseen:
                row = next(i for i, v in enumerate(values) if str(v) == unseen[0])
                raise SchemaError(
                    f"column {name!r}: level {unseen[0]!r} (row {row}) was not in the baseline "
                    f"cohort the model was fitted on (levels {list(map(str, levels))}); "
                    "map it onto a baseline level or refit with it")
            text = np.array([str(v) for v in values], dtype=object)
            for level in levels[1:]:
                cols.append((text == str(level)).astype(np.float64))
        return np.column_stack(cols)

    def predict(self, data: Any) -> np.ndarray:
        """Expected outcome per offender of ``data`` under the baseline's behaviour.

        A probability for the binary rate, an expected count for the frequencies.  The
        rows are those of the measure's frame (reoffenders only for
        ``per_reoffender``); rows with a missing covariate are NaN under
        ``missing="drop"`` and raise SchemaError under ``"raise"``.
        """
        frame, _ = outcome_frame(data, self.measure)
        keep = _check_missing(frame, self.covariates, self.missing)
        out = np.full(frame.height, np.nan)
        if self.family == "score":
            values = frame[self.covariates[0]].cast(pl.Float64).to_numpy()
            high = 1.0 if self.measure == "binary_rate" else np.inf
            bad = np.flatnonzero(keep & ((values < 0) | (values > high)))
            if bad.size:
                what = "a probability in [0, 1]" if high == 1.0 else "an expected count >= 0"
                raise SchemaError(f"column {self.covariates[0]!r}: row {int(bad[0])} holds "
                                  f"{values[bad[0]]!r}, not {what}")
            out[keep] = values[keep]
            return out
        beta = np.array([v for _, v in self.coefficients])
        eta = self.design(frame.filter(pl.Series(keep))) @ beta
        out[keep] = expit(eta) if self.family == "logit" else np.exp(eta)
        return out

    # ------------------------------------------------------------------ presentation
    def to_frame(self) -> pl.DataFrame:
        """One row per term: ``term``, ``coefficient``, ``std_error``."""
        se = dict(self.std_errors)
        return pl.DataFrame({
            "term": [t for t, _ in self.coefficients],
            "coefficient": [v for _, v in self.coefficients],
            "std_error": [se.get(t) for t, _ in self.coefficients],
        }, schema={"term": pl.String, "coefficient": pl.Float64, "std_error": pl.Float64})

    def to_pandas(self) -> Any:
        """The coefficient table as a pandas DataFrame."""
        return self.to_frame().to_pandas()

    def __str__(self) -> str:
        if self.family == "score":
            return (f"CaseMixModel ({self.measure}): supplied score column "
                    f"{self.covariates[0]!r}")
        lines = [f"CaseMixModel ({self.measure}; {self.family}; fitted on {self.n:,} offenders"
                 + (f", {self.n_dropped:,} dropped for missing covariates" if self.n_dropped
                    else "") + ")"]
        if self.alpha is not None:
            lines.append(f"  alpha (NB2 dispersion)   {self.alpha:>12.6f}")
        lines.append(f"  {'term':<28} {'coefficient':>12} {'std_error':>12}")
        se = dict(self.std_errors)
        for term, value in self.coefficients:
            lines.append(f"  {term:<28} {value:>12.6f} {se.get(term, float('nan')):>12.6f}")
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


def _levels(frame: pl.DataFrame, covariates: Sequence[str], categorical: Sequence[str]
            ) -> tuple[tuple[str, tuple[Any, ...]], ...]:
    out = []
    for name in covariates:
        s = frame[name]
        if s.dtype.is_temporal():
            raise SchemaError(f"column {name!r}: a date cannot be a covariate; derive a number "
                              "(e.g. age at the index date) first")
        is_text = s.dtype in (pl.String, pl.Categorical) or isinstance(s.dtype, pl.Enum)
        if name in categorical or is_text:
            values = s.cast(pl.String) if is_text else s
            levels = tuple(sorted(values.unique().to_list(), key=str))
            if len(levels) < 2:
                raise SpecError(f"covariates: {name!r} has a single level {levels!r} in the "
                                "baseline cohort; drop it from the model")
            out.append((name, levels))
    return tuple(out)


def fit_casemix(baseline: Any, covariates: Sequence[str], *, measure: str = "binary_rate",
                family: str | None = None, categorical: Sequence[str] = (),
                missing: Missing = "raise") -> CaseMixModel:
    """Fit a case-mix model on the baseline cohort's per-offender frame.

    Parameters
    ----------
    baseline
        The baseline cohort measured: a MeasureResult, or a polars/pandas frame with
        ``reoffended``, ``reoffences`` and the covariates.
    covariates
        Columns to model.  Text columns are categorical; name numeric codes (e.g. an
        area number) in ``categorical`` to treat them as categories; booleans are 0/1.
    measure
        ``"binary_rate"`` (logistic regression), ``"per_offender"`` or
        ``"per_reoffender"`` (count model on reoffenders).
    family
        ``"logit"`` (default for the binary rate), ``"poisson"`` (default for the
        frequencies) or ``"negative_binomial"`` (NB2, dispersion estimated).
    missing
        ``"raise"`` (default): a missing covariate raises SchemaError; ``"drop"``: such
        offenders are left out of the fit and, later, out of the comparison.

    Returns
    -------
    CaseMixModel

    Examples
    --------
    >>> import pbr
    >>> data = pbr.synth.generate(2_000, seed=3)
    >>> base = pbr.measure(data.cohort, data.events, "crc_pbr_2015")
    >>> model = fit_casemix(base, ["age", "sex", "prior_sanctions"], measure="per_offender")
    >>> model.family, [t for t, _ in model.coefficients]
    ('poisson', ['const', 'age', 'prior_sanctions', 'sex[M]'])
    """
    frame, spec = outcome_frame(baseline, measure)
    if isinstance(covariates, str):
        raise SpecError(f"covariates: give a list, e.g. [{covariates!r}]")
    covariates = tuple(covariates)
    if not covariates:
        raise SpecError("covariates: name at least one column (or use casemix_score)")
    if len(set(covariates)) != len(covariates):
        raise SpecError(f"covariates: each column once, got {list(covariates)}")
    unknown = sorted(set(categorical) - set(covariates))
    if unknown:
        raise SpecError(f"categorical: {unknown} are not among the covariates")
    family = family or ("logit" if measure == "binary_rate" else "poisson")
    keep = _check_missing(frame, covariates, missing)
    used = frame.filter(pl.Series(keep))
    levels = _levels(used, covariates, categorical)
    cats = dict(levels)
    # numeric covariates first, then dummies, keeping the user's order within each
    ordered = tuple(c for c in covariates if c not in cats) + tuple(c for c in covariates
                                                                    if c in cats)
    shell = CaseMixModel(measure, family, ordered, levels, spec=spec, missing=missing)
    X = shell.design(used)
    y = _y(used, measure)
    names = ["const", *[c for c in ordered if c not in cats],
             *[f"{c}[{lv}]" for c in ordered if c in cats for lv in cats[c][1:]]]
    if used.height <= X.shape[1]:
        raise SpecError(f"covariates: {used.height} offender(s) cannot fit {X.shape[1]} terms")
    if np.linalg.matrix_rank(X) < X.shape[1]:
        raise SpecError("covariates: the design matrix is rank-deficient (a covariate is "
                        "constant or a combination of others); drop one")
    params, bse, alpha, notes = _fit(y, X, family)
    return CaseMixModel(measure, family, ordered, levels,
                        tuple(zip(names, params.tolist(), strict=True)),
                        tuple(zip(names, bse.tolist(), strict=True)),
                        n=used.height, n_dropped=frame.height - used.height, alpha=alpha,
                        spec=spec, missing=missing, notes=notes)


def _fit(y: np.ndarray, X: np.ndarray, family: str
         ) -> tuple[np.ndarray, np.ndarray, float | None, tuple[str, ...]]:
    alpha = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            if family == "logit":
                res = sm.Logit(y, X).fit(method="newton", maxiter=100, disp=0)
                params, bse = np.asarray(res.params), np.asarray(res.bse)
            elif family == "poisson":
                res = sm.GLM(y, X, family=sm.families.Poisson()).fit(maxiter=100)
                params, bse = np.asarray(res.params), np.asarray(res.bse)
            elif family == "negative_binomial":
                res = sm.NegativeBinomial(y, X, loglike_method="nb2").fit(
                    method="newton", maxiter=200, disp=0)
                params, bse = np.asarray(res.params)[:-1], np.asarray(res.bse)[:-1]
                alpha = float(np.asarray(res.params)[-1])
            else:
                raise SpecError(f"family: one of logit, poisson, negative_binomial; got "
                                f"{family!r}")
        except np.linalg.LinAlgError as exc:
            raise SpecError(f"the {family} model cannot be fitted ({exc}); check for "
                            "separation or collinear covariates") from None
        except Exception as exc:
            if type(exc).__name__ == "PerfectSeparationError":
                raise SpecError(f"the {family} model cannot be fitted: perfect separation "
                                f"({exc}); drop or merge the separating covariate") from None
            raise
    notes = tuple(sorted({str(w.message).splitlines()[0] for w in caught}))
    if not np.all(np.isfinite(params)):
        raise SpecError(f"the {family} model did not converge to finite coefficients")
    return params, bse, alpha, notes


def casemix_score(column: str, *, measure: str = "binary_rate",
                  missing: Missing = "raise") -> CaseMixModel:
    """Use a supplied per-offender prediction (e.g. OGRS3 / OGRS4/G3) as the model.

    For the binary rate the column holds probabilities in [0, 1] (``pbr.risk.ogrs3``'s
    one-year probability, or an OGRS4/G3 score supplied with the data; the CRC binary
    adjustment used OGRS4/G3, [MoJ-CRC-Final] [V]); for a frequency it holds
    expected counts.

    Examples
    --------
    >>> import polars as pl
    >>> model = casemix_score("ogrs4_g3")
    >>> frame = pl.DataFrame({"reoffended": [True, False], "reoffences": [1, 0],
    ...                       "ogrs4_g3": [0.6, 0.2]})
    >>> model.predict(frame).tolist()
    [0.6, 0.2]
    """
    if not isinstance(column, str) or not column:
        raise SpecError(f"column: the name of the score column, got {column!r}")
    return CaseMixModel(measure, "score", (column,), missing=missing)

