"""Bootstrap: seeded bytes, the kernel against numpy, agreement with Welch for a large
sample, and the cluster bootstrap's wider interval for correlated matched sets."""

from __future__ import annotations

import numpy as np
import pytest

from pbr._kernels.resampling import gather_sums
from pbr.errors import SpecError
from pbr.stats import bootstrap_interval, bootstrap_replicates, diff_means


def test_kernel_equals_numpy_gather() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=500), rng.uniform(size=500)
    idx = rng.integers(0, 500, size=(37, 500), dtype=np.uint32)
    sa, sb = np.empty(37), np.empty(37)
    gather_sums(idx, a, b, sa, sb)
    assert np.allclose(sa, a[idx].sum(axis=1)) and np.allclose(sb, b[idx].sum(axis=1))


def test_same_seed_same_bytes_other_seed_other_bytes() -> None:
    rng = np.random.default_rng(1)
    y1, y0 = rng.poisson(1.0, 200).astype(float), rng.poisson(1.3, 300).astype(float)
    a = bootstrap_replicates(y1, y0, seed=4, n_resamples=500)
    assert a.tobytes() == bootstrap_replicates(y1, y0, seed=4, n_resamples=500).tobytes()
    assert a.tobytes() != bootstrap_replicates(y1, y0, seed=5, n_resamples=500).tobytes()


def test_percentile_interval_agrees_with_welch_for_a_large_sample() -> None:
    rng = np.random.default_rng(2)
    y1, y0 = rng.poisson(1.0, 3000).astype(float), rng.poisson(1.2, 3000).astype(float)
    boot = bootstrap_interval(y1, y0, seed=0, n_resamples=2000)
    welch = diff_means(y1, y0)
    assert boot.estimate == pytest.approx(welch.estimate)
    assert boot.lower == pytest.approx(welch.lower, abs=0.01)
    assert boot.upper == pytest.approx(welch.upper, abs=0.01)
    assert boot.se == pytest.approx(welch.se, rel=0.1)


def test_unit_weights_change_nothing_and_ratio_statistic() -> None:
    rng = np.random.default_rng(3)
    y1, y0 = rng.poisson(1.0, 100).astype(float), rng.poisson(1.2, 120).astype(float)
    a = bootstrap_interval(y1, y0, seed=1, n_resamples=300)
    b = bootstrap_interval(y1, y0, w1=np.ones(100), w0=np.ones(120), seed=1,
                           n_resamples=300)
    assert (a.lower, a.upper) == (b.lower, b.upper)
    r = bootstrap_interval(y1, y0, statistic="ratio", seed=1, n_resamples=300)
    assert r.null == 1.0 and r.lower < y1.mean() / y0.mean() < r.upper


def test_cluster_bootstrap_keeps_the_correlation_within_matched_sets() -> None:
    """Treated offenders and their controls share a set effect, which cancels in the
    difference: resampling whole sets keeps that (narrower interval); resampling
    offenders separately ignores it (Austin and Small 2014)."""
    rng = np.random.default_rng(4)
    sets = 150
    effect = rng.normal(0, 2.0, sets)
    c1 = np.arange(sets)
    c0 = np.repeat(np.arange(sets), 3)
    y1 = effect[c1] + rng.normal(0, 0.5, sets)
    y0 = effect[c0] + rng.normal(0, 0.5, c0.size)
    flat = bootstrap_interval(y1, y0, seed=0, n_resamples=1000)
    clus = bootstrap_interval(y1, y0, clusters1=c1, clusters0=c0, seed=0, n_resamples=1000)
    assert clus.upper - clus.lower < flat.upper - flat.lower  # positive within-set correlation
    assert "cluster" in clus.method


def test_errors() -> None:
    with pytest.raises(SpecError, match="both"):
        bootstrap_interval(np.ones(5), np.ones(5), clusters1=np.arange(5))
    with pytest.raises(SpecError, match="n_resamples"):
        bootstrap_interval(np.ones(5), np.ones(5), n_resamples=3)
