"""hits_power: the Fisher-z minimum detectable rho has the power it claims, and the stage stores it."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps

from bgmscope.errors import ParameterError
from bgmscope.hits import power


def test_min_detectable_rho_has_80_percent_power_by_simulation():
    n, alpha = 60, 0.05
    rho_s = power.min_detectable_rho(n, alpha=alpha, power=0.8)
    r = 2 * np.sin(np.pi * rho_s / 6)  # the Pearson rho of a bivariate normal with this Spearman rho
    rng = np.random.default_rng(0)
    sims = 600
    x = rng.normal(size=(sims, n))
    y = r * x + np.sqrt(1 - r**2) * rng.normal(size=(sims, n))
    p = np.array([sps.spearmanr(x[i], y[i]).pvalue for i in range(sims)])
    assert 0.74 <= (p < alpha).mean() <= 0.86


def test_more_songs_and_laxer_alpha_detect_smaller_effects():
    m = power.min_detectable_rho
    assert m(120) < m(60) < m(30)
    assert m(120, alpha=0.05) < m(120, alpha=0.005) < m(120, alpha=0.05 / 200)
    assert 0.24 < m(120) < 0.28  # the familiar figure: ~0.25 at n = 120 for one test
    assert np.isnan(m(3))
    with pytest.raises(ParameterError):
        m(50, alpha=0)


def test_power_table_and_sentence():
    import pandas as pd

    corr = pd.DataFrame({"target": ["user_count"] * 200 + ["rank"] * 200, "n": [120] * 400})
    tab = power.power_table({"descriptors": corr, "tags": pd.DataFrame(columns=["target", "n"])})
    assert list(tab.columns) == power.COLUMNS and len(tab) == 6
    uc = tab[tab["target"] == "user_count"].set_index("alpha_kind")
    assert uc.loc["bonferroni", "alpha"] == pytest.approx(0.05 / 200) and (uc["n_tests"] == 200).all()
    assert uc.loc["per_test", "min_detectable_rho"] < uc.loc["bh_10pct", "min_detectable_rho"] \
        < uc.loc["bonferroni", "min_detectable_rho"]
    s = power.power_sentence(tab, "descriptors", "user_count")
    assert "n = 120 songs" in s and f"|ρ| ≥ {uc.loc['per_test', 'min_detectable_rho']:.2f}" in s
    assert power.power_sentence(tab, "tags", "user_count") is None
