"""What every contrast shares: runs in display units, grouped into cells and contexts
(pandas), pairing by seed, and the `Contrast` a t-test makes. Pure.

Shared by main effects (`ablate.stats`) and interactions
(`ablate.stats.interactions`); the t arithmetic is in `ablate.stats.ttest`.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass

import pandas as pd

from ablate.stats.model import Effect, EffectMethod, Response
from ablate.stats.ttest import TTest

SEED = "seed"
Y = "_y"  # the column `display` adds: the response in display units
Key = tuple[Hashable, ...]  # one value per grouping column


@dataclass(frozen=True)
class Contrast(Effect):
    """An `Effect` that keeps what re-scaling its interval needs (Holm's levels).

    `se` is the standard error of the estimate and `df` the degrees of freedom of its
    t reference (Welch-Satterthwaite for "welch"); both None for method "none".
    """

    se: float | None = None
    df: float | None = None


# --------------------------------------------------------------------------- grouping


def display(df: pd.DataFrame, response: Response) -> pd.DataFrame:
    """The runs with a value for `response`, plus a column Y in display units."""
    out = df[df[response.key].notna()].copy()
    out[Y] = out[response.key].astype(float) * response.scale
    return out


def groups(df: pd.DataFrame, keys: Sequence[str]) -> list[tuple[Key, pd.DataFrame]]:
    """Rows grouped by `keys` (a single group () where there are none), in first-seen
    order, each group's rows in table order. Missing values (NaN) form one group."""
    if not keys:
        return [((), df)] if len(df) else []
    return [(k, g) for k, g in df.groupby(list(keys), sort=False, dropna=False)]


def seeds_per_cell(frames: Iterable[pd.DataFrame]) -> int:
    """Smallest number of distinct seeds over the given cells (0 if none)."""
    counts = [int(g[SEED].nunique()) for g in frames if len(g)]
    return min(counts) if counts else 0


# --------------------------------------------------------------------------- pairing


def _by_seed(frame: pd.DataFrame) -> dict[int, float] | None:
    """seed -> value of one cell, or None where a seed occurs twice."""
    if frame[SEED].duplicated().any():
        return None
    return dict(zip(frame[SEED], frame[Y].astype(float), strict=True))


def paired_contrasts(
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


# --------------------------------------------------------------------------- contrasts


def make_contrast(
    response: Response,
    factor: str,
    level: object,
    baseline: object,
    test: TTest,
    n: int,
    method: EffectMethod,
    seeds: int,
    excluded: int,
) -> Contrast:
    """A Contrast from a t-test, verdict pending (`holm`); method "none" without an SE."""
    tested = test.se is not None
    return Contrast(
        response=response.key,
        factor=factor,
        level=level,
        baseline=baseline,
        estimate=test.estimate,
        lo=test.lo if tested else None,
        hi=test.hi if tested else None,
        n=n,
        method=method if tested else "none",
        seeds=seeds,
        p=test.p if tested else None,
        verdict="no clear difference" if tested else "n = 1",
        excluded_contexts=excluded,
        se=test.se,
        df=test.df if tested else None,
    )
