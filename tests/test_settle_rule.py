"""The `until: settled` stopping rule (`ablate.stats.settle`): synthetic effects, the
alpha-spending schedule by hand, the array form of the rule against `settle` itself,
and the error-rate claim of the README by simulation of many null sweeps."""

from __future__ import annotations

import itertools
import math
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from statistics import NormalDist
from types import ModuleType

import numpy as np
import pandas as pd
import pytest

from ablate.stats import HEADLINE, holm, look_alphas, main_effects, settle, spent
from ablate.stats.model import Factor, Response
from ablate.stats.spending import STATE_NAMES, holm_adjust

ROOT = Path(__file__).resolve().parents[1]
STRIDE = Factor("model.stride", (1, 2))
BASE = {"model.stride": 1}
ALPHA = 0.05


@pytest.fixture(scope="module")
def bench() -> Iterator[ModuleType]:
    mp = pytest.MonkeyPatch()
    mp.syspath_prepend(str(ROOT))  # benchmarks/ is not an installed package
    import benchmarks.settle_false_positives as module

    yield module
    mp.undo()


def pairs(gap: float, sd: float, seeds: int, seed: int = 0) -> pd.DataFrame:
    """Stride 1 vs 2 over `seeds` seeds (0, 1, ...), in points: the paired differences
    stride 2 - 1 have mean exactly `gap` and SD exactly `sd` over all seeds."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal(seeds)
    z = (z - z.mean()) / z.std(ddof=1)
    base = 70.0 + rng.standard_normal(seeds)
    rows = []
    for s in range(seeds):
        rows.append({"model.stride": 1, "seed": s, "test_acc": base[s] / 100})
        rows.append({"model.stride": 2, "seed": s, "test_acc": (base[s] + gap + sd * z[s]) / 100})
    return pd.DataFrame(rows)


def decide(df: pd.DataFrame, seeds: int, max_seeds: int = 12) -> tuple[str, int, bool]:
    (d,) = settle(df, [STRIDE], HEADLINE, BASE, None, seeds=seeds, min_seeds=2, max_seeds=max_seeds)
    assert d.margin == 1.0  # the default margin of accuracy
    return d.state, d.seeds, d.final


# --------------------------------------------------------------------------- synthetic effects


@pytest.mark.unit
def test_a_large_effect_settles_early() -> None:
    df = pairs(gap=-10.0, sd=0.5, seeds=12)
    state, seeds, final = decide(df, seeds=12)
    assert state == "worse" and seeds <= 4 and not final
    # the look at which it settled is kept: the same decision after that look and at 12
    assert decide(df, seeds=seeds) == decide(df, seeds=12)
    assert decide(df, seeds=seeds - 1)[0] == "open"


@pytest.mark.unit
def test_a_null_effect_ends_equivalent() -> None:
    df = pairs(gap=0.0, sd=0.05, seeds=12)
    state, seeds, final = decide(df, seeds=12)
    assert state == "equivalent" and seeds < 12 and not final


@pytest.mark.unit
def test_a_tiny_nonzero_effect_runs_to_max() -> None:
    # 0.5 points with an SD of 1.5 per pair: neither different from 0 nor inside +-1
    df = pairs(gap=0.5, sd=1.5, seeds=12)
    for n in range(2, 13):
        state, seeds, final = decide(df, seeds=n)
        assert state == "open" and seeds == n and final == (n == 12)


@pytest.mark.unit
def test_before_the_first_look_everything_is_open() -> None:
    (d,) = settle(
        pairs(-10.0, 0.5, 4), [STRIDE], HEADLINE, BASE, None, seeds=1, min_seeds=2, max_seeds=6
    )
    assert d.state == "open" and d.look == 0 and not d.settled


@pytest.mark.unit
def test_bad_plans_and_missing_margins_are_refused() -> None:
    df = pairs(-10.0, 0.5, 4)
    with pytest.raises(ValueError, match="2 <= min <= max"):
        settle(df, [STRIDE], HEADLINE, BASE, None, seeds=4, min_seeds=1, max_seeds=6)
    with pytest.raises(ValueError, match="2 <= min <= max"):
        settle(df, [STRIDE], HEADLINE, BASE, None, seeds=4, min_seeds=5, max_seeds=4)
    time = Response("train_seconds", "train time", "s", 1.0, False, "cost")
    with pytest.raises(ValueError, match="train_seconds has no margin"):
        settle(
            df.rename(columns={"test_acc": "train_seconds"}),
            [STRIDE],
            time,
            BASE,
            None,
            seeds=4,
            min_seeds=2,
            max_seeds=6,
        )


@pytest.mark.unit
def test_a_margin_from_the_space_is_used() -> None:
    # 0.1 points with SD 0.3 per pair: equivalent within +-1, not within +-0.25 (its
    # interval at the spent alpha reaches past 0.25), and never different from 0
    df = pairs(gap=0.1, sd=0.3, seeds=12)
    (wide,) = settle(
        df, [STRIDE], HEADLINE, BASE, {"test_acc": 1.0}, seeds=12, min_seeds=2, max_seeds=12
    )
    (tight,) = settle(
        df, [STRIDE], HEADLINE, BASE, {"test_acc": 0.25}, seeds=12, min_seeds=2, max_seeds=12
    )
    assert wide.state == "equivalent" and wide.margin == 1.0
    assert tight.state == "open" and tight.margin == 0.25


# --------------------------------------------------------------------------- the schedule


@pytest.mark.unit
def test_obrien_fleming_spending_by_hand() -> None:
    z = NormalDist().inv_cdf(0.975)
    by_hand = [2 - 2 * NormalDist().cdf(z / math.sqrt(n / 12)) for n in range(1, 13)]
    alphas = look_alphas(2, 12)
    assert len(alphas) == 11
    assert alphas[0] == pytest.approx(by_hand[1], rel=1e-12)  # the first look: spent(2/12)
    for k, n in enumerate(range(3, 13), start=1):
        assert alphas[k] == pytest.approx(by_hand[n - 1] - by_hand[n - 2], rel=1e-9)
    assert sum(alphas) == pytest.approx(ALPHA, abs=1e-15)
    assert all(a > 0 for a in alphas) and alphas == sorted(alphas)
    assert alphas[0] == pytest.approx(1.58e-6, rel=1e-2) and alphas[-1] == pytest.approx(
        0.00935, rel=1e-2
    )
    assert spent(0.0) == 0.0 and spent(1.0) == pytest.approx(ALPHA)
    assert look_alphas(3, 3) == [pytest.approx(ALPHA)]  # one look: a fixed-n test


@pytest.mark.unit
def test_array_holm_is_the_report_holm() -> None:
    from ablate.stats.contrast import Contrast

    rng = np.random.default_rng(1)
    for _ in range(30):
        p = rng.uniform(0, 0.2, size=5)
        p[rng.integers(5)] = p[rng.integers(5)]  # a tie now and then
        fam = [
            Contrast(
                "test_acc",
                "model.stride",
                i,
                0,
                1.0,
                0.0,
                2.0,
                3,
                "paired",
                3,
                float(pi),
                se=0.5,
                df=2.0,
            )
            for i, pi in enumerate(p)
        ]
        want = [e.p_holm for e in holm(fam)]
        assert holm_adjust(p).tolist() == pytest.approx(want, rel=1e-12)


@pytest.mark.unit
def test_the_array_rule_is_the_settle_rule(bench: ModuleType) -> None:
    """`run_looks` (what the simulation runs) decides as `settle` (what the sweep runs),
    effect by effect, on the same simulated sweeps: a 3 x 2 grid, mixed true effects."""
    levels, sims, max_seeds = (3, 2), 5, 6
    y = bench.sweeps(0.0, sims, max_seeds, levels, seed=7)
    shift = np.zeros(levels)
    shift[1, :] += 4.0  # stride 2: large
    shift[2, :] += 0.3  # stride 3: small
    y = y + shift[None, :, :, None]
    states, _ = bench.run_looks(y, 2, margin=0.5)
    stride = Factor("model.stride", (0, 1, 2))
    head = Factor("model.head", (0, 1))
    unit = Response("test_acc", "test accuracy", "points", 1.0, True, "accuracy")
    for i in range(sims):
        rows = [
            {"model.stride": a, "model.head": b, "seed": s, "test_acc": float(y[i, a, b, s])}
            for a, b, s in itertools.product(range(3), range(2), range(max_seeds))
        ]
        got = settle(
            pd.DataFrame(rows),
            [stride, head],
            unit,
            {"model.stride": 0, "model.head": 0},
            {"test_acc": 0.5},
            seeds=max_seeds,
            min_seeds=2,
            max_seeds=max_seeds,
        )
        assert [d.state for d in got] == [STATE_NAMES[int(c)] for c in states[i]], i
    assert (states == 1).any()  # the comparison saw settled effects, not only open ones


@pytest.mark.unit
def test_the_effects_settle_compares_are_the_report_main_effects() -> None:
    df = pairs(gap=-10.0, sd=0.5, seeds=4)
    (e,) = main_effects(df, [STRIDE], HEADLINE, BASE)
    (d,) = settle(df, [STRIDE], HEADLINE, BASE, None, seeds=4, min_seeds=2, max_seeds=12)
    first = settle(df, [STRIDE], HEADLINE, BASE, None, seeds=d.seeds, min_seeds=2, max_seeds=12)[0]
    assert (d.factor, d.level, d.baseline) == (e.factor, e.level, e.baseline)
    sub = df[df["seed"] < d.seeds]
    (at_look,) = main_effects(sub, [STRIDE], HEADLINE, BASE)
    assert (
        (d.estimate, d.lo, d.hi)
        == (at_look.estimate, at_look.lo, at_look.hi)
        == (first.estimate, first.lo, first.hi)
    )


# --------------------------------------------------------------------------- error rate


SIMS = 4000
SLACK = 3 * math.sqrt(ALPHA * (1 - ALPHA) / SIMS)  # 3 Monte Carlo SEs at the bound


@pytest.mark.unit
def test_null_sweeps_make_a_false_claim_at_most_alpha_of_the_time(bench: ModuleType) -> None:
    states, _ = bench.simulate(0.0, SIMS, min_seeds=2, max_seeds=12, seed=11)
    false = np.isin(states, (1, 2)).any(axis=1).mean()
    assert false <= ALPHA + SLACK
    # the check can fail: looking at the full alpha every block inflates the rate
    naive, _ = bench.simulate(0.0, SIMS, min_seeds=2, max_seeds=12, naive=True, seed=11)
    assert np.isin(naive, (1, 2)).any(axis=1).mean() > 2 * ALPHA


@pytest.mark.unit
def test_effects_at_the_margin_are_rarely_called_equivalent(bench: ModuleType) -> None:
    states, _ = bench.simulate(bench.MARGIN, SIMS, min_seeds=2, max_seeds=12, seed=12)
    assert (states == 3).any(axis=1).mean() <= ALPHA + SLACK


@pytest.mark.e2e
def test_the_readme_command_prints_the_rates_the_readme_quotes() -> None:
    """The README's simulation command, run as written; its numbers are the README's."""
    readme = (ROOT / "README.md").read_text()
    (command,) = re.findall(r"^python -m benchmarks\.settle_false_positives.*$", readme, re.M)
    argv = shlex.split(command)
    done = subprocess.run(
        [sys.executable, *argv[1:]], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-2000:]
    rows = {
        line.split(" | ")[0].lstrip("| "): line.split(" | ")
        for line in done.stdout.splitlines()
        if line.startswith("| ") and "rate" not in line
    }
    null = rows["null, until: settled"]
    naive = rows["null, naive (alpha at every look)"]
    boundary = rows["boundary (+margin), until: settled"]
    assert float(null[1]) <= ALPHA and float(naive[1]) > 2 * ALPHA
    lo, hi = (float(x) for x in null[2].split(" to "))
    # what the README says of this output
    assert f"{float(naive[1]):.1%}" in readme and f"{float(null[1]):.1%}" in readme
    assert f"{lo:.1%} to {hi:.1%}" in readme
    assert f"{float(boundary[1]):.2%}" in readme
