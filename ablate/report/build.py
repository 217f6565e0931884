"""`ablate report`: read a sweep from MLflow, compute the statistics, write the page.

    data.load (the store) -> data.runs (RunRow, pandas) -> stats + findings
        -> figures (SVG) + page (HTML) -> files

Writes `<out>.html`, `<out>.runs.csv` and `<out>.effects.csv`, and logs the HTML on
the sweep's parent run so that `mlflow ui` shows it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from ablate.report.data import load
from ablate.report.data.confirm import confirmation, confirmation_ids, without_runs
from ablate.report.data.load import ReportError, SweepData
from ablate.report.data.runs import (
    factors_of,
    missing_rows,
    responses_of,
    retried,
    run_rows,
    runs_frame,
)
from ablate.stats.model import (
    Effect,
    Factor,
    FaithCurves,
    Gallery,
    Interval,
    OptunaFigures,
    Provenance,
    Report,
    Response,
    RunRow,
    ScientificRow,
    level_label,
)
from ablate.store import RunState, Tracker, mask_password, schema

REPORTS_DIR = Path("reports")
# the difference "seeds needed to detect" is computed for, in display units per group:
# 1 point of accuracy, 1 s of train time, 0.01 of an AUC or a correlation
NOISE_TARGET = {"accuracy": 1.0, "cost": 1.0, "explanations": 0.01}


@dataclass(frozen=True)
class ReportOptions:
    tracking_uri: str
    target: str | None = None  # experiment name or space file; None: the newest sweep
    out: Path | None = None  # default reports/<experiment>.html
    ui_url: str | None = None  # e.g. http://127.0.0.1:5000: links to each run
    baseline: Mapping[str, str] = dataclasses.field(default_factory=dict)  # factor -> level text
    interaction: tuple[str, str] | None = None  # factor keys or short names
    # response key -> practical margin in display units (1 point of accuracy by default,
    # `ablate.stats.margin_for`); equivalence verdicts within it
    margins: Mapping[str, float] = dataclasses.field(default_factory=dict)
    log_to_parent: bool = True
    figures: Path | None = None  # also write every plot as PDF + PNG, and effects.tex, here


@dataclass(frozen=True)
class ReportResult:
    html: Path
    runs_csv: Path
    effects_csv: Path
    report: Report
    seconds: float
    size_bytes: int
    figures: list[Path] = dataclasses.field(default_factory=list)  # with ReportOptions.figures


def _match_factor(name: str, factors: Sequence[Factor], what: str) -> Factor:
    for f in factors:
        if name in (f.key, f.name, f.key.split(".")[-1]):
            return f
    known = ", ".join(f"{f.key} ({f.name})" for f in factors) or "none"
    raise ReportError(f"{what}: unknown factor '{name}'; this sweep's factors: {known}.")


def resolve_baseline(factors: Sequence[Factor], given: Mapping[str, str]) -> dict[str, Any]:
    """Default: the first level of each factor. --baseline stride=2,kernel=4 overrides."""
    base = {f.key: f.levels[0] for f in factors if f.levels}
    for name, text in given.items():
        f = _match_factor(name, factors, "--baseline")
        hits = [lv for lv in f.levels if text in (str(lv), level_label(f.key, lv))]
        if not hits:
            allowed = ", ".join(level_label(f.key, lv) for lv in f.levels)
            raise ReportError(
                f"--baseline: {f.key} = '{text}' is not one of its levels ({allowed})."
            )
        base[f.key] = hits[0]
    return base


def _ui_link(ui_url: str | None, experiment_id: str) -> Callable[[str], str] | None:
    if not ui_url:
        return None
    root = ui_url.rstrip("/")
    return lambda rid: f"{root}/#/experiments/{experiment_id}/runs/{rid}"


def _provenance(
    data: SweepData, rows: Sequence[RunRow], uri: str, link: Callable[[str], str] | None
) -> Provenance:
    sweep = data.sweep
    space_text = data.design.space_text
    ended = [r for r in rows if r.start_time and r.end_time]
    accelerators = sorted({c.tags.get(schema.ACCELERATOR, "") for c in data.children} - {""})
    return Provenance(
        experiment=sweep.experiment,
        parent_run_id=sweep.run_id,
        space_file=sweep.tags.get(schema.SPACE_FILE, ""),
        space_sha256=hashlib.sha256(space_text.encode()).hexdigest() if space_text else "",
        git_commit=sweep.tags.get(schema.GIT_COMMIT, "unknown"),
        command=sweep.tags.get(schema.LAST_COMMAND) or sweep.tags.get(schema.COMMAND, ""),
        hardware=sweep.tags.get(schema.HARDWARE, "not recorded (runs made before it was)"),
        accelerator=", ".join(accelerators) or "not recorded",
        started=sweep.start_time,
        finished=sweep.end_time if sweep.status != "RUNNING" else None,
        compute_seconds=sum((r.end_time or 0.0) - (r.start_time or 0.0) for r in ended),
        tracking_uri=mask_password(uri),
        parent_url=link(sweep.run_id) if link else None,
    )


def _configs(
    rows: Sequence[RunRow], factors: Sequence[Factor], tuned: bool = False
) -> tuple[dict[str, dict[str, Any]], dict[str, list[RunRow]]]:
    """Configuration label -> factor values, and -> its finished runs (seed order), in
    factor order (the product of the levels). `tuned`: a tuned sweep's configurations
    are its trials, every parameter told apart (the trials are configurations, not
    seeds); only those with a finished run, so there is no phantom point."""
    from ablate.stats import config_label

    grid = list(factors) if tuned else [f for f in factors if f.role != "nuisance"]
    values: dict[str, dict[str, Any]] = {}
    for combo in itertools.product(*(f.levels for f in grid)) if not tuned else ():
        v = dict(zip((f.key for f in grid), combo, strict=True))
        values[config_label(v, grid)] = v
    finished: dict[str, list[RunRow]] = {c: [] for c in values}
    for r in sorted(rows, key=lambda r: r.seed):
        if r.state == RunState.FINISHED:
            label = config_label({f.key: r.factors.get(f.key) for f in grid}, grid)
            values.setdefault(label, {f.key: r.factors.get(f.key) for f in grid})
            finished.setdefault(label, []).append(r)
    return values, finished


def _feature_map(config_yaml: Path | None) -> str:
    """Side of the last feature map, from the run's resolved config, e.g. '8x8'."""
    if config_yaml is None:
        return ""
    from ablate.spaces import ModelConfig
    from lightning_modules.models import feature_hw

    try:
        model = ModelConfig(**yaml.safe_load(config_yaml.read_text())["model"])
        h, w = feature_hw(model)[-1]
    except (KeyError, TypeError, ValueError, IndexError):
        return ""
    return f"{h}x{w}"


