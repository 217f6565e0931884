"""Equivalence: practical margins per response and the TOST (two one-sided t-tests). Pure.

An effect is *equivalent within +-m* when both one-sided nulls, "delta <= -m" and
"delta >= m", are rejected at alpha (Schuirmann 1987, J. Pharmacokinet. Biopharm.
15:657-680): p = max(p_low, p_high), and p < alpha exactly when the 1 - 2 alpha interval
(90% at alpha 0.05) lies inside (-m, +m). The estimate, SE and df are the difference
test's own (paired or Welch, `ablate.stats.ttest`), so both tests read the same data.

Margins are in display units (accuracy in points). Defaults, by response group:

- accuracy: 1.0 point (the issue's practical margin; `margins: {test_acc: 0.5}` overrides)
- cost (train time): none. A second of train time is hardware- and budget-dependent;
  there is no margin a reviewer would accept by default. Parameters and FLOPs are
  deterministic (`ablate.stats.exact`): stated exactly, never tested.
- explanations (AUC - random, sanity |rho|): none. There is no agreed practical scale;
  set one per response to get equivalence verdicts.

A response without a margin gets only the difference test (better / worse / no clear
difference), as before.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats as sps

from ablate.stats.model import Response

# display units; a group missing here has no default margin
DEFAULT_MARGINS: dict[str, float] = {"accuracy": 1.0}


def margin_for(response: Response, margins: Mapping[str, float] | None = None) -> float | None:
    """The practical margin of `response` in display units: `margins[response.key]` where
    given (a value <= 0 or NaN turns equivalence off for it), else the group's default."""
    if margins is not None and response.key in margins:
        m = float(margins[response.key])
        return m if math.isfinite(m) and m > 0 else None
    return DEFAULT_MARGINS.get(response.group)


def tost_p(
    estimate: ArrayLike, se: ArrayLike, df: ArrayLike, margin: ArrayLike
) -> NDArray[np.float64]:
    """TOST p of H0 |delta| >= margin, elementwise (numpy broadcasting).

    p_low = P(T_df >= (estimate + margin) / se), p_high = P(T_df <= (estimate - margin) / se),
    p = max(p_low, p_high). A zero SE (every difference equal) gives p 0 where
    |estimate| < margin, else 1. NaN in, NaN out.
    """
    est = np.asarray(estimate, dtype=float)
    s = np.asarray(se, dtype=float)
    d = np.asarray(df, dtype=float)
    m = np.asarray(margin, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        safe = np.where(s > 0, s, 1.0)
        p_low = sps.t.sf((est + m) / safe, d)
        p_high = sps.t.cdf((est - m) / safe, d)
    p = np.maximum(p_low, p_high)
    zero = np.where(np.abs(est) < m, 0.0, 1.0)
    out = np.where(s > 0, p, zero)
    nan = np.isnan(est) | np.isnan(s) | np.isnan(d) | np.isnan(m)
    return np.asarray(np.where(nan, np.nan, out), dtype=float)


def tost(estimate: float, se: float | None, df: float | None, margin: float) -> float | None:
    """`tost_p` of one estimate; None without an SE (n = 1)."""
    if se is None or df is None:
        return None
    return float(tost_p(estimate, se, df, margin))
