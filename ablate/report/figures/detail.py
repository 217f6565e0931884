"""Per-class and explanation plots: confusion matrices, per-class accuracy, and the
deletion/insertion curves next to the gallery. Offered by the `ablate.report.figures` door."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from ablate.report.data.configs import config_color, config_order
from ablate.report.figures.encoding import LEGEND_CONFIGS, config_handles, config_marker
from ablate.report.figures.layout import (
    PAD_IN,
    add_colorbar,
    colorbar_width,
    fit,
    legend_size,
    margins,
    place,
    tick_labels,
    widest,
)
from ablate.report.figures.style import WIDTH_IN, new_figure, no_data, style
from ablate.report.figures.svg import to_svg
from ablate.stats.model import Report

HEAT = "Blues"  # sequential, prints black and white; 0 = white
PRINTED_CELLS = 200  # values are printed in at most this many cells (two 10x10 matrices)
PRINTED_TABLE = 450  # per-class table cells with printed values (40 configurations x 11)


def _row_percent(matrix: Sequence[Sequence[float]]) -> np.ndarray:
    """Row-normalised confusion in % (NaN for a class with no images)."""
    m = np.asarray(matrix, dtype=float)
    sums = m.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(sums > 0, 100.0 * m / sums, math.nan)


def _print_cells(ax, values: np.ndarray, fontsize: float) -> None:  # type: ignore[no-untyped-def]
    """Each cell's value as a whole number, white on dark cells; blank where NaN."""
    for (i, j), v in np.ndenumerate(values):
        if math.isfinite(v):
            ax.text(
                j,
                i,
                f"{v:.0f}",
                ha="center",
                va="center",
                fontsize=fontsize,
                color="white" if v > 55 else "black",
            )  # black: no fill attribute


def confusion_figure(report: Report, configs: list[str]) -> Figure:
    """Row-normalised mean confusion matrices (% of each true class), side by side on one
    colour scale (0-100%); values printed in the cells when there are at most 200."""
    shown = [c for c in dict.fromkeys(configs) if c in report.confusion]
    if not shown or not report.classes:
        return no_data("No confusion matrix was logged for these configurations.")
    classes = report.classes
    k = len(classes)
    per_row = min(len(shown), 3)
    rows = math.ceil(len(shown) / per_row)
    with style():
        fig = new_figure(
            height_in=rows * (0.25 * k + 1.05),
            width_in=WIDTH_IN + 2.2 * (per_row - 2) if per_row > 2 else WIDTH_IN,
        )
        axes = fig.subplots(rows, per_row, squeeze=False, sharey=True)
        image = None
        for n, ax in enumerate(axes.flat):
            if n >= len(shown):
                ax.set_visible(False)
                continue
            config = shown[n]
            values = _row_percent(report.confusion[config])
            image = ax.imshow(values, cmap=HEAT, vmin=0, vmax=100, interpolation="nearest")
            if len(shown) * k * k <= PRINTED_CELLS:
                _print_cells(ax, values, fontsize=6)
            ax.set_title(config, fontsize=8.5, color=config_color(report, config))
            ax.set_xticks(range(k), classes, rotation=90, fontsize=7.5)
            ax.set_yticks(range(k), classes, fontsize=7.5)
            ax.tick_params(length=0)
            ax.grid(False)
            for spine in ax.spines.values():
                spine.set_visible(False)
            ax.set_xlabel("predicted class")
            if n % per_row == 0:
                ax.set_ylabel("true class")
        assert image is not None
        label = "% of the true class"
        shown_axes = [ax for ax in axes.flat if ax.get_visible()]
        _grid(fig, axes, colorbar_width(label))
        add_colorbar(fig, image, shown_axes, label, shrink=0.7)
    return fig


GAP_IN = 0.15  # between the matrices of a row