def _explanations(
    tracker: Tracker, finished: Mapping[str, list[RunRow]], tmp: Path
) -> tuple[Gallery | None, list[FaithCurves], list[str], dict[str, list[list[float]]]]:
    """Gallery, faithfulness curves, classes and mean confusion matrices per configuration."""
    from ablate.report.data.explanations import faith_curves, gallery, load_maps

    all_ids = [r.run_id for runs in finished.values() for r in runs]
    metrics_json = load.artifacts(tracker, all_ids, load.EXPLAIN_METRICS, tmp / "metrics")
    confusion_csv = load.artifacts(tracker, all_ids, load.CONFUSION, tmp / "confusion")
    first = {c: runs[0].run_id for c, runs in finished.items() if runs}
    maps_npz = load.artifacts(tracker, first.values(), load.MAPS, tmp / "maps")
    configs = load.artifacts(tracker, first.values(), schema.CONFIG, tmp / "config")

    info = {rid: load.read_json(p) for rid, p in metrics_json.items()}
    classes: list[str] = []
    confusion: dict[str, list[list[float]]] = {}
    for c, runs in finished.items():
        mats = []
        for r in runs:
            path = confusion_csv.get(r.run_id)
            if path is not None:
                classes, rows = load.read_confusion(path)
                mats.append(rows)
        if mats:
            confusion[c] = np.mean(mats, axis=0).tolist()
    if not classes:
        classes = next((list(i["classes"]) for i in info.values() if i.get("classes")), [])
    maps = {rid: load_maps(p) for rid, p in maps_npz.items() if p is not None}
    columns = [(c, rid, _feature_map(configs.get(rid))) for c, rid in first.items()]
    skipped = {rid: dict(i.get("skipped", {})) for rid, i in info.items()}
    gal = gallery(columns, maps, classes, skipped)
    curves = faith_curves(
        {
            c: [info[r.run_id].get("curves", {}) for r in runs if r.run_id in info]
            for c, runs in finished.items()
        }
    )
    return gal, curves, classes, confusion


