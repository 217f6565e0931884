"""Holm-Bonferroni over one family of contrasts: adjusted p, the intervals at each step's
level, and the verdicts. Pure.

Two families per response, each Holm at alpha: the difference tests (H0 delta = 0) and,
where the response has a margin m, the equivalence tests (TOST, H0 |delta| >= m). Holm
controls the family-wise error of each family at alpha for any dependence between its
tests (Holm 1979, Scand. J. Statist. 6:65-70): P(any false better/worse) <= alpha and
P(any false equivalent) <= alpha. For one effect at most one of its two nulls is true
(delta = 0 lies inside the margin), so one effect can never carry both errors; over
several effects the chance of any false claim of either kind is <= 2 alpha at worst,
and <= alpha whenever every true effect sits on the same side of the margin (e.g. all
null: a null effect cannot be falsely called equivalent). Pooling both families into
one Holm family of 2k tests would bound that at alpha but halves each test's level for
a case (some effects exactly 0, others at least m) a reader judges per effect anyway.
Verdict: better/worse where the difference is clear; else equivalent where the TOST
is; else no clear difference. A clear difference that is also equivalent stays
better/worse (`p_equiv_holm` says it is within the margin).

Why not `statsmodels.stats.multitest.multipletests(method="holm")`? Its numbers are the
same (the step-down below is its `maximum.accumulate((m - k) * p)` capped at 1), but its
holm branch calls `gc.collect()` on every call (statsmodels 0.14/0.15; PR #8671 to drop
it was not merged): 0.06 s per call in a bare process, 0.37 s with the report's imports
loaded, and the report calls `holm` once per response (~20 with explanations). With it,
tests/test_report_stats.py::test_holm_properties took 52.7 s of the `pytest -m unit`
lane instead of well under 1 s. The 3-line step-down stays here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from ablate.stats.contrast import Contrast
from ablate.stats.equivalence import tost
from ablate.stats.model import Effect, Verdict
from ablate.stats.power import effect_seeds_needed
from ablate.stats.ttest import ALPHA, LEVEL, t_quantile


def step_down(ps: Mapping[int, float]) -> dict[int, tuple[float, int]]:
    """Holm's step-down over one family {index: p}: index -> (adjusted p, m - k), k the
    0-based rank (smallest p first, ties in index order). Adjusted p is the running max
    of (m - k) * p capped at 1; a NaN p adjusts to 1 (min(1.0, nan) is 1.0), and so does
    every p after it in the ranks."""
    ranked = sorted(ps, key=lambda i: ps[i])
    m = len(ranked)
    out: dict[int, tuple[float, int]] = {}
    p_holm = 0.0
    for k, i in enumerate(ranked):
        p_holm = max(p_holm, min(1.0, (m - k) * ps[i]))
        out[i] = (p_holm, m - k)
    return out


def holm(
    effects: Sequence[Effect],
    higher_is_better: bool = True,
    alpha: float = ALPHA,
    margin: float | None = None,
) -> list[Effect]:
    """Holm-Bonferroni over one family: call it once per response, over that response's
    main effects and interaction contrasts on the page.

    Fills p_holm (step-down adjusted p, monotone, capped at 1), lo_holm/hi_holm (the
    t-interval at level 1 - alpha / (m - k) for the k-th smallest p, 0-based) and the
    verdict: "better"/"worse" where p_holm < alpha (a negative estimate is "better"
    when `higher_is_better` is False), else "no clear difference". Effects without a
    p (method "none") are not in the family and stay "n = 1"; method "exact"
    (deterministic responses) stays "exact". Order is kept.

    With a `margin` (display units), also the equivalence family: p_equiv (TOST),
    p_equiv_holm, lo_equiv/hi_equiv (the 1 - 2 alpha / (m - k) interval of the step) and
    verdict "equivalent" where the difference is not clear and p_equiv_holm < alpha;
    a "no clear difference" gets `seeds_needed`, what would settle it
    (`effect_seeds_needed`, at alpha before Holm).

    A plain `Effect` (not a `Contrast`) gets its SE back from its 95% interval with
    df = n - 1 (paired) or n - 2 (welch, an approximation).
    """
    ps = {i: e.p for i, e in enumerate(effects) if e.p is not None}
    diff = step_down(ps)
    equiv: dict[int, tuple[float, int]] = {}
    p_eq: dict[int, float] = {}
    if margin is not None:
        for i in ps:
            se, df = _se_df(effects[i])
            p = tost(effects[i].estimate, se, df, margin) if se is not None else None
            if p is not None and df is not None:
                p_eq[i] = p
        equiv = step_down(p_eq)
    out = list(effects)
    for i, (p_holm, steps) in diff.items():
        e = effects[i]
        lo_h, hi_h = _rescaled(e, 1.0 - alpha / steps)
        verdict: Verdict = "no clear difference"
        if p_holm < alpha and e.estimate != 0.0:
            verdict = "better" if (e.estimate > 0) == higher_is_better else "worse"
        e = replace(e, p_holm=p_holm, lo_holm=lo_h, hi_holm=hi_h)
        if margin is not None:
            e = replace(e, margin=margin)
        if i in equiv:
            pe_holm, esteps = equiv[i]
            lo_e, hi_e = _rescaled(e, 1.0 - 2.0 * alpha / esteps)
            e = replace(e, p_equiv=p_eq[i], p_equiv_holm=pe_holm, lo_equiv=lo_e, hi_equiv=hi_e)
            if verdict == "no clear difference" and pe_holm < alpha:
                verdict = "equivalent"
        if margin is not None and verdict == "no clear difference":  # what would settle it
            e = replace(e, seeds_needed=effect_seeds_needed(e, _se_df(e)[0], margin, alpha))
        out[i] = replace(e, verdict=verdict)
    for i, e in enumerate(effects):
        if e.p is None:
            kept: Verdict = "exact" if e.method == "exact" else "n = 1"
            out[i] = replace(e, p_holm=None, lo_holm=None, hi_holm=None, verdict=kept)
    return out


def _se_df(e: Effect) -> tuple[float | None, float | None]:
    """The effect's SE and df: a Contrast's own, else back from its 95% interval."""
    if isinstance(e, Contrast) and e.se is not None and e.df is not None:
        return e.se, e.df
    if e.lo is not None and e.hi is not None:
        df = float(e.n - 1 if e.method == "paired" else e.n - 2)
        if df < 1:
            return None, None
        return (e.hi - e.lo) / (2.0 * t_quantile(LEVEL, df)), df
    return None, None


def _rescaled(e: Effect, level: float) -> tuple[float | None, float | None]:
    """The effect's interval at another confidence level."""
    se, df = _se_df(e)
    if se is None or df is None:
        return None, None
    half = t_quantile(level, df) * se if se > 0 else 0.0
    return e.estimate - half, e.estimate + half
