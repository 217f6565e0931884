"""Equivalence verdicts (TOST within a margin, Holm) against values computed by hand.

By hand: the two one-sided t-tests of Schuirmann, from scipy.stats.t only,
    p_low  = P(T_df >= (d + m) / se)     (H0: delta <= -m)
    p_high = P(T_df <= (d - m) / se)     (H0: delta >= +m)
    p      = max(p_low, p_high),  equivalent iff p < alpha
and the same number from statsmodels' `ttost_paired` / `ttost_ind` as a second reference.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from statsmodels.stats.weightstats import ttost_ind, ttost_paired

from ablate.stats import DEFAULT_MARGINS, holm, main_effects, margin_for, tost
from ablate.stats.model import Factor, Response

pytestmark = pytest.mark.unit

ACC = Response("test_acc", "test accuracy", "points", scale=100.0)
STRIDE = Factor("model.stride", (1, 2))
STRIDES = Factor("model.stride", (1, 2, 3))
BASE = {"model.stride": 1}
# stride 1's seeds, and stride 2 - stride 1 per seed, in points
BASELINE = [70.1, 71.3, 69.8, 70.6, 72.0, 70.9]
DIFFS = [0.3, -0.2, 0.5, 0.1, 0.0, 0.4]


def paired_table(diffs: list[float], base: list[float] = BASELINE) -> pd.DataFrame:
    rows = []
    for s, (b, d) in enumerate(zip(base, diffs, strict=True)):
        rows.append({"model.stride": 1, "seed": s, "test_acc": b / 100})
        rows.append({"model.stride": 2, "seed": s, "test_acc": (b + d) / 100})
    return pd.DataFrame(rows)


def by_hand(d: float, se: float, df: float, m: float) -> tuple[float, float, float]:
    """(p_low, p_high, p) of the TOST, from scipy.stats.t."""
    p_low = float(sps.t.sf((d + m) / se, df))
    p_high = float(sps.t.cdf((d - m) / se, df))
    return p_low, p_high, max(p_low, p_high)


def test_paired_tost_by_hand() -> None:
    x = np.asarray(DIFFS)
    d, se, df = x.mean(), x.std(ddof=1) / math.sqrt(len(x)), len(x) - 1
    (e,) = holm(main_effects(paired_table(DIFFS), [STRIDE], ACC, BASE), margin=1.0)
    assert e.method == "paired" and e.estimate == pytest.approx(d, abs=1e-9)
    _, _, p = by_hand(d, se, df, 1.0)
    assert e.p_equiv == pytest.approx(p, rel=1e-6)
    assert e.p_equiv_holm == pytest.approx(p, rel=1e-6)  # a family of one
    assert p < 0.05 and e.p_holm is not None and e.p_holm > 0.05
    assert e.verdict == "equivalent" and e.margin == 1.0
    # the 90% interval TOST reads, inside +-1
    half = float(sps.t.ppf(0.95, df)) * se
    assert (e.lo_equiv, e.hi_equiv) == pytest.approx((d - half, d + half), abs=1e-5)
    assert d - half > -1.0 and d + half < 1.0
    # statsmodels' TOST on the same pairs (in points)
    b = np.asarray(BASELINE)
    p_sm, _, _ = ttost_paired(b + x, b, -1.0, 1.0)
    assert e.p_equiv == pytest.approx(float(p_sm), rel=1e-5)


@pytest.mark.parametrize("margin", [0.2, 0.35, 0.5])
def test_paired_tost_at_tighter_margins(margin: float) -> None:
    x = np.asarray(DIFFS)
    d, se, df = x.mean(), x.std(ddof=1) / math.sqrt(len(x)), len(x) - 1
    (e,) = holm(main_effects(paired_table(DIFFS), [STRIDE], ACC, BASE), margin=margin)
    p_low, p_high, p = by_hand(d, se, df, margin)
    assert e.p_equiv == pytest.approx(p, rel=1e-6)
    # d = +0.18 sits near the upper margin: the upper one-sided test decides
    assert p == p_high > p_low
    assert (e.verdict == "equivalent") == (p < 0.05)
    half = float(sps.t.ppf(0.95, df)) * se
    assert (p < 0.05) == (-margin < d - half and d + half < margin)


def test_welch_tost_by_hand() -> None:
    # stride 2 lacks seed 5: not pairable, Welch on all runs
    df = paired_table(DIFFS).iloc[:-1]
    a = np.asarray([b + d for b, d in zip(BASELINE, DIFFS, strict=True)][:-1])
    b = np.asarray(BASELINE)
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    se = math.sqrt(va + vb)
    dof = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    (e,) = holm(main_effects(df, [STRIDE], ACC, BASE), margin=1.5)
    assert e.method == "welch"
    _, _, p = by_hand(a.mean() - b.mean(), se, dof, 1.5)
    assert e.p_equiv == pytest.approx(p, rel=1e-6)
    p_sm, _, _ = ttost_ind(a, b, -1.5, 1.5, usevar="unequal")
    assert e.p_equiv == pytest.approx(float(p_sm), rel=1e-5)


def test_holm_over_the_equivalence_family_by_hand() -> None:
    # stride 2 - 1: DIFFS; stride 3 - 1: a wider spread around +0.1
    wide = [1.1, -0.9, 0.6, -0.4, 0.8, -0.6]
    rows = paired_table(DIFFS).to_dict("records")
    rows += [
        {"model.stride": 3, "seed": s, "test_acc": (b + w) / 100}
        for s, (b, w) in enumerate(zip(BASELINE, wide, strict=True))
    ]
    effects = holm(main_effects(pd.DataFrame(rows), [STRIDES], ACC, BASE), margin=1.0)
    ps, ses = [], []
    for x in (np.asarray(DIFFS), np.asarray(wide)):
        se = x.std(ddof=1) / math.sqrt(6)
        ps.append(by_hand(x.mean(), se, 5, 1.0)[2])
        ses.append((x.mean(), se))
    assert ps[0] < ps[1]
    adjusted = [2 * ps[0], max(2 * ps[0], ps[1])]  # m = 2: 2 p_(1), then max(., 1 p_(2))
    assert [e.p_equiv_holm for e in effects] == pytest.approx(adjusted, rel=1e-6)
    # the step levels of the TOST intervals: 1 - 2 alpha / 2, then 1 - 2 alpha / 1
    for (d, se), e, level in zip(ses, effects, (0.95, 0.90), strict=True):
        half = float(sps.t.ppf(1 - (1 - level) / 2, 5)) * se
        assert (e.lo_equiv, e.hi_equiv) == pytest.approx((d - half, d + half), abs=1e-5)
    assert [e.verdict for e in effects] == [
        "equivalent" if p < 0.05 else "no clear difference" for p in adjusted
    ]


def test_verdicts_difference_equivalence_and_neither() -> None:
    big = holm(
        main_effects(paired_table([-5.2, -4.8, -5.1, -4.9, -5.0, -5.0]), [STRIDE], ACC, BASE),
        margin=1.0,
    )[0]
    assert big.verdict == "worse" and big.p_equiv_holm is not None and big.p_equiv_holm > 0.05
    # a clear difference that is also inside the margin stays "better"; the TOST says small
    small = holm(
        main_effects(paired_table([0.30, 0.32, 0.28, 0.31, 0.29, 0.30]), [STRIDE], ACC, BASE),
        margin=1.0,
    )[0]
    assert (
        small.verdict == "better" and small.p_equiv_holm is not None and small.p_equiv_holm < 0.05
    )
    # wide: neither; it says how many seeds would settle it
    (wide,) = holm(
        main_effects(paired_table([3.0, -2.5, 1.0, -3.5, 2.0, -1.0]), [STRIDE], ACC, BASE),
        margin=1.0,
    )
    assert wide.verdict == "no clear difference" and wide.seeds_needed is not None
    assert wide.seeds_needed > 6
    # no margin: no equivalence test at all (what the report did before)
    (plain,) = holm(main_effects(paired_table(DIFFS), [STRIDE], ACC, BASE))
    assert plain.verdict == "no clear difference" and plain.p_equiv is None and plain.margin is None


def test_seeds_needed_of_an_effect_by_hand() -> None:
    diffs = [3.0, -2.5, 1.0, -3.5, 2.0, -1.0]
    (e,) = holm(main_effects(paired_table(diffs), [STRIDE], ACC, BASE), margin=1.0)
    sd = float(np.std(diffs, ddof=1))

    def power(n: int) -> float:  # exact two-sided paired power of a 1-point difference
        tc, nc = float(sps.t.ppf(0.975, n - 1)), math.sqrt(n) * 1.0 / sd
        low = float(sps.nct.cdf(-tc, n - 1, nc))
        return float(sps.nct.sf(tc, n - 1, nc)) + (0.0 if math.isnan(low) else low)

    n = next(n for n in range(2, 2000) if power(n) >= 0.8)
    assert e.seeds_needed == n


def test_zero_se_tost() -> None:
    assert tost(0.5, 0.0, 3.0, 1.0) == 0.0  # every difference 0.5: inside +-1 exactly
    assert tost(1.5, 0.0, 3.0, 1.0) == 1.0
    assert tost(0.5, None, None, 1.0) is None  # n = 1


def test_margins_by_response() -> None:
    time = Response("train_seconds", "train time", "s", 1.0, False, "cost")
    xai = Response("xai.gradcam.insertion_vs_random", "ins", "", 1.0, True, "explanations")
    assert DEFAULT_MARGINS == {"accuracy": 1.0}
    assert margin_for(ACC) == 1.0 and margin_for(time) is None and margin_for(xai) is None
    assert margin_for(ACC, {"test_acc": 0.5}) == 0.5
    assert margin_for(time, {"train_seconds": 5.0}) == 5.0
    assert margin_for(ACC, {"test_acc": 0.0}) is None  # 0 turns equivalence off
    assert margin_for(ACC, {"best_val_acc": 2.0}) == 1.0  # another response's margin
