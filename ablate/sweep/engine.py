"""The sweep engine: one loop for every kind of sweep.

    scheduler = local grid | shared queue | Optuna      (ablate.schedulers)
    open the parent -> reap stale runs -> until the scheduler has no next job:
        run it (heartbeat, fit, log, explain) -> record its outcome
    -> close -> end the parent -> summary

Ctrl-C and SIGTERM are handled here, the same way for every kind: the current
child run and the parent end KILLED, finished runs stay, and the same command
resumes. `run_job` is the unit of work (train, test, log, explain one config).
"""

from __future__ import annotations

import contextlib
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ablate.errors import USER_ERRORS, ConfigError, DataError
from ablate.runtime import (
    SweepProgress,
    collect_between_points,
    fmt_seconds,
    preemption_reason,
    sigterm_as_interrupt,
    table,
)
from ablate.schedulers import (
    HEARTBEAT_SECONDS,
    STALE_SECONDS,
    Job,
    Outcome,
    Scheduler,
    Settled,
    SweepOptions,
)
from ablate.spaces import Point, Space, expand, fit_to_data, sweep_id
from ablate.store import ChildRun, RunHandle, RunState, Tracker, check_store, exclusive, schema
from ablate.sweep.failures import describe_failure, release_accelerator_memory
from lightning_modules.config import is_external

if TYPE_CHECKING:
    import torch
    from lightning.pytorch import Callback

    from ablate.spaces import ModelConfig, RunConfig
    from lightning_modules.datamodule import CifarDataModule
    from lightning_modules.resume import ResumeState
    from lightning_modules.train import Resume

__all__ = [
    "HEARTBEAT_SECONDS",
    "STALE_SECONDS",
    "Heartbeat",
    "Outcome",
    "SweepOptions",
    "check_data_sources",
    "print_summary",
    "run_job",
    "run_sweep",
]


def make_scheduler(space: Space, opts: SweepOptions, tracker: Tracker) -> Scheduler:
    """Optuna spaces tune; grids with a storage share an exactly-once queue; other
    grids run here, in order."""
    if space.kind == "optuna":
        from ablate.schedulers import OptunaSearch

        return OptunaSearch(space, opts, tracker)
    judge = None
    if space.until is not None:  # seeds: {min, max, until: settled}: a look after each block
        from ablate.sweep.settling import SettleJudge

        judge = SettleJudge(space, tracker, expand(space))
    if opts.storage:
        from ablate.schedulers import SharedQueue

        return SharedQueue(space, opts, tracker, judge)
    from ablate.schedulers import LocalGrid

    return LocalGrid(space, opts, tracker, judge)


def run_sweep(space: Space, opts: SweepOptions) -> list[Outcome]:
    """Run (or resume) a sweep; one outcome per point (or trial) this process saw.

    Nothing is written anywhere until the data, the store and (for a local grid) the
    claim on the sweep have been checked.
    """
    space = fit_to_data(space)  # classes, channels and image size from the data
    points = expand(space)
    if space.kind != "optuna":  # a trial's sampled architecture may be valid
        check_some_point_valid(points)
    check_data_sources(points)
    check_store(opts.tracking_uri)
    tracker = Tracker(opts.tracking_uri)
    with _claim(space, opts, points):
        return _run(space, opts, tracker)


def _claim(
    space: Space, opts: SweepOptions, points: list[Point]
) -> contextlib.AbstractContextManager[None]:
    """A local grid (no --storage) runs in one process at a time per store and sweep, so
    that a second terminal never trains a point twice; the shared queue and Optuna share
    the work through their storage instead."""
    if space.kind == "optuna" or opts.storage:
        return contextlib.nullcontext()
    return exclusive(
        f"sweep:{opts.tracking_uri}:{space.experiment}:{sweep_id(points, space.until)}",  # as the parent run is found
        f"the sweep {space.experiment!r} ({space.path}) is already running on this "
        f"store in another process; wait for it to end (the same command then resumes), "
        f"or share its points between processes with --workers N or --storage "
        f"journal:FILE (README, Scale-out)",
    )


