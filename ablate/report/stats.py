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
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from scipy import stats as sps

from ablate.report.model import (
    Effect,
    EffectMethod,
    Factor,
    Interval,
    Response,
    ScientificRow,
    SeedNoise,
    Verdict,
    level_label,
)

SEED = "seed"
LEVEL = 0.95
ALPHA = 0.05
POWER = 0.8
MAX_SEEDS = 1000  # seeds_needed gives up above this
FUZZ = 1e-9  # relative: spreads and estimates this small are float rounding, i.e. 0
EDGE = 0.05  # a best nuisance value in the outer 5% of its range gets a warning


@dataclass(frozen=True)
class Contrast(Effect):
    """An `Effect` that keeps what re-scaling its interval needs (Holm's levels).

    `se` is the standard error of the estimate and `df` the degrees of freedom of its
    t reference (Welch-Satterthwaite for "welch"); both None for method "none".
    """

    se: float | None = None
    df: float | None = None


class Range(NamedTuple):
    """A numeric search range of a nuisance parameter, as declared in the space file."""

    low: float
    high: float
    log: bool = False


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


# --------------------------------------------------------------------------- cells


def config_label(values: Mapping[str, Any], factors: Sequence[Factor]) -> str:
    """'stride=1 kernel=3x3': factor names and level labels in the factors' order."""
    if not factors:
        return "all"
    return " ".join(f"{f.name}={level_label(f.key, values[f.key])}" for f in factors)


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


# --------------------------------------------------------------------------- interaction


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


# --------------------------------------------------------------------------- Optuna


def fmt_value(value: Any) -> str:
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
    for sci, group in _sorted_if_possible(_groups(data, list(scientific))):
        best: tuple[float, tuple[Any, ...], pd.DataFrame] | None = None
        for setting, runs in _groups(group, list(nuisance)):
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
    groups: list[tuple[tuple[Any, ...], pd.DataFrame]],
) -> list[tuple[tuple[Any, ...], pd.DataFrame]]:
    """Groups sorted by key; in first-seen order where keys of mixed types do not compare."""
    try:
        return sorted(groups, key=lambda g: g[0])
    except TypeError:
        return groups


def _plain(value: Any) -> Any:
    """numpy scalars -> Python scalars, so values print and compare plainly."""
    return value.item() if isinstance(value, np.generic) else value


def _match(df: pd.DataFrame, keys: Sequence[str], values: tuple[Any, ...]) -> pd.Series:
    mask = pd.Series(True, index=df.index)
    for k, v in zip(keys, values, strict=True):
        mask &= df[k] == v
    return mask


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
