"""Two-factor interaction contrasts and the cell means of the interaction plot. Pure.

See `ablate.report.stats` for the runs table it reads and the units it returns;
import the public names from there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ablate.report.model import Factor, Interval, Response
from ablate.report.stats_contrast import (
    Contrast,
    _contrast,
    _display,
    _groups,
    _paired,
    _paired_contrasts,
    _seeds_per_cell,
    _tol,
    _welch_terms,
    t_interval,
)


def interaction(
    df: pd.DataFrame,
    a: Factor,
    b: Factor,
    response: Response,
    baseline: Mapping[str, Any],
    context: Sequence[str] | None = None,
) -> list[Contrast]:
    """Interaction contrasts (y[a1,b1] - y[a0,b1]) - (y[a1,b0] - y[a0,b0]).

    One per a-level a1 != a0 and b-level b1 != b0, with (a0, b0) from `baseline`.
    `context` names the other factors' columns (default: the keys of `baseline` other
    than a and b that are columns of df). Contexts lacking one of the four cells are
    excluded. When every remaining context has the same seeds, once each, in all four
    cells, the contrast is paired over (context, seed); otherwise it is taken on the
    four cell means pooled over the contexts, with SE sqrt(sum s_i^2 / n_i) and the
    Welch-Satterthwaite df (method "welch", n = runs in the four cells).
    """
    if context is None:
        context = [k for k in baseline if k not in (a.key, b.key) and k in df.columns]
    ctx = list(context)
    data = _display(df, response)
    a0, b0 = baseline[a.key], baseline[b.key]
    out: list[Contrast] = []
    for a1 in a.levels:
        if a1 == a0:
            continue
        for b1 in b.levels:
            if b1 == b0:
                continue
            eff = _interaction(data, a, b, ctx, (a0, b0), (a1, b1), response)
            if eff is not None:
                out.append(eff)
    return out


def _interaction(
    data: pd.DataFrame,
    a: Factor,
    b: Factor,
    ctx: list[str],
    base: tuple[Any, Any],
    level: tuple[Any, Any],
    resp: Response,
) -> Contrast | None:
    (a0, b0), (a1, b1) = base, level
    # sign of each cell in the contrast
    corners = {(a1, b1): 1.0, (a0, b1): -1.0, (a1, b0): -1.0, (a0, b0): 1.0}
    per_cell = {
        k: dict(_groups(data[(data[a.key] == k[0]) & (data[b.key] == k[1])], ctx)) for k in corners
    }
    contexts: list[tuple[Any, ...]] = []
    for cells_ in per_cell.values():
        contexts.extend(c for c in cells_ if c not in contexts)
    complete = [c for c in contexts if all(c in per_cell[k] for k in corners)]
    excluded = len(contexts) - len(complete)
    if not complete:
        return None
    frames = {k: [per_cell[k][c] for c in complete] for k in corners}
    seeds = _seeds_per_cell(f for fs in frames.values() for f in fs)
    factor = f"{a.key}*{b.key}"
    diffs = _paired_contrasts(
        [[per_cell[k][c] for k in corners] for c in complete], list(corners.values())
    )
    if diffs is not None:
        est, se, dof = _paired(diffs)
        return _contrast(
            resp, factor, level, base, est, se, dof, len(diffs), "paired", seeds, excluded
        )
    groups = {k: np.concatenate([f["_y"].to_numpy(float) for f in fs]) for k, fs in frames.items()}
    est = float(sum(w * groups[k].mean() for k, w in corners.items()))
    if abs(est) <= _tol(np.concatenate(list(groups.values()))):
        est = 0.0
    se, dof = _welch_terms(list(groups.values()))
    n = sum(len(g) for g in groups.values())
    return _contrast(resp, factor, level, base, est, se, dof, n, "welch", seeds, excluded)


def interaction_cells(
    df: pd.DataFrame, a: Factor, b: Factor, response: Response
) -> dict[tuple[Any, Any], Interval]:
    """Mean and 95% interval per (a-level, b-level), pooled over other factors and seeds."""
    data = _display(df, response)
    out: dict[tuple[Any, Any], Interval] = {}
    for av in a.levels:
        for bv in b.levels:
            ys = data[(data[a.key] == av) & (data[b.key] == bv)]["_y"]
            if len(ys):
                out[(av, bv)] = t_interval(ys.astype(float))
    return out
