"""Run a sweep: one parent run, one child run per point, finished points skipped.

`run_point` is the unit of work (train, test, log, explain one RunConfig); the
sequential grid loop here and the Optuna/worker paths both call it.
"""

from __future__ import annotations

import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna
import torch
from lightning.pytorch.callbacks import Callback

from ablate.config import RunConfig
from ablate.console import EpochLine, SweepProgress, fmt_seconds, table
from ablate.errors import AblateError
from ablate.liveness import is_stale
from ablate.plots import confusion_csv, confusion_png
from ablate.spaces import Point, Space, expand, sweep_id
from ablate.tracking import ChildRun, Tracker

# A running child whose heartbeat is older than this is taken for dead
# (crashed, killed -9, machine lost) and its point is run again.
HEARTBEAT_SECONDS = 20.0
STALE_SECONDS = 120.0


@dataclass(frozen=True)
class SweepOptions:
    tracking_uri: str
    command: str = ""
    workdir: Path | None = None  # scratch for Lightning checkpoints; default: a temp folder
    storage: str | None = None  # Optuna storage URL: grid points become a shared work queue
    heartbeat_seconds: float = HEARTBEAT_SECONDS
    stale_after: float = STALE_SECONDS
    poll_seconds: float = 5.0  # how often an idle worker looks for lost or remaining points


@dataclass
class Outcome:
    label: str
    state: str  # finished | skipped | failed | killed | pruned | done | busy
    run_id: str = ""
    metrics: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.state in ("finished", "skipped", "done", "pruned")


class Heartbeat:
    """Calls each of `beats` every `every` seconds from one background thread while a
    run trains. Each beat is tried on its own: one store failing does not silence the other."""

    def __init__(
        self, beats: Sequence[Callable[[], None]], every: float = HEARTBEAT_SECONDS
    ) -> None:
        self.beats, self.every = beats, every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="ablate-heartbeat")

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            for beat in self.beats:
                try:
                    beat()
                except Exception as e:  # a missed beat must not kill training; say so
                    print(f"ablate: heartbeat failed: {type(e).__name__}: {e}")

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def classify(
    children: Sequence[ChildRun], now: float, stale_after: float = STALE_SECONDS
) -> dict[str, ChildRun]:
    """Per run key, the child that settles it: finished/skipped wins, then a live run."""
    best: dict[str, ChildRun] = {}
    for c in children:
        live = c.state == "running" and c.status == "RUNNING"
        if c.state in ("finished", "skipped") or (live and not _dead(c, now, stale_after)):
            prev = best.get(c.key)
            if prev is None or prev.state == "running":
                best[c.key] = c
    return best


def _dead(c: ChildRun, now: float, stale_after: float) -> bool:
    return is_stale(c.heartbeat, c.worker, now, stale_after)


def fail_stale_runs(tracker: Tracker, children: Sequence[ChildRun], stale_after: float) -> int:
    """Mark RUNNING children whose worker is gone (no heartbeat, or a dead process on
    this machine) as failed, so that their points run again. Returns how many."""
    now, n = time.time(), 0
    for c in children:
        if c.status == "RUNNING" and c.state == "running" and _dead(c, now, stale_after):
            tracker.set_tags(c.run_id, {"ablate.fail_reason": f"worker {c.worker} stopped beating"})
            tracker.end(c.run_id, "failed")
            n += 1
    return n


def check_data_sources(points: Sequence[Point]) -> None:
    """Fail before anything is recorded when data cannot be had: a path that does not
    exist, or a torchvision download that fails (which is then cached for every run)."""
    from lightning_modules.data import load_cifar10, resolve_source

    for data in {p.config.data for p in points}:
        if resolve_source(data).format == "torchvision":
            load_cifar10(data)


def run_sweep(space: Space, opts: SweepOptions) -> list[Outcome]:
    """Dispatch: Optuna spaces to `ablate.tuning`; grids with a storage to the shared
    work queue in `ablate.distributed`; other grids run here, in order."""
    if space.kind == "optuna":
        from ablate.tuning import run_optuna

        return run_optuna(space, opts)
    if opts.storage:
        from ablate.distributed import run_grid_queue

        return run_grid_queue(space, opts)[1]
    return run_grid_local(space, opts)