def _optuna(
    data: SweepData, rows: Sequence[RunRow], factors: Sequence[Factor]
) -> OptunaFigures | None:
    """Optuna's own plots over the trials as MLflow recorded them (no storage needed)."""
    import optuna

    from ablate.report.figures import optuna_figures

    design = data.design
    # the one mapping from a space's distributions to Optuna's (ablate.spaces)
    dists: dict[str, optuna.distributions.BaseDistribution] = {
        key: d.to_optuna() for key, d in design.nuisance.items()
    }
    for f in factors:
        if f.role == "scientific":
            dists[f.key] = optuna.distributions.CategoricalDistribution(list(f.levels))
    trials = []
    for r in rows:
        value = r.metrics.get(design.metric)
        if r.state != RunState.FINISHED or value is None:
            continue
        params = {k: r.factors[k] for k in dists if r.factors.get(k) is not None}
        if len(params) != len(dists):
            continue
        try:
            trials.append(
                optuna.trial.create_trial(params=params, distributions=dists, value=value)
            )
        except ValueError:
            continue  # a value outside the declared range (space edited since)
    if not trials:
        return None
    return optuna_figures(trials, design.direction, list(dists))


def _scientific(
    df: pd.DataFrame, data: SweepData, factors: Sequence[Factor]
) -> list[ScientificRow]:
    from ablate.stats import Range, best_nuisance

    design = data.design
    ranges: dict[str, Any] = {}
    for key, d in design.nuisance.items():
        ranges[key] = list(d.choices) if d.kind == "categorical" else Range(d.low, d.high, d.log)
    sci = [f.key for f in factors if f.role == "scientific"]
    if not design.nuisance or df.empty:
        return []
    val = design.metric if design.metric in df.columns else "best_val_acc"
    return best_nuisance(df, sci, list(design.nuisance), val, "test_acc", ranges)


def _warnings(
    rows: Sequence[RunRow], noise_seeds: int, tuned: bool = False, confirmed: bool = False
) -> list[str]:
    """What the reader must know first. A failed or killed run whose point a resume has
    since finished is not counted: the point is done. `tuned`: an Optuna sweep, whose
    trials are configurations; `confirmed`: it has confirmation runs (seeds) to compare."""
    again = retried(rows)
    states = [r.state for r in rows if r.run_id not in again or not r.run_id]
    counts = pd.Series(states).value_counts().to_dict() if states else {}
    out = []
    if counts.get("running"):
        out.append(
            f"{counts['running']} run(s) still running: this page shows what is done so far."
        )
    if counts.get("missing"):
        out.append(f"{counts['missing']} design point(s) have no run yet (marked missing).")
    if counts.get("failed") or counts.get("killed"):
        n = counts.get("failed", 0) + counts.get("killed", 0)
        out.append(f"{n} run(s) failed or were killed; re-run the sweep's command to retry them.")
    if tuned and not confirmed and noise_seeds <= 1:
        out.append(
            "Each trial is a different configuration, trained on one seed: the spread "
            "between trials is not seed noise, so no interval or seed noise is given for "
            "them. Confirmation seeds re-train the best setting on fresh seeds "
            "(confirm_seeds: 3 in the space, or --set confirm_seeds=3)."
        )
    elif not tuned and noise_seeds <= 1:
        out.append(
            "One seed per configuration: no effect below has an interval unless other factors "
            "replicate it. Run more seeds (`--seeds 3`)."
        )
    return out


def _check_margins(margins: Mapping[str, float], responses: Sequence[Response]) -> None:
    """--margin names responses of this sweep (a typo would silently keep the default)."""
    known = [r.key for r in responses]
    for key in margins:
        if key not in known:
            raise ReportError(
                f"--margin {key}: this sweep has no response '{key}'; its responses: "
                f"{', '.join(known)}."
            )


