"""What every report plot shares: the palette, the per-figure style, and the SVG writer.

Figures are plain `matplotlib.figure.Figure`s (no pyplot, no global state); the style is
applied with `matplotlib.rc_context` around building and saving, so nothing leaks into
the caller's rcParams. `to_svg` turns a figure into a small `<svg>` element that can be
inlined in the page: text stays text, no metadata, ids unique per plot, width 100%.
"""

from __future__ import annotations

import hashlib
import io
import math
import re
import textwrap
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import matplotlib
from matplotlib.axes import Axes
from matplotlib.axis import Axis, XAxis
from matplotlib.backends.backend_agg import RendererAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.legend import Legend
from matplotlib.lines import Line2D
from matplotlib.text import Text
from matplotlib.ticker import AutoLocator, FixedLocator, MaxNLocator

from ablate.report.model import Interval, Report, Response, level_label

# Okabe & Ito (2008), colour-blind safe; black is kept for means and intervals
# Okabe-Ito, then Paul Tol's muted scheme: 13 colours, so the 10 levels of full.yaml's
# four factors each get their own
PALETTE = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#D55E00",
    "#CC79A7",
    "#56B4E9",
    "#F0E442",
    "#332288",
    "#117733",
    "#882255",
    "#44AA99",
    "#999933",
    "#AA4499",
)
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
INK = "#222222"  # means, intervals, text
GRID = "#e5e5e5"
FONT_STACK = "'DejaVu Sans', Arial, Helvetica, sans-serif"
WIDTH_IN = 6.4  # 640 px at 100 dpi; the SVG scales down with the page
DPI = 100

_STYLE: dict[Any, Any] = {  # rcParams keys, typed as literals by matplotlib's stubs
    "svg.fonttype": "none",  # text stays <text>: small and crisp
    "svg.hashsalt": "ablate",  # deterministic ids (made unique per plot in to_svg)
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans"],  # metrics for layout; the SVG names a stack
    "font.size": 9,
    "axes.titlesize": 9.5,
    "axes.labelsize": 9,
    "axes.edgecolor": "#888888",
    "axes.linewidth": 0.8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.grid.axis": "y",
    "axes.axisbelow": True,
    "grid.color": GRID,
    "grid.linewidth": 0.7,
    "xtick.labelsize": 8.5,
    "ytick.labelsize": 8.5,
    "xtick.color": "#444444",
    "ytick.color": "#444444",
    "legend.fontsize": 8,
    "legend.frameon": False,
    "figure.dpi": DPI,
    "savefig.dpi": DPI,
    "lines.linewidth": 1.6,
}


@contextmanager
def style() -> Iterator[None]:
    """The report's look, for the figures built and saved inside this block only."""
    with matplotlib.rc_context(_STYLE):
        yield


def new_figure(height_in: float, width_in: float = WIDTH_IN) -> Figure:
    """A figure without a layout engine (call inside `style()`): its margins are set by
    `fit` from the sizes of its labels, which costs a few font look-ups instead of the
    extra draws of constrained layout."""
    return Figure(figsize=(width_in, height_in), dpi=DPI)


# --------------------------------------------------------------------------- layout

PAD_IN = 0.06  # blank border round the figure, inches


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


_MEASURE = (Figure(dpi=DPI), RendererAgg(8, 8, DPI))  # pixels of the report's figures


def text_size(text: str, size: float, bold: bool = False) -> tuple[float, float]:
    """Width and height in points of a (possibly multi-line) label, as matplotlib draws it."""
    _, _, w, h = text_box(text, size, bold)
    return w, h


def _points(value: Any) -> float:
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


def _tick_extent(axis: Axis, across: bool) -> float:
    """Points the tick labels of an axis take away from the axes: their largest width
    (`across`: for a y axis) or height (an x axis), rotation taken into account; plus the
    tick and its pad."""
    labels = tick_labels(axis)
    if not labels:
        return 0.0
    tick = axis.get_major_ticks()[0]
    size = _points(tick.label1.get_fontsize())
    rotated = abs(tick.label1.get_rotation()) % 180 == 90
    sizes = [text_size(t, size) for t in labels]
    use_width = across != rotated
    largest = max(w if use_width else h for w, h in sizes)
    length = tick.tick1line.get_markersize() if tick.tick1line.get_visible() else 0.0
    pad = float(tick.get_pad() or 0.0)  # type: ignore[func-returns-value]  # stubs say None
    return largest + length + pad


