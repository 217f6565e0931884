"""The look every report plot shares: the per-figure matplotlib style, sizes and inks.

Figures are plain `matplotlib.figure.Figure`s (no pyplot, no global state); the style is
applied with `matplotlib.rc_context` around building and saving, so nothing leaks into
the caller's rcParams. Colours of levels and configurations: `ablate.report.data.configs`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import matplotlib
from matplotlib.figure import Figure

GRID = "#e5e5e5"
FONT_STACK = "'DejaVu Sans', Arial, Helvetica, sans-serif"
WIDTH_IN = 6.4  # 640 px at 100 dpi; the SVG scales down with the page
DPI = 100

STYLE: dict[Any, Any] = {  # rcParams keys, typed as literals by matplotlib's stubs
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
    with matplotlib.rc_context(STYLE):
        yield


def new_figure(height_in: float, width_in: float = WIDTH_IN) -> Figure:
    """A figure without a layout engine (call inside `style()`): its margins are set by
    `layout.fit` from the sizes of its labels, which costs a few font look-ups instead of
    the extra draws of constrained layout."""
    return Figure(figsize=(width_in, height_in), dpi=DPI)


def no_data(message: str, height_in: float = 0.9) -> Figure:
    """A small figure that says why there is no plot."""
    fig = Figure(figsize=(WIDTH_IN, height_in), dpi=DPI)
    fig.text(0.5, 0.5, message, ha="center", va="center", color="#666666", fontsize=9)
    return fig
