"""The report's statistics against values computed by hand.

t quantiles are literals from a t table; for df = 1 and df = 2 they have closed forms,
used where a test needs a level a table lacks:
    df = 1: t_p = tan(pi (p - 1/2)),      two-sided p of t: 1 - (2/pi) atan|t|
    df = 2: t_p = (2p - 1) / sqrt(2p(1-p)), two-sided p of t: 1 - |t| / sqrt(2 + t^2)
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from ablate.stats import (
    NO_REPEATS,
    TUNED_TRIALS,
    Contrast,
    Range,
    best_nuisance,
    cell_values,
    cells,
    config_label,
    holm,
    interaction,
    interaction_cells,
    main_effects,
    mde,
    pareto_front,
    seed_noise,
    seeds_needed,
    t_interval,
    t_quantile,
)
from ablate.stats.model import Effect, Factor, Response
from ablate.stats.power import paired_power
from ablate.stats.ttest import paired_ttest, welch_ttest

# t table: t_{0.975, df} and t_{0.8, df}
T975 = {1: 12.706205, 2: 4.302653, 3: 3.182446, 4: 2.776445, 5: 2.570582}
T80 = {1: 1.376382, 2: 1.060660, 3: 0.978472, 4: 0.940965, 5: 0.919544}

ACC = Response("test_acc", "test accuracy", "points", scale=100.0)
STRIDE = Factor("model.stride", (1, 2, 3))
KERNEL = Factor("model.kernel_size", (3, 4))
HEAD = Factor("model.head", ("flatten", "gap"))


def t2(p: float) -> float:
    """Quantile p of Student t with 2 df (closed form)."""
    return (2 * p - 1) / math.sqrt(2 * p * (1 - p))


def p2(t: float) -> float:
    """Two-sided p of t with 2 df (closed form)."""
    return 1 - abs(t) / math.sqrt(2 + t * t)


def runs(rows: list[tuple[dict[str, Any], int, float]], key: str = "test_acc") -> pd.DataFrame:
    """A runs table from (factor values, seed, response value) triples."""
    return pd.DataFrame([{**f, "seed": s, key: y} for f, s, y in rows])


def one_factor(values: dict[Any, list[float]], key: str = "model.stride") -> pd.DataFrame:
    """Runs of one factor; values[level][i] is seed i + 1."""
    return runs([({key: lv}, i + 1, y) for lv, ys in values.items() for i, y in enumerate(ys)])


def test_closed_forms_match_the_table() -> None:
    assert t2(0.975) == pytest.approx(T975[2], abs=1e-6)
    assert t2(0.8) == pytest.approx(T80[2], abs=1e-6)
    assert math.tan(math.pi * 0.475) == pytest.approx(T975[1], abs=1e-6)
    for df, t in T975.items():
        assert t_quantile(0.95, df) == pytest.approx(t, abs=1e-6)


# --------------------------------------------------------------------------- cells


def test_t_interval_by_hand() -> None:
    iv = t_interval([1.0, 2.0, 3.0, 4.0])
    sd = math.sqrt((1.5**2 + 0.5**2 + 0.5**2 + 1.5**2) / 3)
    half = T975[3] * sd / 2
    assert iv.mean == 2.5 and iv.n == 4 and iv.level == 0.95
    assert iv.sd == pytest.approx(sd)
    assert iv.lo == pytest.approx(2.5 - half, abs=1e-6)
    assert iv.hi == pytest.approx(2.5 + half, abs=1e-6)


def test_t_interval_other_level() -> None:
    iv = t_interval([1.0, 2.0, 6.0], level=0.9)  # mean 3, sd sqrt(7), t_{0.95,2}
    half = t2(0.95) * math.sqrt(7) / math.sqrt(3)
    assert iv.lo == pytest.approx(3 - half) and iv.hi == pytest.approx(3 + half)


def test_t_interval_without_replication() -> None:
    iv = t_interval([0.7])
    assert iv.mean == 0.7 and iv.n == 1 and math.isnan(iv.sd)
    assert iv.lo is None and iv.hi is None
    empty = t_interval([])
    assert empty.n == 0 and empty.lo is None


def test_config_label() -> None:
    assert config_label({"model.stride": 1, "model.kernel_size": 3}, [STRIDE, KERNEL]) == (
        "stride=1 kernel=3x3"
    )
    assert config_label({"model.head": "gap"}, [HEAD]) == "head=GAP"
    assert config_label({}, []) == "all"


def test_cells_in_display_units_and_level_order() -> None:
    df = runs(
        [
            ({"model.stride": 2, "model.kernel_size": 3}, 1, 0.50),
            ({"model.stride": 1, "model.kernel_size": 3}, 2, 0.72),
            ({"model.stride": 1, "model.kernel_size": 3}, 1, 0.70),
            ({"model.stride": 1, "model.kernel_size": 3}, 3, 0.74),
        ]
    )
    values = cell_values(df, [STRIDE, KERNEL], ACC)
    assert list(values) == ["stride=1 kernel=3x3", "stride=2 kernel=3x3"]
    assert values["stride=1 kernel=3x3"] == pytest.approx([70.0, 72.0, 74.0])  # by seed
    iv = cells(df, [STRIDE, KERNEL], ACC)["stride=1 kernel=3x3"]
    # mean 72, sd 2, half = t_{0.975,2} * 2 / sqrt(3)
    assert iv.mean == pytest.approx(72.0) and iv.sd == pytest.approx(2.0) and iv.n == 3
    assert iv.lo == pytest.approx(72 - T975[2] * 2 / math.sqrt(3), abs=1e-5)
    assert iv.hi == pytest.approx(72 + T975[2] * 2 / math.sqrt(3), abs=1e-5)
    assert cells(df, [STRIDE, KERNEL], ACC)["stride=2 kernel=3x3"].lo is None
    assert list(cells(df, [], ACC)) == ["all"]


def test_missing_response_values_are_left_out() -> None:
    df = one_factor({1: [0.7, float("nan"), 0.74]})
    assert cell_values(df, [STRIDE], ACC) == {"stride=1": pytest.approx([70.0, 74.0])}


# --------------------------------------------------------------------------- main effects


def test_paired_effect_by_hand() -> None:
    # differences stride 2 - stride 1 per seed: -5, -3, -8 points
    df = one_factor({1: [0.70, 0.72, 0.74], 2: [0.65, 0.69, 0.66], 3: [0.5, 0.5, 0.5]})
    (e2, _) = main_effects(df, [STRIDE], ACC, {"model.stride": 1})
    mean = (-5 - 3 - 8) / 3
    sd = math.sqrt(((-5 - mean) ** 2 + (-3 - mean) ** 2 + (-8 - mean) ** 2) / 2)
    se = sd / math.sqrt(3)
    assert (e2.factor, e2.level, e2.baseline, e2.method) == ("model.stride", 2, 1, "paired")
    assert (e2.n, e2.seeds, e2.excluded_contexts) == (3, 3, 0)
    assert e2.estimate == pytest.approx(mean)
    assert e2.lo == pytest.approx(mean - T975[2] * se, abs=1e-5)
    assert e2.hi == pytest.approx(mean + T975[2] * se, abs=1e-5)
    assert e2.p == pytest.approx(p2(mean / se))
    assert e2.verdict == "no clear difference"  # until holm decides


def test_paired_over_contexts_and_seeds() -> None:
    # stride 2 - 1 is -10 at kernel 3 and -4 at kernel 4, +-1 by seed: pairs over 2 x 3
    rows = []
    for k, gap in ((3, -10.0), (4, -4.0)):
        for s, noise in ((1, -1.0), (2, 0.0), (3, 1.0)):
            rows.append(({"model.stride": 1, "model.kernel_size": k}, s, 0.7))
            rows.append(({"model.stride": 2, "model.kernel_size": k}, s, 0.7 + (gap + noise) / 100))
    df = runs(rows)
    base = {"model.stride": 1, "model.kernel_size": 3}
    effects = main_effects(df, [Factor("model.stride", (1, 2)), KERNEL], ACC, base)
    stride = next(e for e in effects if e.factor == "model.stride")
    diffs = [-11, -10, -9, -5, -4, -3]
    sd = math.sqrt(sum((d + 7) ** 2 for d in diffs) / 5)
    assert stride.n == 6 and stride.method == "paired" and stride.seeds == 3
    assert stride.estimate == pytest.approx(-7.0)
    assert stride.hi == pytest.approx(-7 + T975[5] * sd / math.sqrt(6), abs=1e-5)
    kernel = next(e for e in effects if e.factor == "model.kernel_size")
    # kernel 4 - 3: 0 at stride 1, +6 at stride 2 (each seed)
    assert kernel.estimate == pytest.approx(3.0) and kernel.n == 6


def test_welch_fallback_on_unbalanced_design() -> None:
    # stride 2 lacks seed 3: runs at stride 1 [70, 72, 74], at stride 2 [65, 69]
    df = one_factor({1: [0.70, 0.72, 0.74], 2: [0.65, 0.69]})
    (e,) = main_effects(df, [Factor("model.stride", (1, 2))], ACC, {"model.stride": 1})
    v_level, v_base = 8.0 / 2, 4.0 / 3  # s^2 / n: var 8 over 2 runs, var 4 over 3 runs
    se = math.sqrt(v_level + v_base)
    df_ws = (v_level + v_base) ** 2 / (v_level**2 / 1 + v_base**2 / 2)  # Welch-Satterthwaite
    assert df_ws == pytest.approx(1.684210526)
    assert isinstance(e, Contrast)
    assert e.method == "welch" and e.n == 5 and e.seeds == 2
    assert e.estimate == pytest.approx(-5.0)
    assert e.se == pytest.approx(se) and e.df == pytest.approx(df_ws)
    t = sps.t.ppf(0.975, df_ws)  # no table has df 1.68; scipy at the hand-computed df
    assert e.lo == pytest.approx(-5 - t * se) and e.hi == pytest.approx(-5 + t * se)
    assert e.p == pytest.approx(2 * sps.t.sf(5 / se, df_ws))


def test_welch_with_one_run_on_a_side_has_no_interval() -> None:
    df = one_factor({1: [0.70, 0.72, 0.74], 2: [0.65]})
    (e,) = main_effects(df, [Factor("model.stride", (1, 2))], ACC, {"model.stride": 1})
    assert e.method == "none" and e.lo is None and e.p is None and e.verdict == "n = 1"
    assert e.n == 4 and e.estimate == pytest.approx(65 - 72)


def test_duplicate_seed_is_not_paired() -> None:
    df = one_factor({1: [0.70, 0.72], 2: [0.65, 0.69]})
    df = pd.concat([df, runs([({"model.stride": 2}, 1, 0.67)])], ignore_index=True)
    (e,) = main_effects(df, [Factor("model.stride", (1, 2))], ACC, {"model.stride": 1})
    assert e.method == "welch" and e.n == 5


def test_excluded_contexts() -> None:
    # stride 3 with kernel 4 is invalid: no run there
    rows = []
    for s in (1, 2, 3):
        rows.append(({"model.stride": 1, "model.kernel_size": 3}, s, 0.70 + s / 100))
        rows.append(({"model.stride": 1, "model.kernel_size": 4}, s, 0.72 + s / 100))
        rows.append(({"model.stride": 3, "model.kernel_size": 3}, s, 0.60 + 2 * s / 100))
    df = runs(rows)
    base = {"model.stride": 1, "model.kernel_size": 3}
    effects = main_effects(df, [Factor("model.stride", (1, 3)), KERNEL], ACC, base)
    stride, kernel = effects
    assert stride.excluded_contexts == 1 and stride.method == "paired" and stride.n == 3
    assert stride.estimate == pytest.approx(-8.0)  # (-9, -8, -7) at kernel 3 only
    assert kernel.excluded_contexts == 1 and kernel.n == 3
    assert kernel.estimate == pytest.approx(2.0)
    assert kernel.lo == kernel.hi == pytest.approx(2.0)  # constant differences


def test_level_without_a_shared_context_gives_no_effect() -> None:
    df = runs(
        [
            ({"model.stride": 1, "model.kernel_size": 3}, 1, 0.7),
            ({"model.stride": 3, "model.kernel_size": 4}, 1, 0.6),
        ]
    )
    base = {"model.stride": 1, "model.kernel_size": 3}
    assert main_effects(df, [Factor("model.stride", (1, 3)), KERNEL], ACC, base) == []


def test_one_seed_no_replication_is_n_1() -> None:
    df = one_factor({1: [0.70], 2: [0.65]})
    (e,) = holm(main_effects(df, [Factor("model.stride", (1, 2))], ACC, {"model.stride": 1}))
    assert (e.method, e.n, e.seeds, e.verdict) == ("none", 1, 1, "n = 1")
    assert e.lo is None and e.hi is None and e.p is None and e.p_holm is None
    assert e.estimate == pytest.approx(-5.0)


def test_one_seed_replicated_across_contexts_has_an_interval() -> None:
    rows = [
        ({"model.stride": 1, "model.kernel_size": 3}, 1, 0.70),
        ({"model.stride": 2, "model.kernel_size": 3}, 1, 0.64),
        ({"model.stride": 1, "model.kernel_size": 4}, 1, 0.72),
        ({"model.stride": 2, "model.kernel_size": 4}, 1, 0.68),
    ]
    base = {"model.stride": 1, "model.kernel_size": 3}
    e = main_effects(runs(rows), [Factor("model.stride", (1, 2)), KERNEL], ACC, base)[0]
    # differences -6, -4: mean -5, sd sqrt(2), se 1, t_{0.975,1}
    assert e.method == "paired" and e.n == 2 and e.seeds == 1
    assert e.lo == pytest.approx(-5 - T975[1], abs=1e-5)
    assert e.p == pytest.approx(1 - 2 / math.pi * math.atan(5.0))


def test_zero_variance_differences() -> None:
    df = runs(
        [({"model.stride": st}, s, p) for s in (1, 2, 3) for st, p in ((1, 1000.0), (2, 500.0))],
        key="params",
    )
    params = Response("params", "parameters", "params", higher_is_better=False, group="cost")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (e,) = holm(
            main_effects(df, [Factor("model.stride", (1, 2))], params, {"model.stride": 1}),
            higher_is_better=False,
        )
    # issue 15 D: constant within every cell is deterministic, stated exactly, not tested
    assert e.estimate == -500.0 and e.method == "exact" and e.verdict == "exact"
    assert e.lo is None and e.hi is None and e.p is None and e.p_holm is None
    same = runs([({"model.stride": st}, s, 7.0) for s in (1, 2) for st in (1, 2)], key="params")
    (z,) = main_effects(same, [Factor("model.stride", (1, 2))], params, {"model.stride": 1})
    assert z.estimate == 0.0 and z.p is None and z.method == "exact"
    # the t-test's own zero-SE edge (differences all equal), which such data used to reach
    t = paired_ttest([-500.0, -500.0, -500.0])
    assert t.estimate == -500.0 and t.lo == t.hi == -500.0 and t.p == 0.0 and t.se == 0.0
    z0 = paired_ttest([0.0, 0.0])
    assert z0.estimate == 0.0 and z0.p == 1.0 and z0.lo == z0.hi == 0.0


def test_float_rounding_is_not_variance() -> None:
    # 0.1 + 0.2 != 0.3 in floats: constant differences must still give SE 0, p 0
    df = runs(
        [({"model.stride": 1}, s, 0.1 * s) for s in (1, 2, 3)]
        + [({"model.stride": 2}, s, 0.1 * s + 0.2) for s in (1, 2, 3)]
    )
    (e,) = main_effects(df, [Factor("model.stride", (1, 2))], ACC, {"model.stride": 1})
    assert e.p == 0.0 and e.lo == e.hi == e.estimate == pytest.approx(20.0)
    # 0.1 + 0.2 - 0.3 = 5.6e-17: a "difference" that is only rounding; no claim from it
    same = runs(
        [
            ({"model.stride": st}, s, 0.3 if st == 1 else 0.1 + 0.2)
            for s in (1, 2, 3)
            for st in (1, 2)
        ]
    )
    (z,) = holm(main_effects(same, [Factor("model.stride", (1, 2))], ACC, {"model.stride": 1}))
    # constant within each cell: exact (issue 15 D), and its rounding-only gap is exactly 0
    assert z.estimate == 0.0 and z.p is None and z.verdict == "exact"
    r = paired_ttest([(0.1 + 0.2) * 100 - 30.0] * 3)  # the same gap through the t-test
    assert r.estimate == 0.0 and r.p == 1.0


def test_zero_variance_welch() -> None:
    df = one_factor({1: [0.7, 0.7, 0.7], 2: [0.6, 0.6]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (e,) = main_effects(df, [Factor("model.stride", (1, 2))], ACC, {"model.stride": 1})
    # constant within each cell: exact (issue 15 D); Welch's zero-variance edge directly
    assert e.method == "exact" and e.p is None and e.estimate == pytest.approx(-10.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        w = welch_ttest(np.array([60.0, 60.0]), np.array([70.0, 70.0, 70.0]))
    assert w.p == 0.0 and w.lo == w.hi == pytest.approx(-10.0)


# --------------------------------------------------------------------------- Holm


def contrast(p: float | None, estimate: float = 1.0, se: float = 0.5) -> Contrast:
    half = T975[2] * se
    return Contrast(
        response="test_acc",
        factor="model.stride",
        level=2,
        baseline=1,
        estimate=estimate,
        lo=None if p is None else estimate - half,
        hi=None if p is None else estimate + half,
        n=3,
        method="none" if p is None else "paired",
        seeds=3,
        p=p,
        se=None if p is None else se,
        df=None if p is None else 2.0,
    )


def test_holm_by_hand() -> None:
    ps = [0.01, 0.04, 0.03, 0.005]
    family = [contrast(p, estimate=e) for p, e in zip(ps, (1.0, 2.0, 3.0, -4.0), strict=True)]
    family.append(contrast(None))  # no p: not in the family, m stays 4
    out = holm(family)
    # sorted: 0.005 x4 = 0.02, 0.01 x3 = 0.03, 0.03 x2 = 0.06, 0.04 x1 = 0.04 -> max 0.06
    assert [e.p_holm for e in out[:4]] == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert [e.verdict for e in out] == [
        "better",
        "no clear difference",
        "no clear difference",
        "worse",  # negative estimate, higher is better
        "n = 1",
    ]
    assert out[4].p_holm is None and out[4].lo_holm is None
    # k-th smallest p (0-based) gets level 1 - 0.05 / (4 - k): quantile 1 - 0.025 / (4 - k)
    for i, k in ((3, 0), (0, 1), (2, 2), (1, 3)):
        half = t2(1 - 0.025 / (4 - k)) * 0.5
        assert out[i].lo_holm == pytest.approx(out[i].estimate - half)
        assert out[i].hi_holm == pytest.approx(out[i].estimate + half)
    assert out[1].lo_holm == pytest.approx(2.0 - T975[2] * 0.5, abs=1e-6)  # last step: 95%
    # the original order is kept; the input is not changed
    assert [e.estimate for e in out[:4]] == [1.0, 2.0, 3.0, -4.0]
    assert family[0].p_holm is None


def test_holm_lower_is_better() -> None:
    out = holm([contrast(0.001, estimate=-3.0), contrast(0.001, estimate=3.0)], False)
    assert [e.verdict for e in out] == ["better", "worse"]


def test_holm_caps_at_one_and_alpha() -> None:
    out = holm([contrast(0.6), contrast(0.7), contrast(0.02)], alpha=0.1)
    assert [e.p_holm for e in out] == pytest.approx([1.0, 1.0, 0.06])
    assert out[2].verdict == "better"


def test_holm_on_a_plain_effect_recovers_the_se() -> None:
    plain = Effect(
        "test_acc", "model.stride", 2, 1, 1.0, 1.0 - T975[2], 1.0 + T975[2], 3, "paired", 3, p=0.01
    )
    (a, b) = holm([plain, plain])
    half = t2(1 - 0.0125) * 1.0  # se 1, df 2, first step level 1 - 0.05/2
    assert a.lo_holm == pytest.approx(1.0 - half, abs=1e-5)
    assert b.p_holm == pytest.approx(0.02)


@given(st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=1, max_size=12))
def test_holm_properties(ps: list[float]) -> None:
    out = holm([contrast(p, estimate=1.0, se=0.3) for p in ps])
    adj = [e.p_holm for e in out]
    assert all(a is not None and p <= a <= 1.0 for p, a in zip(ps, adj, strict=True))
    order = sorted(range(len(ps)), key=lambda i: ps[i])
    ranked = [adj[i] for i in order]
    assert ranked == sorted(ranked)  # type: ignore[type-var]
    for e in out:
        assert e.lo_holm is not None and e.hi_holm is not None
        assert e.lo is not None and e.hi is not None
        assert e.lo_holm <= e.lo + 1e-6 and e.lo <= e.estimate <= e.hi <= e.hi_holm + 1e-6
        assert (e.verdict == "better") == (e.p_holm is not None and e.p_holm < 0.05)


@given(st.lists(st.floats(min_value=-1e3, max_value=1e3), min_size=2, max_size=20))
def test_t_interval_contains_the_mean(values: list[float]) -> None:
    iv = t_interval(values)
    assert iv.lo is not None and iv.hi is not None
    assert iv.lo <= iv.mean + 1e-9 and iv.mean <= iv.hi + 1e-9


# --------------------------------------------------------------------------- seed noise


def exact_power(d: float, n: int) -> float:
    """Two-sided power of the one-sample t-test, by hand from scipy's noncentral t:
    P(T' > t_c) + P(T' < -t_c), T' ~ nct(n - 1, d sqrt(n)), t_c = t_{0.975, n - 1}."""
    tc = float(sps.t.ppf(0.975, n - 1))
    nc = d * math.sqrt(n)
    lower = float(sps.nct.cdf(-tc, n - 1, nc))
    return float(sps.nct.sf(tc, n - 1, nc)) + (0.0 if math.isnan(lower) else lower)


