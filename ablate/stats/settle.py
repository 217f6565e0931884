"""The stopping rule of `seeds: {min, max, until: settled}`: after each seed block, is every
main effect of the headline response settled (better, worse or equivalent) or still open?
Pure: a runs table in, one `Decision` per main effect out.

Why a rule at all: a sweep that looks after every seed block and stops at the first
"significant" result is not a fixed-n test. Each look is another chance of a false
claim, and the chances add up: with 11 looks (seeds 2..12) at alpha 0.05 each, a null
effect is called "better" or "worse" at some look far more often than 5% of the time.

The rule (alpha spending, Lan & DeMets 1983, "Discrete sequential boundaries for
clinical trials", Biometrika 70:659-663, with the O'Brien-Fleming-type spending
function of their paper, O'Brien & Fleming 1979, Biometrics 35:549-556):

- The planned looks are at n = min, min + 1, ..., max seeds per cell; the information
  fraction of look n is t = n / max. The cumulative alpha spent by t is
  a(t) = 2 - 2 Phi(z_{1 - alpha/2} / sqrt(t)), so a(1) = alpha. Look n spends
  alpha_n = a(n / max) - a((n - 1) / max) (the first look spends a(min / max)); the
  alpha_n of the planned looks sum to exactly alpha.
- At look n the report's own statistics run on the first n seeds: the main effects
  (paired or Welch), Holm over them at level alpha_n for the difference tests, and Holm
  at alpha_n for the equivalence tests (TOST within +-margin). An effect is settled at
  the first look where its verdict is better, worse or equivalent, and stays settled
  (its estimate and interval are those of that look). At max, whatever is left is open.
- Why this bounds the error rate: a false claim at some look is a false claim at look
  1 or at look 2 or ...; by the union bound its probability is at most the sum of the
  per-look probabilities, each at most alpha_n (Holm at alpha_n within the look), so
  at most sum alpha_n = alpha, for any correlation between looks. This is the
  Bonferroni form of alpha spending: conservative, since it does not use the positive
  correlation between looks that exact group-sequential boundaries exploit (those
  assume a normal statistic; ours are t statistics with few df). The bound holds for
  each family (difference, equivalence) separately; see `ablate.stats.adjust` for how
  the two families combine. The O'Brien-Fleming shape spends almost nothing early
  (seeds 2..12: 1.6e-6 at 2 seeds, 6.0e-4 at 4, 4.7e-3 at 7, 9.4e-3 at 12), so an
  effect settles early only when it is large next to the seed noise. The price of the
  union bound: no single look tests at 0.05; the last one tests at 0.0094.
- The plan is min and max as given now. Raising max on resume re-plans every look
  (t = n / max changes), which is valid only if max is not raised *because* of what
  the looks showed; the report says the max in force.

`benchmarks/settle_false_positives.py` simulates null sweeps with this rule and prints
the observed false-claim rates (the README quotes them; tests/test_settle_rule.py
checks them).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd

from ablate.stats.adjust import holm
from ablate.stats.contrast import SEED
from ablate.stats.effects import main_effects
from ablate.stats.equivalence import margin_for
from ablate.stats.model import Effect, Factor, Response
from ablate.stats.spending import check_plan, look_alphas
from ablate.stats.ttest import ALPHA

SettleState = Literal["better", "worse", "equivalent", "open"]

# the headline response of a sweep (the report's own definition, ablate.report.data.runs):
# for a caller below the report (the sweep) that has no Response of its own
HEADLINE = Response("test_acc", "test accuracy", "points", 100.0, True, "accuracy")


@dataclass(frozen=True)
class Decision:
    """One main effect (`level` vs `baseline` of `factor`) of the headline response."""

    response: str  # Response.key
    factor: str  # Factor.key
    level: Any
    baseline: Any
    state: SettleState
    seeds: int  # seeds per cell at the look that decided it (or at the current look if open)
    estimate: float  # level - baseline, display units, at `seeds`
    lo: float | None  # the report's 95% interval at `seeds`; None without one
    hi: float | None
    margin: float  # the equivalence margin used, display units
    look: int  # 1-based look at `seeds` (look 1 = min seeds); 0 before the first look
    looks: int  # planned looks: max - min + 1
    alpha_look: float  # the alpha this look spends (each of the two families)
    final: bool  # True at the last planned look (max seeds): an open effect stays open
    p_holm: float | None = None  # difference test, Holm within the look (compare alpha_look)
    p_equiv_holm: float | None = None  # TOST, Holm within the look (compare alpha_look)

    @property
    def settled(self) -> bool:
        return self.state != "open"


def _state(e: Effect) -> SettleState:
    if e.verdict in ("better", "worse", "equivalent"):
        return e.verdict  # type: ignore[return-value]
    if e.verdict == "exact":  # a deterministic headline: known exactly at the first look
        if e.estimate == 0.0:
            return "equivalent"
        return "better" if e.estimate > 0 else "worse"
    return "open"


def settle(
    df: pd.DataFrame,
    factors: Sequence[Factor],
    response: Response,
    baseline: Mapping[str, Hashable],
    margins: Mapping[str, float] | None,
    *,
    seeds: int,
    min_seeds: int,
    max_seeds: int,
    alpha: float = ALPHA,
) -> list[Decision]:
    """One Decision per main effect of `response` (each level vs `baseline[factor]`, as
    the report's main effects), under the alpha-spending rule of this module.

    df: the runs table the report's statistics take (finished runs; factor columns,
    "seed", the response's raw column). factors: the sweep's factors (nuisance ones are
    not compared). margins: response key -> margin in display units (None or a missing
    key: `ablate.stats.equivalence.DEFAULT_MARGINS`, 1 point of accuracy); the headline
    must have a margin. seeds: seeds per cell done now (the look); looks run on the n
    smallest seed values, n = min..min(seeds, max), so seed block k must be the k-th
    smallest seed (seeds 0, 1, 2, ...). Before min seeds every effect is open (look 0).

    Raises ValueError for a plan without 2 <= min <= max or a response without margin.
    """
    check_plan(min_seeds, max_seeds)
    margin = margin_for(response, margins)
    if margin is None:
        raise ValueError(f"margins: {response.key} has no margin; settling needs one (e.g. 1.0)")
    grid = [f for f in factors if f.role != "nuisance"]
    alphas = look_alphas(min_seeds, max_seeds, alpha)
    looks = len(alphas)
    order = sorted(df[SEED].dropna().unique().tolist()) if len(df) else []
    last = min(seeds, max_seeds, len(order))
    decided: dict[tuple[str, Any], Decision] = {}
    keys: list[tuple[str, Any]] = []
    for n in range(min_seeds, last + 1):
        sub = df[df[SEED].isin(order[:n])]
        a_n = alphas[n - min_seeds]
        family = holm(
            main_effects(sub, grid, response, baseline),
            response.higher_is_better,
            alpha=a_n,
            margin=margin,
        )
        keys = [(e.factor, e.level) for e in family]
        for e in family:
            key = (e.factor, e.level)
            state = _state(e)
            if key in decided and decided[key].settled:
                continue
            decided[key] = _decision(e, state, n, n - min_seeds + 1, looks, a_n, margin, max_seeds)
    if last < min_seeds:  # no look yet: the effects on the seeds so far, open
        sub = df[df[SEED].isin(order[: max(last, 0)])]
        family = holm(main_effects(sub, grid, response, baseline), response.higher_is_better)
        keys = [(e.factor, e.level) for e in family]
        for e in family:
            decided[(e.factor, e.level)] = _decision(
                e, "open", e.seeds, 0, looks, 0.0, margin, max_seeds
            )
    return [decided[k] for k in keys if k in decided]


def _decision(
    e: Effect,
    state: SettleState,
    seeds: int,
    look: int,
    looks: int,
    alpha_look: float,
    margin: float,
    max_seeds: int,
) -> Decision:
    return Decision(
        response=e.response,
        factor=e.factor,
        level=e.level,
        baseline=e.baseline,
        state=state,
        seeds=seeds,
        estimate=e.estimate,
        lo=e.lo,
        hi=e.hi,
        margin=margin,
        look=look,
        looks=looks,
        alpha_look=alpha_look,
        final=seeds >= max_seeds,
        p_holm=e.p_holm,
        p_equiv_holm=e.p_equiv_holm,
    )
