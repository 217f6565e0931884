"""Alpha spending over planned looks, and one look's decisions as array arithmetic. Pure.

`spent` and `look_alphas` are the schedule of `ablate.stats.settle` (see its docstring
for the rule and its sources). `look_states` is the same decision as `settle` makes at
one look (two-sided t-test and TOST on the same estimate/SE/df, Holm over the effects
of the family, each family at the look's alpha), written over numpy arrays so that
many simulated sweeps run at once (`benchmarks/settle_false_positives.py`);
tests/test_settle_rule.py checks that it agrees with `settle` on the report's own
statistics.
"""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats as sps

from ablate.stats.equivalence import tost_p
from ablate.stats.ttest import ALPHA

# state codes of `look_states`
OPEN, BETTER, WORSE, EQUIVALENT = 0, 1, 2, 3
STATE_NAMES = {OPEN: "open", BETTER: "better", WORSE: "worse", EQUIVALENT: "equivalent"}


def spent(t: float, alpha: float = ALPHA) -> float:
    """O'Brien-Fleming-type cumulative alpha at information fraction t in [0, 1]:
    2 - 2 Phi(z_{1 - alpha/2} / sqrt(t)) (Lan & DeMets 1983); 0 at t = 0, alpha at 1."""
    if t <= 0.0:
        return 0.0
    nd = NormalDist()
    z = nd.inv_cdf(1.0 - alpha / 2.0)
    return 2.0 - 2.0 * nd.cdf(z / min(t, 1.0) ** 0.5)


def check_plan(min_seeds: int, max_seeds: int) -> None:
    """ValueError unless 2 <= min_seeds <= max_seeds."""
    if not 2 <= min_seeds <= max_seeds:
        raise ValueError(
            f"seeds: min {min_seeds} and max {max_seeds}: need 2 <= min <= max "
            "(a look needs 2 seeds for an interval)"
        )


def look_alphas(min_seeds: int, max_seeds: int, alpha: float = ALPHA) -> list[float]:
    """The alpha each planned look spends, looks at n = min..max seeds, information
    fraction n / max: the first spends spent(min / max), look n spends
    spent(n / max) - spent((n - 1) / max). They sum to spent(1) = alpha."""
    check_plan(min_seeds, max_seeds)
    out = [spent(min_seeds / max_seeds, alpha)]
    out += [
        spent(n / max_seeds, alpha) - spent((n - 1) / max_seeds, alpha)
        for n in range(min_seeds + 1, max_seeds + 1)
    ]
    return out


def holm_adjust(p: ArrayLike) -> NDArray[np.float64]:
    """Holm's adjusted p along the last axis (each row one family): the running max of
    (m - k) * p_(k) capped at 1, NaN as 1; the same step-down as `ablate.stats.holm`."""
    q = np.asarray(p, dtype=float)
    q = np.where(np.isnan(q), np.inf, q)  # NaN ranks last and adjusts to 1
    m = q.shape[-1]
    order = np.argsort(q, axis=-1, kind="stable")
    ranked = np.take_along_axis(q, order, axis=-1)
    adj = np.maximum.accumulate(np.minimum(1.0, (m - np.arange(m)) * ranked), axis=-1)
    out = np.empty_like(adj)
    np.put_along_axis(out, order, adj, axis=-1)
    return out


def look_states(
    estimate: ArrayLike,
    se: ArrayLike,
    df: ArrayLike,
    margin: float,
    alpha: float,
    higher_is_better: bool = True,
) -> NDArray[np.int_]:
    """State codes (OPEN, BETTER, WORSE, EQUIVALENT) of one look, elementwise; the last
    axis is the family (the effects of one response). Two-sided p = 2 P(T_df > |t|),
    Holm over the family < alpha: better/worse; else TOST's Holm p < alpha:
    equivalent; else open. A zero SE: p 0 where the estimate is not 0 (`ttest.t_test`)."""
    est = np.asarray(estimate, dtype=float)
    s = np.asarray(se, dtype=float)
    d = np.asarray(df, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(
            s > 0, 2.0 * sps.t.sf(np.abs(est / np.where(s > 0, s, 1.0)), d), (est == 0) * 1.0
        )
    p_holm = holm_adjust(p)
    pe_holm = holm_adjust(tost_p(est, s, d, margin))
    diff = (p_holm < alpha) & (est != 0)
    up = (est > 0) == higher_is_better
    out = np.full(est.shape, OPEN, dtype=int)
    out[diff & up] = BETTER
    out[diff & ~up] = WORSE
    out[~diff & (pe_holm < alpha)] = EQUIVALENT
    return out