def exact_mde(sd: float, n: int, power: float = 0.8) -> float:
    """sqrt(2) sd times the d whose exact power is `power` (bisection, by hand)."""
    lo, hi = 0.0, 100.0
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if exact_power(mid, n) < power else (lo, mid)
    return (lo + hi) / 2 * math.sqrt(2) * sd


def test_exact_power_against_a_published_value() -> None:
    # G*Power's "actual power" (one-sample t, two-tailed, alpha 0.05) for the n it gives
    # at power 0.8: d 0.5 -> n 34, 0.8077775; d 1.0 -> n 10, 0.8030969
    assert exact_power(0.5, 34) == pytest.approx(0.8078, abs=5e-4)
    assert exact_power(1.0, 10) == pytest.approx(0.8031, abs=5e-4)


def test_exact_power_where_scipy_returns_nan() -> None:
    # scipy 1.17's noncentral t gives NaN in far tails; the power there is known
    assert float(paired_power(7 / math.sqrt(2), 3)[()]) == pytest.approx(0.97360, abs=1e-4)
    assert float(paired_power(2.4830129068452864, 250)[()]) == 1.0  # near tail NaN
    assert float(paired_power(1.0, 10)[()]) == pytest.approx(exact_power(1.0, 10), rel=1e-9)
    ns = np.arange(2, 400)
    assert np.all(np.diff(paired_power(0.3, ns)) >= 0)  # no NaN, rising with n


