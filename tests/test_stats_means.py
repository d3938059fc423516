"""Welch's t on per-offender values against scipy and statsmodels (weighted)."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from pbr.stats import diff_means, group_mean


def _data(seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.poisson(1.2, 90).astype(float), rng.poisson(1.6, 140).astype(float)


@pytest.mark.parametrize("alternative", ["two-sided", "less", "greater"])
def test_unweighted_is_scipys_welch(alternative: str) -> None:
    y1, y0 = _data()
    iv = diff_means(y1, y0, level=0.9, alternative=alternative)
    ref = stats.ttest_ind(y1, y0, equal_var=False, alternative=alternative)
    ci = ref.confidence_interval(0.9)
    assert iv.statistic == pytest.approx(ref.statistic, rel=1e-12)
    assert iv.p_value == pytest.approx(ref.pvalue, rel=1e-10)
    assert (iv.lower, iv.upper) == pytest.approx((ci.low, ci.high), rel=1e-10)


def test_fixed_baseline_is_the_one_sample_t() -> None:
    y1, _ = _data()
    iv = diff_means(y1, 1.5)
    ref = stats.ttest_1samp(y1, 1.5)
    assert iv.p_value == pytest.approx(ref.pvalue, rel=1e-10)
    assert iv.lower + 1.5 == pytest.approx(ref.confidence_interval().low, rel=1e-10)


def test_weighted_variance_is_the_wls_hc1_sandwich() -> None:
    _, y0 = _data()
    w = np.random.default_rng(1).uniform(0.2, 3.0, y0.size)
    g = group_mean(y0, w)
    fit = sm.WLS(y0, np.ones((y0.size, 1)), weights=w).fit(cov_type="HC1")
    assert g.mean == pytest.approx(float(fit.params[0]), rel=1e-12)
    assert g.var == pytest.approx(float(fit.bse[0]) ** 2, rel=1e-10)
    assert g.n_eff == pytest.approx(w.sum() ** 2 / (w ** 2).sum())


def test_zero_weights_drop_offenders() -> None:
    y1, y0 = _data()
    w = np.r_[np.ones(100), np.zeros(40)]
    a = diff_means(y1, y0, w0=w)
    b = diff_means(y1, y0[:100], w0=np.ones(100))
    assert (a.estimate, a.lower, a.upper) == pytest.approx((b.estimate, b.lower, b.upper))


values = st.lists(st.integers(0, 8), min_size=3, max_size=40).map(
    lambda v: np.array(v, float)).filter(lambda a: a.std() > 0)


@given(values, values, st.floats(0.5, 0.98))
def test_properties(y1, y0, level) -> None:
    iv = diff_means(y1, y0, level=level)
    ones = diff_means(y1, y0, w1=np.ones_like(y1), w0=np.ones_like(y0), level=level)
    wider = diff_means(y1, y0, level=min(0.99, level + 0.01))
    assert iv.lower <= iv.estimate <= iv.upper
    assert (ones.lower, ones.upper) == pytest.approx((iv.lower, iv.upper), rel=1e-9)
    assert wider.lower <= iv.lower and iv.upper <= wider.upper
