"""Training curves per factor level: mean over seeds with a 95% band. Offered by the
`ablate.report.figures` door."""

from __future__ import annotations

import math

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ablate.report.data.configs import level_colors, same_level
from ablate.report.figures.layout import fit
from ablate.report.figures.style import new_figure, no_data, style
from ablate.report.figures.svg import to_svg
from ablate.stats import t_interval
from ablate.stats.model import Factor, Report, finite, level_label

CURVE_LABELS = {
    "train_loss": "train loss (cross-entropy)",
    "val_loss": "validation loss (cross-entropy)",
    "train_acc": "train accuracy (%)",
    "val_acc": "validation accuracy (%)",
}

# --------------------------------------------------------------------------- curves


def curves_figure(report: Report, factor: Factor, metric: str) -> Figure:
    """Per epoch: mean over seeds of the level's finished runs (each seed averaged over
    the other factors first), with a band of its 95% t-interval over seeds."""
    colours = level_colors(report)[factor.key]
    percent = metric.endswith("_acc")
    drawn = 0
    with style():
        fig = new_figure(3.0)
        ax = fig.add_subplot()
        for level in factor.levels:
            label = level_label(factor.key, level)
            by_seed: dict[int, list[list[float]]] = {}
            for run in report.runs:
                curve = run.curves.get(metric)
                if run.state != "finished" or not curve:
                    continue
                if same_level(run.factors.get(factor.key), level):
                    by_seed.setdefault(run.seed, []).append(curve)
            if not by_seed:
                continue
            seed_curves = [_mean_curve(curves) for curves in by_seed.values()]
            epochs = max(len(c) for c in seed_curves)
            mean, lo, hi = [], [], []
            for e in range(epochs):
                iv = t_interval(finite([c[e] for c in seed_curves if e < len(c)]))
                mean.append(iv.mean)
                lo.append(math.nan if iv.lo is None else iv.lo)
                hi.append(math.nan if iv.hi is None else iv.hi)
            scale = 100.0 if percent else 1.0
            x = np.arange(1, epochs + 1)
            colour = colours[label]
            ax.plot(
                x, np.array(mean) * scale, color=colour, label=f"{label} ({len(by_seed)} seeds)"
            )
            ax.fill_between(
                x, np.array(lo) * scale, np.array(hi) * scale, color=colour, alpha=0.18, lw=0
            )
            drawn += 1
        if not drawn:
            return no_data(f"No finished run has a {metric} curve yet.")
        ax.set_xlabel("epoch")
        ax.set_ylabel(CURVE_LABELS.get(metric, metric))
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        legend = ax.legend(
            title=factor.name, loc="upper left", bbox_to_anchor=(1.0, 1.0), title_fontsize=8
        )
        fit(fig, ax, legend)
    return fig


def _mean_curve(curves: list[list[float]]) -> list[float]:
    """Epoch-wise mean of curves of possibly different lengths (NaN where none)."""
    length = max(len(c) for c in curves)
    out = []
    for e in range(length):
        xs = finite([c[e] for c in curves if e < len(c)])
        out.append(float(np.mean(xs)) if xs else math.nan)
    return out


def curves_plot(report: Report, factor: Factor, metric: str) -> str:
    """SVG: a training curve per level of `factor` (mean over seeds with a 95% band)."""
    return to_svg(curves_figure(report, factor, metric))