def _run(space: Space, opts: SweepOptions, tracker: Tracker) -> list[Outcome]:
    scheduler = make_scheduler(space, opts, tracker)
    progress = SweepProgress(scheduler.total)
    outcomes: list[Outcome] = []
    with sigterm_as_interrupt():
        parent = scheduler.open()
        try:
            if space.kind == "grid":
                from ablate.sweep.settling import note_plan

                note_plan(tracker, parent, space)  # margins, and where a settling sweep starts
            scheduler.reap()
            while (item := scheduler.next()) is not None:
                if isinstance(item, Settled):
                    progress.note(item.number, item.outcome.label, item.note)
                    outcomes.append(item.outcome)
                    continue
                progress.start(item.number, item.label, item.remaining)
                outcome = _run_and_record(scheduler, tracker, parent, item, opts)
                collect_between_points()  # the finished point's Trainer, model, optimizer
                if outcome.state is RunState.FINISHED:
                    progress.done(outcome.seconds)
                outcomes.append(outcome)
            scheduler.close()
        except KeyboardInterrupt:
            tracker.end(parent, RunState.KILLED)
            raise
    tracker.end(parent, RunState.FINISHED if all(o.ok for o in outcomes) else RunState.FAILED)
    return outcomes


def _run_and_record(
    scheduler: Scheduler, tracker: Tracker, parent: str, job: Job, opts: SweepOptions
) -> Outcome:
    try:
        outcome = run_job(tracker, parent, job, opts, scheduler.classify)
    except BaseException:  # a user error stops the sweep: the scheduler still hears of it
        scheduler.record(job, Outcome(job.label, RunState.FAILED))
        raise
    scheduler.record(job, outcome)
    if outcome.state is RunState.KILLED:
        raise KeyboardInterrupt
    return outcome


def check_data_sources(points: Sequence[Point]) -> None:
    """Fail before anything is recorded when data cannot be had: a path that does not
    exist, a zip or folder of the wrong layout, an unreadable image, a torchvision
    download that fails, more classes than the model has outputs. Each source is
    decoded once here and cached for every run."""
    from lightning_modules.data import load_cifar10

    classes: dict[tuple[object, ...], tuple[str, ...]] = {}
    for p in points:
        d = p.config.data
        what = (d.source, d.format, d.cache_dir, d.test_fraction, d.split_seed)
        if what not in classes:  # what decides the decoded arrays
            classes[what] = load_cifar10(d).classes
        found, outputs = classes[what], p.config.model.num_classes
        if len(found) > outputs:
            raise DataError(
                f"the data {d.source or 'torchvision CIFAR-10'} has {len(found)} classes "
                f"({', '.join(found[:12])}), but model.num_classes is {outputs}: fix the "
                f"labels, or --set model.num_classes={len(found)}."
            )


def check_some_point_valid(points: Sequence[Point]) -> None:
    """A sweep whose every point is invalid (e.g. a lone point whose feature map
    collapses to 0x0) is a config error, not a sweep of skipped runs. An imported
    network is built here once per distinct config, with one dummy batch: what is wrong
    for every point (its module does not import, an argument it does not take) raises."""
    reasons = [invalid_reason(p.config.model) for p in points]
    if points and all(reasons):
        external = is_external(points[0].config.model.arch)
        raise ConfigError(
            f"no point of this space can be built: {points[0].label}: {reasons[0]}"
            + (f" (and {len(points) - 1} more)" if len(points) > 1 else "")
            + ("" if external else ". Use a smaller stride or depth, or a larger kernel")
            + "; see `--dry-run`."
        )


def invalid_reason(cfg: ModelConfig) -> str | None:
    """Why a point cannot be built (it is recorded as skipped), or None. By arithmetic for
    a built-in arch (no torch); an imported network is built (lightning_modules.external)."""
    if is_external(cfg.arch):
        from lightning_modules.external import point_reason

        return point_reason(cfg)
    from lightning_modules.shapes import invalid_reason as by_arithmetic

    return by_arithmetic(cfg)


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


