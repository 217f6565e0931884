"""The report page's section builders: what the template reads for provenance, design,
effects, interaction, curves, cost, confusion, Optuna, the runs table and the JSON summary.
The explanations gallery is in `gallery`."""

from __future__ import annotations

import math
import re
from collections import Counter
from typing import Any

from markupsafe import Markup

from ablate.report.data.configs import level_index
from ablate.report.data.runs import retried
from ablate.report.export import confusion_configs, shown_factors
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
)
from ablate.stats.model import (
    MISSING,
    Effect,
    Report,
    RowState,
    RunRow,
    SeedNoise,
    is_finite,
    level_label,
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
RUN_ID_SHOWN = 12  # characters of a run id in the runs table, as the sweep's summary prints
# runs-table metrics: key -> (header, unit, scale, decimals)
RUN_METRICS: dict[str, tuple[str, str, float, int]] = {
    "test_acc": ("test acc", "%", 100.0, 2),
    "best_val_acc": ("best val acc", "%", 100.0, 2),
    "train_seconds": ("train time", "s", 1.0, 1),
    "params": ("params", "", 1.0, 0),
    "flops_per_image": ("FLOPs / image", "MFLOP", 1e-6, 2),
}
FOLD_ROWS = 8  # an effects or seed-noise table longer than this starts folded


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def lede_section(ctx: PageContext) -> dict[str, Any]:
    """The sentence under the title: runs, configurations, seeds; each factor's levels and,
    for a tuned sweep, the range each tuned parameter's trials took (no empty legends)."""
    r = ctx.r
    tuned = r.kind == "optuna"
    runs = [run for run in r.runs if run.state != MISSING]
    # a grid: its design points (run or not); a tuned sweep: the trials it ran
    n_configs = len({ctx.config_of(run) for run in runs}) if tuned else len(r.config_factors)
    chosen = " chosen by the tuner" if tuned else ""
    text = (
        f"{_plural(len(r.runs), 'run')} over {_plural(n_configs, 'configuration')}{chosen} "
        f"× {_plural(len(r.seeds), 'seed')}"
    )
    if tuned:
        text += " (its trials are configurations, not seeds)"
    levels = [(f, [ctx.level(f.key, v) for v in f.levels]) for f in r.factors if f.levels]
    ranges = []
    for f in r.factors:
        if f.levels:
            continue
        values = [run.factors.get(f.key) for run in runs if run.factors.get(f.key) is not None]
        if values:
            ranges.append((f.name, _range_text(f.key, values)))
    return {"text": text, "levels": levels, "tuned": ranges}


def _range_text(key: str, values: list[Any]) -> str:
    """'0.00075 to 0.00137' for numbers, 'GAP, flatten' for the others (as tried)."""
    if all(is_number(v) for v in values):
        lo, hi = min(values), max(values)
        return (
            level_label(key, lo)
            if lo == hi
            else f"{level_label(key, lo)} to {level_label(key, hi)}"
        )
    seen = dict.fromkeys(level_label(key, v) for v in values)
    return ", ".join(seen)


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
        "retried": len(retried(report.runs)),  # failed or killed, then finished by a resume
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
        "verdict_text": verdict_text(e, resp.unit if resp else ""),
        "verdict_class": re.sub(r"[^a-z0-9]+", "-", e.verdict).strip("-"),  # "n-1", "better"
        "excluded": e.excluded_contexts,
    }


def verdict_text(e: Effect, unit: str) -> str:
    """What the verdict cell says: 'equivalent within ±1.0 points', 'no clear difference:
    about 9 seeds would settle it', 'exact (the same on every seed)'."""
    if e.verdict == "equivalent" and e.margin is not None and is_finite(e.margin):
        one = unit[:-1] if e.margin == 1 and unit.endswith("s") else unit  # 1 point
        return f"equivalent within ±{e.margin:g}" + (f" {one}" if one else "")
    if e.verdict == "no clear difference":
        if e.seeds_needed:
            return f"no clear difference: about {e.seeds_needed} seeds per cell would settle it"
        return "no clear difference"
    if e.verdict == "n = 1":
        return "n = 1: run more seeds"
    if e.verdict == "exact":
        return "exact (the same on every seed)"
    return str(e.verdict)