def _label_extent(axis: Axis) -> float:
    text = axis.label.get_text()
    if not text:
        return 0.0
    return text_size(text, _points(axis.label.get_fontsize()))[1] + axis.labelpad


def legend_size(legend: Legend) -> tuple[float, float]:
    """Width and height in points of a legend's box (its border axes pad excluded)."""
    fs = legend.prop.get_size_in_points()
    texts = [t.get_text() for t in legend.get_texts()]
    sizes = [text_size(t, fs) for t in texts] or [(0.0, 0.0)]
    ncols = max(1, int(getattr(legend, "_ncols", 1)))
    rows = math.ceil(len(texts) / ncols)
    col = fs * (legend.handlelength + legend.handletextpad) + max(w for w, _ in sizes)
    width = ncols * col + (ncols - 1) * legend.columnspacing * fs
    title = legend.get_title()
    height = rows * max(h for _, h in sizes) + max(rows - 1, 0) * legend.labelspacing * fs
    if title.get_visible() and title.get_text():
        tw, th = text_size(title.get_text(), _points(title.get_fontsize()))
        width = max(width, tw)
        height += th + legend.labelspacing * fs
    return width + 2 * legend.borderpad * fs, height + 2 * legend.borderpad * fs


def margins(ax: Axes) -> tuple[float, float, float, float]:
    """Left, bottom, right, top in points that an axes' tick labels, axis labels and
    title need outside it."""
    freeze_ticks(ax.xaxis)
    freeze_ticks(ax.yaxis)
    left = _tick_extent(ax.yaxis, across=True) + _label_extent(ax.yaxis)
    bottom = _tick_extent(ax.xaxis, across=False) + _label_extent(ax.xaxis)
    top = 0.0
    title = ax.title.get_text()
    if title:
        top = text_size(title, _points(ax.title.get_fontsize()))[1] + _points(
            matplotlib.rcParams["axes.titlepad"]
        )
    ytick = (
        _points(ax.yaxis.get_major_ticks()[0].label1.get_fontsize()) if tick_labels(ax.yaxis) else 0
    )
    top = max(top, 0.5 * ytick)  # the top tick label reaches above the axes
    xlabels = tick_labels(ax.xaxis)
    right = 0.0
    if xlabels and abs(ax.xaxis.get_major_ticks()[0].label1.get_rotation()) % 180 != 90:
        size = _points(ax.xaxis.get_major_ticks()[0].label1.get_fontsize())
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
    size = _points(matplotlib.rcParams["ytick.labelsize"])
    ticks_w = widest(ticks, size) + 3.5 + 3.5
    label_h = text_size(label, _points(matplotlib.rcParams["axes.labelsize"]))[1] + 4.0
    return COLORBAR_PAD_IN + COLORBAR_IN + (ticks_w + label_h) / 72


COLORBAR_IN = 0.13  # a colorbar's thickness
COLORBAR_PAD_IN = 0.12  # gap between the axes and their colorbar


def add_colorbar(fig: Figure, image: Any, boxes: Sequence[Axes], label: str, shrink: float) -> Any:
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


# --------------------------------------------------------------------------- colours


def level_colors(report: Report) -> dict[str, dict[str, str]]:
    """Factor key -> level label -> hex colour; the same colour for a level everywhere.

    Colours are handed out in factor order, then level order, from the Okabe-Ito palette,
    so levels of different factors differ while the palette lasts (7 levels in all);
    beyond that they cycle.
    """
    colours: dict[str, dict[str, str]] = {}
    i = 0
    for factor in report.factors:
        colours[factor.key] = {}
        for value in factor.levels:
            colours[factor.key][level_label(factor.key, value)] = PALETTE[i % len(PALETTE)]
            i += 1
    return colours


