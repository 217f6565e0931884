"""Optuna sweeps: the best nuisance setting per scientific value, and warnings where it
sits at the edge of its search range. Pure.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from ablate.stats.contrast import Key, groups
from ablate.stats.model import ScientificRow
from ablate.stats.ttest import t_interval

EDGE = 0.05  # a best nuisance value in the outer 5% of its range gets a warning


class Range(NamedTuple):
    """A numeric search range of a nuisance parameter, as declared in the space file."""

    low: float
    high: float
    log: bool = False


def fmt_value(value: object) -> str:
    """A parameter value as it reads in a sentence: 0.0021, 1e-05, 64, 'gap'."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        return str(value)
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    return f"{float(value):.3g}"


def _edge_warning(key: str, value: Any, rng: Range | Sequence[Any]) -> str | None:
    """A warning where `value` is in the outer 5% of a numeric range, or is the first or
    last of >= 3 categorical choices. A `Range`, or a plain 2-tuple of numbers (linear),
    is a numeric range; any other sequence (e.g. a list) holds categorical choices."""
    numeric = isinstance(rng, Range) or (
        type(rng) is tuple
        and len(rng) == 2
        and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in rng)
    )
    if numeric:
        r = rng if isinstance(rng, Range) else Range(float(rng[0]), float(rng[1]))
        lo, hi, x = float(r.low), float(r.high), float(value)
        if r.log:
            if min(lo, hi, x) <= 0:
                return None
            lo, hi, x = math.log(lo), math.log(hi), math.log(x)
        if hi <= lo:
            return None
        u = (x - lo) / (hi - lo)
        span = f"[{fmt_value(r.low)}, {fmt_value(r.high)}]"
        scale = " (log scale)" if r.log else ""
        if u >= 1.0 - EDGE:
            return f"{key} = {fmt_value(value)} is at the top of its range {span}{scale}"
        if u <= EDGE:
            return f"{key} = {fmt_value(value)} is at the bottom of its range {span}{scale}"
        return None
    choices = list(rng)
    if len(choices) < 3:
        return None
    shown = "(" + ", ".join(fmt_value(c) for c in choices) + ")"
    if value == choices[0]:
        return f"{key} = {fmt_value(value)} is the first of its choices {shown}"
    if value == choices[-1]:
        return f"{key} = {fmt_value(value)} is the last of its choices {shown}"
    return None


def best_nuisance(
    df: pd.DataFrame,
    scientific: Sequence[str],
    nuisance: Sequence[str],
    val: str,
    test: str,
    ranges: Mapping[str, Range | Sequence[Any]],
    scale: float = 1.0,
) -> list[ScientificRow]:
    """For each scientific value, the nuisance setting with the best mean `val` over seeds.

    Runs with equal nuisance values form one setting; the setting's mean over its seeds
    decides (never its best seed; ties go to the setting seen first). Reports that
    setting's val and test intervals (times `scale`), the trials of the scientific
    value, and edge warnings: `ranges` maps a nuisance key to a `Range` (numeric, with
    its log flag; a plain (low, high) tuple of numbers is a linear range) or to a list
    (or other tuple) of categorical choices.
    Rows are sorted by scientific value (first-seen order where values do not sort).
    """
    data = df[df[val].notna()]
    rows: list[ScientificRow] = []
    for sci, group in _sorted_if_possible(groups(data, list(scientific))):
        best: tuple[float, Key, pd.DataFrame] | None = None
        for setting, runs in groups(group, list(nuisance)):
            mean_val = float(runs[val].astype(float).mean())
            if best is None or mean_val > best[0]:
                best = (mean_val, setting, runs)
        assert best is not None
        _, setting, runs = best
        chosen = {k: _plain(v) for k, v in zip(nuisance, setting, strict=True)}
        warnings = [
            w
            for k, v in chosen.items()
            if k in ranges and (w := _edge_warning(k, v, ranges[k])) is not None
        ]
        rows.append(
            ScientificRow(
                scientific={k: _plain(v) for k, v in zip(scientific, sci, strict=True)},
                nuisance=chosen,
                val=t_interval(runs[val].astype(float) * scale),
                test=t_interval(runs[test].dropna().astype(float) * scale),
                trials=len(df[_match(df, scientific, sci)]),
                edge_warnings=warnings,
            )
        )
    return rows


def _sorted_if_possible(
    grouped: list[tuple[Key, pd.DataFrame]],
) -> list[tuple[Key, pd.DataFrame]]:
    """Groups sorted by key; in first-seen order where keys of mixed types do not compare."""
    try:
        return sorted(grouped, key=lambda g: g[0])
    except TypeError:
        return grouped


def _plain(value: object) -> object:
    """numpy scalars -> Python scalars, so values print and compare plainly."""
    return value.item() if isinstance(value, np.generic) else value


def _match(df: pd.DataFrame, keys: Sequence[str], values: Key) -> pd.Series:
    mask = pd.Series(True, index=df.index)
    for k, v in zip(keys, values, strict=True):
        mask &= df[k] == v
    return mask