def test_seed_noise_mde_and_seeds_needed() -> None:
    # cell stride 1: [70, 72, 74] (var 4); stride 2: [60, 61, 65] (var 7); stride 3: 1 seed
    df = one_factor({1: [0.70, 0.72, 0.74], 2: [0.60, 0.61, 0.65], 3: [0.5]})
    noise = seed_noise(df, [STRIDE], ACC, target=6.0)
    sd = math.sqrt((2 * 4 + 2 * 7) / 4)
    assert noise.pooled_sd == pytest.approx(sd) and noise.df == 4
    assert noise.seeds == 1  # the smallest cell decides
    assert noise.mde is None  # nothing is detectable with 1 seed
    # issue 15 C: exact noncentral-t power (was the central (t_a + t_b) approximation)
    by_hand = {n: exact_mde(sd, n) for n in (3, 4, 5, 6)}
    approx = {n: (T975[n - 1] + T80[n - 1]) * math.sqrt(2) * sd / math.sqrt(n) for n in (3, 4, 5)}
    assert all(by_hand[n] > approx[n] for n in approx)  # the approximation was optimistic
    assert by_hand[4] > 6.0 >= by_hand[5]
    assert noise.seeds_needed == 5 and noise.seeds_for == 6.0
    for n, v in by_hand.items():
        assert mde(sd, n) == pytest.approx(v, rel=1e-7)