def _settled(record: Mapping[str, Any] | None) -> list[str]:
    """A sweep that stops when settled: its decisions first. The effects below them test
    at the final number of seeds as if it had been fixed in advance, which a sweep that
    chose when to stop is not; the decisions spend alpha over the looks."""
    from ablate.report.settled import settle_sentences

    lines = settle_sentences(record)
    if lines:
        lines.append(
            "the effects below test at the final number of seeds as if it had been fixed "
            "in advance; for the stopping response, quote the decisions above (alpha spent "
            "over the looks), not those verdicts"
        )
    return lines


def build_report(
    opts: ReportOptions,
) -> tuple[Report, dict[tuple[Any, Any], Interval] | None]:
    """Read the sweep and compute everything on the page; also the interaction plot's
    cells (the page draws them; None without an interaction)."""
    from ablate import stats
    from ablate.report import findings as findings_mod

    load.check_store(opts.tracking_uri)
    tracker = Tracker(opts.tracking_uri)
    data = load.load_sweep(tracker, opts.target)
    factors = factors_of(data.design)
    link = _ui_link(opts.ui_url, data.sweep.experiment_id)
    drawn = (RunState.FINISHED, RunState.PRUNED, RunState.RUNNING)  # runs with curves
    ids = [c.run_id for c in data.children if c.state in drawn]
    rows = run_rows(data.children, factors, load.curves(tracker, ids), link)
    rows += missing_rows(rows, factors, data.design.seeds)
    responses = responses_of(rows)
    _check_margins(opts.margins, responses)
    grid = [f for f in factors if f.role != "nuisance"]
    baseline = resolve_baseline(grid, opts.baseline)
    frame = runs_frame([r for r in rows if r.state == RunState.FINISHED], factors)
    # tuned sweeps: the tuning trials choose each scientific value's setting; where its
    # confirmation runs exist, the statistics below compare those (a grid over seeds)
    confirm_ids = confirmation_ids(data.children)
    scientific: list[ScientificRow] = []
    confirmed = None
    if data.design.kind == "optuna":
        scientific = _scientific(without_runs(frame, confirm_ids), data, factors)
        confirmed = confirmation(frame, confirm_ids, scientific, grid, list(data.design.nuisance))
    compared = confirmed.frame if confirmed is not None else frame

    cells: dict[str, dict[str, Interval]] = {}
    cell_values: dict[str, dict[str, list[float]]] = {}
    effects: list[Effect] = []
    interactions: list[Effect] = []
    noise = []
    pair = None
    if data.design.kind == "grid" and len(grid) >= 2:
        names = opts.interaction or (grid[0].key, grid[1].key)
        pair = (
            _match_factor(names[0], grid, "--interaction").key,
            _match_factor(names[1], grid, "--interaction").key,
        )
    inter_cells = None
    tuned = data.design.kind == "optuna"
    # the page's configurations (cells, plots, confusion): a grid's design points; a tuned
    # sweep's trials, each told apart by all its parameters (trials are configurations,
    # not seeds: a trial's cell has its own seeds only, so no interval across trials)
    per_config = [dataclasses.replace(f, role="grid") for f in factors] if tuned else factors
    for resp in responses:
        sub = compared.dropna(subset=[resp.key]) if resp.key in compared else compared.iloc[0:0]
        # all factors: intervals and seed noise only from repeated seeds of one configuration
        cells[resp.key] = stats.cells(sub, per_config, resp)
        cell_values[resp.key] = stats.cell_values(sub, per_config, resp)  # labels as cells
        # the sweep's own margins (space `margins:`), `--margin` over them; seed noise says
        # the seeds to detect one margin where the response has one, else NOISE_TARGET
        margin = stats.margin_for(resp, {**data.design.margins, **opts.margins})
        target = margin if margin is not None else NOISE_TARGET[resp.group]
        noise.append(stats.seed_noise(sub, factors, resp, target=target))
        if (data.design.kind != "grid" and confirmed is None) or not grid:
            continue
        family = stats.main_effects(sub, grid, resp, baseline)
        if pair is not None and resp.key == "test_acc":
            a, b = (next(f for f in grid if f.key == k) for k in pair)
            inter = stats.interaction(sub, a, b, resp, baseline)
            inter_cells = stats.interaction_cells(sub, a, b, resp)
            family += inter
        adjusted = stats.holm(family, resp.higher_is_better, margin=margin)  # TOST if margin
        effects += [e for e in adjusted if "*" not in e.factor]
        interactions += [e for e in adjusted if "*" in e.factor]
    config_factors, finished = _configs(rows, factors, tuned=tuned)
    with tempfile.TemporaryDirectory() as tmp:
        gal, curves, classes, confusion = _explanations(tracker, finished, Path(tmp))
    trials = [r for r in rows if r.run_id not in confirm_ids]  # confirmation runs are no trials
    optuna_figs = _optuna(data, trials, factors) if data.design.kind == "optuna" else None
    if optuna_figs is not None and confirmed is not None:
        optuna_figs = dataclasses.replace(
            optuna_figs, note=f"{optuna_figs.note} Findings and Effects: {confirmed.note}."
        )
    seeds_per_cell = min((len(v) for v in finished.values() if v), default=0)
    report = Report(
        provenance=_provenance(data, rows, opts.tracking_uri, link),
        kind="optuna" if data.design.kind == "optuna" else "grid",
        factors=factors,
        seeds=sorted({r.seed for r in rows}),
        responses=responses,
        runs=rows,
        cells=cells,
        cell_values=cell_values,
        config_factors=config_factors,
        effects=effects,
        interaction=pair,
        interactions=interactions,
        noise=noise,
        findings=_settled(data.design.settle)
        + ([f"{confirmed.note}:"] if confirmed is not None else [])
        + findings_mod.findings(effects + interactions, responses, noise),
        warnings=_warnings(
            rows, seeds_per_cell, data.design.kind == "optuna", confirmed is not None
        ),
        baseline=baseline,
        classes=classes,
        confusion=confusion,
        gallery=gal,
        faith_curves=curves,
        scientific=scientific,
        optuna=optuna_figs,
        generated=time.time(),
    )
    return report, inter_cells


