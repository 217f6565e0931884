"""The report's statistics: cells, effects with intervals, Holm, seed noise. Pure, no I/O.

Input is a runs table `df` of finished runs: one row per run, one column per factor key
(raw levels, compared with ==), a "seed" column and one column per response (raw values).
Every number returned is in display units, raw * `Response.scale` (accuracy -> points).
Runs whose response is missing (NaN) are left out of that response's numbers.

- A *cell* (configuration) is every factor value except the seed.
- A *context* of a contrast is one setting of the factors that the contrast does not
  vary; inside a context, runs pair by seed.
- Main effects and interactions are paired over (context, seed) when every run has its
  partner; otherwise Welch's two-sample interval (main effects) or a Welch-style
  interval on cell means (interactions) is used. Contexts that lack a level entirely
  (invalid points, runs not done yet) are left out and counted.
- Intervals are Student-t intervals with scipy's quantiles; `holm` adds the
  Holm-Bonferroni adjustment and the verdicts over one family of contrasts.

This module holds cells, main effects, Holm, seed noise and the Pareto front. The
arithmetic of one contrast is in `stats_contrast`, interactions in `stats_interaction`,
Optuna's best nuisance settings in `stats_nuisance`; every public name imports from here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from ablate.report.model import Effect, Factor, Interval, Response, SeedNoise, Verdict, level_label
from ablate.report.stats_contrast import FUZZ as FUZZ
from ablate.report.stats_contrast import (
    LEVEL,
    SEED,
    Contrast,
    _contrast,
    _display,
    _groups,
    _paired,
    _paired_contrasts,
    _seeds_per_cell,
    _tol,
    _var,
    _welch_terms,
    t_interval,
    t_quantile,
)
from ablate.report.stats_interaction import interaction, interaction_cells
from ablate.report.stats_nuisance import EDGE as EDGE
from ablate.report.stats_nuisance import Range, best_nuisance, fmt_value

ALPHA = 0.05
POWER = 0.8
MAX_SEEDS = 1000  # seeds_needed gives up above this


# --------------------------------------------------------------------------- cells


def config_label(values: Mapping[str, Any], factors: Sequence[Factor]) -> str:
    """'stride=1 kernel=3x3': factor names and level labels in the factors' order."""
    if not factors:
        return "all"
    return " ".join(f"{f.name}={level_label(f.key, values[f.key])}" for f in factors)


def _cell_order(factors: Sequence[Factor], key: tuple[Any, ...]) -> tuple[int, ...]:
    """Sort key of a cell: each value's position in its factor's declared levels."""
    pos = []
    for f, v in zip(factors, key, strict=True):
        pos.append(next((i for i, lv in enumerate(f.levels) if lv == v), len(f.levels)))
    return tuple(pos)


def cell_values(
    df: pd.DataFrame, factors: Sequence[Factor], response: Response
) -> dict[str, list[float]]:
    """Seed values (display units) per configuration label, in factor-level order."""
    data = _display(df, response)
    keys = [f.key for f in factors]
    groups = sorted(_groups(data, keys), key=lambda g: _cell_order(factors, g[0]))
    return {
        config_label(dict(zip(keys, k, strict=True)), factors): [
            float(v) for v in g.sort_values(SEED)["_y"]
        ]
        for k, g in groups
    }


def cells(df: pd.DataFrame, factors: Sequence[Factor], response: Response) -> dict[str, Interval]:
    """Mean, SD, n and 95% t-interval over seeds per configuration label."""
    return {c: t_interval(v) for c, v in cell_values(df, factors, response).items()}


# --------------------------------------------------------------------------- main effects


def _main_effect(
    data: pd.DataFrame, factor: Factor, others: list[str], level: Any, base: Any, resp: Response
) -> Contrast | None:
    at_l = data[data[factor.key] == level]
    at_b = data[data[factor.key] == base]
    ctx_l = dict(_groups(at_l, others))
    ctx_b = dict(_groups(at_b, others))
    both = [c for c in ctx_l if c in ctx_b]
    excluded = len(set(ctx_l) ^ set(ctx_b))
    if not both:
        return None
    seeds = _seeds_per_cell([ctx_l[c] for c in both] + [ctx_b[c] for c in both])
    diffs = _paired_contrasts([[ctx_l[c], ctx_b[c]] for c in both], [1.0, -1.0])
    if diffs is not None:
        est, se, df = _paired(diffs)
        return _contrast(
            resp, factor.key, level, base, est, se, df, len(diffs), "paired", seeds, excluded
        )
    yl_all = np.concatenate([ctx_l[c]["_y"].to_numpy(float) for c in both])
    yb_all = np.concatenate([ctx_b[c]["_y"].to_numpy(float) for c in both])
    est = float(yl_all.mean() - yb_all.mean())
    if abs(est) <= _tol(np.concatenate([yl_all, yb_all])):
        est = 0.0
    se, df = _welch_terms([yl_all, yb_all])
    n = len(yl_all) + len(yb_all)
    return _contrast(resp, factor.key, level, base, est, se, df, n, "welch", seeds, excluded)