def test_seed_noise_at_three_seeds() -> None:
    df = one_factor({1: [0.70, 0.72, 0.74], 2: [0.60, 0.61, 0.65]})
    noise = seed_noise(df, [STRIDE], ACC)
    sd = math.sqrt(5.5)
    assert noise.seeds == 3
    assert noise.mde == pytest.approx(exact_mde(sd, 3), rel=1e-7)
    n = noise.seeds_needed
    assert n is not None and noise.seeds_for == 1.0
    assert mde(sd, n) <= 1.0 < mde(sd, n - 1)  # type: ignore[operator]


def test_seed_noise_without_replication() -> None:
    noise = seed_noise(one_factor({1: [0.7], 2: [0.6]}), [STRIDE], ACC)
    assert math.isnan(noise.pooled_sd) and noise.df == 0 and noise.seeds == 1
    assert noise.mde is None and noise.seeds_needed is None


@settings(deadline=None)  # exact power: a first call can take 0.3 s on a busy machine
@given(st.floats(min_value=0.01, max_value=100.0), st.floats(min_value=0.1, max_value=10.0))
def test_seeds_needed_is_the_smallest(sd: float, target: float) -> None:
    n = seeds_needed(sd, target)
    if n is None:
        assert mde(sd, 1000) > target  # type: ignore[operator]
    else:
        assert mde(sd, n) <= target  # type: ignore[operator]
        assert n == 2 or mde(sd, n - 1) > target  # type: ignore[operator]