def run_grid_local(space: Space, opts: SweepOptions) -> list[Outcome]:
    """Train every point not yet finished, in order; a failing point does not stop the sweep."""
    points = expand(space)
    check_data_sources(points)
    tracker = Tracker(opts.tracking_uri)
    parent, resumed = tracker.start_parent(
        space.experiment,
        sweep_id(points),
        name=f"{space.experiment} sweep",
        space_file=Path(space.path),
        command=opts.command,
        summary={
            "space": space.path,
            "points": len(points),
            "seeds": list(space.seeds),
            "design": space.design(),
            "description": space.description,
        },
    )
    children = tracker.children(parent)
    if fail_stale_runs(tracker, children, opts.stale_after):
        print("Runs left by processes that died were marked failed; their points run again.")
    settled = classify(children, time.time(), opts.stale_after)  # dead runs settle nothing
    progress = SweepProgress(len(points))
    if resumed:
        done = sum(1 for p in points if p.config.key() in settled)
        print(f"Resuming sweep {parent}: {done} of {len(points)} points already recorded.")
    outcomes: list[Outcome] = []
    try:
        for point in points:
            known = settled.get(point.config.key())
            i = point.index + 1
            if known is not None:
                state = "done" if known.state in ("finished", "skipped") else "busy"
                what = "finished earlier" if state == "done" else "running in another process"
                progress.note(i, point.label, f"{what} (run {known.run_id})")
                outcomes.append(Outcome(point.label, state, known.run_id, known.metrics))
                continue
            remaining = sum(1 for p in points[point.index :] if p.config.key() not in settled)
            progress.start(i, point.label, remaining)
            outcome = run_point(
                tracker,
                parent,
                point.config,
                point.label,
                workdir=opts.workdir,
                heartbeat_seconds=opts.heartbeat_seconds,
            )
            if outcome.state == "finished":
                progress.done(outcome.seconds)
            outcomes.append(outcome)
    except KeyboardInterrupt:
        tracker.end(parent, "killed")
        raise
    tracker.end(parent, "finished" if all(o.ok for o in outcomes) else "failed")
    return outcomes


def run_point(
    tracker: Tracker,
    parent_id: str,
    cfg: RunConfig,
    label: str,
    workdir: Path | None = None,
    extra_tags: Mapping[str, str] | None = None,
    callbacks: Sequence[Callback] = (),
    on_start: Callable[[str], None] | None = None,
    heartbeat_seconds: float = HEARTBEAT_SECONDS,
    also_beat: Callable[[], None] | None = None,
) -> Outcome:
    """Train, test, log and explain one config as one child run. Never raises for a
    bad point (the run is marked failed); Ctrl-C marks it killed and re-raises.

    `also_beat` is called with the run's own heartbeat (an Optuna trial's liveness)."""
    from lightning_modules.models import invalid_reason

    reason = invalid_reason(cfg.model)
    if reason is not None:
        rid = tracker.skip(parent_id, cfg, label, reason)
        print(f"    skipped: {reason}")
        return Outcome(label, "skipped", rid, reason=reason)
    rid = tracker.start_child(parent_id, cfg, label, extra_tags or {})
    if on_start is not None:
        on_start(rid)
    t0 = time.perf_counter()
    try:
        beats = [lambda: tracker.heartbeat(rid), *([also_beat] if also_beat else [])]
        with Heartbeat(beats, heartbeat_seconds), tempfile.TemporaryDirectory(dir=workdir) as tmp:
            metrics = _train_log_explain(tracker, parent_id, rid, cfg, Path(tmp), callbacks)
    except (KeyboardInterrupt, SystemExit):
        # Lightning turns Ctrl-C into sys.exit(1) after its own graceful shutdown
        tracker.set_tags(rid, {"ablate.fail_reason": "interrupted (Ctrl-C)"})
        tracker.end(rid, "killed")
        raise KeyboardInterrupt from None
    except AblateError as e:
        # user-fixable and true for every point (e.g. the data cannot be fetched): stop the sweep
        tracker.set_tags(rid, {"ablate.fail_reason": str(e)})
        tracker.end(rid, "failed")
        raise
    except Exception as e:
        if isinstance(e, optuna.TrialPruned):  # raised by the pruning callback
            tracker.set_tags(rid, {"ablate.pruned": str(e)})  # "Trial was pruned at epoch N."
            tracker.end(rid, "pruned")
            print(f"    pruned: {e}")
            return Outcome(label, "pruned", rid, seconds=time.perf_counter() - t0, reason=str(e))
        tracker.set_tags(rid, {"ablate.fail_reason": f"{type(e).__name__}: {e}"})
        tracker.client.log_text(rid, traceback.format_exc(), "error.txt")
        tracker.end(rid, "failed")
        print(f"    failed: {type(e).__name__}: {e} (traceback in run {rid}, error.txt)")
        return Outcome(label, "failed", rid, seconds=time.perf_counter() - t0, reason=str(e))
    tracker.end(rid, "finished")
    return Outcome(label, "finished", rid, metrics, time.perf_counter() - t0)