def effects_frame(effects: Sequence[Effect], responses: Sequence[Response]) -> pd.DataFrame:
    units = {r.key: r.unit for r in responses}
    records = []
    for e in effects:
        rec = dataclasses.asdict(e)
        rec["unit"] = units.get(e.response, "")
        for k in ("level", "baseline"):
            rec[k] = str(rec[k])
        records.append(rec)
    return pd.DataFrame.from_records(records)


def write_report(opts: ReportOptions) -> ReportResult:
    """Build the page and its CSVs; log the HTML on the sweep's parent run."""
    from ablate.report.page import render

    started = time.perf_counter()
    report, inter_cells = build_report(opts)
    out = opts.out or REPORTS_DIR / f"{_safe(report.provenance.experiment)}.html"
    if out.suffix != ".html":
        out = out.with_suffix(".html")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        html = render(report, inter_cells)
        out.write_text(html, encoding="utf-8")
        stem = out.with_suffix("")
        runs_csv = stem.with_name(stem.name + ".runs.csv")
        effects_csv = stem.with_name(stem.name + ".effects.csv")
        runs_frame(report.runs, report.factors).to_csv(runs_csv, index=False)
        effects_frame(report.effects + report.interactions, report.responses).to_csv(
            effects_csv, index=False
        )
    except OSError as e:
        raise ReportError(f"cannot write the report to {out}: {e.strerror or e}") from None
    figures = _write_figures(report, inter_cells, opts.figures) if opts.figures else []
    if opts.log_to_parent:
        Tracker(opts.tracking_uri).log_file(report.provenance.parent_run_id, out, schema.REPORT_DIR)
    return ReportResult(
        out,
        runs_csv,
        effects_csv,
        report,
        time.perf_counter() - started,
        out.stat().st_size,
        figures,
    )


def _write_figures(
    report: Report, inter_cells: Mapping[tuple[Any, Any], Interval] | None, folder: Path
) -> list[Path]:
    """`--figures DIR`: every plot as PDF and PNG, and the effects as `effects.tex`."""
    from ablate.report.export import effects_tex, write_figures

    try:
        written = write_figures(report, folder, inter_cells)
        tex = folder / "effects.tex"
        names = {f.key: f.name for f in report.factors}
        tex.write_text(
            effects_tex(report.effects + report.interactions, report.responses, names),
            encoding="utf-8",
        )
    except OSError as e:
        raise ReportError(f"cannot write the figures to {folder}: {e.strerror or e}") from None
    return [*written, tex]


def _safe(name: str) -> str:
    import re

    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "report"
