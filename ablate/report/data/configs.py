"""Configurations as every part of the report shows them: one order (the levels in the
space file's order), one colour per factor level, and the lookup from a run's factor
values to its configuration. Pure: no matplotlib, no I/O."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ablate.stats.model import Factor, Report, level_label

# Okabe & Ito (2008), colour-blind safe, then Paul Tol's muted scheme: 13 colours, so the
# 10 levels of full.yaml's four factors each get their own
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
INK = "#222222"  # means, intervals, text; a configuration without a level colour


def same_level(value: Any, level: Any) -> bool:
    """Whether a configuration's value is this level (MLflow params may come back as text)."""
    return bool(value == level or str(value) == str(level))


def level_index(levels: Sequence[Any], value: Any) -> int:
    """Position of `value` among a factor's levels; unknown values sort last."""
    for i, level in enumerate(levels):
        if level == value or str(level) == str(value):
            return i
    return len(levels)


def config_order(report: Report) -> list[str]:
    """Configuration labels in factor order (the order of the levels in the space file)."""

    def rank(config: str) -> tuple[int, ...]:
        values = report.config_factors.get(config, {})
        return tuple(level_index(f.levels, values.get(f.key)) for f in report.factors)

    return sorted(report.config_factors, key=rank)


def level_colors(report: Report) -> dict[str, dict[str, str]]:
    """Factor key -> level label -> hex colour; the same colour for a level everywhere.

    Colours are handed out in factor order, then level order, from `PALETTE`, so levels
    of different factors differ while the palette lasts (13 levels in all); beyond that
    they cycle.
    """
    colours: dict[str, dict[str, str]] = {}
    i = 0
    for factor in report.factors:
        colours[factor.key] = {}
        for value in factor.levels:
            colours[factor.key][level_label(factor.key, value)] = PALETTE[i % len(PALETTE)]
            i += 1
    return colours


def config_color(report: Report, config: str, missing: str = INK) -> str:
    """A configuration's colour: that of its level of the first factor (`missing` where it
    has none; the first palette colour when the sweep varies nothing)."""
    if not report.factors:
        return PALETTE[0]
    first = report.factors[0]
    if not first.levels:  # a tuned parameter (no levels): each trial its own colour
        order = config_order(report)
        return PALETTE[order.index(config) % len(PALETTE)] if config in order else missing
    value = report.config_factors.get(config, {}).get(first.key)
    return level_colors(report)[first.key].get(level_label(first.key, value), missing)


def factors_text(factors: Sequence[Factor], values: Mapping[str, Any]) -> str:
    """'stride=1 head=GAP': factor names and level labels."""
    return " ".join(f"{f.name}={level_label(f.key, values.get(f.key))}" for f in factors)


class ConfigIndex:
    """A run's factor values -> its configuration label. Values are compared as text
    first (MLflow params come back as strings), then level by level (1 == 1.0).
    `keys`: the factors compared (default: all of the report's factors)."""

    def __init__(self, report: Report, keys: Sequence[str] | None = None) -> None:
        self.keys = tuple(f.key for f in report.factors) if keys is None else tuple(keys)
        self._points = report.config_factors
        self._by_text: dict[tuple[str, ...], str] = {}
        for config, point in report.config_factors.items():
            self._by_text.setdefault(self._text(point), config)

    def _text(self, values: Mapping[str, Any]) -> tuple[str, ...]:
        return tuple(str(values.get(k)) for k in self.keys)

    def find(self, values: Mapping[str, Any]) -> str | None:
        """The configuration of these values, or None if they are no design point."""
        found = self._by_text.get(self._text(values))
        if found is not None:
            return found
        for config, point in self._points.items():  # e.g. 1 == 1.0 but "1" != "1.0"
            if all(same_level(point.get(k), values.get(k)) for k in self.keys):
                return config
        return None
