"""How a plot tells configurations apart: colour = level of the first factor (from
`ablate.report.data.configs`), marker = combination of the other factors; their legend
entries; and axis labels for responses."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

from matplotlib.lines import Line2D

from ablate.report.data.configs import config_color, level_colors, level_index
from ablate.stats.model import Report, Response, level_label

MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
LEGEND_CONFIGS = 8  # up to this many configurations get a legend entry each


def config_marker(report: Report, config: str) -> str:
    """A configuration's marker: one per combination of the factors after the first."""
    values = report.config_factors.get(config, {})
    index = 0
    for factor in report.factors[1:]:
        index = index * len(factor.levels) + level_index(factor.levels, values.get(factor.key))
    return MARKERS[index % len(MARKERS)]


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


def axis_label(response: Response) -> str:
    """'test accuracy (points)'."""
    return f"{response.label} ({response.unit})" if response.unit else response.label


def wrap_label(text: str, width: int = 32) -> str:
    """Break a long axis label onto lines of about `width` characters (a y label of a
    3-inch axes holds about 32)."""
    return textwrap.fill(text, width, break_on_hyphens=False)