def _grid(fig: Figure, axes: np.ndarray, right_in: float) -> None:
    """Square matrices in a grid, as large as the figure allows, centred, each with room
    for its title above and its rotated class names and x label below."""
    w, h = fig.get_size_inches()
    rows, cols = axes.shape
    left, bottom, _, top = (v / 72 for v in margins(axes[0, 0]))
    across = w - 2 * PAD_IN - left - right_in  # for the matrices and the gaps between
    side = min(
        (across - (cols - 1) * GAP_IN) / cols, (h - 2 * PAD_IN - rows * (top + bottom)) / rows
    )
    gap = GAP_IN
    titles = [ax.get_title() for ax in axes.flat if ax.get_visible()]
    span = widest(titles, float(axes[0, 0].title.get_fontsize())) / 72 + GAP_IN  # title to title
    if cols > 1 and side + gap < span:  # wider gaps (and smaller matrices): no titles touch
        side = min(side, across - (cols - 1) * span)
        gap = span - side
    block = left + cols * side + (cols - 1) * gap + right_in
    x0 = max(PAD_IN, (w - block) / 2) + left
    for r in range(rows):
        y = h - PAD_IN - (r + 1) * (top + side) - r * bottom
        for c in range(cols):
            x = x0 + c * (side + gap)
            axes[r, c].set_position((x / w, y / h, side / w, side / h))


def confusion_plot(report: Report, configs: list[str]) -> str:
    """SVG: the given configurations' confusion matrices, row-normalised, side by side."""
    return to_svg(confusion_figure(report, configs))


def per_class_figure(report: Report) -> Figure:
    """Per-class accuracy (diagonal / row sum) as a heat-map table: configurations x
    classes, plus each configuration's mean over classes."""
    shown = [c for c in config_order(report) if c in report.confusion]
    if not shown or not report.classes:
        return no_data("No confusion matrix was logged yet, so no per-class accuracy.")
    table = []
    for config in shown:
        m = np.asarray(report.confusion[config], dtype=float)
        sums = m.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            table.append(np.where(sums > 0, 100.0 * np.diag(m) / sums, math.nan))
    values = np.array(table)
    values = np.column_stack([values, np.nanmean(values, axis=1)])
    columns = [*report.classes, "mean"]
    finite = values[np.isfinite(values)]
    low = float(np.floor(finite.min() / 10) * 10) if finite.size else 0.0
    with style():
        fig = new_figure(height_in=1.3 + 0.28 * len(shown))
        ax = fig.add_subplot()
        image = ax.imshow(
            values, cmap=HEAT, vmin=low, vmax=100, aspect="auto", interpolation="nearest"
        )
        last = len(columns) - 1
        every = values.size <= PRINTED_TABLE  # else the mean column only, to stay small
        for (i, j), v in np.ndenumerate(values):
            if math.isfinite(v) and (every or j == last):
                ax.text(
                    j,
                    i,
                    f"{v:.0f}",
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if v > low + 0.55 * (100 - low) else "black",
                    fontweight="bold" if j == last else "normal",
                )
        ax.axvline(len(columns) - 1.5, color="white", lw=3)
        ax.set_xticks(range(len(columns)), columns, rotation=90, fontsize=7.5)
        ax.set_yticks(range(len(shown)), shown, fontsize=7.5)
        for tick, config in zip(ax.get_yticklabels(), shown, strict=True):
            tick.set_color(config_color(report, config))
        ax.tick_params(length=0)
        ax.grid(False)
        for spine in ax.spines.values():
            spine.set_visible(False)
        label = "accuracy on the class (%)"
        fit(fig, ax, right_in=colorbar_width(label))
        add_colorbar(fig, image, [ax], label, shrink=0.9)
    return fig


def per_class_plot(report: Report) -> str:
    """SVG: per-class test accuracy of every configuration, as a heat-map table."""
    return to_svg(per_class_figure(report))


