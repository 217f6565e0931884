"""The report's plots, as inline SVG text: the one module the page imports.

Each `*_plot` function returns an `<svg>` element (see `plots_base.to_svg`); each has a
`*_figure` twin returning the matplotlib `Figure`, for PNG export and for tests. They live
in `plots_effects` (effects, interaction), `plots_training` (curves), `plots_cost`
(accuracy vs cost), `plots_detail` (confusion, per class, faithfulness curves) and
`plots_optuna` (Optuna's own plots); `plots_base` holds the palette and the SVG writer.

Encoding, the same in every plot: colour = level of the factor on show (or of the first
factor, for whole configurations), marker = combination of the other factors, black =
means and 95% intervals, dots = single seeds.
"""

from __future__ import annotations

from ablate.report.plots_base import level_colors, to_svg
from ablate.report.plots_cost import pareto_figure, pareto_plot
from ablate.report.plots_detail import (
    confusion_figure,
    confusion_plot,
    faith_curves_figure,
    faith_curves_plot,
    per_class_figure,
    per_class_plot,
)
from ablate.report.plots_effects import (
    effect_figure,
    effect_plot,
    interaction_figure,
    interaction_plot,
)
from ablate.report.plots_optuna import optuna_figures
from ablate.report.plots_training import curves_figure, curves_plot

__all__ = [
    "confusion_figure",
    "confusion_plot",
    "curves_figure",
    "curves_plot",
    "effect_figure",
    "effect_plot",
    "faith_curves_figure",
    "faith_curves_plot",
    "interaction_figure",
    "interaction_plot",
    "level_colors",
    "optuna_figures",
    "pareto_figure",
    "pareto_plot",
    "per_class_figure",
    "per_class_plot",
    "to_svg",
]
