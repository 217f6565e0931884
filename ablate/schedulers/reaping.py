"""Finding a sweep's parent and failing runs whose worker is gone, for every scheduler.

The rule for "gone" is `ablate.store.liveness.is_stale` (no heartbeat for `stale_after`
seconds, or a dead process on this very machine); `ChildRun.is_dead` and
`ablate.schedulers.ledger.fail_stale` apply it to MLflow runs and Optuna trials.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from ablate.schedulers.ledger import MLFLOW_RUN, WORKER, fail_stale
from ablate.schedulers.optuna_adapter import StudyHandle
from ablate.spaces import Space
from ablate.store import ChildRun, RunState, Tracker, schema

PARENT_ATTR = schema.PARENT_ATTR  # the anchor study's attribute that holds the parent run id


def classify(children: Sequence[ChildRun], now: float, stale_after: float) -> dict[str, ChildRun]:
    """Per run key, the child that settles it: finished/skipped wins, then a live run."""
    best: dict[str, ChildRun] = {}
    for c in children:
        if c.settles or c.is_live(now, stale_after):
            prev = best.get(c.key)
            if prev is None or prev.state == RunState.RUNNING:
                best[c.key] = c
    return best


def fail_stale_runs(tracker: Tracker, children: Sequence[ChildRun], stale_after: float) -> int:
    """Mark RUNNING children whose worker is gone as failed, so that their points run
    again. Returns how many."""
    now, n = time.time(), 0
    for c in children:
        if c.is_dead(now, stale_after):
            tracker.run(c.run_id).lost(c.worker)
            n += 1
    return n


def release_stale(tracker: Tracker, study: StudyHandle, parent: str, stale_after: float) -> int:
    """Fail trials whose worker died, their MLflow runs, and MLflow runs with no heartbeat
    under `parent`. Returns how many trials were failed.

    The MLflow side is checked on its own: a worker can die after creating its run
    but before recording the run id on its trial.
    """
    failed = fail_stale(study, stale_after)
    for t in failed:
        rid = t.user_attrs.get(MLFLOW_RUN)
        if rid and tracker.run_exists(rid):
            tracker.run(rid).lost(str(t.user_attrs.get(WORKER)))
    fail_stale_runs(tracker, tracker.children(parent), stale_after)
    return len(failed)


def open_shared_parent(
    tracker: Tracker,
    anchor: StudyHandle,
    space: Space,
    sid: str,
    command: str,
    points: int,
) -> str:
    """The sweep's one parent run, shared by all workers through the anchor study's user
    attributes: created by the first worker, reopened by the others. Call under the lock.
    `points`: how many runs the sweep plans (grid points, or trials in all)."""
    parent = anchor.study.user_attrs.get(PARENT_ATTR)
    if parent and tracker.run_exists(parent):
        tracker.reopen(parent)
        return str(parent)
    parent, _ = tracker.start_parent(
        space.experiment,
        sid,
        name=f"{space.experiment} sweep",
        space_file=Path(space.path),
        command=command,
        summary={
            "space": space.path,
            "points": points,
            "description": space.description,
            "design": space.design(),
            "storage": anchor.name,
        },
    )
    anchor.study.set_user_attr(PARENT_ATTR, parent)
    return parent