def test_seeds_needed_edges() -> None:
    assert seeds_needed(0.0, 1.0) == 2
    assert seeds_needed(100.0, 0.01) is None  # beyond 1000 seeds
    assert seeds_needed(float("nan"), 1.0) is None
    assert mde(1.0, 1) is None


# --------------------------------------------------------------------------- interaction


def two_by_two(values: Mapping[tuple[int, str], Sequence[float]]) -> pd.DataFrame:
    return runs(
        [
            ({"model.stride": a, "model.head": b}, i + 1, y / 100)
            for (a, b), ys in values.items()
            for i, y in enumerate(ys)
        ]
    )


SH = (Factor("model.stride", (1, 3)), HEAD)
SH_BASE = {"model.stride": 1, "model.head": "flatten"}


def test_interaction_contrast_paired_by_hand() -> None:
    df = two_by_two(
        {
            (1, "flatten"): [70, 71],
            (3, "flatten"): [60, 62],
            (1, "gap"): [72, 74],
            (3, "gap"): [66, 67],
        }
    )
    (e,) = interaction(df, *SH, ACC, SH_BASE)
    # seed 1: (66 - 72) - (60 - 70) = 4; seed 2: (67 - 74) - (62 - 71) = 2
    assert (e.factor, e.level, e.baseline) == (
        "model.stride*model.head",
        (3, "gap"),
        (1, "flatten"),
    )
    assert e.method == "paired" and e.n == 2 and e.seeds == 2
    assert e.estimate == pytest.approx(3.0)
    # sd sqrt(2), se 1, df 1
    assert e.lo == pytest.approx(3 - T975[1], abs=1e-5)
    assert e.hi == pytest.approx(3 + T975[1], abs=1e-5)
    assert e.p == pytest.approx(1 - 2 / math.pi * math.atan(3.0))


