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
- Intervals, p and df are scipy's (`ttest`); `holm` adds the Holm-Bonferroni
  adjustment and the verdicts over one family of contrasts (see `adjust` for
  why it is not statsmodels's), and with a margin the equivalence family (TOST,
  `equivalence`; margins by response, `margin_for`). Power is statsmodels' exact
  noncentral t (`power`).
- A deterministic response (constant within every configuration: parameters, FLOPs)
  gets exact differences, never tested (`exact`).
- Seed noise and intervals come only from repeated seeds of one configuration: tuned
  trials are configurations, not seeds (`power`, `configs`).
- `settle` is the stopping rule of `seeds: {min, max, until: settled}`: the same
  statistics at each seed block, alpha spent over the looks (`settle`, `spending`).

This package's `__init__` is the door: every public name of the statistics imports from
`ablate.stats`. Main effects and the Pareto front are in `effects`, cells in
`configs`, the t arithmetic in `ttest`, what contrasts share in `contrast`, interactions
in `interactions`, Holm in `adjust`, seed noise in `power`, Optuna's best nuisance
settings in `nuisance`.
"""

from __future__ import annotations

from ablate.stats.adjust import holm
from ablate.stats.configs import cell_values, cells, config_label
from ablate.stats.contrast import SEED, Contrast
from ablate.stats.effects import main_effects, pareto_front
from ablate.stats.equivalence import DEFAULT_MARGINS, margin_for, tost
from ablate.stats.exact import DESIGN_RESPONSES, is_deterministic
from ablate.stats.interactions import interaction, interaction_cells
from ablate.stats.nuisance import EDGE, Range, best_nuisance, fmt_value
from ablate.stats.power import (
    MAX_SEEDS,
    NO_REPEATS,
    POWER,
    TUNED_TRIALS,
    effect_seeds_needed,
    mde,
    seed_noise,
    seeds_needed,
)
from ablate.stats.settle import HEADLINE, Decision, SettleState, settle
from ablate.stats.spending import look_alphas, spent
from ablate.stats.ttest import ALPHA, FUZZ, LEVEL, TTest, t_interval, t_quantile

__all__ = [
    "ALPHA",
    "DEFAULT_MARGINS",
    "DESIGN_RESPONSES",
    "EDGE",
    "FUZZ",
    "HEADLINE",
    "LEVEL",
    "MAX_SEEDS",
    "NO_REPEATS",
    "POWER",
    "SEED",
    "TUNED_TRIALS",
    "Contrast",
    "Decision",
    "Range",
    "SettleState",
    "TTest",
    "best_nuisance",
    "cell_values",
    "cells",
    "config_label",
    "effect_seeds_needed",
    "fmt_value",
    "holm",
    "interaction",
    "interaction_cells",
    "is_deterministic",
    "look_alphas",
    "main_effects",
    "margin_for",
    "mde",
    "pareto_front",
    "seed_noise",
    "seeds_needed",
    "settle",
    "spent",
    "t_interval",
    "t_quantile",
    "tost",
]
