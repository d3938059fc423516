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


@given(ps)
def test_matches_statsmodels(p) -> None:
    assert np.allclose(holm(p), multipletests(p, method="holm")[1])
    assert np.allclose(benjamini_hochberg(p), multipletests(p, method="fdr_bh")[1])
    assert np.all(holm(p) >= p - 1e-15) and np.all(benjamini_hochberg(p) <= holm(p) + 1e-15)


def test_hand_worked_and_missing_values() -> None:
    assert holm(np.array([0.01, 0.04, 0.03])).tolist() == pytest.approx([0.03, 0.06, 0.06])
    out = adjust_p(np.array([0.01, np.nan, 0.04]), "bh")
    assert np.isnan(out[1]) and out[[0, 2]].tolist() == pytest.approx([0.02, 0.04])
    with pytest.raises(SpecError, match="correction"):
        adjust_p(np.array([0.1]), "bonferroni")
