"""The report page: one self-contained HTML document laid out from a computed `Report`.

Pure: a `Report` (and the interaction plot's cells) in, an HTML string out. jinja2 with
autoescape writes the page, so every user string (experiment, run and parameter names,
reasons, paths, commands) is escaped; only the plots' SVG, our CSS and our script go in
as trusted markup. Nothing on the page is fetched: images are PNG data URIs.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from ablate.report import plots
from ablate.report.images import data_uri
from ablate.report.model import (
    Effect,
    Factor,
    Gallery,
    GalleryCell,
    Interval,
    Report,
    Response,
    RunRow,
    SeedNoise,
    level_label,
)

TEMPLATES = Path(__file__).with_name("templates")

METHOD_NAMES = {
    "saliency": "Saliency",
    "smoothgrad": "SmoothGrad",
    "integrated_gradients": "Integrated Gradients",
    "gradcam": "Grad-CAM",
    "cam": "CAM",
}
MAP_METHODS = ("gradcam", "cam")  # computed on the last feature map, at its resolution
STATES = ("finished", "running", "pruned", "failed", "killed", "skipped", "missing")
GROUPS = (
    ("accuracy", "Accuracy"),
    ("cost", "Cost"),
    ("explanations", "Explanation quality"),
)
CURVE_METRICS = (("train_loss", "val_loss"), ("train_acc", "val_acc"))
# runs-table metrics: key -> (header, unit, scale, decimals)
RUN_METRICS: dict[str, tuple[str, str, float, int]] = {
    "test_acc": ("test acc", "%", 100.0, 2),
    "best_val_acc": ("best val acc", "%", 100.0, 2),
    "train_seconds": ("train time", "s", 1.0, 1),
    "params": ("params", "", 1.0, 0),
    "flops_per_image": ("FLOPs / image", "MFLOP", 1e-6, 2),
}
XAI_PLOTTED = (".deletion_vs_random", ".insertion_vs_random")
LONG_TABLE = 24  # effects tables longer than this fold away (explanations start folded)
BIG_GALLERY = 12  # more columns than this: one probe image per class
GALLERY_BUDGET = 8_000_000  # bytes of image data URIs in the gallery, at most
_HEX = re.compile(r"^#[0-9a-fA-F]{3,8}$")
_GREY = "#888888"


# --------------------------------------------------------------------------- formatting


def _finite(x: float | None) -> bool:
    return x is not None and math.isfinite(x)


def fmt(x: float | None, digits: int = 2) -> str:
    """1.2345 -> '1.23'; None or NaN -> '–'."""
    return f"{x:.{digits}f}" if x is not None and _finite(float(x)) else "–"


def signed(x: float | None, digits: int = 2) -> str:
    """1.2 -> '+1.20', -1.2 -> '−1.20'."""
    if x is None or not _finite(float(x)):
        return "–"
    if round(x, digits) == 0:  # no "−0.00"
        return f"{0:.{digits}f}"
    return f"{x:+.{digits}f}".replace("-", "−")


def interval_text(lo: float | None, hi: float | None, digits: int = 2) -> str:
    """'−0.40 to +0.90', or '–' without an interval."""
    if not (_finite(lo) and _finite(hi)):
        return "–"
    return f"{signed(lo, digits)} to {signed(hi, digits)}"


def p_text(p: float | None) -> str:
    if p is None or not _finite(p):
        return "–"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def when(ts: float | None) -> str:
    """Unix seconds -> '2026-12-01 05:23 UTC'."""
    if not ts:
        return "–"
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def duration(seconds: float | None) -> str:
    """4980 -> '1 h 23 min'; 252 -> '4 min 12 s'; 12.3 -> '12.3 s'."""
    if seconds is None or not _finite(seconds):
        return "–"
    s = float(seconds)
    if s < 60:
        return f"{s:.1f} s"
    if s < 3600:
        return f"{int(s // 60)} min {int(s % 60):02d} s"
    return f"{int(s // 3600)} h {int(s % 3600 // 60):02d} min"


def number(x: float | None, scale: float = 1.0, digits: int = 2) -> str:
    """A metric for a table, scaled; whole numbers get thousands separators."""
    if x is None or not _finite(float(x)):
        return "–"
    v = float(x) * scale
    return f"{v:,.0f}" if digits == 0 else f"{v:.{digits}f}"


def _safe_url(url: str | None) -> str | None:
    """Only http(s) links leave the page (no javascript: or file: from a --ui-url)."""
    return url if url and re.match(r"^https?://", url, re.I) else None


def _color(hex_: str | None) -> str:
    return hex_ if hex_ and _HEX.match(hex_) else _GREY


# --------------------------------------------------------------------------- view model


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


# --------------------------------------------------------------------------- sections


def _provenance(report: Report) -> dict[str, Any]:
    p = report.provenance
    counts: Counter[str] = Counter(run.state for run in report.runs)
    wall = p.finished - p.started if p.started and p.finished else None
    return {
        "p": p,
        "parent_url": _safe_url(p.parent_url),
        "started": when(p.started),
        "finished": when(p.finished) if p.finished else "still running",
        "wall": duration(wall),
        "compute": duration(p.compute_seconds),
        "generated": when(report.generated),
        "states": [(s, counts[s]) for s in STATES if counts[s]],
        "total": len(report.runs),
    }


def _design(ctx: _Ctx) -> dict[str, Any]:
    """Configurations x seeds; where one point has several runs, the most telling state wins."""
    by_point: dict[tuple[str, int], list[RunRow]] = {}
    for run in ctx.r.runs:
        by_point.setdefault((ctx.config_of(run), run.seed), []).append(run)
    configs = list(ctx.configs)
    configs += sorted({c for c, _ in by_point} - set(configs))
    seeds = sorted(set(ctx.r.seeds) | {s for _, s in by_point})
    rows = []
    for config in configs:
        cells = []
        for seed in seeds:
            runs = sorted(by_point.get((config, seed), []), key=lambda r: STATES.index(r.state))
            if not runs:
                cells.append(DesignCell("missing", "missing", "no run yet", None))
                continue
            run = runs[0]
            short: str = run.state
            title = f"{run.name}: {run.state}"
            if run.reason:
                short = f"{run.state}: {run.reason}"
                title += f" — {run.reason}"
            if len(runs) > 1:  # a retry, or Optuna trials sharing a configuration
                short += f" (+{len(runs) - 1})"
                title += "; also " + ", ".join(r.state for r in runs[1:])
            cells.append(DesignCell(run.state, short, title, _safe_url(run.url)))
        rows.append((config, ctx.config_color(config), cells))
    used = Counter(c.state for _, _, cells in rows for c in cells)
    return {"seeds": seeds, "rows": rows, "legend": [(s, used[s]) for s in STATES]}


def digits_for(values: Sequence[float | None]) -> int:
    """Decimals that show the largest of `values` with 2-3 significant digits (2 to 4):
    points and seconds get 2, AUC differences of 0.01 get 4."""
    finite = [abs(v) for v in values if v is not None and _finite(v) and v != 0]
    if not finite or max(finite) >= 1:
        return 2
    return min(4, max(2, 1 - math.floor(math.log10(max(finite)))))


def _response_digits(report: Report) -> dict[str, int]:
    values: dict[str, list[float | None]] = {}
    for e in [*report.effects, *report.interactions]:
        values.setdefault(e.response, []).extend([e.estimate, e.lo, e.hi])
    return {k: digits_for(v) for k, v in values.items()}


def _effect_row(ctx: _Ctx, e: Effect) -> dict[str, Any]:
    resp = ctx.responses.get(e.response)
    is_main = e.factor in {f.key for f in ctx.r.factors}
    d = ctx.digits.get(e.response, 2)
    return {
        "response": resp.label if resp else e.response,
        "unit": resp.unit if resp else "",
        "factor": _factor_name(ctx.r, e.factor),
        "level": ctx.level(e.factor, e.level) if is_main else Level(str(e.level), _GREY),
        "baseline": ctx.level(e.factor, e.baseline) if is_main else Level(str(e.baseline), _GREY),
        "estimate": signed(e.estimate, d),
        "ci": interval_text(e.lo, e.hi, d),
        "ci_holm": interval_text(e.lo_holm, e.hi_holm, d),
        "p": p_text(e.p_holm),
        "n": e.n,
        "seeds": e.seeds,
        "method": e.method,
        "verdict": e.verdict,
        "verdict_class": re.sub(r"[^a-z0-9]+", "-", e.verdict).strip("-"),  # "n-1", "better"
        "excluded": e.excluded_contexts,
    }


def _factor_name(report: Report, key: str) -> str:
    names = {f.key: f.name for f in report.factors}
    return " × ".join(names.get(part, part) for part in key.split("*"))


def _effects(ctx: _Ctx) -> list[dict[str, Any]]:
    """Per response group: effects table rows, effect plots, and seed noise."""
    order = {resp.key: i for i, resp in enumerate(ctx.r.responses)}
    factor_order = {f.key: i for i, f in enumerate(ctx.r.factors)}
    groups = []
    for group, title in GROUPS:
        responses = [resp for resp in ctx.r.responses if resp.group == group]
        if not responses:
            continue
        keys = {resp.key for resp in responses}
        effects = sorted(
            (e for e in ctx.r.effects if e.response in keys),
            key=lambda e: (order[e.response], factor_order.get(e.factor, 99)),
        )
        plotted = [resp for resp in responses if ctx.r.cells.get(resp.key) and _plotted(resp)]
        plot_list = [
            (resp.label, f.name, Markup(plots.effect_plot(ctx.r, f, resp)))
            for resp in plotted
            for f in _shown_factors(ctx.r)
        ]
        noise = [_noise_row(ctx, n) for n in ctx.r.noise if n.response in keys]
        groups.append(
            {
                "id": f"effects-{group}",
                "title": title,
                "rows": [_effect_row(ctx, e) for e in effects],
                "plots": plot_list,
                "collapsed": group == "explanations",
                "verdicts": Counter(e.verdict for e in effects).most_common(),
                "noise": noise,
            }
        )
    return groups


def _plotted(resp: Response) -> bool:
    """Effect plots: every accuracy and cost response; of the explanation numbers only
    deletion and insertion against random (the rest is in the tables), to keep the page small."""
    return resp.group != "explanations" or resp.key.endswith(XAI_PLOTTED)


def _shown_factors(report: Report) -> list[Factor]:
    """Factors with levels to compare (Optuna's nuisance factors have none)."""
    return [f for f in report.factors if f.role != "nuisance" and len(f.levels) > 1]


def _noise_row(ctx: _Ctx, n: SeedNoise) -> dict[str, Any]:
    d = max(ctx.digits.get(n.response, 2), digits_for([n.pooled_sd]))
    constant = n.pooled_sd == 0  # e.g. parameters: the seed changes nothing
    return {
        "response": ctx.responses[n.response],
        "sd": "0 (same for every seed)" if constant else fmt(n.pooled_sd, d),
        "seeds": n.seeds,
        "mde": "–" if constant else fmt(n.mde, d),
        "for": fmt(n.seeds_for, digits_for([n.seeds_for]) if n.seeds_for < 1 else 1),
        "needed": "–" if constant or n.seeds_needed is None else n.seeds_needed,
    }


def _main_response(report: Report) -> Response | None:
    for resp in report.responses:
        if resp.key == "test_acc":
            return resp
    return next((resp for resp in report.responses if resp.group == "accuracy"), None)


def _interaction(ctx: _Ctx) -> dict[str, Any] | None:
    if not ctx.r.interaction:
        return None
    a_key, b_key = ctx.r.interaction
    factors = {f.key: f for f in ctx.r.factors}
    resp = _main_response(ctx.r)
    svg = None
    if ctx.interaction_cells and resp and a_key in factors and b_key in factors:
        svg = Markup(
            plots.interaction_plot(
                ctx.r, factors[a_key], factors[b_key], resp, ctx.interaction_cells
            )
        )
    return {
        "a": _factor_name(ctx.r, a_key),
        "b": _factor_name(ctx.r, b_key),
        "svg": svg,
        "rows": [_effect_row(ctx, e) for e in ctx.r.interactions],
    }


def _curves(ctx: _Ctx) -> list[tuple[str, list[Markup]]]:
    present = {m for run in ctx.r.runs for m, ys in run.curves.items() if ys}
    out = []
    for f in _shown_factors(ctx.r):
        svgs = [
            Markup(plots.curves_plot(ctx.r, f, metric))
            for pair in CURVE_METRICS
            for metric in pair
            if metric in present
        ]
        if svgs:
            out.append((f.name, svgs))
    return out


def _cost(ctx: _Ctx) -> list[tuple[str, Markup]]:
    acc = _main_response(ctx.r)
    if acc is None or not ctx.r.cells.get(acc.key):
        return []
    cost = [resp for resp in ctx.r.responses if resp.group == "cost"]
    costs = [resp for resp in cost if resp.key == "train_seconds" or "flop" in resp.key.lower()]
    costs = costs or cost[:2]
    return [
        (resp.label, Markup(plots.pareto_plot(ctx.r, resp, acc)))
        for resp in costs
        if ctx.r.cells.get(resp.key)
    ]


def _confusion(ctx: _Ctx) -> dict[str, Any] | None:
    acc = _main_response(ctx.r)
    cells = ctx.r.cells.get(acc.key, {}) if acc else {}
    ranked = [
        c
        for c in sorted(cells, key=lambda c: cells[c].mean, reverse=True)
        if c in ctx.r.confusion and _finite(cells[c].mean)
    ]
    if not ranked:
        return None
    chosen = [ranked[0]] if len(ranked) == 1 else [ranked[0], ranked[-1]]
    return {
        "best": (ranked[0], ctx.config_color(ranked[0])),
        "worst": (ranked[-1], ctx.config_color(ranked[-1])) if len(ranked) > 1 else None,
        "svg": Markup(plots.confusion_plot(ctx.r, chosen)),
        "per_class": Markup(plots.per_class_plot(ctx.r)) if ctx.r.classes else None,
    }


def _gallery_rows(g: Gallery) -> tuple[list[int], str]:
    """Which probe images to show: all, or one per class for big sweeps, within the budget."""
    rows = list(range(len(g.images)))
    note = ""
    if len(g.columns) > BIG_GALLERY:
        # the builder may have done this already; the page says so either way
        seen: set[str] = set()
        rows = [i for i in rows if not (g.labels[i] in seen or seen.add(g.labels[i]))]  # type: ignore[func-returns-value]
        note = (
            f"{len(g.columns)} configurations: one probe image per class "
            f"({len(rows)} images) to keep the page small."
        )
    per_row = sum(
        len(cell.png or b"") for col in g.columns for cells in col.cells.values() for cell in cells
    ) / max(1, len(g.images))
    fits = max(1, int(GALLERY_BUDGET / max(1.0, per_row * 4 / 3)))
    if len(rows) > fits:
        rows = rows[:fits]
        note = (
            f"Showing {len(rows)} of {len(g.images)} probe images to keep the page "
            "under its size budget."
        )
    return rows, note


def _coarse(feature_map: str) -> bool:
    m = re.match(r"^\s*(\d+)\s*x\s*(\d+)", feature_map)
    return bool(m) and max(int(m.group(1)), int(m.group(2))) <= 2  # type: ignore[union-attr]


def _gallery(ctx: _Ctx) -> dict[str, Any] | None:
    g = ctx.r.gallery
    if g is None or not g.columns or not g.images:
        return None
    rows, note = _gallery_rows(g)

    def item(cell: GalleryCell | None) -> GalleryItem:
        if cell is None:
            return GalleryItem(None, "", math.nan, False)
        uri = data_uri(cell.png) if cell.png else None
        return GalleryItem(uri, cell.predicted, cell.confidence, cell.mistake)

    columns = []
    for col in g.columns:
        cells = {}
        for m in g.methods:
            got = col.cells.get(m, [])
            cells[m] = [item(got[i] if i < len(got) else None) for i in rows]
        columns.append(
            GalleryCol(
                config=col.config,
                color=ctx.config_color(col.config),
                feature_map=col.feature_map,
                coarse=_coarse(col.feature_map),
                article="an" if re.match(r"^(8\d*|11|18)(?!\d)", col.feature_map) else "a",
                na=col.na,
                cells=cells,
            )
        )
    methods = [(m, METHOD_NAMES.get(m, m)) for m in g.methods]
    faith_methods = {fc.method for fc in ctx.r.faith_curves}
    faith = {m: Markup(plots.faith_curves_plot(ctx.r, m)) for m in g.methods if m in faith_methods}
    return {
        "methods": methods,
        "map_methods": MAP_METHODS,
        "rows": [
            (data_uri(g.images[i]), g.labels[i], g.indices[i] if i < len(g.indices) else "")
            for i in rows
        ],
        "note": note,
        "columns": columns,
        "normalisation": g.normalisation,
        "faith": faith,
        "checks": {m: _checks(ctx, m) for m in g.methods},
    }


def _checks(ctx: _Ctx, method: str) -> dict[str, Any]:
    """Faithfulness and sanity numbers of one method: configurations x responses."""
    responses = [
        resp
        for resp in ctx.r.responses
        if resp.key.startswith(f"xai.{method}.") and ctx.r.cells.get(resp.key)
    ]

    def cell(iv: Interval | None, d: int) -> str:
        if iv is None or not _finite(iv.mean):
            return "–"
        if _finite(iv.lo) and _finite(iv.hi):
            return f"{fmt(iv.mean, d)} [{fmt(iv.lo, d)}, {fmt(iv.hi, d)}]"
        return fmt(iv.mean, d)

    digits = {
        resp.key: digits_for([iv.mean for iv in ctx.r.cells[resp.key].values()])
        for resp in responses
    }
    rows = [
        (
            c,
            ctx.config_color(c),
            [cell(ctx.r.cells[resp.key].get(c), digits[resp.key]) for resp in responses],
        )
        for c in ctx.configs
    ]
    names = [METHOD_NAMES.get(method, method), method, method.replace("_", " ")]
    headers = [_strip_prefix(resp.label, names) for resp in responses]
    return {"responses": list(zip(responses, headers, strict=True)), "rows": rows}


def _strip_prefix(label: str, prefixes: Sequence[str]) -> str:
    """'Grad-CAM deletion AUC − random' -> 'deletion AUC − random' (the table names the method)."""
    for prefix in prefixes:
        if label.lower().startswith(prefix.lower() + " "):
            return label[len(prefix) + 1 :]
    return label


def _runs(ctx: _Ctx) -> dict[str, Any]:
    metric_keys = [k for k in RUN_METRICS if any(k in run.metrics for run in ctx.r.runs)]
    columns = [Column("name", "run", False), Column("state", "state", False)]
    numeric = {
        f.key: all(_is_number(run.factors.get(f.key)) for run in ctx.r.runs) for f in ctx.r.factors
    }
    columns += [Column(f.key, f.name, numeric[f.key]) for f in ctx.r.factors]
    columns.append(Column("seed", "seed", True))
    scales = {}
    for k in metric_keys:
        header, unit, scale, digits = RUN_METRICS[k]
        scales[k] = (scale, digits)
        columns.append(Column(k, f"{header} ({unit})" if unit else header, True))
    rows = []
    for run in ctx.r.runs:
        cells = [
            Cell(run.name, run.name, url=_safe_url(run.url), title=run.run_id),
            Cell(run.state, str(STATES.index(run.state)), title=run.reason),  # finished first
        ]
        for f in ctx.r.factors:
            value = run.factors.get(f.key)
            lv = ctx.level(f.key, value)
            # numbers sort as numbers, other levels in the space file's order
            order = repr(float(value)) if numeric[f.key] else str(_level_index(f, value))  # type: ignore[arg-type]
            cells.append(Cell(lv.label, order, color=lv.color))
        cells.append(Cell(str(run.seed), str(run.seed)))
        for k in metric_keys:
            scale, digits = scales[k]
            x = run.metrics.get(k)
            ok = x is not None and _finite(float(x))
            cells.append(Cell(number(x, scale, digits), repr(float(x)) if ok else ""))  # type: ignore[arg-type]
        rows.append((run.state, cells))
    return {"columns": columns, "rows": rows}


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _optuna(ctx: _Ctx) -> dict[str, Any] | None:
    if ctx.r.optuna is None and not ctx.r.scientific:
        return None
    fig = ctx.r.optuna
    svgs = []
    if fig is not None:
        for title, svg in (
            ("Optimisation history", fig.history_svg),
            ("Parameter importances", fig.importances_svg),
            ("Parallel coordinates", fig.parallel_svg),
        ):
            if svg:
                svgs.append((title, Markup(svg)))
    rows = []
    for row in ctx.r.scientific:
        rows.append(
            {
                "scientific": [ctx.level(k, v) for k, v in row.scientific.items()],
                "nuisance": ", ".join(f"{k} = {_plain_value(v)}" for k, v in row.nuisance.items()),
                "val": _iv_text(row.val),
                "test": _iv_text(row.test),
                "trials": row.trials,
                "warnings": row.edge_warnings,
            }
        )
    note = fig.note if fig else ""
    if "estimate" not in note.lower():
        note = f"Parameter importances are estimates. {note}".strip()
    note = note[:1].upper() + note[1:]
    return {"figures": svgs, "note": note, "scientific": rows}


def _plain_value(v: Any) -> str:
    """0.002134 -> '0.00213'; 64 -> '64'; 'gap' -> 'gap'."""
    return f"{v:.3g}" if isinstance(v, float) else str(v)


def _iv_text(iv: Interval) -> str:
    # the best nuisance setting maximises a validation accuracy: 0..1 is shown in points
    s = 100.0 if _finite(iv.mean) and abs(iv.mean) <= 1.0 else 1.0
    text = fmt(iv.mean * s)
    if _finite(iv.lo) and _finite(iv.hi):
        text += f" [{fmt(iv.lo * s)}, {fmt(iv.hi * s)}]"  # type: ignore[operator]
    return f"{text} (n = {iv.n})"


def _summary(ctx: _Ctx) -> dict[str, Any]:
    """A machine-readable summary in a JSON block, for scripts that read the page."""

    def plain(x: Any) -> Any:
        if isinstance(x, float) and not math.isfinite(x):
            return None
        if isinstance(x, (str, int, float, bool)) or x is None:
            return x
        return str(x)

    r = ctx.r
    return {
        "experiment": r.provenance.experiment,
        "kind": r.kind,
        "generated": plain(r.generated),
        "factors": [{"key": f.key, "levels": [plain(v) for v in f.levels]} for f in r.factors],
        "seeds": r.seeds,
        "baseline": {k: plain(v) for k, v in r.baseline.items()},
        "findings": r.findings,
        "warnings": r.warnings,
        "runs": [
            {
                "name": run.name,
                "state": run.state,
                "reason": run.reason,
                "seed": run.seed,
                "factors": {k: plain(v) for k, v in run.factors.items()},
                "test_acc": plain(run.metrics.get("test_acc")),
            }
            for run in r.runs
        ],
    }


# --------------------------------------------------------------------------- page


@cache
def _env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pct"] = _pct
    return env


def _pct(x: float) -> str:
    return f"{x * 100:.0f}%" if _finite(x) else ""


def _asset(name: str) -> Markup:
    return Markup((TEMPLATES / name).read_text(encoding="utf-8"))


def render(
    report: Report, interaction_cells: Mapping[tuple[Any, Any], Interval] | None = None
) -> str:
    """The whole HTML document for `report`; `interaction_cells` are the means per
    (a-level, b-level) of the interaction plot (`ablate.report.stats.interaction_cells`)."""
    ctx = _Ctx(report, interaction_cells)
    interaction = _interaction(ctx)
    optuna = _optuna(ctx)
    sections = [
        ("provenance", "Provenance"),
        ("design", "Design"),
        ("findings", "Findings"),
        ("effects", "Effects"),
        *([("interaction", "Interaction")] if interaction else []),
        ("curves", "Curves"),
        ("cost", "Cost"),
        ("confusion", "Confusion"),
        ("gallery", "Explanations"),
        *([("optuna", "Optuna")] if optuna else []),
        ("runs", "Runs"),
    ]
    return (
        _env()
        .get_template("report.html.j2")
        .render(
            r=report,
            sections=sections,
            css=_asset("report.css"),
            js=_asset("report.js"),
            prov=_provenance(report),
            design=_design(ctx),
            effects=_effects(ctx),
            interaction=interaction,
            curves=_curves(ctx),
            cost=_cost(ctx),
            confusion=_confusion(ctx),
            gallery=_gallery(ctx),
            optuna=optuna,
            runs=_runs(ctx),
            long_table=LONG_TABLE,
            summary=_summary(ctx),
            factor_levels=[(f, [ctx.level(f.key, v) for v in f.levels]) for f in report.factors],
            baseline=[
                (f.name, ctx.level(f.key, report.baseline.get(f.key)))
                for f in report.factors
                if f.key in report.baseline
            ],
        )
    )
