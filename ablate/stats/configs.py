"""Configurations (cells): their labels, their seed values and t-intervals. Pure.

A *cell* is every factor value except the seed; see `ablate.stats` for the runs
table it reads and the units it returns.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import pandas as pd

from ablate.stats.contrast import SEED, Key, Y, display, groups
from ablate.stats.model import Factor, Interval, Response, level_label
from ablate.stats.power import TUNED_TRIALS
from ablate.stats.ttest import t_interval


def config_label(values: Mapping[str, object], factors: Sequence[Factor]) -> str:
    """'stride=1 kernel=3x3': factor names and level labels in the factors' order."""
    if not factors:
        return "all"
    return " ".join(f"{f.name}={level_label(f.key, values[f.key])}" for f in factors)


def _cell_order(factors: Sequence[Factor], key: Key) -> tuple[int, ...]:
    """Sort key of a cell: each value's position in its factor's declared levels."""
    pos = []
    for f, v in zip(factors, key, strict=True):
        pos.append(next((i for i, lv in enumerate(f.levels) if lv == v), len(f.levels)))
    return tuple(pos)


def cell_values(
    df: pd.DataFrame, factors: Sequence[Factor], response: Response
) -> dict[str, list[float]]:
    """Seed values (display units) per configuration label, in factor-level order.
    Nuisance factors (tuned trials) are not part of a cell: they are pooled in it."""
    data = display(df, response)
    factors = [f for f in factors if f.role != "nuisance"]
    keys = [f.key for f in factors]
    cells_ = sorted(groups(data, keys), key=lambda g: _cell_order(factors, g[0]))
    return {
        config_label(dict(zip(keys, k, strict=True)), factors): [
            float(v) for v in g.sort_values(SEED)[Y]
        ]
        for k, g in cells_
    }


def _pooled_trials(
    df: pd.DataFrame, factors: Sequence[Factor], response: Response
) -> dict[str, bool]:
    """Label -> whether the cell pools different settings of the nuisance factors."""
    nuisance = [f.key for f in factors if f.role == "nuisance" and f.key in df.columns]
    grid = [f for f in factors if f.role != "nuisance"]
    if not nuisance:
        return {}
    data = display(df, response)
    out: dict[str, bool] = {}
    for k, g in groups(data, [f.key for f in grid]):
        label = config_label(dict(zip([f.key for f in grid], k, strict=True)), grid)
        out[label] = len(g[nuisance].drop_duplicates()) > 1
    return out


def cells(df: pd.DataFrame, factors: Sequence[Factor], response: Response) -> dict[str, Interval]:
    """Mean, SD, n and 95% t-interval over seeds per configuration label.

    Pass all of the sweep's factors: a cell whose runs differ in a nuisance factor (tuned
    trials: different configurations, not seeds of one) gets its mean and n but no SD
    or interval, and `why` says so (`ablate.stats.power.TUNED_TRIALS`)."""
    pooled = _pooled_trials(df, factors, response)
    out: dict[str, Interval] = {}
    for c, v in cell_values(df, factors, response).items():
        iv = t_interval(v)
        if pooled.get(c):
            iv = Interval(iv.mean, math.nan, iv.n, None, None, iv.level, TUNED_TRIALS)
        out[c] = iv
    return out
