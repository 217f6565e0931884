"""A sweep's child runs as the report sees them: typed factor values, derived
explanation responses, missing design points, and the runs table as pandas.

Pure: works on `SweepData` already read from the store.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pandas as pd

from ablate.report.data.load import Design
from ablate.stats.model import MISSING, Factor, Response, RunRow
from ablate.store import ChildRun, RunState, schema
from explain.methods import METHODS

# what a method's faithfulness numbers become on the page
XAI_RESPONSES = (
    ("deletion_vs_random", "deletion AUC − random", False),
    ("insertion_vs_random", "insertion AUC − random", True),
    ("sanity_spearman", "sanity |ρ| (trained vs random weights)", False),
)
BASE_RESPONSES = (
    Response("test_acc", "test accuracy", "points", 100.0, True, "accuracy"),
    Response("best_val_acc", "best validation accuracy", "points", 100.0, True, "accuracy"),
    Response("train_seconds", "train time", "s", 1.0, False, "cost"),
    Response("params", "parameters", "thousand", 1e-3, False, "cost"),
    Response("flops_per_image", "FLOPs per image", "MFLOP", 1e-6, False, "cost"),
)


def factors_of(design: Design) -> list[Factor]:
    """Factors the sweep varies, in the space file's order. A key pinned to one value
    (e.g. by --set) is not a factor. Optuna: scientific keys, then nuisance keys."""
    role = "scientific" if design.kind == "optuna" else "grid"
    out = [Factor(k, tuple(v), role) for k, v in design.grid.items() if len(v) > 1]  # type: ignore[arg-type]
    out += [Factor(k, (), "nuisance") for k in design.nuisance]
    return out


def parse_value(raw: str, levels: Sequence[Any]) -> Any:
    """An MLflow param string back to its level (params are stored as str(value))."""
    for level in levels:
        if str(level) == raw:
            return level
    for cast in (int, float):
        try:
            return cast(raw)
        except ValueError:
            continue
    return raw


def _state(c: ChildRun) -> RunState:
    """The run's `ablate.state`; a run without a known one by its MLflow status."""
    if c.state in {s.value for s in RunState}:
        return RunState(c.state)
    return RunState.RUNNING if c.status == "RUNNING" else RunState.FAILED


def _reason(c: ChildRun) -> str:
    for tag in (schema.FAIL_REASON, schema.SKIP_REASON, schema.PRUNED):
        if c.tags.get(tag):
            return c.tags[tag]
    return ""


def derived_metrics(metrics: Mapping[str, float]) -> dict[str, float]:
    """Final metrics plus, per explanation method, AUCs relative to the random order."""
    out = dict(metrics)
    for key, value in metrics.items():
        for mode in ("deletion", "insertion"):
            suffix = f".{mode}_auc"
            if key.startswith("xai.") and key.endswith(suffix):
                rand = metrics.get(key + "_random")
                if rand is not None:
                    out[key.removesuffix(suffix) + f".{mode}_vs_random"] = value - rand
    return out


def run_rows(
    children: Sequence[ChildRun],
    factors: Sequence[Factor],
    curves: Mapping[str, dict[str, list[float]]],
    url: Callable[[str], str] | None = None,
) -> list[RunRow]:
    """One RunRow per child, oldest first; `url(run_id)` gives a UI link or None."""
    rows = []
    for c in sorted(children, key=lambda c: c.start_time or 0.0):
        rows.append(
            RunRow(
                run_id=c.run_id,
                name=c.tags.get("mlflow.runName", c.run_id[:8]),
                state=_state(c),
                reason=_reason(c),
                factors={f.key: parse_value(c.params.get(f.key, ""), f.levels) for f in factors},
                seed=int(c.params.get("seed", "0") or 0),
                metrics=derived_metrics(c.metrics),
                curves=dict(curves.get(c.run_id, {})),
                start_time=c.start_time,
                end_time=c.end_time,
                url=url(c.run_id) if url else None,
            )
        )
    return rows


def missing_rows(
    rows: Sequence[RunRow], factors: Sequence[Factor], seeds: Sequence[int]
) -> list[RunRow]:
    """Design points (grid levels x seeds) with no run at all yet."""
    grid = [f for f in factors if f.role != "nuisance"]
    if not grid or not seeds:
        return []
    seen = {(tuple(r.factors.get(f.key) for f in grid), r.seed) for r in rows}
    out = []
    for combo in itertools.product(*(f.levels for f in grid)):
        for seed in seeds:
            if (tuple(combo), seed) not in seen:
                values = dict(zip((f.key for f in grid), combo, strict=True))
                name = " ".join(f"{f.name}={v}" for f, v in zip(grid, combo, strict=True))
                out.append(RunRow("", f"{name} seed={seed}", MISSING, "", values, seed, {}))
    return out


def responses_of(rows: Sequence[RunRow]) -> list[Response]:
    """The responses finished runs have: accuracy, cost, then each method's faithfulness."""
    have = set().union(*(r.metrics for r in rows if r.state == RunState.FINISHED))
    out = [r for r in BASE_RESPONSES if r.key in have]
    for method in METHODS:
        for name, what, higher in XAI_RESPONSES:
            key = f"xai.{method.name}.{name}"
            if key in have:
                label = f"{method.label} {what}"
                out.append(Response(key, label, "", 1.0, higher, "explanations"))
    return out


def runs_frame(rows: Sequence[RunRow], factors: Sequence[Factor]) -> pd.DataFrame:
    """One row per run: name, state, reason, factors, seed, every metric, run id."""
    records = []
    for r in rows:
        rec: dict[str, Any] = {"run": r.name, "state": str(r.state), "reason": r.reason}
        rec |= {f.key: r.factors.get(f.key) for f in factors}
        rec["seed"] = r.seed
        rec |= dict(sorted(r.metrics.items()))
        rec["run_id"] = r.run_id
        records.append(rec)
    return pd.DataFrame.from_records(records)


def _point(row: RunRow) -> tuple[tuple[tuple[str, str], ...], int]:
    """A run's design point: its factor values (as text: MLflow params) and seed."""
    return tuple(sorted((k, str(v)) for k, v in row.factors.items())), row.seed


def retried(rows: Sequence[RunRow]) -> set[str]:
    """Run ids of failed or killed runs whose design point has since finished (a resume
    retried it): history, not a failure of the sweep."""
    done = {_point(r) for r in rows if r.state == RunState.FINISHED}
    lost = (RunState.FAILED, RunState.KILLED)
    return {r.run_id for r in rows if r.state in lost and _point(r) in done}
