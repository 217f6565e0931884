"""Student-t arithmetic from scipy: quantiles, one-sample intervals, the paired and Welch
t-tests, and what counts as float rounding rather than a difference. Pure.

scipy computes every interval, p and df here. What stays ours are the edges scipy reads
differently: fewer than 2 values (no SE), a spread that is only float rounding (SE 0:
p 0 or 1 and a zero-width interval, where scipy would divide by ~0), and an estimate
that is only rounding (0, p 1).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import NamedTuple, Protocol

import numpy as np
from scipy import stats as sps

from ablate.stats.model import Interval

LEVEL = 0.95  # the report's confidence level
ALPHA = 0.05  # the report's significance level (Holm's family, power)
FUZZ = 1e-9  # relative: spreads and estimates this small are float rounding, i.e. 0


class TTest(NamedTuple):
    """One estimate and its t reference: SE, df, two-sided p and the LEVEL interval.

    All but `estimate` are None where there is no SE (a group of fewer than 2 values).
    """

    estimate: float
    se: float | None = None
    df: float | None = None
    p: float | None = None
    lo: float | None = None
    hi: float | None = None


# --------------------------------------------------------------------------- rounding


def tolerance(x: np.ndarray) -> float:
    """What counts as 0 next to these values: float rounding, not a difference."""
    return FUZZ * max(1.0, float(np.max(np.abs(x)))) if x.size else FUZZ


def variance(x: np.ndarray) -> float:
    """Sample variance (ddof=1), exactly 0 where the values differ only by float rounding."""
    if np.ptp(x) <= tolerance(x):
        return 0.0
    return float(np.var(x, ddof=1))


def _rounded(estimate: float, x: np.ndarray) -> float:
    """The estimate, or exactly 0 where it is only float rounding next to the values x."""
    return 0.0 if abs(estimate) <= tolerance(x) else estimate


@contextmanager
def _quiet() -> Iterator[None]:
    """scipy warns of "precision loss" for a group of (nearly) equal values; our callers
    decide what is rounding (`variance`), and such a group's variance is ~0 either way."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Precision loss", category=RuntimeWarning)
        yield


# --------------------------------------------------------------------------- intervals


def t_quantile(level: float, df: float) -> float:
    """Two-sided Student-t critical value: t_{(1 + level) / 2, df}."""
    return float(sps.t.ppf((1.0 + level) / 2.0, df))


def t_interval(values: Iterable[float], level: float = LEVEL) -> Interval:
    """Mean, sample SD (ddof=1), n and the two-sided t-interval; lo/hi None where n < 2."""
    x = np.asarray(list(values), dtype=float)
    n = int(x.size)
    if n == 0:
        return Interval(math.nan, math.nan, 0, None, None, level)
    mean = float(x.mean())
    if n < 2:
        return Interval(mean, math.nan, n, None, None, level)
    sd = float(x.std(ddof=1))
    with _quiet():  # zero spread gives a zero-width interval, NaN or inf values NaN ends
        ci = sps.ttest_1samp(x, 0.0).confidence_interval(level)
    return Interval(mean, sd, n, float(ci.low), float(ci.high), level)


def t_test(estimate: float, se: float, df: float) -> TTest:
    """p and LEVEL interval of an estimate with a known SE and df, from scipy's t.

    A zero SE gives p 0 where the estimate is not 0 (else 1) and a zero-width interval."""
    if se == 0.0:
        p = 0.0 if estimate != 0.0 else 1.0
    else:
        p = float(2.0 * sps.t.sf(abs(estimate / se), df))
    half = t_quantile(LEVEL, df) * se if se > 0 else 0.0
    return TTest(estimate, se, df, p, estimate - half, estimate + half)


class _ScipyTTest(Protocol):
    """What we read of scipy's `TtestResult` (not importable from scipy.stats)."""

    df: float
    pvalue: float

    def confidence_interval(self, confidence_level: float = ...) -> tuple[float, float]: ...


def _from_scipy(estimate: float, res: _ScipyTTest) -> TTest:
    """Our (rounded) estimate with scipy's df, p and interval half-width; SE = half-width /
    t quantile, which Holm needs to re-scale the interval."""
    low, high = res.confidence_interval(LEVEL)
    df = float(res.df)
    half = (float(high) - float(low)) / 2.0
    p = float(res.pvalue) if estimate != 0.0 else 1.0  # a rounding-only estimate: t = 0
    return TTest(estimate, half / t_quantile(LEVEL, df), df, p, estimate - half, estimate + half)


# --------------------------------------------------------------------------- tests


def paired_ttest(diffs: Sequence[float]) -> TTest:
    """The mean of paired differences against 0: `scipy.stats.ttest_1samp` on the
    differences, which is what `ttest_rel(a, b)` computes on a - b."""
    x = np.asarray(diffs, dtype=float)
    est = _rounded(float(x.mean()), x)
    if x.size < 2:
        return TTest(est)
    if variance(x) == 0.0:
        return t_test(est, 0.0, float(x.size - 1))
    with _quiet():
        return _from_scipy(est, sps.ttest_1samp(x, 0.0))


def welch_ttest(a: np.ndarray, b: np.ndarray) -> TTest:
    """mean(a) - mean(b) by Welch: `scipy.stats.ttest_ind(a, b, equal_var=False)`.

    No SE where a group has fewer than 2 values. A group whose spread is only rounding
    has variance exactly 0 (scipy would use its ~1e-33), so that case is
    `welch_combination` of the two groups."""
    if len(a) < 2 or len(b) < 2 or variance(a) == 0.0 or variance(b) == 0.0:
        return welch_combination([a, b], [1.0, -1.0])
    est = _rounded(float(a.mean() - b.mean()), np.concatenate([a, b]))
    with _quiet():
        return _from_scipy(est, sps.ttest_ind(a, b, equal_var=False))


def welch_combination(groups: Sequence[np.ndarray], weights: Sequence[float]) -> TTest:
    """A +/-1 combination of several group means with Welch's SE sqrt(sum s_i^2 / n_i) and
    the Welch-Satterthwaite df (interactions: four cells). scipy has no k-group Welch
    test, so SE and df are written out here; p and interval come from `t_test`.

    No SE where a group has fewer than 2 values; with every variance 0 the SE is 0 and
    df is the plain sum of (n_i - 1).
    """
    est = float(sum(w * g.mean() for g, w in zip(groups, weights, strict=True)))
    est = _rounded(est, np.concatenate(list(groups)))
    if any(len(g) < 2 for g in groups):
        return TTest(est)
    v = [variance(g) / len(g) for g in groups]
    se2 = sum(v)
    if se2 == 0.0:
        return t_test(est, 0.0, float(sum(len(g) - 1 for g in groups)))
    df = se2**2 / sum(vi**2 / (len(g) - 1) for vi, g in zip(v, groups, strict=True))
    return t_test(est, math.sqrt(se2), df)