def configs(report: Report) -> list[str]:
    """Configuration labels in factor order (the order of the levels in the space file)."""

    def rank(config: str) -> tuple[int, ...]:
        values = report.config_factors.get(config, {})
        return tuple(_index(f.levels, values.get(f.key)) for f in report.factors)

    return sorted(report.config_factors, key=rank)


def _index(levels: Sequence[Any], value: Any) -> int:
    for i, level in enumerate(levels):
        if level == value or str(level) == str(value):
            return i
    return len(levels)


_CONFIG_INDEX: dict[int, tuple[Report, dict[tuple[str, ...], str]]] = {}


def report_config(report: Report, values: dict[str, Any]) -> str | None:
    """The configuration label of a run's factor values (None if it is no design point)."""
    cached = _CONFIG_INDEX.get(id(report))
    if cached is None or cached[0] is not report:
        if len(_CONFIG_INDEX) >= 2:  # keep few reports alive
            _CONFIG_INDEX.clear()
        index: dict[tuple[str, ...], str] = {}
        for config, point in report.config_factors.items():
            index.setdefault(tuple(str(point.get(f.key)) for f in report.factors), config)
        cached = _CONFIG_INDEX[id(report)] = (report, index)
    found = cached[1].get(tuple(str(values.get(f.key)) for f in report.factors))
    if found is not None:
        return found
    for config, point in report.config_factors.items():  # e.g. 1 == 1.0 but "1" != "1.0"
        if all(same_level(point.get(f.key), values.get(f.key)) for f in report.factors):
            return config
    return None


def config_color(report: Report, config: str) -> str:
    """A configuration's colour: that of its level of the first factor."""
    if not report.factors:
        return PALETTE[0]
    first = report.factors[0]
    value = report.config_factors.get(config, {}).get(first.key)
    return level_colors(report)[first.key].get(level_label(first.key, value), INK)


def config_marker(report: Report, config: str) -> str:
    """A configuration's marker: one per combination of the factors after the first."""
    values = report.config_factors.get(config, {})
    index = 0
    for factor in report.factors[1:]:
        index = index * len(factor.levels) + _index(factor.levels, values.get(factor.key))
    return MARKERS[index % len(MARKERS)]


LEGEND_CONFIGS = 8  # up to this many configurations get a legend entry each


def config_handles(report: Report, shown: Sequence[str], line: bool = False) -> list[Line2D]:
    """Legend entries for configurations drawn with `config_color` and `config_marker`:
    one per configuration when there are few; otherwise one per level of the first
    factor (colour) and one per combination of the others (marker), while markers last."""
    ls = "-" if line else ""
    if len(shown) <= LEGEND_CONFIGS:
        return [
            Line2D(
                [],
                [],
                ls=ls,
                marker=config_marker(report, c),
                ms=5,
                color=config_color(report, c),
                mec="white",
                label=c,
            )
            for c in shown
        ]
    first, rest = report.factors[0], report.factors[1:]
    handles = [
        Line2D(
            [],
            [],
            ls=ls,
            marker="s" if not line else "",
            ms=6,
            color=colour,
            label=f"{first.name}={label}",
        )
        for label, colour in level_colors(report)[first.key].items()
    ]
    combos: dict[str, str] = {}
    for c in shown:
        values = report.config_factors.get(c, {})
        name = " ".join(f"{f.name}={level_label(f.key, values.get(f.key))}" for f in rest)
        combos.setdefault(name, config_marker(report, c))
    if len(combos) <= len(MARKERS):
        handles += [
            Line2D([], [], ls="", marker=m, ms=5, mfc="white", mec="#555555", label=name)
            for name, m in combos.items()
        ]
    return handles


def same_level(value: Any, level: Any) -> bool:
    """Whether a configuration's value is this level (MLflow params may come back as text)."""
    return bool(value == level or str(value) == str(level))


def axis_label(response: Response) -> str:
    """'test accuracy (points)'."""
    return f"{response.label} ({response.unit})" if response.unit else response.label


def wrap_label(text: str, width: int = 32) -> str:
    """Break a long axis label onto lines of about `width` characters (a y label of a
    3-inch axes holds about 32)."""
    return textwrap.fill(text, width, break_on_hyphens=False)


# --------------------------------------------------------------------------- numbers