def test_interaction_welch_fallback_by_hand() -> None:
    values = {
        (1, "flatten"): [70, 71, 72],
        (3, "flatten"): [60, 62, 64],
        (1, "gap"): [72, 74, 73],
        (3, "gap"): [66, 67],  # seed 3 missing
    }
    (e,) = interaction(two_by_two(values), *SH, ACC, SH_BASE)
    assert e.method == "welch" and e.n == 11
    est = (66.5 - 73) - (62 - 71)
    v = [1 / 3, 4 / 3, 1 / 3, 0.5 / 2]  # s^2 / n per cell
    se = math.sqrt(sum(v))
    dof = sum(v) ** 2 / (v[0] ** 2 / 2 + v[1] ** 2 / 2 + v[2] ** 2 / 2 + v[3] ** 2 / 1)
    assert isinstance(e, Contrast)
    assert e.estimate == pytest.approx(est) and e.se == pytest.approx(se)
    assert e.df == pytest.approx(dof)
    assert e.hi == pytest.approx(est + sps.t.ppf(0.975, dof) * se)


def test_interaction_pairs_within_other_factors_and_excludes_incomplete() -> None:
    rows = []
    for k in (3, 4):
        for s in (1, 2):
            for (a, b), y in {(1, "flatten"): 70, (3, "flatten"): 60, (1, "gap"): 72}.items():
                rows.append(
                    ({"model.stride": a, "model.head": b, "model.kernel_size": k}, s, y / 100)
                )
            if k == 3:  # (3, gap) only at kernel 3
                rows.append(
                    (
                        {"model.stride": 3, "model.head": "gap", "model.kernel_size": 3},
                        s,
                        (66 + s) / 100,
                    )
                )
    base = {**SH_BASE, "model.kernel_size": 3}
    (e,) = interaction(runs(rows), *SH, ACC, base)
    # contrasts (66 + s - 72) - (60 - 70) = 4 + s at kernel 3; kernel 4 lacks (3, gap)
    assert e.excluded_contexts == 1 and e.n == 2 and e.method == "paired"
    assert e.estimate == pytest.approx(5.5)


def test_interaction_cells() -> None:
    df = two_by_two({(1, "flatten"): [70, 72, 74], (3, "gap"): [66]})
    out = interaction_cells(df, *SH, ACC)
    assert list(out) == [(1, "flatten"), (3, "gap")]
    assert out[(1, "flatten")].mean == pytest.approx(72.0)
    assert out[(1, "flatten")].hi == pytest.approx(72 + T975[2] * 2 / math.sqrt(3), abs=1e-5)
    single = out[(3, "gap")]
    assert single.mean == pytest.approx(66.0) and single.n == 1 and single.lo is None


# --------------------------------------------------------------------------- Optuna


