"""Poisson and negative binomial rate ratios against closed forms and a direct MLE."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import optimize, special

from pbr.errors import SpecError
from pbr.stats import rate_ratio


def _data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(5)
    y1 = rng.negative_binomial(1.0, 1 / (1 + 1.1), 300).astype(float)
    y0 = rng.negative_binomial(1.0, 1 / (1 + 1.5), 500).astype(float)
    return y1, y0


def test_poisson_is_the_ratio_of_means_with_sqrt_1_over_counts() -> None:
    y1, y0 = _data()
    iv = rate_ratio(y1, y0)
    assert iv.estimate == pytest.approx(y1.mean() / y0.mean(), rel=1e-9)
    se = math.sqrt(1 / y1.sum() + 1 / y0.sum())
    assert iv.se == pytest.approx(se, rel=1e-6)
    assert iv.upper == pytest.approx(iv.estimate * math.exp(1.959963984540054 * se), rel=1e-6)
    assert iv.null == 1.0


def test_poisson_against_a_baseline_rate() -> None:
    y1, _ = _data()
    iv = rate_ratio(y1, 1.5)
    assert iv.estimate == pytest.approx(y1.mean() / 1.5, rel=1e-9)
    assert iv.se == pytest.approx(1 / math.sqrt(y1.sum()), rel=1e-6)


def test_weighted_robust_poisson_is_the_weighted_mean_sandwich() -> None:
    y1, y0 = _data()
    w = np.random.default_rng(2).uniform(0.3, 2.5, y0.size)
    iv = rate_ratio(y1, y0, w0=w)
    m1, m0 = y1.mean(), np.average(y0, weights=w)
    v1 = ((y1 - m1) ** 2).sum() / y1.size ** 2
    v0 = (w ** 2 * (y0 - m0) ** 2).sum() / w.sum() ** 2
    assert iv.estimate == pytest.approx(m1 / m0, rel=1e-9)
    assert iv.se == pytest.approx(math.sqrt(v1 / m1 ** 2 + v0 / m0 ** 2), rel=1e-6)


def test_negative_binomial_is_the_maximum_likelihood_fit() -> None:
    y1, y0 = _data()
    y = np.r_[y1, y0]
    x = np.r_[np.ones(y1.size), np.zeros(y0.size)]

    def nll(theta: np.ndarray) -> float:
        a, b, log_alpha = theta
        mu = np.exp(a + b * x)
        size = 1 / math.exp(log_alpha)
        return -float(np.sum(special.gammaln(y + size) - special.gammaln(size)
                             - special.gammaln(y + 1) + size * np.log(size / (size + mu))
                             + y * np.log(mu / (size + mu))))

    best = optimize.minimize(nll, [0.0, 0.0, 0.0], method="Nelder-Mead",
                             options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 20000})
    iv = rate_ratio(y1, y0, method="negbin")
    assert iv.estimate == pytest.approx(math.exp(best.x[1]), rel=1e-5)
    assert f"alpha {math.exp(best.x[2]):.3g}"[:10] in iv.method


def test_counts_only() -> None:
    with pytest.raises(SpecError, match="whole counts"):
        rate_ratio(np.array([0.5, 1.0]), np.array([1.0, 2.0]))
    with pytest.raises(SpecError, match="method"):
        rate_ratio(np.array([0.0, 1.0]), np.array([1.0, 2.0]), method="zip")
