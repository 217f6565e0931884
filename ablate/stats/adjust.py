"""Holm-Bonferroni over one family of contrasts: adjusted p, the intervals at each step's
level, and the verdicts. Pure.

Why not `statsmodels.stats.multitest.multipletests(method="holm")`? Its numbers are the
same (the step-down below is its `maximum.accumulate((m - k) * p)` capped at 1), but its
holm branch calls `gc.collect()` on every call (statsmodels 0.14/0.15; PR #8671 to drop
it was not merged): 0.06 s per call in a bare process, 0.37 s with the report's imports
loaded, and the report calls `holm` once per response (~20 with explanations). With it,
tests/test_report_stats.py::test_holm_properties took 52.7 s of the `pytest -m unit`
lane instead of well under 1 s. The 3-line step-down stays here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from ablate.stats.contrast import Contrast
from ablate.stats.model import Effect, Verdict
from ablate.stats.ttest import ALPHA, LEVEL, t_quantile


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
    # ranks: smallest p first, ties in input order (they decide each step's level)
    tested = sorted(ps, key=lambda i: ps[i])
    m = len(tested)
    out = list(effects)
    p_holm = 0.0
    for k, i in enumerate(tested):
        e = effects[i]
        # step-down: running max of (m - k) * p, capped at 1; a NaN p adjusts to 1
        # (min(1.0, nan) is 1.0), and so does every p after it in the ranks
        p_holm = max(p_holm, min(1.0, (m - k) * ps[i]))
        lo_h, hi_h = _rescaled(e, 1.0 - alpha / (m - k))
        verdict: Verdict = "no clear difference"
        if p_holm < alpha and e.estimate != 0.0:
            verdict = "better" if (e.estimate > 0) == higher_is_better else "worse"
        out[i] = replace(e, p_holm=p_holm, lo_holm=lo_h, hi_holm=hi_h, verdict=verdict)
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
