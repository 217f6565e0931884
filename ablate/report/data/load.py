"""Read one sweep back from MLflow for the report: the parent, its children, their
curves, and the few artifacts the page needs, fetched concurrently.

Everything comes through the store door (`ablate.store.Tracker`), so a report can be built on
another machine against a tracking server.
"""

from __future__ import annotations

import dataclasses
import json
import tempfile
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from ablate.errors import AblateError
from ablate.store import (
    ChildRun,
    RunState,
    SweepRun,
    Tracker,
    check_server,
    mask_password,
    schema,
    sqlite_path,
)

if TYPE_CHECKING:
    from ablate.spaces import Dist

CURVES = ("train_loss", "train_acc", "val_loss", "val_acc")
CONFUSION = f"{schema.CONFUSION_DIR}/confusion_matrix.csv"
EXPLAIN_METRICS = f"{schema.EXPLAIN_DIR}/metrics.json"
MAPS = schema.MAPS
WORKERS = 8  # concurrent reads from the store

T = TypeVar("T")


class ReportError(AblateError):
    """The report cannot be built: unknown experiment, no finished run, no store."""


@dataclass(frozen=True)
class Design:
    """What the sweep set out to run: factor levels in file order, seeds, kind."""

    kind: str  # grid | optuna
    grid: dict[str, list[Any]]  # factor (or scientific) key -> levels
    seeds: list[int]
    nuisance: dict[str, Dist]  # optuna: key -> its distribution (`ablate.spaces`)
    metric: str  # optuna: the metric trials optimise
    direction: str
    space_text: str  # the space file as logged on the parent ("" if absent)
    # the margins the sweep was given (tag ablate.margins, else the logged design):
    # response -> margin in display units; --margin of `ablate report` goes over them
    margins: dict[str, float] = dataclasses.field(default_factory=dict)
    # a sweep that stops when settled: its latest look (sweep.settling's settle.json), with
    # each effect's decision; None for a fixed sweep or before the first look
    settle: dict[str, Any] | None = None


@dataclass(frozen=True)
class SweepData:
    sweep: SweepRun
    design: Design
    children: list[ChildRun]


def check_store(uri: str) -> None:
    """Fail fast with one line when the store is not there, instead of MLflow creating an
    empty sqlite file or retrying an unreachable server for minutes."""
    path = sqlite_path(uri)
    if path is not None:
        if not path.exists():
            raise ReportError(
                f"no tracking store at {path}: run `ablate run SPACE` here first, or pass "
                "--tracking-uri (or set MLFLOW_TRACKING_URI)."
            )
    elif uri.startswith(("http://", "https://")):
        check_server(uri)


def find_sweep(tracker: Tracker, target: str | None) -> SweepRun:
    """The newest sweep of an experiment, of the experiment a space file names, or
    (target None) the newest sweep in the store."""
    experiment = target
    if target is not None and target.endswith((".yaml", ".yml")) and Path(target).is_file():
        from ablate.spaces import load_space

        experiment = load_space(target).experiment
    sweeps = tracker.sweeps(experiment)
    if sweeps:
        return sweeps[0]
    if experiment is None:
        raise ReportError(
            f"no sweep in {mask_password(tracker.uri)}: run `ablate run SPACE` first."
        )
    known = [n for n in tracker.experiment_names() if n != "Default"]
    if experiment in known:
        raise ReportError(f"experiment '{experiment}' has no sweep: run `ablate run SPACE` first.")
    raise ReportError(
        f"unknown experiment '{experiment}' in {mask_password(tracker.uri)}; "
        f"experiments there: {', '.join(known) or 'none'}."
    )