def run_job(
    tracker: Tracker,
    parent_id: str,
    job: Job,
    opts: SweepOptions,
    classify: Callable[[BaseException], RunState | None] = lambda e: None,
) -> Outcome:
    """Train, test, log and explain one job as one child run of `parent_id`.

    Never raises for a bad point (the run is marked failed or skipped); Ctrl-C marks
    the run killed and returns a KILLED outcome; a user error (e.g. the data cannot be
    fetched, true for every point) marks it failed and is raised to stop the sweep.
    `classify` is the scheduler's: the state its own exceptions end a run in (Optuna's
    pruning: PRUNED), or None for any other.
    """
    cfg, label = job.config, job.label
    reason = invalid_reason(cfg.model)
    if reason is not None:
        rid = tracker.skip(parent_id, cfg, label, reason)
        print(f"    skipped: {reason}")
        return Outcome(label, RunState.SKIPPED, rid, reason=reason)
    prior = tracker.resumable_attempt(parent_id, cfg.key())
    run = tracker.start_run(parent_id, cfg, label, job.tags)
    rid = run.run_id
    t0 = time.perf_counter()
    try:
        job.lease.bind(rid)  # inside the try: a signal during this write still ends the run KILLED
        with (
            Heartbeat([run.heartbeat, job.lease.beat], opts.heartbeat_seconds),
            tempfile.TemporaryDirectory(dir=opts.workdir) as tmp,
        ):
            start = (
                continue_from(tracker, run, prior, cfg, Path(tmp)) if prior is not None else None
            )
            metrics = _train_log_explain(run, parent_id, cfg, Path(tmp), job.callbacks, start)
    except (KeyboardInterrupt, SystemExit):
        # Lightning turns Ctrl-C into sys.exit(1) after its own graceful shutdown
        run.kill(preemption_reason() or "interrupted (Ctrl-C)")
        return Outcome(label, RunState.KILLED, rid, seconds=time.perf_counter() - t0)
    except USER_ERRORS as e:
        run.fail(str(e))
        raise
    except Exception as e:
        seconds = time.perf_counter() - t0
        if classify(e) is RunState.PRUNED:  # e.g. raised by Optuna's pruning callback
            run.prune(str(e))  # "Trial was pruned at epoch N."
            print(f"    pruned: {e}")
            return Outcome(label, RunState.PRUNED, rid, seconds=seconds, reason=str(e))
        reason = describe_failure(e, cfg)
        release_accelerator_memory()
        run.fail(reason, traceback.format_exc())
        print(f"    failed: {reason} (traceback in run {rid}, {schema.ERROR_TXT})")
        return Outcome(label, RunState.FAILED, rid, seconds=seconds, reason=reason)
    run.finish()
    tracker.drop_resume(rid)  # a finished run needs its epoch checkpoints no more
    return Outcome(label, RunState.FINISHED, rid, metrics, time.perf_counter() - t0)


def continue_from(
    tracker: Tracker, run: RunHandle, prior: ChildRun, cfg: RunConfig, tmp: Path
) -> Resume | None:
    """The epoch checkpoint of `prior` (an attempt at the same point that was killed or
    lost) to continue from, with its curves logged again on `run`; None when the
    checkpoint that its state file points at is missing or does not load whole (the
    point then starts over). Only that slot is downloaded, not the older one."""
    from lightning_modules.resume import checkpoint_epochs, read_resume_state

    folder = tmp / "resume-from"
    got = tracker.download(prior.run_id, f"{schema.RESUME_DIR}/state.json", folder)
    state = read_resume_state(_read(got)) if got is not None else None
    start = (
        tracker.download(prior.run_id, f"{schema.RESUME_DIR}/{state.slot}.ckpt", folder)
        if state is not None
        else None
    )
    if state is None or start is None or checkpoint_epochs(start) != state.epochs_done:
        print(
            f"    could not resume {prior.run_id[:12]}: its epoch checkpoint is torn; starting over"
        )
        return None
    for step, metrics in sorted(state.by_step().items()):
        run.log_metrics(metrics, step)
    run.set_tags({schema.RESUMED_FROM: prior.run_id, schema.RESUMED_EPOCH: str(state.epochs_done)})
    print(
        f"    resumed {prior.run_id[:12]} from epoch {state.epochs_done} of "
        f"{cfg.train.max_epochs} (its epochs 1-{state.epochs_done} kept)"
    )
    return _resume(run, tmp, start, state)


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except OSError:
        return None