OPTUNA_COLUMNS = ("model.stride", "train.lr", "model.width", "seed", "val_acc", "test_acc")
OPTUNA_RUNS = [
    # stride 1: lr 0.001 has the best single seed (0.80) but the worse mean (0.70)
    (1, 0.001, 32, 1, 0.80, 0.79),
    (1, 0.001, 32, 2, 0.60, 0.61),
    (1, 0.01, 64, 1, 0.75, 0.74),
    (1, 0.01, 64, 2, 0.73, 0.70),
    (2, 0.0003, 32, 1, 0.60, 0.58),
    (2, 0.0003, 32, 2, 0.62, 0.60),
    (2, 0.003, 16, 1, 0.50, 0.50),
]


def optuna_runs(reverse: bool = False) -> pd.DataFrame:
    rows = OPTUNA_RUNS[::-1] if reverse else OPTUNA_RUNS
    return pd.DataFrame([dict(zip(OPTUNA_COLUMNS, r, strict=True)) for r in rows])


@pytest.mark.parametrize("reverse", [False, True])
def test_best_nuisance_by_mean_over_seeds_with_edge_warnings(reverse: bool) -> None:
    ranges = {"train.lr": Range(1e-4, 1e-2, log=True), "model.width": (16, 32, 64)}
    rows = best_nuisance(
        optuna_runs(reverse),
        ["model.stride"],
        ["train.lr", "model.width"],
        "val_acc",
        "test_acc",
        ranges,
        scale=100,
    )
    one, two = rows  # sorted by scientific value whatever the run order
    assert one.scientific == {"model.stride": 1}
    assert one.nuisance == {"train.lr": 0.01, "model.width": 64}
    assert one.val.mean == pytest.approx(74.0) and one.val.n == 2
    assert one.test.mean == pytest.approx(72.0)
    # test [74, 70]: sd sqrt(8), half = t_{0.975,1} * sqrt(8) / sqrt(2)
    assert one.test.hi == pytest.approx(72 + T975[1] * math.sqrt(8) / math.sqrt(2), abs=1e-4)
    assert one.trials == 4
    assert one.edge_warnings == [
        "train.lr = 0.01 is at the top of its range [0.0001, 0.01] (log scale)",
        "model.width = 64 is the last of its choices (16, 32, 64)",
    ]
    # lr 0.0003 is 24% up a log range: no warning (it would be in the bottom 5% linearly)
    assert two.nuisance == {"train.lr": 0.0003, "model.width": 32}
    assert two.trials == 3 and two.edge_warnings == []


def test_edge_warnings_linear_and_bottom() -> None:
    ranges = {"train.lr": (0.0003, 0.1), "model.width": (32, 64, 128)}
    _, two = best_nuisance(
        optuna_runs(), ["model.stride"], ["train.lr", "model.width"], "val_acc", "test_acc", ranges
    )
    assert two.edge_warnings == [
        "train.lr = 0.0003 is at the bottom of its range [0.0003, 0.1]",
        "model.width = 32 is the first of its choices (32, 64, 128)",
    ]
    assert two.val.mean == pytest.approx(0.61)  # scale 1: raw units


def test_edge_warnings_categorical_lists_and_log_ranges() -> None:
    # a list is categorical, even of two numbers; only >= 3 choices can have an edge
    ranges: dict[str, Any] = {"train.lr": [0.0003, 0.003], "model.width": [16, 32]}
    _, two = best_nuisance(
        optuna_runs(), ["model.stride"], ["train.lr", "model.width"], "val_acc", "test_acc", ranges
    )
    assert two.edge_warnings == []
    # 0.0003 on a log range [0.0001, 0.1]: log(3) / log(1000) = 16% up, no warning
    ranges = {"train.lr": Range(0.0001, 0.1, log=True)}
    _, two = best_nuisance(
        optuna_runs(), ["model.stride"], ["train.lr"], "val_acc", "test_acc", ranges
    )
    assert two.edge_warnings == []
    # ... but 0.3% up the same range read linearly
    ranges = {"train.lr": (0.0001, 0.1)}
    _, two = best_nuisance(
        optuna_runs(), ["model.stride"], ["train.lr"], "val_acc", "test_acc", ranges
    )
    assert two.edge_warnings == ["train.lr = 0.0003 is at the bottom of its range [0.0001, 0.1]"]


# --------------------------------------------------------------------------- Pareto


def test_pareto_front() -> None:
    pts = [(1.0, 2.0), (2.0, 3.0), (2.0, 1.0), (0.5, 0.5), (3.0, 3.0), (float("nan"), 9.0)]
    assert pareto_front(pts) == [3, 0, 1]
    assert pareto_front([(1.0, 1.0), (1.0, 1.0)]) == [0, 1]  # ties dominate nothing
    assert pareto_front([]) == []


@given(st.lists(st.tuples(st.floats(0, 10), st.floats(0, 10)), max_size=15))
def test_pareto_front_is_not_dominated(pts: list[tuple[float, float]]) -> None:
    front = pareto_front(pts)
    for i in front:
        assert not any(c <= pts[i][0] and a >= pts[i][1] and (c, a) != pts[i] for c, a in pts)
    for j in set(range(len(pts))) - set(front):
        assert any(pts[i][0] <= pts[j][0] and pts[i][1] >= pts[j][1] for i in front)


# --------------------------------------------------------------------------- issue 15 D, E