def _design(tracker: Tracker, sweep: SweepRun, tmp: Path) -> Design:
    space_text = ""
    space_path = None
    name = Path(sweep.tags.get(schema.SPACE_FILE, "") or "space.yaml").name
    local = tracker.download(sweep.run_id, f"{schema.SPACE_DIR}/{name}", tmp)
    if local is not None:
        space_text = local.read_text(errors="replace")
        space_path = local
    logged = json.loads(sweep.params["design"]) if "design" in sweep.params else None
    space = None
    if space_path is not None:
        from ablate.spaces import load_space

        try:
            space = load_space(space_path)
        except AblateError:
            space = None  # a file this version no longer reads: the logged design suffices
    nuisance: dict[str, Dist] = {}
    metric, direction = "best_val_acc", "maximize"
    if space is not None and space.kind == "optuna":
        from ablate.spaces import spec_of

        spec = spec_of(space)
        nuisance, metric, direction = dict(spec.params), spec.metric, spec.direction
    if logged is not None:
        return Design(
            logged["kind"],
            logged["grid"],
            list(logged["seeds"]),
            nuisance,
            metric,
            direction,
            space_text,
        )
    if space is not None:
        return Design(
            space.kind,
            dict(space.grid),
            list(space.seeds),
            nuisance,
            metric,
            direction,
            space_text,
        )
    return Design("grid", {}, [], {}, metric, direction, space_text)


def load_sweep(tracker: Tracker, target: str | None) -> SweepData:
    sweep = find_sweep(tracker, target)
    children = tracker.children(sweep.run_id)
    if not any(c.state == RunState.FINISHED for c in children):
        states = sorted({c.state or c.status.lower() for c in children})
        raise ReportError(
            f"experiment '{sweep.experiment}' has no finished run yet "
            f"({len(children)} runs{': ' + ', '.join(states) if states else ''}); "
            "wait for one, or run `ablate run SPACE`."
        )
    with tempfile.TemporaryDirectory() as tmp:
        design = _design(tracker, sweep, Path(tmp))
        design = _settling(tracker, sweep, design, Path(tmp))
    return SweepData(sweep, design, children)


def _settling(tracker: Tracker, sweep: SweepRun, design: Design, tmp: Path) -> Design:
    """The margins the sweep recorded, and for a sweep that stops when settled, its
    latest look; the design's seeds become those it runs to now (the look's `planned`:
    where it stopped, or the next block), not its max, so later seeds are not 'missing'."""
    logged = json.loads(sweep.params["design"]) if "design" in sweep.params else {}
    margins = read_json_text(sweep.tags.get(schema.MARGINS)) or dict(logged.get("margins", {}))
    until = logged.get("until")
    if not isinstance(until, dict):
        return dataclasses.replace(design, margins=dict(margins))
    record = dict(read_json(tracker.download(sweep.run_id, schema.SETTLE_JSON, tmp / "settle")))
    planned = int(record.get("planned") or until.get("min") or len(design.seeds))
    seeds = list(range(planned))  # a settling sweep's seeds are 0 .. max - 1, block by block
    return dataclasses.replace(design, seeds=seeds, margins=dict(margins), settle=record or None)


def read_json_text(text: str | None) -> dict[str, Any]:
    """A JSON object from a tag's text; {} for none or anything else."""
    try:
        data = json.loads(text or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def concurrently(fn: Callable[[str], T], run_ids: Iterable[str]) -> dict[str, T]:
    """fn(run_id) for each run, WORKERS at a time (reads from the store are I/O-bound)."""
    ids = list(dict.fromkeys(run_ids))
    with ThreadPoolExecutor(WORKERS) as pool:
        return dict(zip(ids, pool.map(fn, ids), strict=True))


def curves(tracker: Tracker, run_ids: Iterable[str]) -> dict[str, dict[str, list[float]]]:
    """Per run, per-epoch train/val loss and accuracy."""

    def one(rid: str) -> dict[str, list[float]]:
        return {k: tracker.metric_history(rid, k) for k in CURVES}

    return concurrently(one, run_ids)


def artifacts(
    tracker: Tracker, run_ids: Iterable[str], artifact: str, dst: Path
) -> dict[str, Path | None]:
    """Download one artifact of each run into dst/<run_id>/ (None where it is missing)."""

    def one(rid: str) -> Path | None:
        return tracker.download(rid, artifact, dst / rid)

    return concurrently(one, run_ids)


def read_confusion(path: Path) -> tuple[list[str], list[list[float]]]:
    """`confusion/confusion_matrix.csv` -> (classes, counts with rows = true class)."""
    lines = path.read_text().strip().splitlines()
    classes = lines[0].split(",")[1:]
    rows = [[float(v) for v in line.split(",")[1:]] for line in lines[1:]]
    return classes, rows


def read_json(path: Path | None) -> Mapping[str, Any]:
    if path is None:
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
