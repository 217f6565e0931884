"""How often the `until: settled` stopping rule makes a false claim, by simulation.

    python -m benchmarks.settle_false_positives [--sims 20000] [--min 2] [--max 12]

Many sweeps at once (numpy, no training): a strides x head grid, 3 x 2 cells (three
main effects: stride 2 vs 1, stride 3 vs 1, flatten vs GAP), independent normal seed
noise (SD 1) per run, paired by seed, looks at min..max seeds with
`ablate.stats.spending.look_states` (the decision `ablate.stats.settle` makes, as
array arithmetic; tests/test_settle_rule.py checks they agree). An effect's first
settled state is final, as in `settle`.

- null: every true effect 0. A false claim = any effect settled better or worse.
- boundary: every true effect exactly +margin. A false claim = any effect settled
  equivalent (the least favourable true effect for the equivalence test).
- naive: the same sweeps, each look at the full alpha (what "stop at the first
  significant block" would do): the inflation the rule removes.

Prints the rates with a 95% Monte Carlo interval (Wilson); nothing is appended to
RESULTS.md (the README quotes the numbers of this command).
"""

from __future__ import annotations

import argparse
import itertools
import math
from dataclasses import dataclass

import numpy as np

from ablate.stats.spending import (
    BETTER,
    EQUIVALENT,
    OPEN,
    WORSE,
    check_plan,
    look_alphas,
    look_states,
)
from ablate.stats.ttest import ALPHA

LEVELS = (3, 2)  # stride 1/2/3 x head gap/flatten; level 0 of each factor is the baseline
MARGIN = 0.5  # in units of the seed noise's SD (equivalence needs many seeds at this)


@dataclass(frozen=True)
class SimResult:
    sims: int
    rate: float  # share of sweeps with at least one false claim
    lo: float  # 95% Wilson interval of the rate
    hi: float
    mean_seeds: float  # mean seeds per cell at which the sweep stopped


def wilson(k: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """95% Wilson score interval of a proportion k / n."""
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def _effects(levels: tuple[int, ...]) -> list[tuple[int, int]]:
    """(factor, level) of every main effect: each level against level 0."""
    return [(f, lv) for f, k in enumerate(levels) for lv in range(1, k)]


def _paired_stats(
    y: np.ndarray, levels: tuple[int, ...], n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Estimate, SE and df of every main effect on the first n seeds, paired by
    (context, seed): y has shape (sims, *levels, seeds)."""
    est, se, dof = [], [], []
    for f, lv in _effects(levels):
        a = np.take(y[..., :n], lv, axis=1 + f)
        b = np.take(y[..., :n], 0, axis=1 + f)
        d = (a - b).reshape(y.shape[0], -1)  # every (context, seed) pair
        m = d.shape[1]
        est.append(d.mean(axis=1))
        se.append(d.std(axis=1, ddof=1) / math.sqrt(m))
        dof.append(np.full(y.shape[0], m - 1.0))
    return np.stack(est, -1), np.stack(se, -1), np.stack(dof, -1)


def sweeps(
    true_effect: float, sims: int, max_seeds: int, levels: tuple[int, ...] = LEVELS, seed: int = 0
) -> np.ndarray:
    """Simulated runs, shape (sims, *levels, max_seeds): SD-1 normal seed noise, every
    main effect's true value `true_effect` (added to each non-baseline level)."""
    rng = np.random.default_rng(seed)
    y = rng.standard_normal((sims, *levels, max_seeds))
    for f, k in enumerate(levels):
        shape = [1] * y.ndim
        shape[1 + f] = k
        y = y + np.where(np.arange(k) > 0, true_effect, 0.0).reshape(shape)
    return y


def run_looks(
    y: np.ndarray,
    min_seeds: int,
    margin: float = MARGIN,
    alpha: float = ALPHA,
    naive: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """The rule on every simulated sweep: final states (sims, effects) and the seeds per
    cell at which each stopped. Looks at min..max seeds (max = y's last axis); `naive`
    tests each look at the full alpha instead of the spent one."""
    levels, max_seeds = tuple(y.shape[1:-1]), y.shape[-1]
    check_plan(min_seeds, max_seeds)
    looks = max_seeds - min_seeds + 1
    alphas = [alpha] * looks if naive else look_alphas(min_seeds, max_seeds, alpha)
    states = np.full((y.shape[0], len(_effects(levels))), OPEN, dtype=int)
    stopped = np.full(y.shape[0], max_seeds)
    for n, a_n in zip(range(min_seeds, max_seeds + 1), alphas, strict=True):
        est, se, dof = _paired_stats(y, levels, n)
        now = look_states(est, se, dof, margin, a_n)
        new = (states == OPEN) & (now != OPEN)  # a settled effect stays settled
        states[new] = now[new]
        done = (states != OPEN).all(axis=1) & (stopped == max_seeds) & (n < max_seeds)
        stopped[done] = n
    return states, stopped


def simulate(
    true_effect: float,
    sims: int,
    min_seeds: int = 2,
    max_seeds: int = 12,
    margin: float = MARGIN,
    alpha: float = ALPHA,
    naive: bool = False,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """`run_looks` on `sims` fresh `sweeps` of the LEVELS design."""
    y = sweeps(true_effect, sims, max_seeds, LEVELS, seed)
    return run_looks(y, min_seeds, margin, alpha, naive)


def rate(states: np.ndarray, stopped: np.ndarray, false: tuple[int, ...]) -> SimResult:
    """Share of sweeps with any effect whose settled state is one of `false`."""
    hit = np.isin(states, false).any(axis=1)
    k, n = int(hit.sum()), int(hit.size)
    lo, hi = wilson(k, n)
    return SimResult(n, k / n, lo, hi, float(stopped.mean()))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sims", type=int, default=20000)
    ap.add_argument("--min", dest="min_seeds", type=int, default=2)
    ap.add_argument("--max", dest="max_seeds", type=int, default=12)
    args = ap.parse_args(argv)
    plan = dict(sims=args.sims, min_seeds=args.min_seeds, max_seeds=args.max_seeds)
    cases = [
        ("null, until: settled", 0.0, False, (BETTER, WORSE)),
        ("null, naive (alpha at every look)", 0.0, True, (BETTER, WORSE)),
        ("boundary (+margin), until: settled", MARGIN, False, (EQUIVALENT,)),
        ("boundary (+margin), naive", MARGIN, True, (EQUIVALENT,)),
    ]
    effects = len(_effects(LEVELS))
    print(
        f"{args.sims} simulated sweeps, {' x '.join(map(str, LEVELS))} cells, {effects} main "
        f"effects, seeds {args.min_seeds}..{args.max_seeds}, margin {MARGIN} SD, alpha {ALPHA}"
    )
    print("| case | false-claim rate | 95% MC interval | mean seeds at stop |")
    print("|---|---|---|---|")
    for (name, effect, naive, false), i in zip(cases, itertools.count(), strict=False):
        states, stopped = simulate(effect, naive=naive, seed=i, **plan)  # type: ignore[arg-type]
        r = rate(states, stopped, false)
        print(f"| {name} | {r.rate:.4f} | {r.lo:.4f} to {r.hi:.4f} | {r.mean_seeds:.2f} |")


if __name__ == "__main__":
    main()
