"""Two-factor interaction contrasts and the cell means of the interaction plot. Pure.

See `ablate.stats` for the runs table it reads and the units it returns;
import the public names from there.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence

import numpy as np
import pandas as pd

from ablate.stats.contrast import (
    Contrast,
    Key,
    Y,
    display,
    groups,
    make_contrast,
    paired_contrasts,
    seeds_per_cell,
)
from ablate.stats.model import Factor, Interval, Response
from ablate.stats.ttest import paired_ttest, t_interval, welch_combination


def interaction(
    df: pd.DataFrame,
    a: Factor,
    b: Factor,
    response: Response,
    baseline: Mapping[str, Hashable],
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
    data = display(df, response)
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
    base: tuple[Hashable, Hashable],
    level: tuple[Hashable, Hashable],
    resp: Response,
) -> Contrast | None:
    """The contrast at `level` (a1, b1) against `base` (a0, b0); None where no context
    has all four cells."""
    (a0, b0), (a1, b1) = base, level
    # sign of each cell in the contrast
    corners = {(a1, b1): 1.0, (a0, b1): -1.0, (a1, b0): -1.0, (a0, b0): 1.0}
    per_cell = {
        k: dict(groups(data[(data[a.key] == k[0]) & (data[b.key] == k[1])], ctx)) for k in corners
    }
    contexts: list[Key] = []
    for cells_ in per_cell.values():
        contexts.extend(c for c in cells_ if c not in contexts)
    complete = [c for c in contexts if all(c in per_cell[k] for k in corners)]
    excluded = len(contexts) - len(complete)
    if not complete:
        return None
    frames = {k: [per_cell[k][c] for c in complete] for k in corners}
    seeds = seeds_per_cell(f for fs in frames.values() for f in fs)
    factor = f"{a.key}*{b.key}"
    diffs = paired_contrasts(
        [[per_cell[k][c] for k in corners] for c in complete], list(corners.values())
    )
    if diffs is not None:
        test = paired_ttest(diffs)
        return make_contrast(resp, factor, level, base, test, len(diffs), "paired", seeds, excluded)
    cell_ys = [np.concatenate([f[Y].to_numpy(float) for f in fs]) for fs in frames.values()]
    test = welch_combination(cell_ys, list(corners.values()))
    n = sum(len(g) for g in cell_ys)
    return make_contrast(resp, factor, level, base, test, n, "welch", seeds, excluded)


def interaction_cells(
    df: pd.DataFrame, a: Factor, b: Factor, response: Response
) -> dict[tuple[Hashable, Hashable], Interval]:
    """Mean and 95% interval per (a-level, b-level), pooled over other factors and seeds."""
    data = display(df, response)
    out: dict[tuple[Hashable, Hashable], Interval] = {}
    for av in a.levels:
        for bv in b.levels:
            ys = data[(data[a.key] == av) & (data[b.key] == bv)][Y]
            if len(ys):
                out[(av, bv)] = t_interval(ys.astype(float))
    return out
