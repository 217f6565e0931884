"""A grid sweep shared by many workers through an Optuna storage (the ledger).

Every worker runs the same command. Under a storage-wide lock the first one
to arrive creates the MLflow parent run, records invalid points as skipped
and enqueues one trial per point; every worker then claims trials one at a
time until none is waiting and none is running. Crashed workers' trials go
stale, are failed, and their points are enqueued again.

A sweep that stops when settled queues seed blocks: blocks 1 to `min` at once, then one
block per look. A worker that finds nothing waiting while others still run the block
waits (the block barrier); the first that finds the block done looks (`Judge`), under
the lock, and queues the next block or stops. A worker that comes after it finds that
block queued, or, at a stop, looks again and gets the same answer from the same runs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from optuna.trial import FrozenTrial, TrialState

from ablate.schedulers import ledger
from ablate.schedulers.jobs import Job, Judge, Outcome, Settled, SweepOptions
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
    def __init__(
        self, space: Space, opts: SweepOptions, tracker: Tracker, judge: Judge | None = None
    ) -> None:
        assert opts.storage is not None
        assert space.until is None or judge is not None, "a settling sweep needs a judge"
        self.space, self.opts, self.tracker, self.judge = space, opts, tracker, judge
        self._points = expand(space)
        self.total = len(self._points)
        self.sid = sweep_id(self._points, space.until)
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
            blocks = self._planned()
            if self._valid is None:
                self._valid = self._record_invalid(blocks)
            queued = ledger.enqueue_missing(self.study, self._queueable(blocks))
        if first:
            where = mask_password(self.opts.storage or "")
            print(
                f"Sweep {self.parent} ({self.total} points) on {where}: "
                f"{queued} points queued now, worker {worker_id()}."
            )

    def _planned(self) -> int | None:
        """Seed blocks queued so far of a sweep that stops when settled (at least `min`);
        None for a fixed sweep (every point is queued). Read from the queue's trials."""
        rule = self.space.until
        if rule is None:
            return None
        queued = [
            self._points[int(i)].seed
            for t in self.study.study.get_trials(deepcopy=False)
            if (i := t.user_attrs.get(ledger.INDEX)) is not None and int(i) < self.total
        ]
        return min(rule.max, max([rule.min, *(s + 1 for s in queued)]))

    def _queueable(self, blocks: int | None, only: int | None = None) -> list[tuple[str, int, str]]:
        """The valid points of the first `blocks` seed blocks (all when None); of block
        `only` (0-based seed position) alone when given."""
        assert self._valid is not None
        if blocks is None:
            return self._valid
        seed_of = [p.seed for p in self._points]
        if only is not None:
            return [v for v in self._valid if seed_of[v[1]] == only]
        return [v for v in self._valid if seed_of[v[1]] < blocks]

    def _next_block(self) -> bool:
        """Nothing waiting or running: the queued blocks are done. Look (under the lock)
        and queue the next block; False when the sweep stops here."""
        assert self.judge is not None and self.space.until is not None
        busy = (TrialState.RUNNING, TrialState.WAITING)
        with ledger.study_lock(self.storage, self.name):
            if self.study.study.get_trials(deepcopy=False, states=busy):
                return True  # another worker looked first and queued the next block
            blocks = self._planned()
            assert blocks is not None
            if self.judge(self.parent, blocks) or blocks >= self.space.until.max:
                return False
            self._record_invalid(blocks + 1)
            ledger.enqueue_missing(self.study, self._queueable(blocks + 1, only=blocks))
        return True

    def _record_invalid(self, blocks: int | None = None) -> list[tuple[str, int, str]]:
        """Invalid points are recorded as skipped once, by whichever worker comes first
        (of a settling sweep, those of the first `blocks` seed blocks only)."""
        from lightning_modules.shapes import invalid_reason

        recorded = {
            c.key for c in self.tracker.children(self.parent) if c.state == RunState.SKIPPED
        }
        valid = []
        for p in self._points:
            reason = invalid_reason(p.config.model)
            if reason is None:
                valid.append((p.config.key(), p.index, p.label))
            elif p.config.key() not in recorded and (blocks is None or p.seed < blocks):
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
                    ledger.enqueue_missing(self.study, self._queueable(self._planned()))
                continue
            busy = (TrialState.RUNNING, TrialState.WAITING)
            if self.study.study.get_trials(deepcopy=False, states=busy):
                time.sleep(self.opts.poll_seconds)  # others are still working: wait, look again
                continue
            if self.judge is not None and self._next_block():
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