def _resume(
    run: RunHandle, tmp: Path, start: Path | None = None, state: ResumeState | None = None
) -> Resume:
    """Epoch checkpoints of `run` written under `tmp`, each uploaded once its epoch is
    logged; continuing from `start` when given."""
    from lightning_modules.train import Resume

    def upload(path: Path, st: ResumeState) -> None:
        run.log_resume(path, st.to_json())

    return Resume(folder=tmp / "resume", sink=upload, start=start, state=state)


def _train_log_explain(
    run: RunHandle,
    parent_id: str,
    cfg: RunConfig,
    tmp: Path,
    callbacks: Sequence[Callback],
    resume: Resume | None = None,
) -> dict[str, float]:
    from ablate.runtime import quiet_libraries
    from ablate.sweep.confusion import confusion_csv, confusion_png
    from ablate.sweep.epoch_line import EpochLine
    from ablate.sweep.preemption import StopOnSignal
    from lightning_modules.datamodule import CifarDataModule
    from lightning_modules.train import fit_and_test

    quiet_libraries()  # again: importing Lightning (first here) resets its loggers to INFO

    dm = CifarDataModule(cfg.data, batch_size=cfg.train.batch_size, seed=cfg.seed)
    result = fit_and_test(
        cfg,
        tmp / "lightning",
        logger=run.epoch_logger(cfg.experiment),
        callbacks=[EpochLine(), StopOnSignal(), *callbacks],
        datamodule=dm,
        resume=resume or _resume(run, tmp),
    )
    metrics = dict(result.metrics)
    run.log_metrics(metrics)
    run.log_checkpoint(result.net, cfg, result.classes)
    cm_dir = tmp / schema.CONFUSION_DIR
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
    run.log_files(files, cm_dir, schema.CONFUSION_DIR)
    print(
        f"    test_acc {metrics['test_acc']:.4f}  best_val_acc {metrics['best_val_acc']:.4f}  "
        f"train {fmt_seconds(metrics['train_seconds'])} ({metrics['train_images_per_second']:.0f} img/s)"
    )
    if cfg.explain.enabled:
        metrics.update(_explain(run, parent_id, cfg, result.net, dm, result.classes, tmp))
    return metrics


def _explain(
    run: RunHandle,
    parent_id: str,
    cfg: RunConfig,
    net: torch.nn.Module,
    dm: CifarDataModule,
    classes: tuple[str, ...],
    tmp: Path,
) -> dict[str, float]:
    from explain.trained import explain_model

    out = tmp / schema.EXPLAIN_DIR
    result = explain_model(net, dm, classes, cfg.explain, out)
    # the same test indices in every run of the sweep: the first run to finish records
    # them on the parent (racing workers write the same content)
    run.tracker.log_parent_json_once(
        parent_id,
        schema.PROBE_JSON,
        {"test_indices": list(result.probe_indices), "per_class": cfg.explain.probe_per_class},
    )
    run.log_files(result.files, out, schema.EXPLAIN_DIR)
    metrics = dict(result.metrics)
    run.log_metrics(metrics)
    flagged = [k for k, v in result.flags.items() if v]
    run.flag_explanations(flagged)
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
            o.shown,
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
