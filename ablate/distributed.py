"""Grid sweeps shared by many workers through an Optuna storage (the ledger).

Every worker runs the same command. Under a storage-wide lock the first one
to arrive creates the MLflow parent run, records invalid points as skipped
and enqueues one trial per point; every worker then claims trials one at a
time until none is waiting and none is running. Crashed workers' trials go
stale, are failed, and their points are enqueued again.
"""

from __future__ import annotations

import time
from pathlib import Path

import optuna
from optuna.trial import TrialState

from ablate import ledger
from ablate.console import SweepProgress
from ablate.liveness import worker_id
from ablate.orchestrate import (
    Outcome,
    SweepOptions,
    check_data_sources,
    fail_stale_runs,
    run_point,
)
from ablate.spaces import Point, Space, expand, sweep_id
from ablate.tracking import Tracker

PARENT_ATTR = "ablate.mlflow_parent_run_id"


def setup_parent(
    tracker: Tracker, study: optuna.Study, space: Space, sid: str, opts: SweepOptions, points: int
) -> str:
    """The sweep's one parent run, shared by all workers: created once, under the lock."""
    parent = study.user_attrs.get(PARENT_ATTR)
    if parent and tracker.run_exists(parent):
        tracker.client.update_run(parent, status="RUNNING")
        return str(parent)
    parent, _ = tracker.start_parent(
        space.experiment,
        sid,
        name=f"{space.experiment} sweep",
        space_file=Path(space.path),
        command=opts.command,
        summary={
            "space": space.path,
            "points": points,
            "design": space.design(),
            "description": space.description,
            "storage": study.study_name,
        },
    )
    study.set_user_attr(PARENT_ATTR, parent)
    return parent


def release_stale(tracker: Tracker, study: optuna.Study, parent: str, stale_after: float) -> int:
    """Fail trials whose worker died, and MLflow runs with no heartbeat under `parent`.

    The MLflow side is checked on its own: a worker can die after creating its run
    but before recording the run id on its trial.
    """
    failed = ledger.fail_stale(study, stale_after)
    for t in failed:
        rid = t.user_attrs.get(ledger.MLFLOW_RUN)
        if rid and tracker.run_exists(rid):
            reason = f"worker {t.user_attrs.get(ledger.WORKER)} stopped beating"
            tracker.set_tags(rid, {"ablate.fail_reason": reason})
            tracker.end(rid, "failed")
    fail_stale_runs(tracker, tracker.children(parent), stale_after)
    return len(failed)


def run_grid_queue(space: Space, opts: SweepOptions) -> tuple[str, list[Outcome]]:
    """Work on a grid sweep until every point is finished (by this or another worker)."""
    from lightning_modules.models import invalid_reason

    assert opts.storage is not None
    points = expand(space)
    check_data_sources(points)
    sid = sweep_id(points)
    tracker = Tracker(opts.tracking_uri)
    storage = ledger.open_storage(opts.storage)
    name = f"ablate.grid.{space.experiment}.{sid}"
    study = ledger.open_study(storage, name)
    by_key = {p.config.key(): p for p in points}
    with ledger.study_lock(storage, name):
        parent = setup_parent(tracker, study, space, sid, opts, len(points))
        release_stale(tracker, study, parent, opts.stale_after)
        recorded = {c.key for c in tracker.children(parent) if c.state == "skipped"}
        valid = []
        for p in points:
            reason = invalid_reason(p.config.model)
            if reason is None:
                valid.append((p.config.key(), p.index, p.label))
            elif p.config.key() not in recorded:
                tracker.skip(parent, p.config, p.label, reason)
        queued = ledger.enqueue_missing(study, valid)
    print(
        f"Sweep {parent} ({len(points)} points) on {opts.storage}: {queued} points queued now, worker {worker_id()}."
    )
    progress = SweepProgress(len(points))
    mine: list[Outcome] = []
    while True:
        trial = ledger.claim(study)
        if trial is None:
            if release_stale(tracker, study, parent, opts.stale_after):
                with ledger.study_lock(storage, name):
                    ledger.enqueue_missing(study, valid)
                continue
            if study.get_trials(deepcopy=False, states=(TrialState.RUNNING, TrialState.WAITING)):
                time.sleep(opts.poll_seconds)  # others are still working: wait, then look again
                continue
            break
        mine.append(_run_claimed(tracker, study, parent, by_key, trial, progress, opts))
    tracker.end(parent, "finished" if all(o.ok for o in mine) else "failed")
    return parent, mine


def _run_claimed(
    tracker: Tracker,
    study: optuna.Study,
    parent: str,
    by_key: dict[str, Point],
    trial: optuna.trial.FrozenTrial,
    progress: SweepProgress,
    opts: SweepOptions,
) -> Outcome:
    point = by_key[trial.user_attrs[ledger.KEY]]
    tid = trial._trial_id
    progress.start(point.index + 1, point.label, 0)
    tags = {
        "optuna.study": study.study_name,
        "optuna.trial_number": str(trial.number),
    }
    outcome = Outcome(point.label, "failed")
    try:
        outcome = run_point(
            tracker,
            parent,
            point.config,
            point.label,
            workdir=opts.workdir,
            extra_tags=tags,
            on_start=lambda rid: study._storage.set_trial_user_attr(tid, ledger.MLFLOW_RUN, rid),
            heartbeat_seconds=opts.heartbeat_seconds,
            also_beat=lambda: ledger.beat(study, tid),
        )
    finally:
        state = TrialState.COMPLETE if outcome.state == "finished" else TrialState.FAIL
        ledger.finish(study, tid, state, outcome.metrics.get("best_val_acc", 0.0))
        if outcome.run_id:
            tracker.set_tags(outcome.run_id, {"optuna.state": state.name})
    if outcome.state == "finished":
        progress.done(outcome.seconds)
    return outcome
