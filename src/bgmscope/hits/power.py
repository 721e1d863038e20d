"""What the sample could have found: the smallest rank correlation detectable at 80 % power.

Fisher-z approximation for Spearman's rho: ``atanh(r_s)`` is about normal with variance
``1.06 / (n - 3)`` (Fieller, Hartley & Pearson 1957; the 1.06 widens Pearson's ``1 / (n - 3)``
for ranks), so a two-sided test at level ``alpha`` detects a true ``|rho|`` with probability
``power`` when ``atanh(|rho|) >= (z[1 - alpha/2] + z[power]) * sqrt(1.06 / (n - 3))``.

Three levels per family of tests, because a discovery must survive the FDR step, not just p < 0.05:

``per_test``     alpha itself (one test alone)
``bh_10pct``     alpha * 0.1: Benjamini–Hochberg's threshold when a tenth of the tests are real effects
                 (BH rejects the k-th smallest p at k * alpha / m)
``bonferroni``   alpha / m: BH's threshold when one test is real (the strictest case)
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import ParameterError

COLUMNS = ["family", "target", "n", "n_tests", "alpha_kind", "alpha", "power", "min_detectable_rho"]
SPEARMAN_VAR = 1.06  # var(atanh r_s) * (n - 3) under bivariate normality
BH_REAL_FRACTION = 0.1


def min_detectable_rho(n: int, *, alpha: float = 0.05, power: float = 0.8) -> float:
    """Smallest true |Spearman rho| a two-sided test at ``alpha`` finds with probability ``power``
    among ``n`` songs (NaN below 4 songs; 1.0 would mean nothing is detectable)."""
    if not (0 < alpha < 1 and 0 < power < 1):
        raise ParameterError(f"alpha and power must be in (0, 1), got {alpha}, {power}")
    if n < 4:
        return float("nan")
    z = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
    return float(np.tanh(z * np.sqrt(SPEARMAN_VAR / (n - 3))))


def power_rows(family: str, target: str, n: int, n_tests: int, *, alpha: float = 0.05,
               power: float = 0.8) -> list[dict]:
    """The three ``hits_power`` rows of one family of tests of one target."""
    levels = {"per_test": alpha, "bh_10pct": alpha * BH_REAL_FRACTION, "bonferroni": alpha / max(n_tests, 1)}
    return [{"family": family, "target": target, "n": int(n), "n_tests": int(n_tests), "alpha_kind": kind,
             "alpha": a, "power": power, "min_detectable_rho": min_detectable_rho(n, alpha=a, power=power)}
            for kind, a in levels.items()]


def power_table(tests: dict[str, pd.DataFrame], *, alpha: float = 0.05, power: float = 0.8) -> pd.DataFrame:
    """``hits_power`` from tables of tests (family name -> frame with ``target`` and ``n``): per
    family and target, n is the most songs any of its tests had and n_tests how many tests BH
    corrected over."""
    rows = []
    for family, tab in tests.items():
        if tab is None or tab.empty:
            continue
        for target, g in tab.groupby("target", sort=False):
            rows += power_rows(family, str(target), int(g["n"].max()), len(g), alpha=alpha, power=power)
    return pd.DataFrame(rows, columns=COLUMNS)


def power_sentence(table: pd.DataFrame, family: str, target: str) -> str | None:
    """"with n = 120 songs only effects |ρ| ≥ 0.26 could be detected ..." for one family and target."""
    g = table[(table["family"] == family) & (table["target"] == target)].set_index("alpha_kind")
    if g.empty:
        return None
    r = g.loc["per_test"]
    pct = round(100 * float(r["power"]))
    return (f"{target} ({family}): with n = {int(r['n'])} songs only effects |ρ| ≥ "
            f"{r['min_detectable_rho']:.2f} could be detected at {pct} % power (one test, α = {r['alpha']:g}); "
            f"after the FDR step over {int(r['n_tests'])} tests about |ρ| ≥ {g.loc['bh_10pct', 'min_detectable_rho']:.2f} "
            f"if a tenth are real effects, |ρ| ≥ {g.loc['bonferroni', 'min_detectable_rho']:.2f} if only one is; "
            "smaller effects may exist unseen")