def finite(values: Sequence[float] | None) -> list[float]:
    return [float(v) for v in values or [] if v is not None and math.isfinite(float(v))]


def has_interval(iv: Interval | None) -> bool:
    return (
        iv is not None
        and iv.lo is not None
        and iv.hi is not None
        and math.isfinite(iv.lo)
        and math.isfinite(iv.hi)
    )


# --------------------------------------------------------------------------- SVG


def no_data(message: str, height_in: float = 0.9) -> Figure:
    """A small figure that says why there is no plot."""
    fig = Figure(figsize=(WIDTH_IN, height_in), dpi=DPI)
    fig.text(0.5, 0.5, message, ha="center", va="center", color="#666666", fontsize=9)
    return fig


_PROLOG = re.compile(r"^.*?(?=<svg\b)", re.S)
_METADATA = re.compile(r"<metadata>.*?</metadata>\s*", re.S)
_COMMENT = re.compile(r"<!--.*?-->\s*", re.S)
_NUMBER = re.compile(r"-?\d+\.\d{3,}")
_GEOMETRY = re.compile(r'(\s(?:d|x|y|x1|x2|y1|y2|width|height|transform|points|viewBox)=")([^"]*)"')
_FONT = re.compile(r"font-family: [^;\"]*;?\s*")
_NO_ROTATE = re.compile(r' transform="rotate\(-?0 [^)"]*\)"')
_ID = re.compile(r'\sid="([^"]+)"')
_REF = re.compile(r'(?:url\(|href=")#([^)"]+)')
_REF_SUB = re.compile(r'(url\(|href=")#([^)"]+)')


def _round(match: re.Match[str]) -> str:
    text = f"{float(match.group(0)):.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def to_svg(fig: Figure, *, tight: bool = False) -> str:
    """The figure as an inline `<svg>` element: no prolog or metadata, 2-decimal
    coordinates, one font stack on the root, ids prefixed so that several plots can share
    a page, its CSS scoped to it, `width="100%"` with a max-width of the figure's natural
    size in pixels.
    `tight` crops to the drawn artists (for figures laid out by others, e.g. Optuna)."""
    buffer = io.StringIO()
    with style():
        extra: dict[str, Any] = {"bbox_inches": "tight", "pad_inches": 0.08} if tight else {}
        fig.savefig(buffer, format="svg", metadata={"Date": None}, **extra)
    svg = buffer.getvalue()
    size = re.search(r'<svg [^>]*?width="([\d.]+)pt"', svg)
    width_px = round(float(size.group(1)) / 72 * DPI) if size else round(WIDTH_IN * DPI)
    svg = _PROLOG.sub("", svg, count=1)
    svg = _METADATA.sub("", svg)
    svg = _COMMENT.sub("", svg)
    svg = _GEOMETRY.sub(lambda m: m.group(1) + _NUMBER.sub(_round, m.group(2)) + '"', svg)
    svg = _FONT.sub("", svg)
    svg = _NO_ROTATE.sub("", svg)
    svg = svg.replace(' style=""', "")
    svg = re.sub(r">\s+<", "><", svg)
    svg = re.sub(r"\s*\n\s*", " ", svg)  # path data spans lines
    # keep only the ids something points at, prefixed with a hash of this plot
    referenced = set(_REF.findall(svg))
    prefix = "a" + hashlib.sha1(svg.encode()).hexdigest()[:6] + "-"
    svg = _ID.sub(lambda m: f' id="{prefix}{m.group(1)}"' if m.group(1) in referenced else "", svg)
    svg = _REF_SUB.sub(lambda m: f"{m.group(1)}#{prefix}{m.group(2)}", svg)
    # matplotlib's "*{stroke-linejoin...}" would style the whole page once inlined
    svg = svg.replace('<style type="text/css">*{', f'<style type="text/css">.{prefix}svg *{{')
    svg = re.sub(
        r'<svg ([^>]*?)width="[\d.]+pt" height="[\d.]+pt"',
        rf'<svg \1width="100%" style="max-width:{width_px}px;height:auto;'
        rf'font-family:{FONT_STACK}" class="{prefix}svg" role="img"',
        svg,
        count=1,
    )
    return svg.strip()
