"""Holm and Benjamini-Hochberg against statsmodels' multipletests (property-based)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from statsmodels.stats.multitest import multipletests

from pbr.errors import SpecError
from pbr.stats import adjust_p, benjamini_hochberg, holm

ps = st.lists(st.floats(0.0, 1.0), min_size=1, max_size=30).map(np.array)


def _holm_by_definition(p: np.ndarray) -> np.ndarray:
    """adjusted p_(i) = max_{j <= i} min(1, (m - j + 1) p_(j)), in sorted order."""
    m, order = p.size, np.argsort(p, kind="stable")
    out = np.empty(m)
    for i in range(m):
        out[order[i]] = max(min(1.0, (m - j) * p[order[j]]) for j in range(i + 1))
    return out


def _bh_by_definition(p: np.ndarray) -> np.ndarray:
    """adjusted p_(i) = min_{j >= i} min(1, m p_(j) / j), in sorted order."""
    m, order = p.size, np.argsort(p, kind="stable")
    out = np.empty(m)
    for i in range(m):
        out[order[i]] = min(min(1.0, m * p[order[j]] / (j + 1)) for j in range(i, m))
    return out


@given(ps)
def test_matches_the_definitions(p) -> None:
    assert np.allclose(holm(p), _holm_by_definition(p))
    assert np.allclose(benjamini_hochberg(p), _bh_by_definition(p))
    assert np.all(holm(p) >= p - 1e-15) and np.all(benjamini_hochberg(p) <= holm(p) + 1e-15)


def test_matches_statsmodels() -> None:
    rng = np.random.default_rng(0)
    for p in (rng.uniform(size=12), rng.uniform(0, 0.1, size=25), np.array([0.2, 0.2, 0.01])):
        assert np.allclose(holm(p), multipletests(p, method="holm")[1])
        assert np.allclose(benjamini_hochberg(p), multipletests(p, method="fdr_bh")[1])


def test_hand_worked_and_missing_values() -> None:
    assert holm(np.array([0.01, 0.04, 0.03])).tolist() == pytest.approx([0.03, 0.06, 0.06])
    out = adjust_p(np.array([0.01, np.nan, 0.04]), "bh")
    assert np.isnan(out[1]) and out[[0, 2]].tolist() == pytest.approx([0.02, 0.04])
    with pytest.raises(SpecError, match="correction"):
        adjust_p(np.array([0.1]), "bonferroni")
