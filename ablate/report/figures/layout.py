"""Where a figure's parts go: text measured with matplotlib's own layout (no drawing),
tick labels frozen, and margins set so that labels, legends and colorbars just fit.

This replaces constrained layout, which draws a figure several times to find them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from functools import lru_cache

import matplotlib
from matplotlib.axes import Axes
from matplotlib.axis import Axis, XAxis
from matplotlib.backends.backend_agg import RendererAgg
from matplotlib.cm import ScalarMappable
from matplotlib.colorbar import Colorbar
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.legend import Legend
from matplotlib.text import Text
from matplotlib.ticker import AutoLocator, FixedLocator, MaxNLocator

from ablate.report.figures.style import DPI

PAD_IN = 0.06  # blank border round the figure, inches


_MEASURE = (Figure(dpi=DPI), RendererAgg(8, 8, DPI))  # pixels of the report's figures


@lru_cache(maxsize=4096)
def text_box(text: str, size: float, bold: bool = False) -> tuple[float, float, float, float]:
    """x0, y0, width, height in points of the box matplotlib lays `text` out in (DejaVu
    Sans, left-aligned, its (last) baseline at 0): measured by matplotlib's own text
    layout on a tiny Agg renderer, without drawing any figure."""
    text_obj = Text(
        0,
        0,
        text,
        fontsize=size,
        fontfamily="DejaVu Sans",
        fontweight="bold" if bold else "normal",
        ha="left",
        va="baseline",
    )
    text_obj.set_figure(_MEASURE[0])
    box = text_obj.get_window_extent(_MEASURE[1])
    scale = 72 / DPI
    return box.x0 * scale, box.y0 * scale, box.width * scale, box.height * scale


def text_size(text: str, size: float, bold: bool = False) -> tuple[float, float]:
    """Width and height in points of a (possibly multi-line) label, as matplotlib draws it."""
    _, _, w, h = text_box(text, size, bold)
    return w, h


def points(value: float | str) -> float:
    """A font size in points, from a number or a name such as 'small'."""
    if isinstance(value, int | float):
        return float(value)
    return float(FontProperties(size=value).get_size_in_points())


def tick_labels(axis: Axis) -> list[str]:
    """The major tick labels the axis will draw (those inside its view)."""
    lo, hi = sorted(axis.get_view_interval())
    slack = 1e-9 * (hi - lo)
    every = list(axis.get_majorticklocs())
    texts = axis.get_major_formatter().format_ticks(every)
    return [t for v, t in zip(every, texts, strict=True) if t and lo - slack <= v <= hi + slack]


TICKS = {"x": 8, "y": 6}  # at most about this many labelled ticks on a numeric axis (+1)


def freeze_ticks(axis: Axis) -> None:
    """Fix the axis' major tick positions as they are now (limits final, report style on),
    keeping only those inside the view: the default locator picks how many ticks fit from
    the *current* rcParams' label size, so a figure drawn outside `style()` would otherwise
    get other ticks than it was laid out for; and every tick is a handful of artists to
    build and draw. A linear axis gets at most `TICKS[x or y]` + 1 round-numbered ticks."""
    locator = axis.get_major_locator()
    if isinstance(locator, FixedLocator):
        return
    if type(locator) is AutoLocator:
        nbins = TICKS["x" if isinstance(axis, XAxis) else "y"]
        axis.set_major_locator(MaxNLocator(nbins=nbins, steps=[1, 2, 2.5, 5, 10]))
    lo, hi = sorted(axis.get_view_interval())
    slack = 1e-9 * (hi - lo)
    locs = [float(v) for v in axis.get_majorticklocs() if lo - slack <= v <= hi + slack]
    if locs:
        axis.set_major_locator(FixedLocator(locs))


def tick_extent(axis: Axis, across: bool) -> float:
    """Points the tick labels of an axis take away from the axes: their largest width
    (`across`: for a y axis) or height (an x axis), rotation taken into account; plus the
    tick and its pad."""
    labels = tick_labels(axis)
    if not labels:
        return 0.0
    tick = axis.get_major_ticks()[0]
    size = points(tick.label1.get_fontsize())
    rotated = abs(tick.label1.get_rotation()) % 180 == 90
    sizes = [text_size(t, size) for t in labels]
    use_width = across != rotated
    largest = max(w if use_width else h for w, h in sizes)
    length = tick.tick1line.get_markersize() if tick.tick1line.get_visible() else 0.0
    pad = float(tick.get_pad() or 0.0)  # type: ignore[func-returns-value]  # stubs say None
    return largest + length + pad


def label_extent(axis: Axis) -> float:
    text = axis.label.get_text()
    if not text:
        return 0.0
    return text_size(text, points(axis.label.get_fontsize()))[1] + axis.labelpad


def legend_size(legend: Legend, ncols: int = 1) -> tuple[float, float]:
    """Width and height in points of a legend's box (its border axes pad excluded);
    `ncols`: the columns it was made with (matplotlib has no public getter for them)."""
    fs = legend.prop.get_size_in_points()
    texts = [t.get_text() for t in legend.get_texts()]
    sizes = [text_size(t, fs) for t in texts] or [(0.0, 0.0)]
    ncols = max(1, ncols)
    rows = math.ceil(len(texts) / ncols)
    col = fs * (legend.handlelength + legend.handletextpad) + max(w for w, _ in sizes)
    width = ncols * col + (ncols - 1) * legend.columnspacing * fs
    title = legend.get_title()
    height = rows * max(h for _, h in sizes) + max(rows - 1, 0) * legend.labelspacing * fs
    if title.get_visible() and title.get_text():
        tw, th = text_size(title.get_text(), points(title.get_fontsize()))
        width = max(width, tw)
        height += th + legend.labelspacing * fs
    return width + 2 * legend.borderpad * fs, height + 2 * legend.borderpad * fs


def margins(ax: Axes) -> tuple[float, float, float, float]:
    """Left, bottom, right, top in points that an axes' tick labels, axis labels and
    title need outside it."""
    freeze_ticks(ax.xaxis)
    freeze_ticks(ax.yaxis)
    left = tick_extent(ax.yaxis, across=True) + label_extent(ax.yaxis)
    bottom = tick_extent(ax.xaxis, across=False) + label_extent(ax.xaxis)
    top = 0.0
    title = ax.title.get_text()
    if title:
        top = text_size(title, points(ax.title.get_fontsize()))[1] + points(
            matplotlib.rcParams["axes.titlepad"]
        )
    ytick = (
        points(ax.yaxis.get_major_ticks()[0].label1.get_fontsize()) if tick_labels(ax.yaxis) else 0
    )
    top = max(top, 0.5 * ytick)  # the top tick label reaches above the axes
    xlabels = tick_labels(ax.xaxis)
    right = 0.0
    if xlabels and abs(ax.xaxis.get_major_ticks()[0].label1.get_rotation()) % 180 != 90:
        size = points(ax.xaxis.get_major_ticks()[0].label1.get_fontsize())
        right = 0.5 * text_size(xlabels[-1], size)[0]  # the last one may hang over the edge
    return left, bottom, right, top


def fit(fig: Figure, ax: Axes, legend: Legend | None = None, right_in: float = 0.0) -> None:
    """Set the figure's margins so that the axes' labels and a legend placed right of the
    axes (`loc="upper left", bbox_to_anchor=(1, 1)`) just fit; `right_in` reserves more
    room on the right (inches), e.g. for a colorbar. Call when limits and labels are final."""
    left, bottom, right, top = margins(ax)
    if legend is not None:
        width, _ = legend_size(legend)
        right = max(right, width + legend.borderaxespad * legend.prop.get_size_in_points())
    place(fig, left / 72, bottom / 72, right / 72 + right_in, top / 72)


def place(fig: Figure, left: float, bottom: float, right: float, top: float) -> None:
    """Margins in inches (plus the figure's pad) as `subplots_adjust` fractions."""
    w, h = fig.get_size_inches()
    fig.subplots_adjust(
        left=(left + PAD_IN) / w,
        right=1 - (right + PAD_IN) / w,
        bottom=(bottom + PAD_IN) / h,
        top=1 - (top + PAD_IN) / h,
    )


def colorbar_width(label: str, ticks: Sequence[str] = ("100",)) -> float:
    """Inches a vertical colorbar (`add_colorbar`) takes right of its axes."""
    size = points(matplotlib.rcParams["ytick.labelsize"])
    ticks_w = widest(ticks, size) + 3.5 + 3.5
    label_h = text_size(label, points(matplotlib.rcParams["axes.labelsize"]))[1] + 4.0
    return COLORBAR_PAD_IN + COLORBAR_IN + (ticks_w + label_h) / 72


COLORBAR_IN = 0.13  # a colorbar's thickness
COLORBAR_PAD_IN = 0.12  # gap between the axes and their colorbar


def add_colorbar(
    fig: Figure, image: ScalarMappable, boxes: Sequence[Axes], label: str, shrink: float
) -> Colorbar:
    """A vertical colorbar right of `boxes` (laid out already), `shrink` of their height,
    centred; without a frame."""
    ys = [ax.get_position() for ax in boxes]
    x1 = max(b.x1 for b in ys)
    y0, y1 = min(b.y0 for b in ys), max(b.y1 for b in ys)
    w, _ = fig.get_size_inches()
    height = (y1 - y0) * shrink
    cax = fig.add_axes(
        (x1 + COLORBAR_PAD_IN / w, y0 + (y1 - y0 - height) / 2, COLORBAR_IN / w, height)
    )
    bar = fig.colorbar(image, cax=cax)
    bar.set_label(label)
    bar.outline.set_visible(False)
    return bar


def widest(texts: Iterable[str], size: float) -> float:
    """Width in points of the widest of `texts`."""
    return max((text_size(t, size)[0] for t in texts), default=0.0)
