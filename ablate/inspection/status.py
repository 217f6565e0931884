"""`ablate status SPACE`: where a sweep stands, read from MLflow (and the Optuna storage)."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

from ablate.runtime import console, fmt_seconds, table
from ablate.schedulers import STALE_SECONDS
from ablate.spaces import Space, expand, sweep_id
from ablate.store import ChildRun, RunState, Tracker, check_server, sqlite_path


@dataclass
class SweepStatus:
    parent: str | None
    expected: int  # points (grid) or trials (optuna)
    counts: Counter[str] = field(
        default_factory=Counter
    )  # done running failed pruned skipped pending
    best: ChildRun | None = None
    workers: dict[str, float] = field(default_factory=dict)  # worker -> seconds since last beat
    study: dict[str, int] = field(
        default_factory=dict
    )  # Optuna trial states, when a storage is given


def point_state(runs: list[ChildRun], now: float, stale_after: float) -> str:
    """One state per point from all its attempts: a success settles it."""
    states = {r.state for r in runs}
    for s in (RunState.FINISHED, RunState.SKIPPED, RunState.PRUNED):
        if s in states:
            return s.label
    if any(r.is_live(now, stale_after) for r in runs):
        return RunState.RUNNING.label
    return RunState.FAILED.label if runs else PENDING


PENDING = "pending"  # a point with no run yet: not a RunState


def sweep_status(
    space: Space, tracking_uri: str, storage: str | None, stale_after: float = STALE_SECONDS
) -> SweepStatus:
    now = time.time()
    if space.kind == "optuna":
        from ablate.spaces import space_hash, spec_of

        sid, expected = space_hash(space), len(expand(space)) * spec_of(space).n_trials
    else:
        points = expand(space)
        sid, expected = sweep_id(points), len(points)
    db = sqlite_path(tracking_uri)
    if db is not None and not db.exists():  # nothing recorded: create no store
        return SweepStatus(parent=None, expected=expected)
    if tracking_uri.startswith(("http://", "https://")):
        check_server(tracking_uri)
    tracker = Tracker(tracking_uri)
    parent = tracker.find_parent(space.experiment, sid)
    st = SweepStatus(parent=parent, expected=expected)
    children = tracker.children(parent) if parent else []
    by_key: dict[str, list[ChildRun]] = {}
    for c in children:
        by_key.setdefault(c.run_id if space.kind == "optuna" else c.key, []).append(c)
        if c.is_live(now, stale_after):
            worker = c.worker or "unknown"
            st.workers[worker] = min(st.workers.get(worker, 1e18), now - c.heartbeat)
        better = (
            st.best is None or c.metrics.get("best_val_acc", -1.0) > st.best.metrics["best_val_acc"]
        )
        if c.state == RunState.FINISHED and "best_val_acc" in c.metrics and better:
            st.best = c
    for runs in by_key.values():
        st.counts[point_state(runs, now, stale_after)] += 1
    settled = sum(st.counts[k] for k in ("done", "skipped", "pruned", "running"))
    st.counts["pending"] = max(0, expected - settled)
    if storage:
        st.study = study_counts(storage, space.experiment)
    return st


def study_counts(storage_url: str, experiment: str) -> dict[str, int]:
    import optuna

    from ablate.schedulers import open_storage

    storage = open_storage(storage_url)
    counts: Counter[str] = Counter()
    for summary in optuna.get_all_study_summaries(storage, include_best_trial=False):
        name = summary.study_name
        if (f".{experiment}." in name) and not name.endswith("::lock"):
            study = optuna.load_study(study_name=name, storage=storage)
            counts.update(t.state.name for t in study.get_trials(deepcopy=False))
    return dict(counts)


def print_status(space: Space, st: SweepStatus) -> None:
    if st.parent is None:
        console.print(
            f"{space.path}: no sweep recorded yet for experiment {space.experiment!r} ({st.expected} to run)."
        )
        return
    order = ("done", "running", "failed", "pruned", "skipped", "pending")
    table(
        f"{space.experiment}: sweep {st.parent}",
        [*order, "of"],
        [[*(st.counts.get(k, 0) for k in order), st.expected]],
    )
    if st.best is not None:
        b = st.best
        console.print(
            f"best so far: {b.tags.get('mlflow.runName', b.run_id)}  best_val_acc {b.metrics['best_val_acc']:.4f}"
            + (f"  test_acc {b.metrics['test_acc']:.4f}" if "test_acc" in b.metrics else "")
            + f"  (run {b.run_id})"
        )
    if st.workers:
        console.print(
            "workers seen recently: "
            + ", ".join(f"{w} ({fmt_seconds(s)} ago)" for w, s in sorted(st.workers.items()))
        )
    else:
        console.print("workers seen recently: none")
    if st.study:
        console.print(
            "Optuna trials: " + ", ".join(f"{k.lower()} {v}" for k, v in sorted(st.study.items()))
        )
