"""Configurations (cells): their labels, their seed values and t-intervals. Pure.

A *cell* is every factor value except the seed; see `ablate.stats` for the runs
table it reads and the units it returns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from ablate.stats.contrast import SEED, Key, Y, display, groups
from ablate.stats.model import Factor, Interval, Response, level_label
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
    """Seed values (display units) per configuration label, in factor-level order."""
    data = display(df, response)
    keys = [f.key for f in factors]
    cells_ = sorted(groups(data, keys), key=lambda g: _cell_order(factors, g[0]))
    return {
        config_label(dict(zip(keys, k, strict=True)), factors): [
            float(v) for v in g.sort_values(SEED)[Y]
        ]
        for k, g in cells_
    }


def cells(df: pd.DataFrame, factors: Sequence[Factor], response: Response) -> dict[str, Interval]:
    """Mean, SD, n and 95% t-interval over seeds per configuration label."""
    return {c: t_interval(v) for c, v in cell_values(df, factors, response).items()}
