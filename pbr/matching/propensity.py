"""The propensity model: an unpenalised logistic regression of treatment on covariates.

Fitted by Newton-Raphson on the log-likelihood: the maximum-likelihood fit that
statsmodels' ``Logit(...).fit(method="newton")`` and R's ``glm(family = binomial)`` give
(MatchIt's ``distance = "glm"``; both are oracles in the tests).  Penalised fits
(sklearn's default L2, as psmpy uses) give different scores and are not offered
(the common defaults of psmpy, DoWhy and causalml).

Design matrix from a column list: numeric columns as they are, booleans as 0/1, text /
categorical columns as one indicator per level except the first level in sorted order
(R's treatment contrasts), named ``column + level`` as R does (``racehispan``).  Or a
statsmodels formula right-hand side (``"age + I(age**2) + C(area)"``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from pbr.errors import SchemaError, SpecError

__all__ = ["PropensityModel", "design_matrix", "fit_propensity", "is_categorical"]


def is_categorical(s: pl.Series) -> bool:
    """Text, categorical and enum columns are categorical covariates."""
    return s.dtype == pl.String or isinstance(s.dtype, pl.Categorical | pl.Enum)


def design_matrix(frame: pl.DataFrame, covariates: tuple[str, ...], *, all_levels: bool = False,
                  intercept: bool = False) -> tuple[list[str], np.ndarray, list[bool]]:
    """Columns of the model (or, with ``all_levels``, of the balance table).

    Returns the column names, the float64 matrix (rows x columns, with a leading column
    of ones when ``intercept``) and whether each column is binary (0/1 only).

    Examples
    --------
    >>> df = pl.DataFrame({"age": [20, 30, 40], "race": ["white", "black", "hispan"]})
    >>> names, x, binary = design_matrix(df, ("age", "race"))
    >>> names, x[:, 1:].tolist(), binary
    (['age', 'racehispan', 'racewhite'], [[0.0, 1.0], [0.0, 0.0], [1.0, 0.0]], [False, True, True])
    """
    names: list[str] = []
    cols: list[np.ndarray] = []
    for c in covariates:
        s = frame[c]
        if is_categorical(s):
            text = s.cast(pl.String)
            levels = sorted(text.drop_nulls().unique().to_list())
            for level in levels if all_levels else levels[1:]:
                names.append(f"{c}{level}")
                cols.append((text == level).fill_null(False).to_numpy().astype(np.float64))
        elif s.dtype == pl.Boolean or s.dtype.is_numeric():
            names.append(c)
            cols.append(s.cast(pl.Float64).to_numpy())
        else:
            raise SchemaError(f"covariate {c!r} has type {s.dtype}; give a numeric, boolean "
                              "or text column (convert dates to numbers, e.g. days or years)")
    binary = [bool(((c == 0.0) | (c == 1.0)).all()) for c in cols]
    x = np.empty((frame.height, len(cols) + intercept))
    if intercept:
        x[:, 0] = 1.0
    for j, col in enumerate(cols):
        x[:, j + intercept] = col
    return names, x, binary


@dataclass(frozen=True)
class PropensityModel:
    """A fitted propensity model.

    Attributes
    ----------
    terms
        Names of the model's columns (``Intercept`` first).
    params
        Maximum-likelihood coefficients, in ``terms`` order.
    score
        Fitted probability of treatment per unit (row order of the data).
    linear
        The linear predictor (logit of ``score``).
    converged
        Whether Newton-Raphson converged.
    """

    terms: tuple[str, ...]
    params: tuple[float, ...]
    score: np.ndarray
    linear: np.ndarray
    converged: bool
    formula: str

    def coefficients(self) -> dict[str, float]:
        """Term -> coefficient."""
        return dict(zip(self.terms, self.params, strict=True))


def _loglik(y: np.ndarray, eta: np.ndarray) -> float:
    return float(np.dot(y, eta) - np.logaddexp(0.0, eta).sum())


def _newton(x: np.ndarray, y: np.ndarray, tol: float = 1e-10, max_iter: int = 60
            ) -> tuple[np.ndarray, bool]:
    """Maximum-likelihood logistic regression by Newton-Raphson with step halving.

    The unpenalised fit of statsmodels' ``Logit(...).fit(method="newton")`` and R's
    ``glm(family = binomial)`` (checked against both in tests/test_matching_*), written
    out so that one iteration is a few passes over the design matrix (BLAS) without
    statsmodels' per-fit set-up, which dominates at millions of rows.  Above 200,000 rows
    it starts from the fit on every ``n // 100,000``-th row (a deterministic subsample),
    so the full data need only the last, quadratically converging steps.  Converged when
    the largest Newton step, relative to ``1 + |coefficient|``, is below ``sqrt(tol)``:
    the step is then taken and the remaining error is of order ``tol``.
    """
    n, k = x.shape
    beta = np.zeros(k)
    if n > 200_000:
        beta, _ = _newton(np.ascontiguousarray(x[:: n // 100_000]),
                          y[:: n // 100_000], 1e-6, max_iter)
    buf = np.empty_like(x)
    eta = x @ beta
    ll = _loglik(y, eta)
    for _ in range(max_iter):
        p = 1.0 / (1.0 + np.exp(-eta))
        grad = x.T @ (y - p)
        np.multiply(x, np.sqrt(p * (1.0 - p))[:, None], out=buf)
        try:
            step = np.linalg.solve(buf.T @ buf, grad)
        except np.linalg.LinAlgError:
            return beta, False
        size = float(np.max(np.abs(step) / (np.abs(beta) + 1.0)))
        if size < math.sqrt(tol):  # quadratic convergence: this step leaves error ~ size^2
            beta = beta + step
            return beta, bool(np.all(np.isfinite(beta)) and np.max(np.abs(eta)) < 35)
        t = 1.0
        for _ in range(40):  # step halving far from the optimum: the likelihood must rise
            cand = beta + t * step
            eta_new = x @ cand
            if size < 1e-3:
                ll_new = ll
                break
            ll_new = _loglik(y, eta_new)
            if ll_new >= ll - 1e-12 * abs(ll):
                break
            t /= 2
        beta, eta, ll = cand, eta_new, ll_new
    return beta, False


def _full_rank(x: np.ndarray) -> bool:
    """Rank of the design from its scaled cross-product (k x k; no SVD of n x k)."""
    xtx = x.T @ x
    d = np.sqrt(np.clip(np.diag(xtx), 1e-300, None))
    return bool(np.linalg.matrix_rank(xtx / np.outer(d, d), tol=1e-10) == x.shape[1])


def fit_propensity(frame: pl.DataFrame, treatment: np.ndarray, covariates: tuple[str, ...],
                   formula: str | None) -> PropensityModel:
    """Fit ``treatment ~ covariates`` (or ``~ formula``) by unpenalised logistic regression.

    Examples
    --------
    >>> df = pl.DataFrame({"x": [0.0, 1, 2, 3, 4, 5, 6, 7]})
    >>> m = fit_propensity(df, np.array([0, 0, 1, 0, 1, 0, 1, 1]), ("x",), None)
    >>> [round(v, 4) for v in m.params]
    [-2.0793, 0.5941]
    """
    y = treatment.astype(np.float64)
    if formula is not None:
        import statsmodels.formula.api as smf

        pdf = frame.to_pandas()
        pdf["__treated__"] = y
        try:
            model = smf.logit(f"__treated__ ~ {formula}", data=pdf)
        except Exception as exc:  # patsy/formulaic raise many kinds
            raise SpecError(f"formula: cannot build the model from {formula!r}: {exc}") from None
        terms = tuple(str(t) for t in model.exog_names)
        x = np.asarray(model.exog, dtype=np.float64)
        text = formula
    else:
        names, x, _ = design_matrix(frame, covariates, intercept=True)
        terms = ("Intercept", *names)
        text = " + ".join(covariates)
    if not _full_rank(x):
        raise SpecError("covariates: the design matrix is rank deficient (a column is constant "
                        "or a combination of others); drop the redundant covariate")
    params, converged = _newton(x, y)
    # column by column, not BLAS: a BLAS product may round two identical rows differently
    # (blocked kernels), and tied scores must stay tied (balance, tie rules)
    linear = np.zeros(x.shape[0])
    for j in range(x.shape[1]):
        linear += x[:, j] * params[j]
    del x
    score = 1.0 / (1.0 + np.exp(-linear))
    return PropensityModel(terms, tuple(float(p) for p in params), score, linear, converged,
                           text)


def handle_missing(frame: pl.DataFrame, covariates: tuple[str, ...], strategy: str
                   ) -> tuple[pl.DataFrame, tuple[str, ...], np.ndarray]:
    """Apply the missing-value strategy; returns the frame, covariates and dropped rows.

    ``"error"`` raises :class:`SchemaError` naming every column with missing values and
    their counts; ``"drop"`` keeps complete cases; ``"indicator"`` fills numeric columns
    with their mean and adds ``<column>_missing`` (0/1), and gives text columns the level
    ``"(missing)"``.
    """
    counts = {c: frame[c].null_count() + (frame[c].is_nan().sum() if frame[c].dtype.is_float()
                                          else 0) for c in covariates}
    bad = {c: n for c, n in counts.items() if n}
    none = np.empty(0, np.int64)
    if not bad:
        return frame, covariates, none
    if strategy == "error":
        listing = ", ".join(f"{c} ({n:,} rows)" for c, n in bad.items())
        raise SchemaError(f"missing values in covariate(s) {listing}; fix the data or choose "
                          "missing='drop' (complete cases) or missing='indicator'")
    if strategy == "drop":
        ok = np.ones(frame.height, np.bool_)
        for c in bad:
            s = frame[c]
            ok &= s.is_not_null().to_numpy()
            if s.dtype.is_float():
                ok &= ~s.is_nan().fill_null(True).to_numpy()
        return frame.filter(pl.Series(ok)), covariates, np.flatnonzero(~ok)
    out: list[Any] = []
    extra: list[str] = []
    for c in bad:
        s = frame[c]
        if is_categorical(s):
            out.append(s.cast(pl.String).fill_null("(missing)").alias(c))
        else:
            isna = s.is_null() | (s.is_nan() if s.dtype.is_float() else False)
            mean = s.filter(~isna).cast(pl.Float64).mean()
            fill = float(mean) if isinstance(mean, int | float) else 0.0
            out.append(pl.Series(c, np.where(isna.to_numpy(), fill,
                                             s.cast(pl.Float64).fill_null(0).to_numpy())))
            out.append(isna.cast(pl.Int8).alias(f"{c}_missing"))
            extra.append(f"{c}_missing")
    return frame.with_columns(out), covariates + tuple(extra), none