def faith_curves_figure(report: Report, method: str) -> Figure:
    """Deletion and insertion curves of one explanation method, one line per configuration
    (colour = first factor's level, marker = the other factors), random order dashed; with
    more than 8 configurations, thin lines and one grey band for the random order."""
    curves = [c for c in report.faith_curves if c.method == method]
    if not curves:
        return no_data(f"No deletion/insertion curves were logged for {method}.")
    order = {c: i for i, c in enumerate(config_order(report))}
    curves.sort(key=lambda c: order.get(c.config, len(order)))
    with style():
        fig = new_figure(3.3)
        axes = fig.subplots(1, 2, sharey=True)
        panels = [
            (
                "deletion",
                "deletion",
                "deletion_random",
                "fraction of pixels deleted",
                "lower is better",
            ),
            (
                "insertion",
                "insertion",
                "insertion_random",
                "fraction of pixels inserted",
                "higher is better",
            ),
        ]
        many = len(curves) > LEGEND_CONFIGS
        for ax, (title, attr, random_attr, xlabel, better) in zip(axes, panels, strict=True):
            if many:  # one grey band for the random order instead of a line per configuration
                x, lo, hi = _random_band(
                    [c.fractions for c in curves], [getattr(c, random_attr) for c in curves]
                )
                ax.fill_between(x, lo, hi, color="#999999", alpha=0.3, lw=0)
            for curve in curves:
                colour = config_color(report, curve.config)
                x = np.asarray(curve.fractions, dtype=float)
                if many:
                    ax.plot(x, getattr(curve, attr), color=colour, lw=0.9, alpha=0.8)
                    continue
                ax.plot(
                    x,
                    getattr(curve, attr),
                    color=colour,
                    marker=config_marker(report, curve.config),
                    ms=4,
                    markevery=max(1, len(x) // 5),
                    mec="white",
                    mew=0.5,
                    lw=1.4,
                )
                ax.plot(x, getattr(curve, random_attr), color=colour, ls="--", lw=0.9, alpha=0.7)
            ax.set_title(f"{title} ({better})")
            ax.set_xlabel(xlabel)
            ax.set_xlim(0, 1)
            ax.set_ylim(bottom=0)
        axes[0].set_ylabel("probability of the\nexplained class")
        handles: list[Artist] = [*config_handles(report, [c.config for c in curves], line=True)]
        if many:
            handles.append(Patch(color="#999999", alpha=0.3, label="random order (range)"))
        else:
            handles.append(Line2D([], [], color="#777777", ls="--", lw=0.9, label="random order"))
        _fit_panels(fig, axes, handles)
    return fig


def _fit_panels(fig: Figure, axes: Sequence[Axes], handles: list[Artist]) -> None:
    """Margins for two side-by-side panels sharing y, with a legend centred below them."""
    h = fig.get_size_inches()[1]
    ncols = min(3, len(handles))
    legend = fig.legend(handles=handles, loc="lower center", ncols=ncols)
    _, legend_h = legend_size(legend, ncols)
    legend.set_bbox_to_anchor((0.5, PAD_IN / h), transform=fig.transFigure)
    legend.set_loc("lower center")
    left, bottom, right, top = margins(axes[0])
    _, bottom1, right1, top1 = margins(axes[1])
    bottom, top = max(bottom, bottom1), max(top, top1)
    # between the panels: the first one's last x label and the second one's first
    xsize = float(axes[0].xaxis.get_major_ticks()[0].label1.get_fontsize())
    first = tick_labels(axes[1].xaxis)[:1]
    gap = right + widest(first, xsize) / 2 + 14  # points
    place(fig, left / 72, (bottom + legend_h + 8) / 72, right1 / 72, top / 72)
    span = axes[1].get_position().x1 - axes[0].get_position().x0
    width_in = (fig.get_size_inches()[0] * span - gap / 72) / 2  # per panel
    fig.subplots_adjust(wspace=(gap / 72) / width_in)


def _random_band(
    fractions: list[list[float]], curves: list[list[float]]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Min and max over configurations of the random-order curves, on the first grid."""
    x = np.asarray(fractions[0], dtype=float)
    ys = np.array([np.interp(x, f, y) for f, y in zip(fractions, curves, strict=True)])
    return x, ys.min(axis=0), ys.max(axis=0)


def faith_curves_plot(report: Report, method: str) -> str:
    """SVG: deletion and insertion curves per configuration against the random order."""
    return to_svg(faith_curves_figure(report, method))
