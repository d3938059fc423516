"""Rate ratios of reoffences per offender: Poisson and negative binomial regression.

The ratio ``mean(y1) / mean(y0)`` is ``exp(b)`` in the log-linear model
``log E[y] = a + b·cohort + log(exposure)`` (statsmodels' GLM, and pbr's own Newton fit
for the negative binomial likelihood; docs/methodology/inference.md).  The
Peterborough SIB judged a relative reduction in reconviction events against a matched
group ([MoJ-PbR-News-2014], [Cave-2012], where the test is [R]; the model-based ratio
is one natural estimator [I]).

* ``poisson``: GLM Poisson; model-based standard errors unweighted (then
  ``se(log ratio) = sqrt(1/x1 + 1/x0)``), robust (HC0 sandwich, weights as variance
  weights so that a reused control counts ``w²``) when weighted or ``robust=True``.
* ``negbin``: negative binomial (NB2, ``Var = mu + mu²/theta``, ``alpha = 1/theta``).
  Unweighted: maximum likelihood by Newton's method to convergence (:func:`negbin_fit`),
  R's ``MASS::glm.nb`` (Venables and Ripley 2002) to 1e-6; the standard error is R's
  ``summary(glm.nb)`` one, the Fisher information of the coefficients with ``theta``
  held at its estimate (``se="fixed_theta"``), or with ``se="joint"`` the observed
  information of the joint ``(b, theta)`` fit, which accounts for ``theta`` being
  estimated.  Weighted, or ``robust=True``: ``alpha`` by the weighted method of moments
  and a GLM with robust (HC0) errors (statsmodels); ``se`` does not apply.

Against a fixed baseline rate ``r0`` the model has only an intercept and the offset
``log(r0·exposure)``.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import statsmodels.api as sm
from scipy import special

from pbr.errors import SmallSampleWarning, SpecError
from pbr.stats.interval import Interval, check_level, normal_interval

__all__ = ["SE_KINDS", "NegBinFit", "negbin_fit", "rate_ratio"]


def _moment_alpha(y: np.ndarray, w: np.ndarray, group: np.ndarray) -> float:
    num = den = 0.0
    for g in (0, 1):
        k = group == g
        if not k.any():
            continue
        m = float(np.dot(w[k], y[k]) / w[k].sum())
        num += float(np.dot(w[k], (y[k] - m) ** 2 - y[k]))
        den += float(w[k].sum()) * m * m
    return max(num / den, 1e-8) if den > 0 else 1e-8


SE_KINDS = ("fixed_theta", "joint")
_MAX_STEP_LOG_THETA = 3.0


@dataclass(frozen=True)
class NegBinFit:
    """A negative binomial (NB2) regression fitted by maximum likelihood (:func:`negbin_fit`).

    Attributes
    ----------
    coef
        The coefficients ``b`` of ``log E[y] = X b + offset``.
    se, cov
        Their standard errors and covariance, of the kind ``se_kind``.
    theta, se_theta
        R's ``theta`` (``Var[y] = mu + mu² / theta``; ``alpha = 1 / theta``) and R's
        ``SE.theta`` (the observed information of theta with ``b`` held at its estimate).
        ``theta`` is ``inf`` at the Poisson boundary (no overdispersion).
    loglik
        The maximised log-likelihood (R's ``twologlik / 2``).
    iterations
        Newton steps taken.
    se_kind
        ``"fixed_theta"`` (R's ``summary(glm.nb)``) or ``"joint"``.
    note
        Why the fit is the Poisson one (no overdispersion), or None.
    """

    coef: np.ndarray
    se: np.ndarray
    cov: np.ndarray
    theta: float
    se_theta: float
    loglik: float
    iterations: int
    se_kind: str
    note: str | None = None

    @property
    def alpha(self) -> float:
        """The NB2 dispersion ``1 / theta`` (0 at the Poisson boundary)."""
        return 1.0 / self.theta


_EXACT_SUMS_MAX = 100_000


def _tail_counts(y: np.ndarray) -> np.ndarray | None:
    """``n_k = #{i: y_i > k}``, k = 0 .. max(y) - 1, or None for very large counts.

    For whole ``y``: ``lgamma(y+θ) - lgamma(θ) = Σ_{k<y} log(θ+k)``,
    ``ψ(y+θ) - ψ(θ) = Σ_{k<y} 1/(θ+k)`` and ``ψ'(y+θ) - ψ'(θ) = -Σ_{k<y} 1/(θ+k)²``;
    summed over offenders these are sums over ``k`` weighted by ``n_k``, without the
    cancellation of the gamma-function differences when ``θ`` is large (the likelihood
    is then flat in ``θ`` and its derivatives are small differences of large terms).
    """
    top = int(y.max())
    if top > _EXACT_SUMS_MAX:
        return None
    return np.cumsum(np.bincount(y.astype(np.int64), minlength=top + 1)[::-1])[::-1][1:] \
        .astype(np.float64)


def _gamma_terms(y: np.ndarray, tail: np.ndarray | None, theta: float
                 ) -> tuple[float, float, float]:
    """``Σ_i`` of ``lgamma(y+θ) - lgamma(θ)``, ``ψ(y+θ) - ψ(θ)``, ``ψ'(y+θ) - ψ'(θ)``."""
    if tail is None:
        return (float(np.sum(special.gammaln(y + theta) - special.gammaln(theta))),
                float(np.sum(special.digamma(y + theta) - special.digamma(theta))),
                float(np.sum(special.polygamma(1, y + theta) - special.polygamma(1, theta))))
    inv = 1.0 / (theta + np.arange(tail.size))
    return (float(np.dot(tail, np.log(theta + np.arange(tail.size)))),
            float(np.dot(tail, inv)), -float(np.dot(tail, inv * inv)))


def _nb_loglik(y: np.ndarray, eta: np.ndarray, theta: float,
               tail: np.ndarray | None = None) -> float:
    if math.isinf(theta):
        return float(np.sum(y * eta - np.exp(eta) - special.gammaln(y + 1)))
    mu = np.exp(eta)
    lg = _gamma_terms(y, tail, theta)[0] if tail is not None else \
        float(np.sum(special.gammaln(y + theta) - special.gammaln(theta)))
    return lg + float(np.sum(-special.gammaln(y + 1) - theta * np.log1p(mu / theta)
                             + y * (eta - np.log(theta + mu))))


def _nb_derivatives(y: np.ndarray, X: np.ndarray, eta: np.ndarray, theta: float,
                    tail: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Gradient and observed Hessian of the log-likelihood in ``(b, theta)``."""
    mu = np.exp(eta)
    tm = theta + mu
    _, dig, trig = _gamma_terms(y, tail, theta)
    g_b = X.T @ (theta * (y - mu) / tm)
    g_t = dig + float(np.sum((mu - y) / tm - np.log1p(mu / theta)))
    h_bb = -(X.T * (theta * mu * (theta + y) / tm ** 2)) @ X
    h_bt = X.T @ ((y - mu) * mu / tm ** 2)
    h_tt = trig + float(np.sum(1 / theta - 2 / tm + (y + theta) / tm ** 2))
    p = X.shape[1]
    hess = np.empty((p + 1, p + 1))
    hess[:p, :p], hess[:p, p], hess[p, :p], hess[p, p] = h_bb, h_bt, h_bt, h_tt
    return np.r_[g_b, g_t], hess


def _poisson_newton(y: np.ndarray, X: np.ndarray, offset: np.ndarray, tol: float,
                    max_iter: int) -> np.ndarray:
    b = np.zeros(X.shape[1])
    b[0] = math.log(max(float(y.mean()), 1e-10)) - float(offset.mean())
    for _ in range(max_iter):
        mu = np.exp(X @ b + offset)
        step = np.linalg.solve((X.T * mu) @ X, X.T @ (y - mu))
        b = b + step
        if np.max(np.abs(step)) < tol:
            return b
    raise SpecError(f"method='negbin': the Poisson starting fit did not converge in "
                    f"{max_iter} Newton steps; the counts may be separated (a group with "
                    f"no reoffences); use method='poisson' or check the counts")


def negbin_fit(y: Any, X: Any, *, offset: Any = None, se: str = "fixed_theta",
               tol: float = 1e-10, max_iter: int = 100) -> NegBinFit:
    """Negative binomial (NB2) regression by maximum likelihood, Newton's method.

    The log-likelihood ``Σ lgamma(y+θ) - lgamma(θ) - lgamma(y+1) + θ log θ + y log μ
    - (y+θ) log(θ+μ)`` with ``log μ = X b + offset`` (Lawless 1987; Venables and Ripley
    2002, 7.4) is maximised jointly in ``(b, log θ)`` by Newton's method with the
    observed information and step halving, from the Poisson fit and the moment estimate
    of ``θ``, until the Newton step changes no parameter by more than ``tol`` (or,
    where the likelihood is flat in ``θ``, the Newton decrement, twice the
    log-likelihood still to gain, is below ``tol²``) and the last step changed the
    log-likelihood by no more than ``tol`` relative.  It is R's ``MASS::glm.nb`` fitted
    to convergence (``glm.nb`` alternates IRLS for ``b`` and Newton for ``θ`` until its
    deviance criterion, 1e-8, is met).  When the Poisson fit shows no overdispersion
    (``Σ (y - μ)² - y <= 0``, the score of ``1/θ`` at 0) the likelihood is largest at the
    Poisson boundary ``θ = ∞``: the Poisson fit is returned with a note.

    Parameters
    ----------
    y
        Whole counts >= 0.
    X
        The design matrix (rows as ``y``), e.g. a column of ones and a group indicator.
    offset
        ``log`` exposure per row (default 0).
    se
        ``"fixed_theta"`` (default, R's ``summary(glm.nb)``): the Fisher information of
        ``b`` with ``θ`` held at its estimate, ``(X' W X)⁻¹`` with ``W = μ / (1 + μ/θ)``.
        ``"joint"``: the ``b`` block of the inverse observed information of ``(b, θ)``,
        which accounts for ``θ`` being estimated.  Equal when ``X`` is a group indicator
        and there is no offset.
    tol
        Convergence tolerance (parameters on the ``b`` and ``log θ`` scales).
    max_iter
        Newton steps allowed; more raises :class:`~pbr.errors.SpecError`, never an
        unconverged answer.

    Returns
    -------
    NegBinFit

    Examples
    --------
    >>> y = np.array([0, 1, 2, 1, 0, 3, 2, 1, 3, 2, 0, 4, 2, 6])
    >>> X = np.column_stack([np.ones(14), np.r_[np.ones(6), np.zeros(8)]])
    >>> fit = negbin_fit(y, X)          # R: glm.nb(y ~ g): 0.4667, theta 14.407
    >>> round(float(np.exp(fit.coef[1])), 4), round(fit.theta, 3)
    (0.4667, 14.407)
    """
    if se not in SE_KINDS:
        raise SpecError(f"se: must be one of {', '.join(map(repr, SE_KINDS))} "
                        f"('fixed_theta' is R's summary(glm.nb)), got {se!r}")
    y = np.asarray(y, np.float64)
    X = np.asarray(X, np.float64)
    if X.ndim == 1:
        X = X[:, None]
    off = np.zeros_like(y) if offset is None else np.asarray(offset, np.float64)
    if y.ndim != 1 or X.shape[0] != y.size or off.shape != y.shape:
        raise SpecError(f"y, X and offset: one row each per offender, got {y.shape}, "
                        f"{X.shape} and {off.shape}")
    if np.any(y < 0) or np.any(y != np.floor(y)) or not np.all(np.isfinite(off)):
        raise SpecError("y: whole counts >= 0, and a finite offset (log exposure > 0)")
    if not np.all(np.isfinite(X)) or y.size <= X.shape[1] \
            or np.linalg.matrix_rank(X) < X.shape[1]:
        raise SpecError(f"X: a finite design matrix of full column rank with more rows than "
                        f"columns is needed, got shape {X.shape}; drop repeated or constant "
                        f"columns (the intercept is the only constant one)")
    if not float(y.sum()) > 0:
        raise SpecError("y: all counts are 0, so the rate (and its log) is not estimable; "
                        "there is nothing to fit")
    b = _poisson_newton(y, X, off, tol, 100)
    mu = np.exp(X @ b + off)
    excess = float(np.sum((y - mu) ** 2 - y))
    if not excess > 0:
        cov = np.linalg.inv((X.T * mu) @ X)
        note = ("no overdispersion (sum of (y - mu)^2 - y at the Poisson fit is "
                f"{excess:.4g} <= 0): the likelihood is largest at theta = inf, the "
                "Poisson fit")
        return NegBinFit(b, np.sqrt(np.diag(cov)), cov, math.inf, math.nan,
                         _nb_loglik(y, X @ b + off, math.inf), 0, se, note)
    p = X.shape[1]
    tail = _tail_counts(y)
    par = np.r_[b, math.log(float(np.sum(mu * mu)) / excess)]   # (b, log θ)
    ll = _nb_loglik(y, X @ b + off, math.exp(par[p]), tail)
    for it in range(1, max_iter + 1):
        theta = math.exp(par[p])
        g, h = _nb_derivatives(y, X, X @ par[:p] + off, theta, tail)
        jac = np.r_[np.ones(p), theta]                  # d(b, θ)/d(b, log θ)
        g_l = g * jac
        h_l = h * np.outer(jac, jac)
        h_l[p, p] += theta * g[p]
        try:
            np.linalg.cholesky(-h_l)
            step = np.linalg.solve(-h_l, g_l)
            newton = True
        except np.linalg.LinAlgError:
            # not concave here (far from the maximum, where θ is large): a scoring step
            # for b, and for log θ a Newton step where that direction is concave, else a
            # unit step uphill; the halving below keeps only what raises the likelihood
            mu = np.exp(X @ par[:p] + off)
            up = math.copysign(1.0, g_l[p])
            step = np.r_[np.linalg.solve((X.T * (mu / (1 + mu / theta))) @ X, g_l[:p]),
                         g_l[p] / -h_l[p, p] if h_l[p, p] < 0 else up]
            newton = False
        # converged: the Newton step moves no parameter by tol, or the Newton decrement
        # g'(-H)⁻¹g (twice the log-likelihood still to gain) is below tol² (a likelihood
        # flat in θ: θ is then known to ~ tol / sqrt(-H) on the log scale)
        if newton and (np.max(np.abs(step)) < tol or float(g_l @ step) < tol * tol):
            par = par + step
            ll_new = _nb_loglik(y, X @ par[:p] + off, math.exp(par[p]), tail)
            if abs(ll_new - ll) <= tol * (1 + abs(ll)):
                ll = ll_new
                break
            ll = ll_new
            continue
        if abs(step[p]) > _MAX_STEP_LOG_THETA:
            step *= _MAX_STEP_LOG_THETA / abs(step[p])
        for _ in range(60):                            # step halving
            new = par + step
            ll_new = _nb_loglik(y, X @ new[:p] + off, math.exp(new[p]), tail)
            if ll_new >= ll - tol * (1 + abs(ll)) * 1e-3:
                break
            step = step / 2
        else:
            raise SpecError(f"method='negbin': the negative binomial likelihood could not "
                            f"be increased at Newton step {it} (theta {theta:.6g}); the "
                            f"fit does not converge on these counts: use method='poisson' "
                            f"with robust=True")
        par, ll = new, ll_new
    else:
        raise SpecError(f"method='negbin': the negative binomial fit did not converge in "
                        f"{max_iter} Newton steps (theta {math.exp(par[p]):.6g}, last "
                        f"log-likelihood {ll:.10g}); raise max_iter, or use "
                        f"method='poisson' with robust=True")
    b, theta = par[:p], math.exp(par[p])
    g, h = _nb_derivatives(y, X, X @ b + off, theta, tail)
    mu = np.exp(X @ b + off)
    if se == "fixed_theta":
        cov = np.linalg.inv((X.T * (mu / (1 + mu / theta))) @ X)
    else:
        cov = np.linalg.inv(-h)[:p, :p]
    return NegBinFit(b, np.sqrt(np.diag(cov)), cov, theta, 1 / math.sqrt(-h[p, p]), ll, it,
                     se)


def rate_ratio(y1: np.ndarray, y0: np.ndarray | float, *, w1: np.ndarray | None = None,
               w0: np.ndarray | None = None, exposure1: np.ndarray | None = None,
               exposure0: np.ndarray | None = None, method: str = "poisson",
               robust: bool | None = None, level: float = 0.95,
               alternative: str = "two-sided", se: str = "fixed_theta") -> Interval:
    """Interval and Wald test for the ratio of mean counts, cohort over comparator.

    Parameters
    ----------
    y1, w1, exposure1
        The cohort's counts, weights and exposures (e.g. days at liberty; default 1).
    y0, w0, exposure0
        The comparator's, or a fixed baseline rate per unit exposure.
    method
        ``"poisson"`` or ``"negbin"``.
    robust
        Sandwich (HC0) standard errors; default True when weighted.
    level, alternative
        Confidence level and sidedness (``"less"``: is the cohort's rate lower?).
    se
        The negative binomial maximum-likelihood fit's standard error:
        ``"fixed_theta"`` (default; R's ``summary(glm.nb)``: the Fisher information of
        the coefficients with ``theta`` held at its estimate) or ``"joint"`` (the
        observed information of ``(b, theta)`` together, accounting for ``theta`` being
        estimated).  Equal without exposures; only for ``method="negbin"`` unweighted
        and not robust.

    Returns
    -------
    Interval
        ``estimate`` the ratio, limits on the ratio scale, ``se`` of the log ratio,
        ``null = 1``.

    Examples
    --------
    >>> iv = rate_ratio(np.array([0, 1, 2, 1, 0, 3]), np.array([2, 1, 3, 2, 0, 4, 2]))
    >>> round(iv.estimate, 4), round(iv.se, 4)
    (0.5833, 0.4629)

    Negative binomial, as R's ``glm.nb(y ~ group)``; theta in the method name:

    >>> rate_ratio(np.array([0, 1, 2, 1, 0, 3]), np.array([2, 1, 3, 2, 0, 4, 2, 6]),
    ...            method="negbin").method
    'negative binomial (ML: alpha 0.06941, theta 14.41; SE with theta fixed)'

    No reoffences in the cohort: the log ratio is unbounded, and nothing is concluded.

    >>> with warnings.catch_warnings(record=True):
    ...     iv = rate_ratio(np.zeros(20), 0.43)
    >>> iv.note  # doctest: +ELLIPSIS
    'no rate ratio interval: the cohort had no reoffences, ...'
    """
    check_level(level, alternative)
    if method not in ("poisson", "negbin"):
        raise SpecError(f"method: must be 'poisson' or 'negbin', got {method!r}")
    if se not in SE_KINDS:
        raise SpecError(f"se: must be one of {', '.join(map(repr, SE_KINDS))} "
                        f"('fixed_theta' is R's summary(glm.nb)), got {se!r}")
    weighted = w1 is not None or w0 is not None
    robust = weighted if robust is None else robust
    if se != "fixed_theta" and (method != "negbin" or robust):
        raise SpecError(f"se={se!r} applies to the negative binomial maximum-likelihood "
                        f"fit (method='negbin', unweighted, robust=False); got "
                        f"method={method!r}, robust={robust}: leave se at its default")
    for name, e in (("exposure1", exposure1), ("exposure0", exposure0)):
        if e is not None and not np.all(np.asarray(e, np.float64) > 0):
            raise SpecError(f"{name}: exposures (e.g. days at liberty) must be > 0 and "
                            "not missing; leave out offenders with no time at liberty")
    y1 = np.asarray(y1, np.float64)
    if np.any(y1 < 0) or np.any(y1 != np.floor(y1)):
        raise SpecError("rate ratios need whole counts >= 0 (reoffences); use "
                        "method='welch' or 'bootstrap' for severity")
    e1 = np.ones_like(y1) if exposure1 is None else np.asarray(exposure1, np.float64)
    v1 = np.ones_like(y1) if w1 is None else np.asarray(w1, np.float64)
    if isinstance(y0, int | float):
        if not y0 > 0:
            raise SpecError(f"the baseline rate must be > 0, got {y0!r}")
        y, w, group = y1, v1, np.ones(y1.size, np.int8)
        X = np.ones((y1.size, 1))
        offset = np.log(e1 * float(y0))
    else:
        y0 = np.asarray(y0, np.float64)
        e0 = np.ones_like(y0) if exposure0 is None else np.asarray(exposure0, np.float64)
        v0 = np.ones_like(y0) if w0 is None else np.asarray(w0, np.float64)
        y = np.concatenate([y1, y0])
        w = np.concatenate([v1, v0])
        group = np.concatenate([np.ones(y1.size, np.int8), np.zeros(y0.size, np.int8)])
        X = np.column_stack([np.ones(y.size), group.astype(np.float64)])
        offset = np.log(np.concatenate([e1, e0]))
    keep = w > 0
    y, w, group, X, offset = y[keep], w[keep], group[keep], X[keep], offset[keep]
    empty = [who for who, g in (("the cohort", 1), ("the comparator", 0))
             if (group == g).any() and not float(np.dot(w[group == g], y[group == g])) > 0]
    if empty:
        est = 0.0 if "the cohort" in empty and len(empty) == 1 else math.nan
        if empty == ["the comparator"]:
            est = math.inf
        why = (f"no rate ratio interval: {' and '.join(empty)} had no reoffences, so the "
               "log ratio is unbounded")
        warnings.warn(why, SmallSampleWarning, stacklevel=2)
        return Interval(est, math.nan, math.nan, level, alternative, method, None, math.nan,
                        math.nan, 1.0, note=why)
    cov = "HC0" if robust else "nonrobust"
    note: str | None = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if method == "poisson":
            fit = sm.GLM(y, X, family=sm.families.Poisson(), offset=offset,
                         var_weights=w).fit(cov_type=cov)
            name = "poisson"
        elif method == "negbin" and not weighted and not robust:
            fit = negbin_fit(y, X, offset=offset, se=se)
            if math.isinf(fit.theta):
                name = "negative binomial (ML: alpha 0, theta inf: the Poisson fit)"
            else:
                name = (f"negative binomial (ML: alpha {fit.alpha:.4g}, theta "
                        f"{fit.theta:.4g}; SE "
                        f"{'with theta fixed' if se == 'fixed_theta' else 'joint'})")
            note = fit.note
        elif method == "negbin":
            alpha = _moment_alpha(y, w, group)
            fam = sm.families.NegativeBinomial(alpha=alpha)
            fit = sm.GLM(y, X, family=fam, offset=offset, var_weights=w).fit(cov_type=cov)
            name = f"negative binomial (moment alpha {alpha:.4g})"
    j = X.shape[1] - 1
    if isinstance(fit, NegBinFit):
        b, s = float(fit.coef[j]), float(fit.se[j])
    else:
        b, s = float(np.asarray(fit.params)[j]), float(np.asarray(fit.bse)[j])
    if robust:
        name += ", robust"
    iv = normal_interval(b, s, level, alternative, name)
    return Interval(math.exp(b), math.exp(iv.lower), math.exp(iv.upper), level, alternative,
                    name, s, iv.statistic, iv.p_value, 1.0, note=note)