def main_effects(
    df: pd.DataFrame,
    factors: Sequence[Factor],
    response: Response,
    baseline: Mapping[str, Any],
) -> list[Contrast]:
    """Each factor level against `baseline[factor]`, estimate = level - baseline.

    Runs pair by context (the other factors' values) and seed. Paired: mean of the
    differences, t-interval over pairs, n = pairs. Unbalanced (a run without its
    partner, or a duplicated seed): Welch between all runs at the level and at the
    baseline in the contexts that have both, n = runs. A level that shares no context
    with the baseline gets no Effect at all. Verdicts are set later by `holm`.
    """
    data = _display(df, response)
    out: list[Contrast] = []
    for f in factors:
        others = [g.key for g in factors if g.key != f.key]
        base = baseline[f.key]
        for lv in f.levels:
            if lv == base:
                continue
            eff = _main_effect(data, f, others, lv, base, response)
            if eff is not None:
                out.append(eff)
    return out


# --------------------------------------------------------------------------- Holm


def holm(
    effects: Sequence[Effect], higher_is_better: bool = True, alpha: float = ALPHA
) -> list[Effect]:
    """Holm-Bonferroni over one family: call it once per response, over that response's
    main effects and interaction contrasts on the page.

    Fills p_holm (step-down adjusted p, monotone, capped at 1), lo_holm/hi_holm (the
    t-interval at level 1 - alpha / (m - k) for the k-th smallest p, 0-based) and the
    verdict: "better"/"worse" where p_holm < alpha (a negative estimate is "better"
    when `higher_is_better` is False), else "no clear difference". Effects without a
    p (method "none") are not in the family and stay "n = 1". Order is kept.

    A plain `Effect` (not a `Contrast`) gets its SE back from its 95% interval with
    df = n - 1 (paired) or n - 2 (welch, an approximation).
    """
    ps = {i: e.p for i, e in enumerate(effects) if e.p is not None}
    tested = sorted(ps, key=lambda i: ps[i])
    m = len(tested)
    out = list(effects)
    running = 0.0
    for k, i in enumerate(tested):
        e = effects[i]
        running = max(running, min(1.0, (m - k) * ps[i]))
        lo_h, hi_h = _rescaled(e, 1.0 - alpha / (m - k))
        verdict: Verdict = "no clear difference"
        if running < alpha and e.estimate != 0.0:
            verdict = "better" if (e.estimate > 0) == higher_is_better else "worse"
        out[i] = replace(e, p_holm=running, lo_holm=lo_h, hi_holm=hi_h, verdict=verdict)
    for i, e in enumerate(effects):
        if e.p is None:
            out[i] = replace(e, p_holm=None, lo_holm=None, hi_holm=None, verdict="n = 1")
    return out


def _rescaled(e: Effect, level: float) -> tuple[float | None, float | None]:
    """The effect's interval at another confidence level."""
    if isinstance(e, Contrast) and e.se is not None and e.df is not None:
        se, df = e.se, e.df
    elif e.lo is not None and e.hi is not None:
        df = float(e.n - 1 if e.method == "paired" else e.n - 2)
        if df < 1:
            return None, None
        se = (e.hi - e.lo) / (2.0 * t_quantile(LEVEL, df))
    else:
        return None, None
    half = t_quantile(level, df) * se if se > 0 else 0.0
    return e.estimate - half, e.estimate + half


# --------------------------------------------------------------------------- seed noise


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
    ss = sum((len(v) - 1) * _var(np.asarray(v, dtype=float)) for v in reps)
    sd = math.sqrt(ss / dof)
    return SeedNoise(response.key, sd, dof, seeds, mde(sd, seeds), target, seeds_needed(sd, target))


# --------------------------------------------------------------------------- Pareto


def pareto_front(points: Sequence[tuple[float, float]]) -> list[int]:
    """Indices of the (cost, accuracy) points no other point beats: lower or equal cost
    and higher or equal accuracy, strictly better in one. Sorted by cost; NaNs skipped."""
    ok = [i for i, (c, a) in enumerate(points) if not (math.isnan(c) or math.isnan(a))]
    front = [
        i
        for i in ok
        if not any(
            points[j][0] <= points[i][0]
            and points[j][1] >= points[i][1]
            and (points[j][0] < points[i][0] or points[j][1] > points[i][1])
            for j in ok
        )
    ]
    return sorted(front, key=lambda i: (points[i][0], -points[i][1], i))


__all__ = [
    "Contrast",
    "Range",
    "best_nuisance",
    "cell_values",
    "cells",
    "config_label",
    "fmt_value",
    "holm",
    "interaction",
    "interaction_cells",
    "main_effects",
    "mde",
    "pareto_front",
    "seed_noise",
    "seeds_needed",
    "t_interval",
    "t_quantile",
]
