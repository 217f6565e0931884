"""The report page's view model: the small records the template reads, and `PageContext`,
what every section builder shares (level colours, configuration order, digits per
response)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ablate.report.data.configs import (
    ConfigIndex,
    config_color,
    config_order,
    factors_text,
    level_colors,
)
from ablate.report.export import page_figures
from ablate.report.page.format import GREY, digits_for, safe_color
from ablate.stats.model import Interval, Report, RunRow, level_label


@dataclass(frozen=True)
class Level:
    """A factor level as shown: its label and colour."""

    label: str
    color: str


@dataclass(frozen=True)
class Column:
    """A runs-table column: header, how values read, how they sort."""

    key: str
    header: str
    numeric: bool


@dataclass(frozen=True)
class Cell:
    text: str
    sort: str  # what the script sorts on (a number where the column is numeric)
    color: str | None = None  # level colour dot
    url: str | None = None
    title: str = ""


@dataclass(frozen=True)
class DesignCell:
    state: str
    short: str  # visible text
    title: str  # tooltip: full reason, other attempts
    url: str | None


@dataclass(frozen=True)
class GalleryItem:
    uri: str | None  # None: n/a
    predicted: str
    confidence: float
    mistake: bool


@dataclass(frozen=True)
class GalleryCol:
    config: str
    color: str
    feature_map: str
    coarse: bool  # a map of 2x2 or smaller: Grad-CAM/CAM can only say "which quadrant"
    article: str  # "a" 1x1 map, "an" 8x8 map
    na: dict[str, str]
    cells: dict[str, list[GalleryItem]]  # method -> one per shown row


class PageContext:
    """Everything the template reads, computed once from the report."""

    def __init__(
        self,
        report: Report,
        interaction_cells: Mapping[tuple[Any, Any], Interval] | None,
    ) -> None:
        self.r = report
        self.colors = {
            k: {lv: safe_color(c) for lv, c in levels.items()}
            for k, levels in level_colors(report).items()
        }
        self.configs = config_order(report)
        self.responses = {resp.key: resp for resp in report.responses}
        self.digits = _response_digits(report)
        self.interaction_cells = interaction_cells
        # every plot of the page, the same list `ablate report --figures` writes
        self.figures = page_figures(report, interaction_cells)
        # the keys configurations are told apart by (nuisance factors may be left out)
        first = next(iter(report.config_factors.values()), {})
        self._index = ConfigIndex(report, sorted(first) if first else None)

    # -- levels and configurations
    def level(self, key: str, value: Any) -> Level:
        label = level_label(key, value)
        return Level(label, self.colors.get(key, {}).get(label, GREY))

    def config_color(self, config: str) -> str:
        return safe_color(config_color(self.r, config, missing=GREY))

    def config_of(self, run: RunRow) -> str:
        """The configuration label of a run (its values compared as text: MLflow params)."""
        found = self._index.find(run.factors)
        return found if found is not None else factors_text(self.r.factors, run.factors)


def _response_digits(report: Report) -> dict[str, int]:
    values: dict[str, list[float | None]] = {}
    for e in [*report.effects, *report.interactions]:
        values.setdefault(e.response, []).extend([e.estimate, e.lo, e.hi])
    return {k: digits_for(v) for k, v in values.items()}


def factor_title(report: Report, key: str) -> str:
    """A factor's name, or 'stride × head' for an interaction key 'a*b'."""
    names = {f.key: f.name for f in report.factors}
    return " × ".join(names.get(part, part) for part in key.split("*"))
