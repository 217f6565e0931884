"""Findings: the exact sentences, on fixtures with a real difference, with none, and n = 1."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from ablate.report.findings import findings, noise_sentence
from ablate.stats import holm, interaction, main_effects, seed_noise
from ablate.stats.model import Effect, Factor, Response, SeedNoise, Verdict

ACC = Response("test_acc", "test accuracy", "points", scale=100.0)
VAL = Response("val_acc", "val accuracy", "points", scale=100.0)
TIME = Response("train_seconds", "train time", "s", higher_is_better=False, group="cost")
PARAMS = Response("params", "parameters", "params", higher_is_better=False, group="cost")
XAI = Response(
    "xai.gradcam.insertion_vs_random", "Grad-CAM insertion AUC − random", "", group="explanations"
)


def effect(
    factor: str,
    level: Any,
    baseline: Any,
    estimate: float,
    lo: float | None,
    hi: float | None,
    verdict: Verdict,
    response: str = "test_acc",
    method: str = "paired",
    seeds: int = 3,
) -> Effect:
    return Effect(
        response=response,
        factor=factor,
        level=level,
        baseline=baseline,
        estimate=estimate,
        lo=lo,
        hi=hi,
        n=6,
        method=method,  # type: ignore[arg-type]
        seeds=seeds,
        p=None if lo is None else 0.01,
        verdict=verdict,
    )


def test_a_real_difference_winner_first() -> None:
    worse = effect("model.stride", 3, 1, -13.2, -14.5, -11.9, "worse")
    better = effect("model.kernel_size", 4, 3, 2.0, 0.5, 3.5, "better", method="welch", seeds=1)
    assert findings([better, worse], [ACC]) == [
        "stride 1 beats stride 3 by 13.2 points (95% CI 11.9 to 14.5, 3 seeds, paired)",
        "kernel 4x4 beats kernel 3x3 by 2.0 points (95% CI 0.5 to 3.5, 1 seed, welch)",
    ]


def test_no_clear_difference() -> None:
    e = effect("model.kernel_size", 4, 3, 0.25, -0.4, 0.9, "no clear difference")
    assert findings([e], [ACC]) == ["kernel 4x4 vs 3x3: no clear difference (-0.4 to +0.9)"]


def test_no_clear_difference_after_holm() -> None:
    e = effect("model.head", "flatten", "gap", 0.8, 0.04, 1.6, "no clear difference")
    assert findings([e], [ACC]) == [
        "head flatten vs GAP: no clear difference after Holm correction (0.0 to +1.6)"
    ]


def test_n_1() -> None:
    e = effect("model.stride", 2, 1, -5.0, None, None, "n = 1", method="none", seeds=1)
    assert findings([e], [ACC]) == ["stride 2 vs 1: n = 1, no interval; run more seeds (seeds: 3)"]


def test_n_1_advice_once_on_the_headline() -> None:
    effects = [
        effect("model.stride", 2, 1, -5.0, None, None, "n = 1", method="none", seeds=1),
        effect("model.stride", 2, 1, -4.0, None, None, "n = 1", "best_val_acc", "none", 1),
        effect("model.stride", 2, 1, -4.0, None, None, "n = 1", "train_seconds", "none", 1),
    ]
    best_val = Response("best_val_acc", "best validation accuracy", "points", 100.0)
    assert findings(effects, [ACC, best_val, TIME]) == [
        "stride 2 vs 1: n = 1, no interval; run more seeds (seeds: 3)"
    ]


def test_cost_and_explanations() -> None:
    effects = [
        effect("model.stride", 3, 1, -52.9, -55.7, -50.1, "better", "train_seconds"),
        effect("model.stride", 2, 1, -1.0, -3.0, 1.0, "no clear difference", "train_seconds"),
        effect("model.stride", 2, 1, -1.0, None, None, "n = 1", "train_seconds", "none"),
        effect("model.head", "flatten", "gap", 120000.0, 120000.0, 120000.0, "worse", "params"),
        effect("model.stride", 3, 1, -0.121, -0.162, -0.080, "worse", XAI.key),
        effect("model.stride", 2, 1, 0.0304, 0.0101, 0.0507, "better", XAI.key),
    ]
    assert findings(effects, [XAI, TIME, PARAMS]) == [
        "stride 3 beats stride 1 on train time: 52.9 s less (95% CI 50.1 to 55.7, 3 seeds, paired)",
        "head GAP beats head flatten on parameters: 120,000 params less "
        "(95% CI 120,000 to 120,000, 3 seeds, paired)",
        "stride 1 beats stride 3 on Grad-CAM insertion AUC − random: 0.121 higher "
        "(95% CI 0.080 to 0.162, 3 seeds, paired)",
        "stride 2 beats stride 1 on Grad-CAM insertion AUC − random: 0.0304 higher "
        "(95% CI 0.0101 to 0.0507, 3 seeds, paired)",
    ]


def test_order_accuracy_first_then_by_size() -> None:
    effects = [
        effect("model.stride", 3, 1, -52.9, -55.7, -50.1, "better", "train_seconds"),
        effect("model.kernel_size", 4, 3, 0.25, -0.4, 0.9, "no clear difference"),
        effect("model.stride", 2, 1, -1.5, -2.0, -1.0, "worse", "val_acc"),
        effect("model.stride", 3, 1, -13.2, -14.5, -11.9, "worse"),
        effect("model.stride", 2, 1, 0.1, -1.0, 1.2, "no clear difference", "val_acc"),
    ]
    assert findings(effects, [TIME, ACC, VAL]) == [
        "stride 1 beats stride 3 by 13.2 points (95% CI 11.9 to 14.5, 3 seeds, paired)",
        "kernel 4x4 vs 3x3: no clear difference (-0.4 to +0.9)",
        "stride 1 beats stride 2 on val accuracy: 1.5 points more "
        "(95% CI 1.0 to 2.0, 3 seeds, paired)",
        "stride 2 vs 1 on val accuracy: no clear difference (-1.0 to +1.2)",
        "stride 3 beats stride 1 on train time: 52.9 s less (95% CI 50.1 to 55.7, 3 seeds, paired)",
    ]


def test_interaction_sentence() -> None:
    e = effect("model.stride*model.head", (3, "gap"), (1, "flatten"), 4.1, 1.2, 7.0, "better")
    quiet = effect(
        "model.stride*model.head", (2, "gap"), (1, "flatten"), 1.0, -2.0, 4.0, "no clear difference"
    )
    cost = effect(
        "model.stride*model.head",
        (3, "gap"),
        (1, "flatten"),
        -12.0,
        -20.0,
        -4.0,
        "better",
        "train_seconds",
    )
    assert findings([quiet, e, cost], [ACC, TIME]) == [
        "stride x head interaction: the stride 3 − 1 gap changes by +4.1 points "
        "with GAP vs flatten (95% CI +1.2 to +7.0, 3 seeds, paired)",
        "stride x head interaction on train time: the stride 3 − 1 gap changes by -12.0 s "
        "with GAP vs flatten (95% CI -20.0 to -4.0, 3 seeds, paired)",
    ]


def test_seed_noise_sentences() -> None:
    noise = SeedNoise("test_acc", 0.4, 6, 3, 1.6, 1.0, 6)
    e = effect("model.stride", 3, 1, -13.2, -14.5, -11.9, "worse")
    assert findings([e], [ACC], [noise])[-1] == (
        "seed noise: SD 0.4 points per cell; at 3 seeds the smallest detectable difference "
        "is 1.6 points; 6 seeds would detect 1 point"
    )
    assert noise_sentence(SeedNoise("test_acc", 0.4, 2, 1, None, 2.0, None), ACC) == (
        "seed noise: SD 0.4 points per cell; at 1 seed no difference is detectable; "
        "more than 1000 seeds would be needed to detect 2 points"
    )
    assert noise_sentence(SeedNoise("test_acc", math.nan, 0, 1, None, 1.0, None), ACC) == (
        "seed noise: unknown, no configuration has 2 seeds; run more seeds (seeds: 3)"
    )
    # no sentence for a noise of a response that is not the headline
    assert findings([], [ACC, TIME], [SeedNoise("train_seconds", 1.0, 2, 3, 1.0, 1.0, 3)]) == []


# --------------------------------------------------------------------------- end to end


def sweep(values: dict[tuple[int, int], list[float]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"model.stride": a, "model.kernel_size": k, "seed": i + 1, "test_acc": y / 100}
            for (a, k), ys in values.items()
            for i, y in enumerate(ys)
        ]
    )


STRIDE = Factor("model.stride", (1, 3))
KERNEL = Factor("model.kernel_size", (3, 4))
BASE = {"model.stride": 1, "model.kernel_size": 3}


def report_sentences(df: pd.DataFrame) -> list[str]:
    effects = main_effects(df, [STRIDE, KERNEL], ACC, BASE)
    effects += interaction(df, STRIDE, KERNEL, ACC, BASE)
    return findings(holm(effects), [ACC])


def test_end_to_end_real_difference() -> None:
    # stride 3 - 1 per (kernel, seed): -10, -11, -9 at both kernels; kernel 4 - 3: +1, -1, 0
    df = sweep(
        {
            (1, 3): [70, 72, 74],
            (3, 3): [60, 61, 65],
            (1, 4): [71, 71, 74],
            (3, 4): [61, 60, 65],
        }
    )
    # stride: 6 differences (-10, -11, -9, -10, -11, -9): mean -10, sd sqrt(4/5), se sd/sqrt(6)
    # half = t_{0.975,5} * sqrt(0.8) / sqrt(6) = 2.570582 * 0.365148 = 0.93866 -> 9.1 to 10.9
    assert report_sentences(df) == [
        "stride 1 beats stride 3 by 10.0 points (95% CI 9.1 to 10.9, 3 seeds, paired)",
        # kernel: differences (+1, -1, 0) twice: mean 0, the interval +-t * sqrt(0.8)/sqrt(6)
        "kernel 4x4 vs 3x3: no clear difference (-0.9 to +0.9)",
    ]


def test_end_to_end_n_1() -> None:
    df = sweep({(1, 3): [70], (3, 3): [60]})
    effects = holm(main_effects(df, [STRIDE], ACC, {"model.stride": 1}))
    noise = seed_noise(df, [STRIDE], ACC)
    assert findings(effects, [ACC], [noise]) == [
        "stride 3 vs 1: n = 1, no interval; run more seeds (seeds: 3)",
        "seed noise: unknown, no configuration has 2 seeds; run more seeds (seeds: 3)",
    ]


# --------------------------------------------------------------------------- issue 15 C, D, E

COUNT = Response("params", "parameters", "thousand", 1e-3, False, "cost")
FLOPS = Response("flops_per_image", "FLOPs per image", "MFLOP", 1e-6, False, "cost")


def with_equivalence(e: Effect, margin: float = 1.0, **kw: Any) -> Effect:
    import dataclasses

    return dataclasses.replace(e, margin=margin, **kw)


def test_equivalent_within_the_margin() -> None:
    e = with_equivalence(
        effect("model.kernel_size", 4, 3, -0.05, -0.5, 0.4, "equivalent"),
        lo_equiv=-0.42,
        hi_equiv=0.32,
        p_equiv=0.004,
        p_equiv_holm=0.008,
    )
    assert findings([e], [ACC]) == [
        "kernel 4x4 vs 3x3: equivalent within ±1.0 point (-0.4 to +0.3, TOST interval, "
        "3 seeds, paired)"
    ]
    half = with_equivalence(e, margin=0.5)
    assert "equivalent within ±0.5 points" in findings([half], [ACC])[0]
    timed = with_equivalence(
        effect("model.stride", 2, 1, 0.5, -2.0, 3.0, "equivalent", "train_seconds"),
        margin=5.0,
        lo_equiv=-1.5,
        hi_equiv=2.5,
    )
    assert findings([timed], [TIME]) == [
        "stride 2 vs 1 on train time: equivalent within ±5.00 s (-1.50 to +2.50, TOST interval, "
        "3 seeds, paired)"
    ]


def test_no_clear_difference_says_what_would_settle_it() -> None:
    e = with_equivalence(
        effect("model.kernel_size", 4, 3, 0.25, -0.4, 0.9, "no clear difference"), seeds_needed=14
    )
    assert findings([e], [ACC]) == [
        "kernel 4x4 vs 3x3: no clear difference (-0.4 to +0.9); about 14 seeds would settle it "
        "(80% power for a 1.0-point difference)"
    ]
    # never fewer than the seeds there are + 1, and a cap at 1000
    close = with_equivalence(e, seeds_needed=2)
    assert "about 4 seeds would settle it" in findings([close], [ACC])[0]
    far = with_equivalence(e, seeds_needed=None)
    assert findings([far], [ACC])[0].endswith(
        "; more than 1000 seeds would be needed to settle it (a 1.0-point difference)"
    )


def test_a_clear_difference_inside_the_margin_says_so() -> None:
    e = with_equivalence(effect("model.stride", 3, 1, 0.3, 0.2, 0.4, "better"), p_equiv_holm=0.001)
    assert findings([e], [ACC]) == [
        "stride 3 beats stride 1 by 0.3 points (95% CI 0.2 to 0.4, 3 seeds, paired), "
        "within the ±1.0 point margin"
    ]


def test_exact_differences_of_deterministic_responses() -> None:
    params = effect("model.stride", 3, 1, -40.32, None, None, "exact", "params", "exact")
    flops = effect("model.stride", 3, 1, -12.3, None, None, "exact", "flops_per_image", "exact")
    same = effect("model.head", "gap", "flatten", 0.0, None, None, "exact", "params", "exact")
    assert findings([params, flops, same], [ACC, COUNT, FLOPS]) == [
        "stride 3 has 40,320 fewer parameters than stride 1 (exact)",
        "stride 3 vs 1 on FLOPs per image: 12.3 MFLOP less (exact)",
    ]


def test_exact_params_end_to_end_have_no_interval_or_p() -> None:
    df = pd.DataFrame(
        [
            {"model.stride": st, "seed": s, "params": p}
            for st, p in ((1, 120_000.0), (3, 79_680.0))
            for s in (1, 2, 3)
        ]
    )
    (e,) = holm(main_effects(df, [Factor("model.stride", (1, 3))], COUNT, {"model.stride": 1}))
    (sentence,) = findings([e], [ACC, COUNT])
    assert sentence == "stride 3 has 40,320 fewer parameters than stride 1 (exact)"
    assert "CI" not in sentence and e.p is None


def test_seed_noise_of_tuned_trials() -> None:
    from ablate.stats import TUNED_TRIALS

    noise = SeedNoise("test_acc", math.nan, 0, 1, None, 1.0, None, TUNED_TRIALS)
    assert noise_sentence(noise, ACC) == (
        "seed noise: unknown, no repeated seeds of one configuration: the trials are different "
        "configurations, one seed each; confirmation seeds (confirm_seeds: 3) give them"
    )
