"""Seed noise: the pooled within-configuration SD, the smallest detectable difference and
the seeds a target difference needs. Pure.

Power is the exact noncentral-t power of the paired t-test, from statsmodels
(`statsmodels.stats.power.TTestPower`, one-sample/paired, two-sided). This used to be the
central-t approximation (t_{1-alpha/2} + t_{power}) * sigma_d / sqrt(n), kept because
switching changed the page's numbers; issue 15 asks for the exact power, and the
approximation is optimistic at few seeds, exactly where the page is read: sd 2.345,
alpha 0.05, power 0.8 gives MDE 33.03 (approx.) vs 38.30 (exact) at n = 2, 10.27 vs
10.82 at n = 3, 5.51 vs 5.58 at n = 5, 3.299 vs 3.303 at n = 10. statsmodels' power
function has none of the `gc.collect()` cost of its Holm (`ablate.stats.adjust`);
`seeds_needed` bisects over n on it and `mde` finds its root with scipy's brentq (statsmodels' own `solve_power` returned an array, not a
number, for some inputs, and inherits the NaN of `paired_power`). The statsmodels
import (~3 s cold on the CI machine) happens on first use only.

Seed noise is computed only from repeated seeds of one configuration: every factor,
nuisance ones included, fixed. In a tuned sweep the trials are different
configurations at one seed each; their spread is not seed noise, so there is none.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats as sps
from scipy.optimize import brentq

from ablate.stats.contrast import SEED, Y, display, groups
from ablate.stats.model import Effect, Factor, Response, SeedNoise
from ablate.stats.ttest import ALPHA, variance

if TYPE_CHECKING:
    from statsmodels.stats.power import TTestPower

POWER = 0.8
MAX_SEEDS = 1000  # seeds_needed gives up above this
# why a SeedNoise has no SD
NO_REPEATS = "no configuration has 2 seeds"
TUNED_TRIALS = (
    "no repeated seeds of one configuration: the trials are different configurations, one seed each"
)


@lru_cache(maxsize=1)
def _power() -> TTestPower:
    from statsmodels.stats.power import TTestPower

    return TTestPower()


def paired_power(
    effect_size: float | np.ndarray, n: int | np.ndarray, alpha: float = ALPHA
) -> np.ndarray:
    """Exact two-sided power of the paired (one-sample) t-test, df = n - 1, for a
    standardised effect d = delta / sigma_d >= 0 (noncentral t, statsmodels).

    Summed from statsmodels' two one-sided pieces at alpha / 2, because with scipy 1.17
    its noncentral-t tails return NaN far from the critical value: the far tail
    P(T' < -t_crit) (at most alpha / 2; e.g. d 4.9, n 3, where the power is 0.974) counts
    as 0, and the near tail P(T' > t_crit) as 1 where the noncentrality exceeds t_crit
    (measured: NaN only with d sqrt(n) - t_crit >= 33.6, d up to 8 and n up to 3000, where
    the power is 1 to double precision), else 0."""
    pw = _power()
    d = np.asarray(effect_size, dtype=float)
    ns = np.asarray(n, dtype=float)
    upper = np.asarray(
        pw.power(effect_size=d, nobs=ns, alpha=alpha / 2.0, alternative="larger"), dtype=float
    )
    lower = np.asarray(
        pw.power(effect_size=d, nobs=ns, alpha=alpha / 2.0, alternative="smaller"), dtype=float
    )
    far = d * np.sqrt(ns) > sps.t.isf(alpha / 2.0, ns - 1)
    upper = np.where(np.isnan(upper), np.where(far, 1.0, 0.0), upper)
    return np.asarray(upper + np.nan_to_num(lower), dtype=float)


def mde(sd: float, n: int, alpha: float = ALPHA, power: float = POWER) -> float | None:
    """Smallest paired difference detectable with n seeds per cell, two-sided, at `power`:
    d * sigma_d where the exact noncentral-t power (`paired_power`, df = n - 1) of d is
    `power`, sigma_d = sqrt(2) * sd (independent seeds: no gain from pairing assumed).
    None where n < 2 or sd is NaN; 0 where sd is 0.
    """
    if n < 2 or math.isnan(sd):
        return None
    if sd == 0.0:
        return 0.0
    return _detectable_d(n, alpha, power) * math.sqrt(2.0) * sd


@lru_cache(maxsize=256)
def _detectable_d(n: int, alpha: float, power: float) -> float:
    """The standardised effect d whose exact paired power at n is `power` (no sd: cached
    per n, the report asks for the same n once per response)."""

    def gap(d: float) -> float:
        return float(paired_power(d, n, alpha)[()]) - power

    hi = 1.0
    while gap(hi) < 0:  # power rises with d: bracket the root
        hi *= 2.0
    return float(brentq(gap, 0.0, hi, xtol=1e-12, rtol=1e-12))


def _smallest_n(effect_size: float, alpha: float, power: float, limit: int) -> int | None:
    """Smallest n in 2..limit whose exact paired power for `effect_size` is >= power.

    Power rises with n (fixed d > 0), so this bisects: ~log2(limit) power calls, not
    one per n (the report asks once per effect and response)."""
    if effect_size == math.inf:
        return 2

    def ok(n: int) -> bool:
        return bool(paired_power(effect_size, n, alpha)[()] >= power)

    limit = max(2, limit)
    if not ok(limit):
        return None
    lo, hi = 1, limit  # ok(hi); lo is below 2 or fails
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if mid >= 2 and ok(mid):
            hi = mid
        else:
            lo = mid
    return hi


def seeds_needed(
    sd: float, target: float, alpha: float = ALPHA, power: float = POWER
) -> int | None:
    """Smallest n >= 2 seeds per cell whose exact power to detect `target` (display units)
    is >= `power`, i.e. mde(sd, n) <= target; None beyond MAX_SEEDS or without sd."""
    if math.isnan(sd) or target <= 0:
        return None
    if sd == 0.0:
        return 2
    return _smallest_n(target / (math.sqrt(2.0) * sd), alpha, power, MAX_SEEDS)


def effect_seeds_needed(
    e: Effect, se: float | None, margin: float, alpha: float = ALPHA, power: float = POWER
) -> int | None:
    """Seeds per cell at which this effect's test detects a difference of one `margin`
    with `power` (exact paired power, before Holm), from its own SE: the SD of one unit
    is se * sqrt(units), a unit being a (context, seed) pair (paired) or, approximately,
    a pair of runs (Welch: units = n / 2), and each seed adds units / seeds of them.
    None without an SE, or beyond MAX_SEEDS."""
    if se is None or e.seeds < 1 or e.n < 2 or margin <= 0:
        return None
    units = e.n if e.method == "paired" else e.n / 2.0
    per_seed = units / e.seeds
    if se == 0.0:
        return max(2, e.seeds)
    sd_unit = se * math.sqrt(units)
    n = _smallest_n(margin / sd_unit, alpha, power, int(MAX_SEEDS * per_seed))
    return None if n is None else max(2, math.ceil(n / per_seed))


def _config_values(
    df: pd.DataFrame, factors: Sequence[Factor], response: Response
) -> list[list[float]]:
    """Seed values (display units) of each configuration: every factor fixed."""
    data = display(df, response)
    keys = [f.key for f in factors if f.key in data.columns]
    return [g.sort_values(SEED)[Y].astype(float).tolist() for _, g in groups(data, keys)]


def seed_noise(
    df: pd.DataFrame, factors: Sequence[Factor], response: Response, target: float = 1.0
) -> SeedNoise:
    """Pooled within-configuration SD (display units) over configurations with >= 2 seeds,
    and what it implies.

    A configuration fixes every factor in `factors`, nuisance ones included (pass all of
    the sweep's factors). pooled SD = sqrt(sum (n_i - 1) s_i^2 / sum (n_i - 1)),
    df = sum (n_i - 1). `seeds` is the smallest number of seeds over all configurations
    (the weakest decides what can be detected); `mde` is at that n, `seeds_needed` for
    `target` (display units). Without any repeated configuration the SD is NaN and
    `why` says so (`TUNED_TRIALS` where the factors include nuisance ones).
    """
    values = [v for v in _config_values(df, factors, response) if v]
    seeds = min((len(v) for v in values), default=0)
    reps = [v for v in values if len(v) >= 2]
    dof = sum(len(v) - 1 for v in reps)
    if dof == 0:
        tuned = any(f.role == "nuisance" for f in factors)
        why = TUNED_TRIALS if tuned and len(values) > 1 else NO_REPEATS
        return SeedNoise(response.key, math.nan, 0, seeds, None, target, None, why)
    ss = sum((len(v) - 1) * variance(np.asarray(v, dtype=float)) for v in reps)
    sd = math.sqrt(ss / dof)
    return SeedNoise(response.key, sd, dof, seeds, mde(sd, seeds), target, seeds_needed(sd, target))
