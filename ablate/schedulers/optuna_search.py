"""Optuna sweeps: one study per scientific point, nuisance parameters tuned in each.

Every trial is a child run of the sweep's one parent (shared by all workers
through the anchor study's user attributes), tagged with the study, trial number
and state; pruned trials are marked with the epoch. The parent records, per
scientific point, the best trial and its nuisance setting (`best.json`).

With `confirm_seeds: N` (3 by default where the space has `scientific:`), each study's
best setting is then trained on N fresh seeds (`ablate.schedulers.confirm`), and
best.json gains, per scientific value, the mean and interval over those runs.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import optuna
from optuna.trial import TrialState

from ablate.runtime import table
from ablate.schedulers import ledger
from ablate.schedulers.confirm import Confirmations, ConfirmTicket
from ablate.schedulers.jobs import Job, Outcome, Settled, SweepOptions
from ablate.schedulers.optuna_adapter import StudyHandle
from ablate.schedulers.reaping import fail_stale_runs, open_shared_parent, release_stale
from ablate.spaces import (
    OptunaSpec,
    Point,
    Space,
    build_config,
    expand,
    space_hash,
    spec_of,
)
from ablate.store import RunState, Tracker, mask_password, schema, worker_id

DEFAULT_STORAGE = f"journal:{ledger.DEFAULT_JOURNAL}"
TRIAL_STATE = {RunState.FINISHED: TrialState.COMPLETE, RunState.PRUNED: TrialState.PRUNED}


def make_sampler(spec: OptunaSpec) -> optuna.samplers.BaseSampler:
    seed = spec.sampler_seed
    if spec.sampler == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if spec.sampler == "grid":
        return optuna.samplers.GridSampler(spec.grid_space(), seed=seed)
    if spec.sampler == "cmaes":
        return optuna.samplers.CmaEsSampler(seed=seed)
    return optuna.samplers.TPESampler(seed=seed)


def make_pruner(spec: OptunaSpec, max_epochs: int) -> optuna.pruners.BasePruner:
    if spec.pruner == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=spec.warmup_epochs)
    if spec.pruner == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=max_epochs)
    return optuna.pruners.NopPruner()


def trial_label(values: dict[str, Any], number: int) -> str:
    return " ".join(
        [
            f"{k.split('.')[-1]}={v:.3g}" if isinstance(v, float) else f"{k.split('.')[-1]}={v}"
            for k, v in values.items()
        ]
        + [f"trial={number}"]
    )


@dataclass
class AskedLease:
    """A trial asked from a study: it learns its MLflow run and beats with it."""

    study: StudyHandle
    trial: optuna.Trial

    def bind(self, run_id: str) -> None:
        self.trial.set_user_attr(ledger.MLFLOW_RUN, run_id)

    def beat(self) -> None:
        ledger.beat(self.study, self.trial.number)


class OptunaSearch:
    def __init__(self, space: Space, opts: SweepOptions, tracker: Tracker) -> None:
        self.space, self.opts, self.tracker = space, opts, tracker
        self.spec = spec_of(space)
        self.storage_url = opts.storage or DEFAULT_STORAGE
        self.scientific = expand(space)  # one point per scientific value (no scientific: one)
        # trials, then confirmation runs, of every study
        self.total = len(self.scientific) * (self.spec.n_trials + self.spec.confirm_seeds)
        self.storage = ledger.open_storage(self.storage_url)
        self.sid = space_hash(space)
        self.root = schema.optuna_study_root(space.experiment, self.sid)
        self.anchor = ledger.open_study(self.storage, self.root)  # holds the parent run id
        self.confirm = (
            Confirmations(
                space,
                self.spec,
                self.scientific,
                self.storage,
                self.root,
                tracker,
                opts.stale_after,
            )
            if self.spec.confirm_seeds
            else None
        )
        self._planned: set[int] = set()  # scientific points whose confirmation is queued
        self._point = -1  # index into self.scientific of the study being tuned
        self._study: StudyHandle | None = None
        self._started_at = 0.0
        self.started = 0  # trials started by this process
        self.best: dict[str, Any] = {}

    def open(self) -> str:
        with ledger.study_lock(self.storage, self.root):
            self.parent = open_shared_parent(
                self.tracker,
                self.anchor,
                self.space,
                self.sid,
                self.opts.command,
                self.total,
            )
        print(
            f"Optuna sweep {self.parent}: {len(self.scientific)} scientific point(s) x "
            f"{self.spec.n_trials} trials on {mask_password(self.storage_url)}."
        )
        return self.parent

    def classify(self, exc: BaseException) -> RunState | None:
        """A trial stopped by the pruner (the callback raises `TrialPruned`) is PRUNED."""
        return RunState.PRUNED if isinstance(exc, optuna.TrialPruned) else None

    def reap(self) -> None:
        if self._study is not None:
            release_stale(self.tracker, self._study, self.parent, self.opts.stale_after)
        else:
            fail_stale_runs(self.tracker, self.tracker.children(self.parent), self.opts.stale_after)
        if self.confirm is not None and self._planned:
            self.confirm.reap(self.parent)

    def _advance(self) -> bool:
        """Record the best of the study just tuned; open the next one. False at the end."""
        if self._study is not None:
            self._record_best()  # kept current on the parent after every study
        self._point += 1
        if self._point >= len(self.scientific):
            self._study = None
            return False
        point = self.scientific[self._point]
        self._study = ledger.open_study(
            self.storage,
            f"{self.root}.{point.config.key()}",
            direction=self.spec.direction,
            sampler=make_sampler(self.spec),
            pruner=make_pruner(self.spec, point.config.train.max_epochs),
        )
        self._started_at = time.time()
        return True

    def next(self) -> Job | Settled | None:
        while True:
            if self._study is None and not self._advance():
                return self._drain()
            assert self._study is not None
            self.reap()
            trial, study_done = self._ask(self._study)
            if study_done and self.confirm is not None:
                if self._running(self._study):  # timed out: the best is known once they end
                    time.sleep(self.opts.poll_seconds)
                    continue
                if self._point not in self._planned:
                    self.confirm.plan(self._point, self._study, self.parent)
                    self._planned.add(self._point)
                job = self._confirm_job()
                if job is not None:
                    return job
            if study_done:
                if not self._advance():
                    return self._drain()
                continue
            if trial is None:
                time.sleep(self.opts.poll_seconds)  # the last trials run elsewhere: wait
                continue
            return self._job(self._study, trial)

    def _drain(self) -> Job | None:
        """After the last study: confirmation runs still waiting (left by a worker that
        died, or queued by another); wait while others run theirs, as a shared grid does,
        so that a run whose worker dies is taken over. None when none is left."""
        if self.confirm is None:
            return None
        while True:
            self.reap()
            job = self._confirm_job()
            if job is not None:
                return job
            if not self.confirm.busy():
                return None
            time.sleep(self.opts.poll_seconds)

    def _confirm_job(self) -> Job | None:
        assert self.confirm is not None
        job = self.confirm.claim(self.started + 1, self.total - self.started)
        if job is not None:
            self.started += 1
        return job

    @staticmethod
    def _running(study: StudyHandle) -> bool:
        return bool(study.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)))

    def _ask(self, study: StudyHandle) -> tuple[optuna.Trial | None, bool]:
        """A new trial, or (None, True) when the study has its n_trials, or (None, False)
        when the last ones are running elsewhere. Counted and asked under the lock: two
        workers seeing "one trial left" must not both start one."""
        done_states = (TrialState.COMPLETE, TrialState.PRUNED)
        with ledger.study_lock(self.storage, study.name):
            trials = study.study.get_trials(deepcopy=False)
            done = sum(t.state in done_states for t in trials)
            running = sum(t.state == TrialState.RUNNING for t in trials)
            timed_out = self.spec.timeout and time.time() - self._started_at > self.spec.timeout
            if done >= self.spec.n_trials or timed_out:
                return None, True
            if done + running >= self.spec.n_trials:
                return None, False
            trial = study.study.ask()
            ledger.beat(study, trial.number)
            trial.set_user_attr(ledger.WORKER, worker_id())
            return trial, False

    def _job(self, study: StudyHandle, trial: optuna.Trial) -> Job:
        from optuna_integration import PyTorchLightningPruningCallback

        point = self.scientific[self._point]
        values = {
            **point.values,
            **{k: d.suggest(trial, k) for k, d in self.spec.params.items()},
        }
        cfg = build_config(self.space, values, self.spec.seed)
        self.started += 1
        tags = {
            schema.OPTUNA_STUDY: study.name,
            schema.OPTUNA_TRIAL: str(trial.number),
            schema.SCIENTIFIC: point.label,
        }
        callbacks = (
            [PyTorchLightningPruningCallback(trial, monitor="val_acc")]
            if self.spec.pruner != "none"
            else []
        )
        return Job(
            cfg,
            trial_label(values, trial.number),
            self.started,
            self.total - self.started + 1,
            tags,
            callbacks,
            AskedLease(study, trial),
            handle=trial,
        )

    def record(self, job: Job, outcome: Outcome) -> None:
        if isinstance(job.handle, ConfirmTicket):
            assert self.confirm is not None
            self.confirm.record(job, outcome)
            self._record_best()  # best.json's confirmation numbers, current after every run
            return
        assert self._study is not None
        state = TRIAL_STATE.get(outcome.state, TrialState.FAIL)
        value = outcome.metrics.get(self.spec.metric) if state == TrialState.COMPLETE else None
        if state == TrialState.COMPLETE and value is None:
            state = TrialState.FAIL  # a skipped (invalid) config has no value
        try:
            self._study.study.tell(
                job.handle, value if state == TrialState.COMPLETE else None, state=state
            )
        except (RuntimeError, ValueError) as e:  # failed as stale by another worker meanwhile
            print(f"    could not record trial {job.handle.number}: {e}")
        if outcome.run_id:
            self.tracker.set_tags(outcome.run_id, {schema.OPTUNA_STATE: state.name})

    def close(self) -> None:
        if self.confirm is not None:
            self._record_best()  # a rerun with nothing left to train still writes them
        if not self.best:
            return
        metric = self.spec.metric
        rows = [
            [label, f"{b['best_value']:.4f}", json.dumps(b["best_params"]), b["trials"]]
            + ([_confirmed(b.get("confirmation", {}).get(metric))] if self.confirm else [])
            for label, b in self.best.items()
        ]
        confirmed = [f"{metric} over confirmation seeds (95% CI)"] if self.confirm else []
        table(
            f"Best {metric} per scientific point",
            ["point", metric, "best nuisance setting", "trials", *confirmed],
            rows,
        )

    def _record_best(self) -> None:
        """Per scientific value, its best nuisance setting: best.json and best.* metrics
        on the parent."""
        self.best = best_by_point(self.storage, self.root, self.scientific)
        if not self.best:
            return
        if self.confirm is not None:
            for label, confirmation in self.confirm.summary(self.parent).items():
                if label in self.best:
                    self.best[label]["confirmation"] = confirmation
        spec = self.spec
        payload = {"metric": spec.metric, "direction": spec.direction, "points": self.best}
        self.tracker.log_parent_json(self.parent, schema.BEST_JSON, payload)
        self.tracker.log_metrics(
            self.parent,
            {
                f"best.{label.replace('=', '_').replace(' ', '.')}.{spec.metric}": b["best_value"]
                for label, b in self.best.items()
            },
        )


def _confirmed(iv: dict[str, Any] | None) -> str:
    """'0.4210 (0.3984 to 0.4436, 3 seeds)' for the summary table."""
    if not iv or not iv.get("n"):
        return "-"
    seeds = f"{iv['n']} seed" + ("" if iv["n"] == 1 else "s")
    if iv.get("lo") is None:
        return f"{iv['mean']:.4f} ({seeds})"
    return f"{iv['mean']:.4f} ({iv['lo']:.4f} to {iv['hi']:.4f}, {seeds})"


def best_by_point(
    storage: optuna.storages.BaseStorage, root: str, scientific: list[Point]
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for point in scientific:
        try:
            study = optuna.load_study(study_name=f"{root}.{point.config.key()}", storage=storage)
            best = study.best_trial
        except (KeyError, ValueError):
            continue  # no study yet, or no completed trial
        out[point.label] = {
            "scientific": point.values,
            "best_value": best.value,
            "best_params": best.params,
            "trial": best.number,
            "mlflow_run_id": best.user_attrs.get(ledger.MLFLOW_RUN),
            "trials": len(
                study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED))
            ),
        }
    return out
