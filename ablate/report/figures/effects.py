"""Effect and interaction plots: what each factor did to a response, with seeds and
95% intervals. Offered by the `ablate.report.figures` door."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ablate.report.data.configs import INK, ConfigIndex, config_order, level_colors, same_level
from ablate.report.figures.bounds import clip, cut_note, response_bounds
from ablate.report.figures.encoding import MARKERS, axis_label, wrap_label
from ablate.report.figures.layout import fit
from ablate.report.figures.style import new_figure, style
from ablate.report.figures.svg import to_svg
from ablate.stats import t_interval
from ablate.stats.model import (
    Factor,
    Interval,
    Report,
    Response,
    finite,
    has_interval,
    level_label,
)

# --------------------------------------------------------------------------- effects


def _tick_labels(factor: Factor, counts: list[int]) -> list[str]:
    return [
        f"{level_label(factor.key, v)}\n{f'n = {n}' if n else 'no runs'}"
        for v, n in zip(factor.levels, counts, strict=True)
    ]


def _configs_at(report: Report, factor: Factor, level: Any) -> list[str]:
    return [
        c
        for c in config_order(report)
        if same_level(report.config_factors[c].get(factor.key), level)
    ]


def _per_seed_means(report: Report, response: Response, at: list[str]) -> list[float]:
    """Mean over the configurations at a level, seed by seed (seeds are the replicates):
    from the finished runs' metrics, or the cells' seed values in order if runs lack it.
    A tuned sweep always reads its cells: they hold only the runs its statistics compare
    (the confirmation runs where there are some), not every trial of a configuration."""
    by_seed: dict[int, list[float]] = {}
    if report.kind == "optuna":
        values = report.cell_values.get(response.key, {})
        columns = [values[c] for c in at if values.get(c)]  # trials outside the comparison: none
        rows = zip(*columns, strict=False) if columns else iter(())
        return [float(np.mean(finite(row))) for row in rows if finite(row)]
    chosen = set(at)
    index = ConfigIndex(report)
    for run in report.runs:
        value = run.metrics.get(response.key)
        if (
            run.state == "finished"
            and value is not None
            and math.isfinite(value)
            and index.find(run.factors) in chosen
        ):
            by_seed.setdefault(run.seed, []).append(value * response.scale)
    if by_seed:
        return [float(np.mean(v)) for _, v in sorted(by_seed.items())]
    columns = [report.cell_values.get(response.key, {}).get(c, []) for c in at]
    rows = zip(*columns, strict=False) if columns else iter(())
    return [float(np.mean(finite(row))) for row in rows if finite(row)]


MARKED_CONFIGS = 4  # configurations per level whose means get their own marker


def effect_figure(report: Report, factor: Factor, response: Response) -> Figure:
    """Seed dots per configuration, configuration means, and the level mean with its 95%
    t-interval over seeds (each seed's values averaged over the other factors)."""
    colours = level_colors(report)[factor.key]
    markers = _other_markers(report, factor.key)
    # a marker per configuration mean while a few tell them apart; beyond, dots only
    others = 1 < len(markers) <= MARKED_CONFIGS
    rng = np.random.default_rng(0)  # the same jitter every time
    with style():
        fig = new_figure(3.3)
        ax = fig.add_subplot()
        counts = []
        intervals = 0
        cuts: set[float] = set()  # bounds an interval was cut at (e.g. 0 s)
        bounds = response_bounds(response)
        for x, level in enumerate(factor.levels):
            colour = colours[level_label(factor.key, level)]
            at = _configs_at(report, factor, level)
            seeds = [finite(report.cell_values.get(response.key, {}).get(c)) for c in at]
            counts.append(sum(len(s) for s in seeds))
            dots_x: list[float] = []
            dots_y: list[float] = []
            means: dict[str, tuple[list[float], list[float]]] = {}  # marker -> x, y
            for j, (config, ys) in enumerate(zip(at, seeds, strict=True)):
                cx = x - 0.12 + 0.36 * ((j + 0.5) / len(at) - 0.5)
                dots_x += list(cx + rng.uniform(-0.035, 0.035, len(ys)))
                dots_y += ys
                cell = report.cells.get(response.key, {}).get(config)
                if others and cell is not None and math.isfinite(cell.mean):
                    mx, my = means.setdefault(
                        markers[_others(report, config, factor.key)], ([], [])
                    )
                    mx.append(cx)
                    my.append(cell.mean)
            ax.scatter(dots_x, dots_y, s=14, color=colour, alpha=0.6, lw=0, zorder=2)
            for marker, (mx, my) in means.items():
                ax.scatter(
                    mx,
                    my,
                    s=34,
                    marker=marker,
                    facecolor="none",
                    edgecolor=colour,
                    lw=1.3,
                    zorder=1,  # under the seed dots, which stay visible inside
                )
            level_iv = t_interval(_per_seed_means(report, response, at))
            if math.isfinite(level_iv.mean):
                bx = x + 0.2
                if level_iv.lo is not None and level_iv.hi is not None:
                    intervals += 1
                    lo, hi = clip(level_iv.lo, level_iv.hi, bounds, cuts)
                    ax.plot(
                        [bx, bx],
                        [lo, hi],
                        color=INK,
                        lw=2.4,
                        solid_capstyle="butt",
                        zorder=4,
                    )
                ax.plot([bx - 0.07, bx + 0.07], [level_iv.mean] * 2, color=INK, lw=2.4, zorder=4)
            if not at or counts[-1] == 0:
                ax.text(
                    x,
                    0.5,
                    "no finished runs",
                    transform=ax.get_xaxis_transform(),
                    ha="center",
                    va="center",
                    color="#777777",
                    fontsize=8,
                )
        ax.set_xticks(range(len(factor.levels)), _tick_labels(factor, counts))
        ax.set_xlim(-0.6, len(factor.levels) - 0.4)
        ax.set_xlabel(factor.name)
        ax.set_ylabel(wrap_label(axis_label(response)))
        handles = [
            Line2D([], [], ls="", marker="o", ms=4, color="#777777", alpha=0.7, label="one seed"),
            Line2D(
                [],
                [],
                color=INK,
                lw=2.4,
                label=(
                    "level mean, 95% CI over seeds" + (f"\n({cut_note(cuts)})" if cuts else "")
                    if intervals
                    else "mean (1 seed: no interval)"
                ),
            ),
        ]
        if others:
            handles[1:1] = [
                Line2D(
                    [],
                    [],
                    ls="",
                    marker=m,
                    ms=5,
                    mfc="white",
                    mec="#555555",
                    mew=1.2,
                    label=f"mean of {label}",
                )
                for label, m in markers.items()
            ]
        legend = ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        fit(fig, ax, legend)
    return fig


def _others(report: Report, config: str, exclude: str) -> str:
    """'head=GAP' for the configuration 'stride=1 head=GAP' in a plot about stride."""
    values = report.config_factors[config]
    return " ".join(
        f"{f.name}={level_label(f.key, values.get(f.key))}"
        for f in report.factors
        if f.key != exclude
    )


def _other_markers(report: Report, exclude: str) -> dict[str, str]:
    """A marker per combination of the factors other than `exclude`, in factor order."""
    markers: dict[str, str] = {}
    for config in config_order(report):
        markers.setdefault(_others(report, config, exclude), MARKERS[len(markers) % len(MARKERS)])
    return markers


def effect_plot(report: Report, factor: Factor, response: Response) -> str:
    """SVG: one factor's levels on x; seed dots, configuration means, level mean ± 95% CI."""
    return to_svg(effect_figure(report, factor, response))


# --------------------------------------------------------------------------- interaction


def interaction_figure(
    report: Report,
    a: Factor,
    b: Factor,
    response: Response,
    cells: Mapping[tuple[Any, Any], Interval],
) -> Figure:
    """Levels of `a` on x, one line per level of `b`, 95% intervals as error bars."""
    colours = level_colors(report)[b.key]
    with style():
        fig = new_figure(3.0)
        ax = fig.add_subplot()
        k = len(b.levels)
        bounds = response_bounds(response)
        cuts: set[float] = set()
        for j, bv in enumerate(b.levels):
            colour = colours[level_label(b.key, bv)]
            dx = 0.08 * (j - (k - 1) / 2)
            xs, ys = [], []
            for i, av in enumerate(a.levels):
                iv = _lookup(cells, av, bv)
                if iv is None or not math.isfinite(iv.mean):
                    continue
                xs.append(i + dx)
                ys.append(iv.mean)
                if has_interval(iv):
                    assert iv.lo is not None and iv.hi is not None
                    lo, hi = clip(iv.lo, iv.hi, bounds, cuts)
                    ax.errorbar(
                        i + dx,
                        iv.mean,
                        yerr=[[iv.mean - lo], [hi - iv.mean]],
                        color=colour,
                        lw=1.3,
                        capsize=3,
                        zorder=3,
                    )
            ax.plot(xs, ys, color=colour, marker="o", ms=5, zorder=4, label=level_label(b.key, bv))
        ax.set_xticks(range(len(a.levels)), [level_label(a.key, v) for v in a.levels])
        ax.set_xlim(-0.4, len(a.levels) - 0.6)
        ax.set_xlabel(a.name)
        ax.set_ylabel(wrap_label(axis_label(response)))
        legend = ax.legend(
            title=b.name + (f" (95% CI {cut_note(cuts)})" if cuts else ""),
            loc="upper left",
            bbox_to_anchor=(1.0, 1.0),
            title_fontsize=8,
        )
        fit(fig, ax, legend)
    return fig


def _lookup(cells: Mapping[tuple[Any, Any], Interval], a: Any, b: Any) -> Interval | None:
    if (a, b) in cells:
        return cells[(a, b)]
    for (ka, kb), iv in cells.items():  # MLflow params may come back as text
        if str(ka) == str(a) and str(kb) == str(b):
            return iv
    return None


def interaction_plot(
    report: Report,
    a: Factor,
    b: Factor,
    response: Response,
    cells: Mapping[tuple[Any, Any], Interval],
) -> str:
    """SVG: interaction plot of `a` x `b` on one response; parallel lines = no interaction."""
    return to_svg(interaction_figure(report, a, b, response, cells))
