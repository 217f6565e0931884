"""The arithmetic under every contrast: t quantiles and intervals, runs grouped into cells
and contexts, pairing by seed, Welch's SE and df, and the `Contrast` they make. Pure.

Shared by main effects (`ablate.report.stats`) and interactions
(`ablate.report.stats_interaction`); import the public names from `ablate.report.stats`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from ablate.report.model import Effect, EffectMethod, Interval, Response

SEED = "seed"
LEVEL = 0.95
FUZZ = 1e-9  # relative: spreads and estimates this small are float rounding, i.e. 0


@dataclass(frozen=True)
class Contrast(Effect):
    """An `Effect` that keeps what re-scaling its interval needs (Holm's levels).

    `se` is the standard error of the estimate and `df` the degrees of freedom of its
    t reference (Welch-Satterthwaite for "welch"); both None for method "none".
    """

    se: float | None = None
    df: float | None = None


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
    half = t_quantile(level, n - 1) * sd / math.sqrt(n)
    return Interval(mean, sd, n, mean - half, mean + half, level)


def _p_value(estimate: float, se: float, df: float) -> float:
    """Two-sided p of a t statistic; a zero SE gives p 0 (estimate != 0) or 1."""
    if se == 0.0:
        return 0.0 if estimate != 0.0 else 1.0
    return float(2.0 * sps.t.sf(abs(estimate / se), df))


# --------------------------------------------------------------------------- grouping


def _display(df: pd.DataFrame, response: Response) -> pd.DataFrame:
    """The runs with a value for `response`, plus a column "_y" in display units."""
    out = df[df[response.key].notna()].copy()
    out["_y"] = out[response.key].astype(float) * response.scale
    return out


def _groups(df: pd.DataFrame, keys: Sequence[str]) -> list[tuple[tuple[Any, ...], pd.DataFrame]]:
    """Rows grouped by `keys` (a single group () where there are none), in first-seen order."""
    if not keys:
        return [((), df)] if len(df) else []
    out: dict[tuple[Any, ...], list[int]] = {}
    for i, row in enumerate(df[list(keys)].itertuples(index=False, name=None)):
        out.setdefault(tuple(row), []).append(i)
    return [(k, df.iloc[rows]) for k, rows in out.items()]


# --------------------------------------------------------------------------- contrasts


def _seeds_per_cell(frames: Iterable[pd.DataFrame]) -> int:
    """Smallest number of distinct seeds over the given cells (0 if none)."""
    counts = [int(g[SEED].nunique()) for g in frames if len(g)]
    return min(counts) if counts else 0


def _tol(x: np.ndarray) -> float:
    """What counts as 0 next to these values: float rounding, not a difference."""
    return FUZZ * max(1.0, float(np.max(np.abs(x)))) if x.size else FUZZ


def _var(x: np.ndarray) -> float:
    """Sample variance, exactly 0 where the values differ only by float rounding."""
    if np.ptp(x) <= _tol(x):
        return 0.0
    return float(np.var(x, ddof=1))


def _paired(diffs: Sequence[float]) -> tuple[float, float | None, float | None]:
    """Estimate, SE and df of the mean of paired differences (SE None where n < 2)."""
    x = np.asarray(diffs, dtype=float)
    n = int(x.size)
    est = float(x.mean())
    if abs(est) <= _tol(x):
        est = 0.0
    if n < 2:
        return est, None, None
    return est, math.sqrt(_var(x) / n), float(n - 1)


def _welch_terms(groups: Sequence[np.ndarray]) -> tuple[float | None, float | None]:
    """SE and Welch-Satterthwaite df of a +/-1 combination of group means.

    None where a group has fewer than 2 values. With every variance 0 the SE is 0 and
    df is the plain sum of (n_i - 1).
    """
    if any(len(g) < 2 for g in groups):
        return None, None
    v = [_var(g) / len(g) for g in groups]
    se2 = sum(v)
    if se2 == 0.0:
        return 0.0, float(sum(len(g) - 1 for g in groups))
    denom = sum(vi**2 / (len(g) - 1) for vi, g in zip(v, groups, strict=True))
    return math.sqrt(se2), se2**2 / denom


def _contrast(
    response: Response,
    factor: str,
    level: Any,
    baseline: Any,
    estimate: float,
    se: float | None,
    df: float | None,
    n: int,
    method: EffectMethod,
    seeds: int,
    excluded: int,
) -> Contrast:
    """A Contrast with its 95% interval and p; method "none" where there is no SE."""
    if se is None or df is None:
        return Contrast(
            response=response.key,
            factor=factor,
            level=level,
            baseline=baseline,
            estimate=estimate,
            lo=None,
            hi=None,
            n=n,
            method="none",
            seeds=seeds,
            verdict="n = 1",
            excluded_contexts=excluded,
        )
    half = t_quantile(LEVEL, df) * se if se > 0 else 0.0
    return Contrast(
        response=response.key,
        factor=factor,
        level=level,
        baseline=baseline,
        estimate=estimate,
        lo=estimate - half,
        hi=estimate + half,
        n=n,
        method=method,
        seeds=seeds,
        p=_p_value(estimate, se, df),
        verdict="no clear difference",
        excluded_contexts=excluded,
        se=se,
        df=df,
    )


def _by_seed(frame: pd.DataFrame) -> dict[Any, float] | None:
    """seed -> value of one cell, or None where a seed occurs twice."""
    if frame[SEED].duplicated().any():
        return None
    return dict(zip(frame[SEED], frame["_y"].astype(float), strict=True))


def _paired_contrasts(
    contexts: Sequence[Sequence[pd.DataFrame]], weights: Sequence[float]
) -> list[float] | None:
    """Per (context, seed): the weighted sum of the cells' values; None where a cell of a
    context lacks a seed that another has, or has a seed twice (not pairable)."""
    out: list[float] = []
    for frames in contexts:
        by = [_by_seed(f) for f in frames]
        seeds = set(by[0]) if by[0] is not None else None
        if seeds is None or any(x is None or set(x) != seeds for x in by):
            return None
        out.extend(
            sum(w * x[s] for w, x in zip(weights, by, strict=True) if x is not None)
            for s in sorted(seeds)
        )
    return out
