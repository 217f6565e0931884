"""The report page's view model: the small records the template reads, and `_Ctx`, what
every section builder shares (level colours, configuration order, digits per response)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ablate.report import plots
from ablate.report.model import Factor, Interval, Report, Response, RunRow, level_label
from ablate.report.page_format import _GREY, _color, digits_for


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


class _Ctx:
    """Everything the template reads, computed once from the report."""

    def __init__(
        self, report: Report, interaction_cells: Mapping[tuple[Any, Any], Interval] | None
    ):
        self.r = report
        self.colors = {
            k: {lv: _color(c) for lv, c in levels.items()}
            for k, levels in plots.level_colors(report).items()
        }
        self.configs = _config_order(report)
        self.responses = {resp.key: resp for resp in report.responses}
        self.digits = _response_digits(report)
        self.interaction_cells = interaction_cells
        # the keys configurations are told apart by (nuisance factors may be left out)
        first = next(iter(report.config_factors.values()), {})
        self._keys = sorted(first) if first else [f.key for f in report.factors]
        self._by_values = {
            _values_key(self._keys, values): config
            for config, values in report.config_factors.items()
        }

    # -- levels and configurations
    def level(self, key: str, value: Any) -> Level:
        label = level_label(key, value)
        return Level(label, self.colors.get(key, {}).get(label, _GREY))

    def config_color(self, config: str) -> str:
        if not self.r.factors:
            return _GREY
        first = self.r.factors[0].key
        values = self.r.config_factors.get(config, {})
        return self.level(first, values.get(first)).color if first in values else _GREY

    def config_of(self, run: RunRow) -> str:
        """The configuration label of a run (its values compared as text: MLflow params)."""
        found = self._by_values.get(_values_key(self._keys, run.factors))
        if found is not None:
            return found
        return " ".join(
            f"{f.name}={level_label(f.key, run.factors.get(f.key))}" for f in self.r.factors
        )


def _values_key(keys: Sequence[str], values: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(str(values.get(k)) for k in keys)


def _level_index(factor: Factor, value: Any) -> int:
    for i, level in enumerate(factor.levels):
        if level == value or str(level) == str(value):
            return i
    return len(factor.levels)


def _config_order(report: Report) -> list[str]:
    """Configuration labels in factor order (levels as in the space file)."""

    def rank(config: str) -> tuple[int, ...]:
        values = report.config_factors.get(config, {})
        return tuple(_level_index(f, values.get(f.key)) for f in report.factors)

    return sorted(report.config_factors, key=rank)


def _response_digits(report: Report) -> dict[str, int]:
    values: dict[str, list[float | None]] = {}
    for e in [*report.effects, *report.interactions]:
        values.setdefault(e.response, []).extend([e.estimate, e.lo, e.hi])
    return {k: digits_for(v) for k, v in values.items()}


def _factor_name(report: Report, key: str) -> str:
    names = {f.key: f.name for f in report.factors}
    return " × ".join(names.get(part, part) for part in key.split("*"))


def _shown_factors(report: Report) -> list[Factor]:
    """Factors with levels to compare (Optuna's nuisance factors have none)."""
    return [f for f in report.factors if f.role != "nuisance" and len(f.levels) > 1]


def _main_response(report: Report) -> Response | None:
    for resp in report.responses:
        if resp.key == "test_acc":
            return resp
    return next((resp for resp in report.responses if resp.group == "accuracy"), None)