def verdict_summary(n: int, verdicts: Counter[str]) -> str:
    """'24 effects: 3 better, 2 worse, 19 no clear difference' (a fold's summary)."""
    order = ("better", "worse", "equivalent", "no clear difference", "exact", "n = 1")
    parts = [f"{verdicts[v]} {v}" for v in order if verdicts[v]]
    parts += [f"{k} {v}" for v, k in verdicts.items() if v not in order]
    return f"{_plural(n, 'effect')}: " + ", ".join(parts) if parts else _plural(n, "effect")


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
        plot_list = [
            (ctx.responses[fig.response].label, factor_title(ctx.r, fig.factor), Markup(fig.svg()))
            for fig in ctx.figures
            if fig.section == "effects" and fig.response in keys
        ]
        noise_of = [n for n in ctx.r.noise if n.response in keys]
        known = [n for n in noise_of if is_finite(n.pooled_sd)]
        # no cell with 2 seeds: one line that says why, not a table of dashes
        why = next((n.why for n in noise_of if n.why), "")
        unknown = (why or "no configuration has 2 seeds yet") if noise_of and not known else ""
        rows = [_effect_row(ctx, e) for e in effects]
        groups.append(
            {
                "id": f"effects-{group}",
                "title": title,
                "rows": rows,
                "plots": plot_list,
                # long tables and the explanation numbers fold behind their verdict counts
                "collapsed": group == "explanations" or len(rows) > FOLD_ROWS,
                "summary": verdict_summary(len(rows), Counter(e.verdict for e in effects)),
                "noise": [_noise_row(ctx, n) for n in noise_of] if known else [],
                "noise_unknown": unknown,
                "noise_collapsed": group == "explanations" or len(noise_of) > FOLD_ROWS,
            }
        )
    return groups


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
    fig = next((fig for fig in ctx.figures if fig.section == "interaction"), None)
    svg = Markup(fig.svg()) if fig is not None else None
    return {
        "a": factor_title(ctx.r, a_key),
        "b": factor_title(ctx.r, b_key),
        "svg": svg,
        "rows": [_effect_row(ctx, e) for e in ctx.r.interactions],
    }


def curves_section(ctx: PageContext) -> list[tuple[str, list[Markup]]]:
    """Per factor its curves; one curve per configuration where no factor has levels."""
    figs = [fig for fig in ctx.figures if fig.section == "curves"]
    out = []
    for f in shown_factors(ctx.r):
        svgs = [Markup(fig.svg()) for fig in figs if fig.factor == f.key]
        if svgs:
            out.append((f.name, svgs))
    per_config = [Markup(fig.svg()) for fig in figs if not fig.factor]
    if per_config:
        out.append(("configuration", per_config))
    return out


def cost_section(ctx: PageContext) -> list[tuple[str, Markup]]:
    return [
        (ctx.responses[fig.response].label, Markup(fig.svg()))
        for fig in ctx.figures
        if fig.section == "cost"
    ]


def confusion_section(ctx: PageContext) -> dict[str, Any] | None:
    chosen = confusion_configs(ctx.r)
    if not chosen:
        return None
    svgs = {fig.name: Markup(fig.svg()) for fig in ctx.figures if fig.section == "confusion"}
    return {
        "best": (chosen[0], ctx.config_color(chosen[0])),
        "worst": (chosen[-1], ctx.config_color(chosen[-1])) if len(chosen) > 1 else None,
        "svg": svgs["confusion"],
        "per_class": svgs.get("per-class"),
    }


def runs_section(ctx: PageContext) -> dict[str, Any]:
    metric_keys = [k for k in RUN_METRICS if any(k in run.metrics for run in ctx.r.runs)]
    columns = [Column("name", "run", False), Column("state", "state", False)]
    numeric = {
        f.key: all(is_number(run.factors.get(f.key)) for run in ctx.r.runs) for f in ctx.r.factors
    }
    # "weight decay", not "weight_decay": a header wraps at spaces only
    columns += [Column(f.key, f.name.replace("_", " "), numeric[f.key]) for f in ctx.r.factors]
    columns.append(Column("seed", "seed", True))
    scales = {}
    for k in metric_keys:
        header, unit, scale, digits = RUN_METRICS[k]
        scales[k] = (scale, digits)
        columns.append(Column(k, f"{header} ({unit})" if unit else header, True))
    # what `ablate explain` and `load_run` take (a unique prefix will do); whole id on hover
    columns.append(Column("run_id", "run id", False))
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
            # a tuned parameter has no levels, so no level colour: no grey dot either
            cells.append(Cell(lv.label, order, color=lv.color if f.levels else None))
        cells.append(Cell(str(run.seed), str(run.seed)))
        for k in metric_keys:
            scale, digits = scales[k]
            x = run.metrics.get(k)
            ok = x is not None and is_finite(float(x))
            cells.append(Cell(number(x, scale, digits), repr(float(x)) if ok else ""))  # type: ignore[arg-type]
        cells.append(Cell(run.run_id[:RUN_ID_SHOWN], run.run_id, title=run.run_id))
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
                # one "key = value" a line: a setting never breaks inside an assignment
                "nuisance": [f"{k} = {plain_value(v)}" for k, v in row.nuisance.items()],
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
    has_scientific = any(row.scientific for row in ctx.r.scientific)
    return {"figures": svgs, "note": note, "scientific": rows, "has_scientific": has_scientific}


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