PARAMS = Response("params", "parameters", "thousand", 1e-3, False, "cost")
FLOPS = Response("flops_per_image", "FLOPs per image", "MFLOP", 1e-6, False, "cost")
SPREAD = Response("xai.cam.sanity_spearman", "sanity", "", 1.0, False, "explanations")
# SH, SH_BASE: stride 1/3 x head, as for the interactions above


def design_table(seeds: int = 3) -> pd.DataFrame:
    """stride x head, accuracy noisy; parameters and FLOPs fixed by the cell."""
    rng = np.random.default_rng(5)
    params = {
        (1, "flatten"): 120_000,
        (3, "flatten"): 79_680,
        (1, "gap"): 60_000,
        (3, "gap"): 59_840,
    }
    rows = []
    for (sv, hd), p in params.items():
        for s in range(seeds):
            rows.append(
                {
                    "model.stride": sv,
                    "model.head": hd,
                    "seed": s,
                    "test_acc": 0.6 + 0.05 * (sv == 1) + rng.normal(0, 0.01),
                    "params": float(p),
                    "flops_per_image": 1e6 * (9.0 if sv == 1 else 1.0),
                    "xai.cam.sanity_spearman": 0.25 if hd == "gap" else 0.5,
                }
            )
    return pd.DataFrame(rows)


def test_deterministic_responses_are_exact_differences() -> None:
    df = design_table()
    fx = {e.factor: e for e in holm(main_effects(df, SH, PARAMS, SH_BASE), False)}
    stride = fx["model.stride"]
    # mean over the head contexts of (stride 3 - stride 1): (-40,320 + -160) / 2, thousands
    assert stride.estimate == pytest.approx((-40.32 - 0.16) / 2, abs=1e-12)
    assert (stride.method, stride.verdict, stride.n) == ("exact", "exact", 2)
    assert stride.lo is None and stride.hi is None and stride.p is None
    assert stride.p_holm is None and stride.lo_holm is None
    # any metric with zero within-cell spread (2+ seeds) is deterministic too
    (sp_stride, sp_head) = holm(main_effects(df, SH, SPREAD, SH_BASE), False)
    assert sp_stride.verdict == sp_head.verdict == "exact"
    assert sp_stride.estimate == 0.0 and sp_head.estimate == pytest.approx(-0.25)
    # but one seed cannot show a metric is constant, unless it is a design property
    one = design_table(seeds=1)
    assert {e.method for e in main_effects(one, SH, SPREAD, SH_BASE)} == {"paired"}
    assert holm(main_effects(one, SH, FLOPS, SH_BASE))[0].verdict == "exact"
    # noisy accuracy stays tested
    assert {e.method for e in main_effects(df, SH, ACC, SH_BASE)} == {"paired"}


def test_deterministic_responses_leave_the_holm_family() -> None:
    df = design_table()
    acc = main_effects(df, SH, ACC, SH_BASE)
    alone = holm(acc)
    # the accuracy numbers are the same with or without the parameter column in the table
    assert holm(main_effects(df.drop(columns=["params"]), SH, ACC, SH_BASE)) == alone
    # and with the parameter effects in the same Holm call: they are not counted in m
    mixed = holm(acc + main_effects(df, SH, PARAMS, SH_BASE))
    assert mixed[: len(acc)] == alone
    assert [e.verdict for e in mixed[len(acc) :]] == ["exact", "exact"]


def tuned_table(seeds: int = 1) -> pd.DataFrame:
    """A tuned sweep: three trials (different lr and width), `seeds` seeds each."""
    trials = [(0.01, 32, 0.62), (0.003, 64, 0.55), (0.001, 16, 0.70)]
    return pd.DataFrame(
        [
            {
                "train.lr": lr,
                "model.width": w,
                "seed": s,
                "test_acc": acc + 0.001 * s,
                "flops_per_image": w * 1e5,
            }
            for lr, w, acc in trials
            for s in range(seeds)
        ]
    )


TUNED = [Factor("train.lr", (), "nuisance"), Factor("model.width", (), "nuisance")]


def test_tuned_trials_are_configurations_not_seeds() -> None:
    df = tuned_table()
    noise = seed_noise(df, TUNED, ACC)
    assert math.isnan(noise.pooled_sd) and noise.mde is None and noise.seeds_needed is None
    assert noise.why == TUNED_TRIALS and noise.seeds == 1
    for resp in (ACC, FLOPS):
        ((label, iv),) = cells(df, TUNED, resp).items()
        assert label == "all" and iv.n == 3 and iv.lo is None and iv.hi is None
        assert math.isnan(iv.sd) and iv.why == TUNED_TRIALS
    # before issue 15 the spread of the three trials was reported as seed noise
    assert not math.isnan(seed_noise(df, [], ACC).pooled_sd)


def test_repeated_seeds_of_one_configuration_give_seed_noise() -> None:
    df = tuned_table(seeds=3)  # each trial's setting at 3 seeds: noise within each
    noise = seed_noise(df, TUNED, ACC)
    assert noise.why == "" and noise.df == 6 and noise.seeds == 3
    assert noise.pooled_sd == pytest.approx(0.1, rel=1e-9)  # 0.001 * s in points: sd 0.1
    # a single configuration at one seed has no noise either, for the plain reason
    assert seed_noise(tuned_table().iloc[:1], TUNED, ACC).why == NO_REPEATS