def _train_log_explain(
    tracker: Tracker,
    parent_id: str,
    rid: str,
    cfg: RunConfig,
    tmp: Path,
    callbacks: Sequence[Callback],
) -> dict[str, float]:
    from lightning_modules.datamodule import CifarDataModule
    from lightning_modules.train import fit_and_test

    dm = CifarDataModule(cfg.data, batch_size=cfg.train.batch_size, seed=cfg.seed)
    logger = tracker.epoch_logger(rid, cfg.experiment)
    result = fit_and_test(
        cfg, tmp / "lightning", logger=logger, callbacks=[EpochLine(), *callbacks], datamodule=dm
    )
    metrics = dict(result.metrics)
    tracker.log_metrics(rid, metrics)
    tracker.log_checkpoint(rid, result.net, cfg, result.classes)
    cm_dir = tmp / "confusion"
    cm_dir.mkdir()
    files = [
        confusion_png(
            result.confusion,
            result.classes,
            cm_dir / "confusion_matrix.png",
            title=f"{cfg.experiment}: test",
        ),
        confusion_csv(result.confusion, result.classes, cm_dir / "confusion_matrix.csv"),
    ]
    tracker.log_files(rid, files, cm_dir, "confusion")
    print(
        f"    test_acc {metrics['test_acc']:.4f}  best_val_acc {metrics['best_val_acc']:.4f}  "
        f"train {fmt_seconds(metrics['train_seconds'])} ({metrics['train_images_per_second']:.0f} img/s)"
    )
    if cfg.explain.enabled:
        metrics.update(
            _explain(tracker, parent_id, rid, cfg, result.net, dm, result.classes, tmp / "explain")
        )
    return metrics


def _explain(
    tracker: Tracker,
    parent_id: str,
    rid: str,
    cfg: RunConfig,
    net: torch.nn.Module,
    dm: Any,
    classes: tuple[str, ...],
    out: Path,
) -> dict[str, float]:
    from explain.pipeline import explain_run, predict
    from explain.probe import most_confident_mistakes, probe_indices
    from lightning_modules.datamodule import to_float

    test_x, test_y = dm.test_x, dm.test_y
    device = next(net.parameters()).device
    probe_idx = probe_indices(test_y.cpu(), cfg.explain.probe_per_class, seed=0)
    # the same test indices in every run of the sweep; every run writes the (identical)
    # file, so the parent has it whichever worker created it
    tracker.log_parent_json(
        parent_id,
        "probe.json",
        {"test_indices": probe_idx.tolist(), "per_class": cfg.explain.probe_per_class},
    )
    probs = predict(net, to_float(test_x).to(device)).cpu()
    wrong_idx = most_confident_mistakes(probs, test_y.cpu(), cfg.explain.misclassified)
    out.mkdir(parents=True, exist_ok=True)
    probe, wrong = probe_idx.to(test_x.device), wrong_idx.to(test_x.device)
    result = explain_run(
        net,
        to_float(test_x[probe]).to(device),
        test_y[probe].to(device),
        probe_idx,
        to_float(test_x[wrong]).to(device),
        test_y[wrong].to(device),
        wrong_idx,
        classes,
        cfg.explain,
        out,
        mean=tuple(dm.mean),
    )
    tracker.log_files(rid, result.files, out, "explain")
    metrics = dict(result.metrics)
    tracker.log_metrics(rid, metrics)
    flagged = [k for k, v in result.flags.items() if v]
    tracker.set_tags(rid, {"ablate.xai_flags": ",".join(flagged) or "none"})
    print(
        f"    explanations: {len(result.files)} files in {fmt_seconds(result.seconds)}"
        + (f"; flagged: {', '.join(flagged)}" if flagged else "")
    )
    return metrics


def summary_rows(outcomes: Sequence[Outcome]) -> list[list[str]]:
    def num(m: Mapping[str, float], k: str) -> str:
        return f"{m[k]:.4f}" if k in m else "-"

    return [
        [
            o.label,
            o.state,
            num(o.metrics, "best_val_acc"),
            num(o.metrics, "test_acc"),
            fmt_seconds(o.metrics["train_seconds"]) if "train_seconds" in o.metrics else "-",
            o.run_id[:12],
        ]
        for o in outcomes
    ]


def print_summary(outcomes: Sequence[Outcome]) -> None:
    table(
        "Sweep results",
        ["point", "state", "val acc", "test acc", "train time", "run"],
        summary_rows(outcomes),
    )
