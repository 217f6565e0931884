"""The report's plots, as inline SVG text: the door the page and the builder use.

Each `*_plot` function returns an `<svg>` element (`svg.to_svg`); each has a `*_figure`
twin returning the matplotlib `Figure`, for PNG export and for tests. One module per
family: `effects` (effects, interaction), `training` (curves), `cost` (accuracy vs cost),
`detail` (confusion, per class, faithfulness curves) and `optuna` (Optuna's own plots).
What they share: `style` (the look), `layout` (margins that fit the labels), `encoding`
(markers and legends for configurations) and `svg` (the SVG writer).

Encoding, the same in every plot: colour = level of the factor on show (or of the first
factor, for whole configurations; `ablate.report.data.configs`), marker = combination of
the other factors, black = means and 95% intervals, dots = single seeds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ablate.doors import lazy

if TYPE_CHECKING:
    from ablate.report.figures.cost import pareto_figure as pareto_figure
    from ablate.report.figures.cost import pareto_plot as pareto_plot
    from ablate.report.figures.detail import confusion_figure as confusion_figure
    from ablate.report.figures.detail import confusion_plot as confusion_plot
    from ablate.report.figures.detail import faith_curves_figure as faith_curves_figure
    from ablate.report.figures.detail import faith_curves_plot as faith_curves_plot
    from ablate.report.figures.detail import per_class_figure as per_class_figure
    from ablate.report.figures.detail import per_class_plot as per_class_plot
    from ablate.report.figures.effects import effect_figure as effect_figure
    from ablate.report.figures.effects import effect_plot as effect_plot
    from ablate.report.figures.effects import interaction_figure as interaction_figure
    from ablate.report.figures.effects import interaction_plot as interaction_plot
    from ablate.report.figures.optuna import optuna_figures as optuna_figures
    from ablate.report.figures.svg import to_svg as to_svg
    from ablate.report.figures.training import curves_figure as curves_figure
    from ablate.report.figures.training import curves_plot as curves_plot
    from ablate.report.figures.training import trial_curves_figure as trial_curves_figure
    from ablate.report.figures.training import trial_curves_plot as trial_curves_plot

# name -> module: a family's module (and matplotlib, optuna) loads when it is first used
_WHERE = {
    "confusion_figure": "ablate.report.figures.detail",
    "confusion_plot": "ablate.report.figures.detail",
    "curves_figure": "ablate.report.figures.training",
    "curves_plot": "ablate.report.figures.training",
    "effect_figure": "ablate.report.figures.effects",
    "effect_plot": "ablate.report.figures.effects",
    "faith_curves_figure": "ablate.report.figures.detail",
    "faith_curves_plot": "ablate.report.figures.detail",
    "interaction_figure": "ablate.report.figures.effects",
    "interaction_plot": "ablate.report.figures.effects",
    "optuna_figures": "ablate.report.figures.optuna",
    "pareto_figure": "ablate.report.figures.cost",
    "pareto_plot": "ablate.report.figures.cost",
    "per_class_figure": "ablate.report.figures.detail",
    "per_class_plot": "ablate.report.figures.detail",
    "to_svg": "ablate.report.figures.svg",
    "trial_curves_figure": "ablate.report.figures.training",
    "trial_curves_plot": "ablate.report.figures.training",
}
__all__ = sorted(_WHERE)

__getattr__ = lazy(__name__, _WHERE)
