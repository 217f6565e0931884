"""Main effects (each level against the baseline, paired by context and seed, else Welch)
and the Pareto front of (cost, accuracy) points. Pure; the door is `ablate.stats`."""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence

import numpy as np
import pandas as pd

from ablate.stats.contrast import (
    Contrast,
    Y,
    display,
    groups,
    make_contrast,
    paired_contrasts,
    seeds_per_cell,
)
from ablate.stats.exact import is_deterministic
from ablate.stats.model import Factor, Response
from ablate.stats.ttest import (
    paired_ttest,
    tolerance,
    welch_ttest,
)

# --------------------------------------------------------------------------- main effects


def _main_effect(
    data: pd.DataFrame,
    factor: Factor,
    others: list[str],
    level: Hashable,
    base: Hashable,
    resp: Response,
    exact: bool = False,
) -> Contrast | None:
    ctx_l = dict(groups(data[data[factor.key] == level], others))
    ctx_b = dict(groups(data[data[factor.key] == base], others))
    both = [c for c in ctx_l if c in ctx_b]
    excluded = len(set(ctx_l) ^ set(ctx_b))
    if not both:
        return None
    seeds = seeds_per_cell([ctx_l[c] for c in both] + [ctx_b[c] for c in both])
    if exact:  # a deterministic response: the mean over contexts of level - baseline
        gaps = [ctx_l[c][Y].mean() - ctx_b[c][Y].mean() for c in both]
        est = float(np.mean(gaps))
        est = 0.0 if abs(est) <= tolerance(data[Y].to_numpy(float)) else est
        return Contrast(
            response=resp.key,
            factor=factor.key,
            level=level,
            baseline=base,
            estimate=est,
            lo=None,
            hi=None,
            n=len(both),  # contexts
            method="exact",
            seeds=seeds,
            verdict="exact",
            excluded_contexts=excluded,
        )
    diffs = paired_contrasts([[ctx_l[c], ctx_b[c]] for c in both], [1.0, -1.0])
    if diffs is not None:
        test = paired_ttest(diffs)
        n = len(diffs)
        return make_contrast(resp, factor.key, level, base, test, n, "paired", seeds, excluded)
    yl = np.concatenate([ctx_l[c][Y].to_numpy(float) for c in both])
    yb = np.concatenate([ctx_b[c][Y].to_numpy(float) for c in both])
    test = welch_ttest(yl, yb)
    n = len(yl) + len(yb)
    return make_contrast(resp, factor.key, level, base, test, n, "welch", seeds, excluded)


def main_effects(
    df: pd.DataFrame,
    factors: Sequence[Factor],
    response: Response,
    baseline: Mapping[str, Hashable],
) -> list[Contrast]:
    """Each factor level against `baseline[factor]`, estimate = level - baseline.

    Runs pair by context (the other factors' values) and seed. Paired: mean of the
    differences, t-interval over pairs, n = pairs. Unbalanced (a run without its
    partner, or a duplicated seed): Welch between all runs at the level and at the
    baseline in the contexts that have both, n = runs. A level that shares no context
    with the baseline gets no Effect at all. Verdicts are set later by `holm`.

    A deterministic response (`ablate.stats.exact.is_deterministic`: constant within
    every configuration) gets method and verdict "exact": estimate = the mean over
    contexts of the level's value minus the baseline's, n = contexts, no SE, interval
    or p, so `holm` leaves it out of the family.
    """
    data = display(df, response)
    exact = is_deterministic(df, factors, response)
    out: list[Contrast] = []
    for f in factors:
        others = [g.key for g in factors if g.key != f.key]
        base = baseline[f.key]
        for lv in f.levels:
            if lv == base:
                continue
            eff = _main_effect(data, f, others, lv, base, response, exact)
            if eff is not None:
                out.append(eff)
    return out


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
