"""Optuna sweeps: one study per scientific point, nuisance parameters tuned in each.

Every trial is a child run of the sweep's one parent (shared by all workers
through the study's user attributes), tagged with the study, trial number and
state; pruned trials are marked with the epoch. The parent records, per
scientific point, the best trial and its nuisance setting (`best.json`).
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

import optuna
from optuna.trial import TrialState

from ablate import ledger
from ablate.console import SweepProgress, table
from ablate.distributed import release_stale, setup_parent
from ablate.liveness import worker_id
from ablate.optuna_spaces import Dist, OptunaSpec, spec_of
from ablate.orchestrate import Outcome, SweepOptions, check_data_sources, run_point
from ablate.spaces import Point, Space, build_config, expand
from ablate.tracking import Tracker

DEFAULT_STORAGE = f"journal:{ledger.DEFAULT_JOURNAL}"


def space_hash(space: Space) -> str:
    """Identity of an Optuna sweep: its resolved base, scientific grid and spec."""
    spec = spec_of(space)
    doc = {
        "base": space.base,
        "grid": space.grid,
        "spec": repr(spec),
        "experiment": space.experiment,
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()[:16]


def make_sampler(spec: OptunaSpec) -> optuna.samplers.BaseSampler:
    seed = spec.sampler_seed
    if spec.sampler == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if spec.sampler == "grid":
        return optuna.samplers.GridSampler(
            {k: list(d.choices) for k, d in spec.params.items()}, seed=seed
        )
    if spec.sampler == "cmaes":
        return optuna.samplers.CmaEsSampler(seed=seed)
    return optuna.samplers.TPESampler(seed=seed)


def make_pruner(spec: OptunaSpec, max_epochs: int) -> optuna.pruners.BasePruner:
    if spec.pruner == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=spec.warmup_epochs)
    if spec.pruner == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=max_epochs)
    return optuna.pruners.NopPruner()


def suggest(trial: optuna.Trial, key: str, d: Dist) -> Any:
    if d.kind == "categorical":
        return trial.suggest_categorical(key, list(d.choices))
    if d.kind == "int":
        return trial.suggest_int(key, int(d.low), int(d.high), step=int(d.step or 1), log=d.log)
    return trial.suggest_float(key, d.low, d.high, step=d.step, log=d.log)


def run_optuna(space: Space, opts: SweepOptions) -> list[Outcome]:
    spec = spec_of(space)
    storage_url = opts.storage or DEFAULT_STORAGE
    scientific = expand(space)  # one point per scientific value (no scientific: one point)
    check_data_sources(scientific)
    tracker = Tracker(opts.tracking_uri)
    storage = ledger.open_storage(storage_url)
    sid = space_hash(space)
    root = f"ablate.optuna.{space.experiment}.{sid}"
    anchor = ledger.open_study(storage, root)  # holds the parent run id for every worker
    with ledger.study_lock(storage, root):
        parent = setup_parent(tracker, anchor, space, sid, opts, len(scientific) * spec.n_trials)
    print(
        f"Optuna sweep {parent}: {len(scientific)} scientific point(s) x {spec.n_trials} trials on {storage_url}."
    )
    outcomes: list[Outcome] = []
    best: dict[str, Any] = {}
    progress = SweepProgress(len(scientific) * spec.n_trials)
    for point in scientific:
        study = ledger.open_study(
            storage,
            f"{root}.{point.config.key()}",
            direction=spec.direction,
            sampler=make_sampler(spec),
            pruner=make_pruner(spec, point.config.train.max_epochs),
        )
        outcomes += _tune_point(tracker, study, parent, space, spec, point, progress, opts)
        best = _record_best(tracker, storage, root, parent, scientific, spec)  # kept current
    if best:
        rows = [
            [label, f"{b['best_value']:.4f}", json.dumps(b["best_params"]), b["trials"]]
            for label, b in best.items()
        ]
        table(
            f"Best {spec.metric} per scientific point",
            ["point", spec.metric, "best nuisance setting", "trials"],
            rows,
        )
    tracker.end(parent, "finished" if all(o.ok for o in outcomes) else "failed")
    return outcomes


def _tune_point(
    tracker: Tracker,
    study: optuna.Study,
    parent: str,
    space: Space,
    spec: OptunaSpec,
    point: Point,
    progress: SweepProgress,
    opts: SweepOptions,
) -> list[Outcome]:
    from optuna_integration import PyTorchLightningPruningCallback

    done_states = (TrialState.COMPLETE, TrialState.PRUNED)
    started = time.time()
    outcomes: list[Outcome] = []
    while True:
        release_stale(tracker, study, parent, opts.stale_after)
        # count and ask under the lock: two workers seeing "one trial left" must not
        # both start one (the budget is exactly n_trials finished trials)
        with ledger.study_lock(study._storage, study.study_name):
            trials = study.get_trials(deepcopy=False)
            done = sum(t.state in done_states for t in trials)
            running = sum(t.state == TrialState.RUNNING for t in trials)
            if done >= spec.n_trials or (spec.timeout and time.time() - started > spec.timeout):
                return outcomes
            trial = study.ask() if done + running < spec.n_trials else None
            if trial is not None:
                ledger.beat(study, trial._trial_id)
                trial.set_user_attr(ledger.WORKER, worker_id())
        if trial is None:
            time.sleep(opts.poll_seconds)  # the last trials run elsewhere: wait for them
            continue
        tid = trial._trial_id
        values = {**point.values, **{k: suggest(trial, k, d) for k, d in spec.params.items()}}
        cfg = build_config(space, values, spec.seed)
        label = " ".join(
            [
                f"{k.split('.')[-1]}={v:.3g}" if isinstance(v, float) else f"{k.split('.')[-1]}={v}"
                for k, v in values.items()
            ]
            + [f"trial={trial.number}"]
        )
        progress.start(progress.started + 1, label, progress.total - progress.started)
        tags = {
            "optuna.study": study.study_name,
            "optuna.trial_number": str(trial.number),
            "ablate.scientific": point.label,
        }
        pruning = (
            PyTorchLightningPruningCallback(trial, monitor="val_acc")
            if spec.pruner != "none"
            else None
        )

        def beat(tid: int = tid) -> None:
            ledger.beat(study, tid)

        def remember(rid: str, trial: optuna.Trial = trial) -> None:
            trial.set_user_attr(ledger.MLFLOW_RUN, rid)

        try:
            outcome = run_point(
                tracker,
                parent,
                cfg,
                label,
                workdir=opts.workdir,
                extra_tags=tags,
                callbacks=[pruning] if pruning else [],
                on_start=remember,
                heartbeat_seconds=opts.heartbeat_seconds,
                also_beat=beat,
            )
        except BaseException:
            study.tell(trial, state=TrialState.FAIL)
            raise
        state = {"finished": TrialState.COMPLETE, "pruned": TrialState.PRUNED}.get(
            outcome.state, TrialState.FAIL
        )
        value = outcome.metrics.get(spec.metric) if state == TrialState.COMPLETE else None
        if state == TrialState.COMPLETE and value is None:
            state = TrialState.FAIL  # a skipped (invalid) config has no value
        try:
            study.tell(trial, value if state == TrialState.COMPLETE else None, state=state)
        except (RuntimeError, ValueError) as e:  # failed as stale by another worker meanwhile
            print(f"    could not record trial {trial.number}: {e}")
        if outcome.run_id:
            tracker.set_tags(outcome.run_id, {"optuna.state": state.name})
        if outcome.state == "finished":
            progress.done(outcome.seconds)
        outcomes.append(outcome)


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


def _record_best(
    tracker: Tracker,
    storage: optuna.storages.BaseStorage,
    root: str,
    parent: str,
    scientific: list[Point],
    spec: OptunaSpec,
) -> dict[str, Any]:
    """Per scientific value, its best nuisance setting: best.json and best.* metrics on the parent."""
    best = best_by_point(storage, root, scientific)
    if not best:
        return best
    payload = {"metric": spec.metric, "direction": spec.direction, "points": best}
    tracker.log_parent_json(parent, "best.json", payload)
    tracker.log_metrics(
        parent,
        {
            f"best.{label.replace('=', '_').replace(' ', '.')}.{spec.metric}": b["best_value"]
            for label, b in best.items()
        },
    )
    return best
