"""A grid sweep shared by many workers through an Optuna storage (the ledger).

Every worker runs the same command. Under a storage-wide lock the first one
to arrive creates the MLflow parent run, records invalid points as skipped
and enqueues one trial per point; every worker then claims trials one at a
time until none is waiting and none is running. Crashed workers' trials go
stale, are failed, and their points are enqueued again.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from optuna.trial import FrozenTrial, TrialState

from ablate.schedulers import ledger
from ablate.schedulers.jobs import Job, Outcome, Settled, SweepOptions
from ablate.schedulers.optuna_adapter import StudyHandle
from ablate.schedulers.reaping import open_shared_parent, release_stale
from ablate.spaces import Space, expand, sweep_id
from ablate.store import RunState, Tracker, mask_password, schema, worker_id


@dataclass
class TrialLease:
    """A claimed trial: it learns its MLflow run and beats with it."""

    study: StudyHandle
    number: int

    def bind(self, run_id: str) -> None:
        self.study.set_user_attr(self.number, ledger.MLFLOW_RUN, run_id)

    def beat(self) -> None:
        ledger.beat(self.study, self.number)


class SharedQueue:
    def __init__(self, space: Space, opts: SweepOptions, tracker: Tracker) -> None:
        assert opts.storage is not None
        self.space, self.opts, self.tracker = space, opts, tracker
        self._points = expand(space)
        self.total = len(self._points)
        self.sid = sweep_id(self._points)
        self.by_key = {p.config.key(): p for p in self._points}
        self.storage = ledger.open_storage(opts.storage)
        self.name = schema.grid_study_name(space.experiment, self.sid)
        self.study = ledger.open_study(self.storage, self.name)
        self._valid: list[tuple[str, int, str]] | None = None  # (key, index, label) once queued

    def open(self) -> str:
        with ledger.study_lock(self.storage, self.name):
            self.parent = open_shared_parent(
                self.tracker,
                self.study,
                self.space,
                self.sid,
                self.opts.command,
                self.total,
            )
        return self.parent

    def classify(self, exc: BaseException) -> RunState | None:
        return None  # a grid raises nothing of its own

    def reap(self) -> None:
        """Fail what dead workers left; (re)enqueue every point not done or in hand."""
        release_stale(self.tracker, self.study, self.parent, self.opts.stale_after)
        first = self._valid is None
        with ledger.study_lock(self.storage, self.name):
            if self._valid is None:
                self._valid = self._record_invalid()
            queued = ledger.enqueue_missing(self.study, self._valid)
        if first:
            where = mask_password(self.opts.storage or "")
            print(
                f"Sweep {self.parent} ({self.total} points) on {where}: "
                f"{queued} points queued now, worker {worker_id()}."
            )

    def _record_invalid(self) -> list[tuple[str, int, str]]:
        """Invalid points are recorded as skipped once, by whichever worker comes first."""
        from lightning_modules.shapes import invalid_reason

        recorded = {
            c.key for c in self.tracker.children(self.parent) if c.state == RunState.SKIPPED
        }
        valid = []
        for p in self._points:
            reason = invalid_reason(p.config.model)
            if reason is None:
                valid.append((p.config.key(), p.index, p.label))
            elif p.config.key() not in recorded:
                self.tracker.skip(self.parent, p.config, p.label, reason)
        return valid

    def next(self) -> Job | Settled | None:
        while True:
            trial = ledger.claim(self.study)
            if trial is not None:
                return self._job(trial)
            if release_stale(self.tracker, self.study, self.parent, self.opts.stale_after):
                assert self._valid is not None
                with ledger.study_lock(self.storage, self.name):
                    ledger.enqueue_missing(self.study, self._valid)
                continue
            busy = (TrialState.RUNNING, TrialState.WAITING)
            if self.study.study.get_trials(deepcopy=False, states=busy):
                time.sleep(self.opts.poll_seconds)  # others are still working: wait, look again
                continue
            return None

    def _job(self, trial: FrozenTrial) -> Job:
        point = self.by_key[trial.user_attrs[ledger.KEY]]
        tags = {schema.OPTUNA_STUDY: self.name, schema.OPTUNA_TRIAL: str(trial.number)}
        lease = TrialLease(self.study, trial.number)
        return Job(point.config, point.label, point.index + 1, 0, tags, lease=lease, handle=trial)

    def record(self, job: Job, outcome: Outcome) -> None:
        state = TrialState.COMPLETE if outcome.state is RunState.FINISHED else TrialState.FAIL
        ledger.finish(
            self.study, job.handle.number, state, outcome.metrics.get("best_val_acc", 0.0)
        )
        if outcome.run_id:
            self.tracker.set_tags(outcome.run_id, {schema.OPTUNA_STATE: state.name})

    def close(self) -> None:
        pass
