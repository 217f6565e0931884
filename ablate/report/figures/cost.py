"""A response against a cost, one point per configuration, with the Pareto front.
Offered by the `ablate.report.figures` door."""

from __future__ import annotations

import math

from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter
from matplotlib.transforms import Bbox

from ablate.report.data.configs import INK, config_color, config_order
from ablate.report.figures.bounds import clip, cut_note, response_bounds
from ablate.report.figures.encoding import axis_label, config_handles, config_marker, wrap_label
from ablate.report.figures.layout import fit, text_box
from ablate.report.figures.style import new_figure, no_data, style
from ablate.report.figures.svg import to_svg
from ablate.stats import pareto_front
from ablate.stats.model import Report, Response, has_interval

LOG_SPAN = 30.0  # a cost axis spanning more than this factor is drawn on a log scale

# --------------------------------------------------------------------------- Pareto


def pareto_figure(report: Report, cost: Response, response: Response) -> Figure:
    """One point per configuration (mean over seeds, 95% intervals on both axes), the
    Pareto front (lower cost, better response) as a step line with its points labelled."""
    sign = 1.0 if response.higher_is_better else -1.0
    rows = []
    for config in config_order(report):
        c = report.cells.get(cost.key, {}).get(config)
        r = report.cells.get(response.key, {}).get(config)
        if c is None or r is None or not (math.isfinite(c.mean) and math.isfinite(r.mean)):
            continue
        rows.append((config, c, r))
    if not rows:
        return no_data(f"No configuration has both {cost.label} and {response.label} yet.")
    with style():
        fig = new_figure(3.4)
        ax = fig.add_subplot()
        ax.grid(True, axis="both")
        ax.margins(0.08, 0.12)
        xs = [c.mean for _, c, _ in rows]
        positive = [x for x in xs if x > 0]
        if positive and max(positive) / min(positive) > LOG_SPAN and len(positive) == len(xs):
            ax.set_xscale("log")
        # the 95% intervals of all configurations as one collection, under the points
        # cut at what each quantity can be (a time is not negative; figures.bounds)
        bars: list[list[tuple[float, float]]] = []
        bar_colours: list[str] = []
        cuts: set[float] = set()
        x_bounds = response_bounds(cost)
        # log 0 is -inf: an end cut at 0 is drawn at a tenth of the smallest mean instead
        floor = (min(positive) / 10, math.inf) if ax.get_xscale() == "log" else x_bounds
        y_bounds = response_bounds(response)
        for config, c, r in rows:
            colour = config_color(report, config)
            if has_interval(c):
                assert c.lo is not None and c.hi is not None
                lo, hi = clip(*clip(c.lo, c.hi, x_bounds, cuts), floor)
                bars.append([(lo, r.mean), (hi, r.mean)])
                bar_colours.append(colour)
            if has_interval(r):
                assert r.lo is not None and r.hi is not None
                lo, hi = clip(r.lo, r.hi, y_bounds, cuts)
                bars.append([(c.mean, lo), (c.mean, hi)])
                bar_colours.append(colour)
            ax.plot(
                [c.mean],
                [r.mean],
                ls="",
                marker=config_marker(report, config),
                ms=6,
                color=colour,
                mfc=colour,
                mec="white",
                zorder=3,
            )
        if bars:
            ax.add_collection(
                LineCollection(bars, colors=bar_colours, linewidths=1, zorder=2.9), autolim=True
            )
            ax.autoscale_view()
        front = pareto_front([(c.mean, sign * r.mean) for _, c, r in rows])
        fx = [rows[i][1].mean for i in front]
        fy = [rows[i][2].mean for i in front]
        ax.step(fx, fy, where="post", color=INK, lw=1, ls="--", zorder=2, alpha=0.7)
        if ax.get_xscale() == "log":
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.set_xlabel(axis_label(cost) + (", log scale" if ax.get_xscale() == "log" else ""))
        ax.set_ylabel(wrap_label(axis_label(response)))
        handles = config_handles(report, [config for config, _, _ in rows])
        handles.append(Line2D([], [], color=INK, lw=1, ls="--", label="Pareto front"))
        if bars:
            note = f", {cut_note(cuts)}" if cuts else ""
            handles.append(Line2D([], [], color="#777777", lw=1, label=f"95% CI{note}"))
        legend = ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        fit(fig, ax, legend)
        _place_labels(  # last: the layout must be final
            ax,
            [(rows[i][1].mean, rows[i][2].mean) for i in front],
            [rows[i][0] for i in front],
            [(c.mean, r.mean) for _, c, r in rows],
        )
    return fig


# label offsets in points, tried in order: right-below, right-above, left-below, ...
_OFFSETS = tuple(
    (dx, dy, ha)
    for dy in (-11, 4, -20, 13)
    for dx, ha in ((6, "left"), (-6, "right"), (0, "center"))
)


LABEL_SIZE = 7.5


def _place_labels(
    ax: Axes,
    points: list[tuple[float, float]],
    labels: list[str],
    obstacles: list[tuple[float, float]],
) -> None:
    """Annotate points without text leaving the axes or covering another label or any
    point: for each label, the first offset that fits; a label that fits nowhere is left
    out (the point stays on the front line) rather than drawn over another.
    Text boxes come from the font's metrics and the (final) axes position, not from a
    draw of the figure."""
    ax.get_xlim(), ax.get_ylim()  # settle autoscaling: data -> pixels is final now
    box = ax.get_window_extent()
    scale = ax.figure.dpi / 72  # points -> pixels
    placed: list[Bbox] = [
        Bbox.from_extents(x - 5, y - 5, x + 5, y + 5)
        for x, y in (ax.transData.transform(p) for p in obstacles)
    ]
    for point, label in zip(points, labels, strict=True):
        px, py = ax.transData.transform(point)
        left, below, width, height = (v * scale for v in text_box(label, LABEL_SIZE))
        for dx, dy, ha in _OFFSETS:
            shift = {"left": 0.0, "center": width / 2, "right": width}[ha]
            x0 = px + dx * scale + left - shift
            y0 = py + dy * scale + below  # the offset puts the baseline there
            bb = Bbox.from_bounds(x0, y0, width, height).expanded(1.05, 1.1)
            inside = bb.x0 >= box.x0 and bb.x1 <= box.x1 and bb.y0 >= box.y0 and bb.y1 <= box.y1
            if inside and not any(bb.overlaps(o) for o in placed):
                placed.append(bb)
                ax.annotate(
                    label,
                    point,
                    xytext=(dx, dy),
                    textcoords="offset points",
                    ha=ha,
                    fontsize=LABEL_SIZE,
                    color=INK,
                    zorder=5,
                )
                break


def pareto_plot(report: Report, cost: Response, response: Response) -> str:
    """SVG: a response against a cost, one point per configuration, Pareto front marked."""
    return to_svg(pareto_figure(report, cost, response))
