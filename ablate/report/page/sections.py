"""The report page's section builders: what the template reads for provenance, design,
effects, interaction, curves, cost, confusion, Optuna, the runs table and the JSON summary.
The explanations gallery is in `gallery`."""

from __future__ import annotations

import math
import re
from collections import Counter
from typing import Any

from markupsafe import Markup

from ablate.report import figures as plots
from ablate.report.data.configs import level_index
from ablate.report.page.format import (
    GREY,
    digits_for,
    duration,
    fmt,
    interval_n_text,
    interval_text,
    is_number,
    number,
    p_text,
    plain_value,
    safe_url,
    signed,
    when,
)
from ablate.report.page.view import (
    Cell,
    Column,
    DesignCell,
    Level,
    PageContext,
    factor_title,
    main_response,
    shown_factors,
)
from ablate.stats.model import (
    MISSING,
    Effect,
    Report,
    Response,
    RowState,
    RunRow,
    SeedNoise,
    is_finite,
)
from ablate.store import RunState

# the order states are listed in, and the one a design cell shows when several runs share it
STATES: tuple[RowState, ...] = (
    RunState.FINISHED,
    RunState.RUNNING,
    RunState.PRUNED,
    RunState.FAILED,
    RunState.KILLED,
    RunState.SKIPPED,
    MISSING,
)
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


def provenance_section(report: Report) -> dict[str, Any]:
    p = report.provenance
    counts: Counter[str] = Counter(run.state for run in report.runs)
    wall = p.finished - p.started if p.started and p.finished else None
    return {
        "p": p,
        "parent_url": safe_url(p.parent_url),
        "started": when(p.started),
        "finished": when(p.finished) if p.finished else "still running",
        "wall": duration(wall),
        "compute": duration(p.compute_seconds),
        "generated": when(report.generated),
        "states": [(str(s), counts[s]) for s in STATES if counts[s]],
        "total": len(report.runs),
    }


def design_section(ctx: PageContext) -> dict[str, Any]:
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
                cells.append(DesignCell(MISSING, MISSING, "no run yet", None))
                continue
            run = runs[0]
            short = str(run.state)
            title = f"{run.name}: {run.state}"
            if run.reason:
                short = f"{run.state}: {run.reason}"
                title += f" — {run.reason}"
            if len(runs) > 1:  # a retry, or Optuna trials sharing a configuration
                short += f" (+{len(runs) - 1})"
                title += "; also " + ", ".join(r.state for r in runs[1:])
            cells.append(DesignCell(run.state, short, title, safe_url(run.url)))
        rows.append((config, ctx.config_color(config), cells))
    used = Counter(c.state for _, _, cells in rows for c in cells)
    return {"seeds": seeds, "rows": rows, "legend": [(str(s), used[s]) for s in STATES]}


def _effect_row(ctx: PageContext, e: Effect) -> dict[str, Any]:
    resp = ctx.responses.get(e.response)
    is_main = e.factor in {f.key for f in ctx.r.factors}
    d = ctx.digits.get(e.response, 2)
    return {
        "response": resp.label if resp else e.response,
        "unit": resp.unit if resp else "",
        "factor": factor_title(ctx.r, e.factor),
        "level": ctx.level(e.factor, e.level) if is_main else Level(str(e.level), GREY),
        "baseline": ctx.level(e.factor, e.baseline) if is_main else Level(str(e.baseline), GREY),
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


def effects_section(ctx: PageContext) -> list[dict[str, Any]]:
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
            for f in shown_factors(ctx.r)
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


def _noise_row(ctx: PageContext, n: SeedNoise) -> dict[str, Any]:
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


def interaction_section(ctx: PageContext) -> dict[str, Any] | None:
    if not ctx.r.interaction:
        return None
    a_key, b_key = ctx.r.interaction
    factors = {f.key: f for f in ctx.r.factors}
    resp = main_response(ctx.r)
    svg = None
    if ctx.interaction_cells and resp and a_key in factors and b_key in factors:
        svg = Markup(
            plots.interaction_plot(
                ctx.r, factors[a_key], factors[b_key], resp, ctx.interaction_cells
            )
        )
    return {
        "a": factor_title(ctx.r, a_key),
        "b": factor_title(ctx.r, b_key),
        "svg": svg,
        "rows": [_effect_row(ctx, e) for e in ctx.r.interactions],
    }


def curves_section(ctx: PageContext) -> list[tuple[str, list[Markup]]]:
    present = {m for run in ctx.r.runs for m, ys in run.curves.items() if ys}
    out = []
    for f in shown_factors(ctx.r):
        svgs = [
            Markup(plots.curves_plot(ctx.r, f, metric))
            for pair in CURVE_METRICS
            for metric in pair
            if metric in present
        ]
        if svgs:
            out.append((f.name, svgs))
    return out


def cost_section(ctx: PageContext) -> list[tuple[str, Markup]]:
    acc = main_response(ctx.r)
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


def confusion_section(ctx: PageContext) -> dict[str, Any] | None:
    acc = main_response(ctx.r)
    cells = ctx.r.cells.get(acc.key, {}) if acc else {}
    ranked = [
        c
        for c in sorted(cells, key=lambda c: cells[c].mean, reverse=True)
        if c in ctx.r.confusion and is_finite(cells[c].mean)
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


def runs_section(ctx: PageContext) -> dict[str, Any]:
    metric_keys = [k for k in RUN_METRICS if any(k in run.metrics for run in ctx.r.runs)]
    columns = [Column("name", "run", False), Column("state", "state", False)]
    numeric = {
        f.key: all(is_number(run.factors.get(f.key)) for run in ctx.r.runs) for f in ctx.r.factors
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
            Cell(run.name, run.name, url=safe_url(run.url), title=run.run_id),
            Cell(run.state, str(STATES.index(run.state)), title=run.reason),  # finished first
        ]
        for f in ctx.r.factors:
            value = run.factors.get(f.key)
            lv = ctx.level(f.key, value)
            # numbers sort as numbers, other levels in the space file's order
            order = repr(float(value)) if numeric[f.key] else str(level_index(f.levels, value))  # type: ignore[arg-type]
            cells.append(Cell(lv.label, order, color=lv.color))
        cells.append(Cell(str(run.seed), str(run.seed)))
        for k in metric_keys:
            scale, digits = scales[k]
            x = run.metrics.get(k)
            ok = x is not None and is_finite(float(x))
            cells.append(Cell(number(x, scale, digits), repr(float(x)) if ok else ""))  # type: ignore[arg-type]
        rows.append((run.state, cells))
    return {"columns": columns, "rows": rows}


def optuna_section(ctx: PageContext) -> dict[str, Any] | None:
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
                "nuisance": ", ".join(f"{k} = {plain_value(v)}" for k, v in row.nuisance.items()),
                "val": interval_n_text(row.val),
                "test": interval_n_text(row.test),
                "trials": row.trials,
                "warnings": row.edge_warnings,
            }
        )
    note = fig.note if fig else ""
    if "estimate" not in note.lower():
        note = f"Parameter importances are estimates. {note}".strip()
    note = note[:1].upper() + note[1:]
    return {"figures": svgs, "note": note, "scientific": rows}


def summary_section(ctx: PageContext) -> dict[str, Any]:
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
