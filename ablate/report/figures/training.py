"""Training curves per factor level: mean over seeds with a 95% band. Offered by the
`ablate.report.figures` door."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ablate.report.data.configs import (
    ConfigIndex,
    config_color,
    config_order,
    level_colors,
    same_level,
)
from ablate.report.figures.bounds import clip, curve_bounds, cut_note
from ablate.report.figures.encoding import wrap_label
from ablate.report.figures.layout import fit
from ablate.report.figures.style import new_figure, no_data, style
from ablate.report.figures.svg import to_svg
from ablate.stats import t_interval
from ablate.stats.model import Factor, Report, RunRow, finite, level_label

CURVE_LABELS = {
    "train_loss": "train loss (cross-entropy)",
    "val_loss": "validation loss (cross-entropy)",
    "train_acc": "train accuracy (%)",
    "val_acc": "validation accuracy (%)",
}

# curves this short (epochs) are drawn as points with error bars: a line through one
# point draws nothing, and a band over one epoch has no width
SHORT_CURVE = 3

# --------------------------------------------------------------------------- curves


def curves_figure(report: Report, factor: Factor, metric: str) -> Figure:
    """Per epoch: mean over seeds of the level's finished runs (each seed averaged over
    the other factors first), with a band of its 95% t-interval over seeds (cut at what
    the metric can be: a loss is not negative). Curves of up to `SHORT_CURVE` epochs are
    points with error bars."""
    colours = level_colors(report)[factor.key]

    def at(level: Any) -> Callable[[RunRow], bool]:
        return lambda run: same_level(run.factors.get(factor.key), level)

    groups = [
        (level_label(factor.key, lv), colours[level_label(factor.key, lv)], at(lv))
        for lv in factor.levels
    ]
    return _curves(report, groups, metric, factor.name)


def trial_curves_figure(report: Report, metric: str) -> Figure:
    """One curve per configuration (a tuned sweep without a factor to compare: each trial),
    over its seeds, in the configuration colours of the other plots."""
    index = ConfigIndex(report)

    def of(config: str) -> Callable[[RunRow], bool]:
        return lambda run: index.find(run.factors) == config

    groups = [
        (wrap_label(config, 28), config_color(report, config), of(config))
        for config in config_order(report)
    ]
    return _curves(report, groups, metric, "configuration")


def _curves(
    report: Report,
    groups: list[tuple[str, str, Callable[[RunRow], bool]]],
    metric: str,
    title: str,
) -> Figure:
    """The curves of `groups` (label, colour, which runs): mean over seeds with a band."""
    percent = metric.endswith("_acc")
    bounds = curve_bounds(metric)
    cuts: set[float] = set()
    drawn = 0
    longest = 0
    with style():
        fig = new_figure(3.0)
        ax = fig.add_subplot()
        for label, colour, member in groups:
            by_seed: dict[int, list[list[float]]] = {}
            for run in report.runs:
                curve = run.curves.get(metric)
                if run.state != "finished" or not curve:
                    continue
                if member(run):
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
            ys = np.array(mean) * scale
            band = [
                clip(a * scale, b * scale, bounds, cuts) if math.isfinite(a) else (a, b)
                for a, b in zip(lo, hi, strict=True)
            ]
            bl, bh = (np.array([b[i] for b in band]) for i in (0, 1))
            n = len(by_seed)
            name = f"{label} ({n} seed{'s' if n != 1 else ''})"
            if epochs <= SHORT_CURVE:
                dx = 0.06 * (drawn - (len(groups) - 1) / 2)  # side by side
                yerr = np.nan_to_num(np.array([ys - bl, bh - ys]), nan=0.0)
                ax.errorbar(
                    x + dx,
                    ys,
                    yerr=yerr,
                    color=colour,
                    marker="o",
                    ms=5,
                    lw=1.3,
                    capsize=3,
                    label=name,
                )
            else:
                ax.plot(x, ys, color=colour, label=name)
                ax.fill_between(x, bl, bh, color=colour, alpha=0.18, lw=0)
            drawn += 1
            longest = max(longest, epochs)
        if not drawn:
            return no_data(f"No finished run has a {metric} curve yet.")
        ax.set_xlabel("epoch")
        ax.set_ylabel(CURVE_LABELS.get(metric, metric))
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if longest <= SHORT_CURVE:
            ax.set_xlim(0.5, longest + 0.5)  # not matplotlib's 0.945..1.05 round one point
            ax.set_xticks(range(1, longest + 1))
        title += f"\n(95% CI {cut_note(cuts)})" if cuts else ""
        legend = ax.legend(
            title=title, loc="upper left", bbox_to_anchor=(1.0, 1.0), title_fontsize=8
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


def trial_curves_plot(report: Report, metric: str) -> str:
    """SVG: a training curve per configuration (a tuned sweep's trials)."""
    return to_svg(trial_curves_figure(report, metric))
