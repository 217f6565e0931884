"""Seed noise: the pooled within-cell SD, the smallest detectable difference and the seeds
a target difference needs. Pure.

Why not `statsmodels.stats.power.TTestPower().solve_power` (exact noncentral-t power)?
The report's numbers, and the hand-computed tests, are the usual central-t
approximation (t_{1-alpha/2} + t_{power}) * sigma_d / sqrt(n). The exact MDE is larger
at few seeds: sd 2.345 (var 5.5), alpha 0.05, power 0.8 gives 33.03 vs 38.31 at n = 2,
10.27 vs 10.83 at n = 3, 5.51 vs 5.58 at n = 5, 3.299 vs 3.303 at n = 10 (approx. vs
exact), so switching would change the page and break tests/test_report_stats.py.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats as sps

from ablate.stats.configs import cell_values
from ablate.stats.model import Factor, Response, SeedNoise
from ablate.stats.ttest import ALPHA, variance

POWER = 0.8
MAX_SEEDS = 1000  # seeds_needed gives up above this


def mde(sd: float, n: int, alpha: float = ALPHA, power: float = POWER) -> float | None:
    """Smallest paired difference detectable with n seeds per cell, two-sided:
    (t_{1-alpha/2} + t_{power}) * sqrt(2) * sd / sqrt(n), both t with df = n - 1.
    sigma_d = sqrt(2) * sd assumes independent seeds (no gain from pairing).
    None where n < 2 or sd is NaN.
    """
    if n < 2 or math.isnan(sd):
        return None
    t_a = float(sps.t.ppf(1.0 - alpha / 2.0, n - 1))
    t_b = float(sps.t.ppf(power, n - 1))
    return (t_a + t_b) * math.sqrt(2.0) * sd / math.sqrt(n)


def seeds_needed(
    sd: float, target: float, alpha: float = ALPHA, power: float = POWER
) -> int | None:
    """Smallest n >= 2 with mde(sd, n) <= target; None beyond MAX_SEEDS or without sd.

    MDE falls as n grows (both quantiles and 1/sqrt(n) fall), so this bisects."""
    if math.isnan(sd) or target <= 0:
        return None
    last = mde(sd, MAX_SEEDS, alpha, power)
    if last is None or last > target:
        return None
    lo, hi = 1, MAX_SEEDS  # mde(lo) > target (or undefined), mde(hi) <= target
    while hi - lo > 1:
        mid = (lo + hi) // 2
        d = mde(sd, mid, alpha, power)
        if d is not None and d <= target:
            hi = mid
        else:
            lo = mid
    return hi


def seed_noise(
    df: pd.DataFrame, factors: Sequence[Factor], response: Response, target: float = 1.0
) -> SeedNoise:
    """Pooled within-cell SD (display units) over cells with >= 2 seeds, and what it implies.

    pooled SD = sqrt(sum (n_i - 1) s_i^2 / sum (n_i - 1)), df = sum (n_i - 1).
    `seeds` is the smallest number of seeds over all cells (the weakest cell decides
    what can be detected); `mde` is at that n, `seeds_needed` for `target` (display units).
    """
    values = [v for v in cell_values(df, factors, response).values() if v]
    seeds = min((len(v) for v in values), default=0)
    reps = [v for v in values if len(v) >= 2]
    dof = sum(len(v) - 1 for v in reps)
    if dof == 0:
        return SeedNoise(response.key, math.nan, 0, seeds, None, target, None)
    ss = sum((len(v) - 1) * variance(np.asarray(v, dtype=float)) for v in reps)
    sd = math.sqrt(ss / dof)
    return SeedNoise(response.key, sd, dof, seeds, mde(sd, seeds), target, seeds_needed(sd, target))
