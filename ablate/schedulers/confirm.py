"""Confirmation seeds of a tuned sweep (`confirm_seeds:` in a `kind: optuna` space).

After a scientific value's study ends, its best nuisance setting is trained again on
`confirm_seeds` fresh seeds (the tuning seed + 1, + 2, ...: `OptunaSpec.confirmation_seeds`),
so that the scientific values can be compared over seeds, with intervals, instead of on
the one lucky seed that won the tuning.

The setting is chosen by the rule the report uses (`ablate.stats.best_nuisance`): the
completed trials with equal nuisance values form one setting, the setting with the best
mean of the study's metric wins (in the study's direction), ties go to the one seen
first. With one trial per setting that is Optuna's best trial.

A confirmation run is a plain `RunConfig` (the point's scientific values, the setting, a
seed), so its run key is its identity. Every confirmation run of a sweep is queued in one
study of the sweep's storage (`schema.optuna_confirm_study`) by the ledger's exactly-once
queue: enqueued under the lock for keys with no live trial and no finished MLflow run,
claimed with the storage's atomic WAITING -> RUNNING step, failed and enqueued again when
its worker stops beating. Each queued trial carries what rebuilds its config
(`schema.CONFIRM_ATTR`), so any worker can run any of them.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from optuna.storages import BaseStorage
from optuna.trial import FrozenTrial, TrialState

from ablate.schedulers import ledger
from ablate.schedulers.jobs import Job, Outcome
from ablate.schedulers.optuna_adapter import StudyHandle
from ablate.schedulers.reaping import release_stale
from ablate.schedulers.shared_queue import TrialLease
from ablate.spaces import OptunaSpec, Point, RunConfig, Space, build_config
from ablate.store import RunState, Tracker, schema

LEVEL = 0.95  # the intervals in best.json: two-sided t, as the report's (ablate.stats.LEVEL)


def best_setting(trials: Sequence[FrozenTrial], direction: str) -> dict[str, Any] | None:
    """The nuisance setting with the best mean value over its completed trials (see the
    module doc); None when no trial has completed."""
    by_setting: dict[str, tuple[dict[str, Any], list[float]]] = {}
    for t in sorted(trials, key=lambda t: t.number):
        if t.state != TrialState.COMPLETE or t.value is None:
            continue
        key = json.dumps(sorted(t.params.items()), default=str)
        by_setting.setdefault(key, (dict(t.params), []))[1].append(float(t.value))
    sign = 1.0 if direction == "maximize" else -1.0
    best: tuple[float, dict[str, Any]] | None = None
    for params, values in by_setting.values():  # first seen first: a tie keeps it
        score = sign * statistics.fmean(values)
        if best is None or score > best[0]:
            best = (score, params)
    return None if best is None else best[1]


def confirm_label(point: Point, setting: Mapping[str, Any], seed: int) -> str:
    """'stride=1 lr=0.00123 weight_decay=0.000456 confirm seed=1': the run's name."""
    parts = [f"{k.split('.')[-1]}={v}" for k, v in point.values.items()]
    parts += [
        f"{k.split('.')[-1]}={v:.3g}" if isinstance(v, float) else f"{k.split('.')[-1]}={v}"
        for k, v in setting.items()
    ]
    return " ".join([*parts, "confirm", f"seed={seed}"])


def mean_interval(values: Sequence[float], level: float = LEVEL) -> dict[str, Any]:
    """Mean, SD, n and the two-sided t-interval of `values` (lo/hi None below 2 values).
    The same arithmetic as the report's `ablate.stats.t_interval`, which the schedulers
    may not import (the two rooms sit side by side)."""
    from scipy import stats

    n = len(values)
    mean = statistics.fmean(values) if n else math.nan
    if n < 2:
        return {"mean": mean, "sd": None, "n": n, "lo": None, "hi": None, "level": level}
    sd = statistics.stdev(values)
    half = float(stats.t.ppf(0.5 + level / 2, n - 1)) * sd / math.sqrt(n)
    return {"mean": mean, "sd": sd, "n": n, "lo": mean - half, "hi": mean + half, "level": level}


@dataclass(frozen=True)
class ConfirmTicket:
    """A job's handle when it is a confirmation run: its trial in the confirmation queue."""

    number: int


@dataclass(frozen=True)
class Planned:
    """One confirmation run: the point it confirms, the tuned setting, the fresh seed."""

    point: Point
    setting: dict[str, Any]
    seed: int
    config: RunConfig
    label: str


class Confirmations:
    """The confirmation queue of one Optuna sweep (see the module doc)."""

    def __init__(
        self,
        space: Space,
        spec: OptunaSpec,
        scientific: list[Point],
        storage: BaseStorage,
        root: str,
        tracker: Tracker,
        stale_after: float,
    ) -> None:
        self.space, self.spec, self.scientific = space, spec, scientific
        self.tracker, self.stale_after = tracker, stale_after
        self.storage = storage
        self.name = schema.optuna_confirm_study(root)
        self.study = ledger.open_study(storage, self.name)
        self.planned: dict[str, Planned] = {}  # run key -> its plan, every point planned here

    # ------------------------------------------------------------------ planning
    def plan(self, index: int, study: StudyHandle, parent: str) -> None:
        """Queue the confirmation runs of scientific point `index`, whose study `study`
        has ended: its best setting on every confirmation seed. Idempotent."""
        point = self.scientific[index]
        trials = study.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        setting = best_setting(trials, self.spec.direction)
        if setting is None:
            print(f"Confirmation of {point.label}: no trial completed, nothing to confirm.")
            return
        ordered = {k: setting[k] for k in self.spec.params if k in setting}
        seeds = self.spec.confirmation_seeds()
        for seed in seeds:
            cfg = build_config(self.space, {**point.values, **ordered}, seed)
            self.planned[cfg.key()] = Planned(
                point, ordered, seed, cfg, confirm_label(point, ordered, seed)
            )
        done = self._settled_keys(parent)
        mine = [k for k, p in self.planned.items() if p.point.index == point.index]
        queued = self._enqueue(done)
        shown = " ".join(
            f"{k.split('.')[-1]}={v:.3g}" if isinstance(v, float) else f"{k.split('.')[-1]}={v}"
            for k, v in ordered.items()
        )
        print(
            f"Confirmation of {point.label} at {shown} on seeds {_seeds_text(seeds)}: "
            f"{sum(k in done for k in mine)} finished earlier, {queued} queued now."
        )

    def _settled_keys(self, parent: str) -> set[str]:
        """Run keys that MLflow already holds a finished (or skipped) run of: done even
        where the queue does not know it (a fresh storage on an old store)."""
        return {c.key for c in self.tracker.children(parent) if c.settles}

    def _enqueue(self, done: set[str]) -> int:
        items = [(k, p.point.index, p.label) for k, p in self.planned.items() if k not in done]
        attrs = {
            k: {
                schema.CONFIRM_ATTR: json.dumps(
                    {"point": p.point.index, "seed": p.seed, "setting": p.setting}
                )
            }
            for k, p in self.planned.items()
        }
        with ledger.study_lock(self.storage, self.name):
            return ledger.enqueue_missing(self.study, items, attrs)

    # ------------------------------------------------------------------ running
    def reap(self, parent: str) -> None:
        """Fail confirmation runs whose worker is gone; queue their keys again."""
        if release_stale(self.tracker, self.study, parent, self.stale_after):
            self._enqueue(self._settled_keys(parent))

    def busy(self) -> bool:
        """Whether a confirmation run is waiting or running (here or in another worker)."""
        busy = (TrialState.WAITING, TrialState.RUNNING)
        return bool(self.study.study.get_trials(deepcopy=False, states=busy))

    def claim(self, number: int, remaining: int) -> Job | None:
        """A waiting confirmation run, now ours (atomically), as a job; None if none waits.
        `number`, `remaining`: its place in the sweep's progress line."""
        while (trial := ledger.claim(self.study)) is not None:
            info = json.loads(str(trial.user_attrs.get(schema.CONFIRM_ATTR, "{}")))
            try:
                point = self.scientific[int(info["point"])]
                setting, seed = dict(info["setting"]), int(info["seed"])
            except (KeyError, IndexError, TypeError, ValueError):
                point = None
            cfg = (
                build_config(self.space, {**point.values, **setting}, seed)
                if point is not None
                else None
            )
            if cfg is None or cfg.key() != trial.user_attrs.get(ledger.KEY):
                # queued by a version of ablate that built another config: not ours to run
                print(f"    confirmation trial {trial.number} does not rebuild its config; skipped")
                ledger.finish(self.study, trial.number, TrialState.FAIL)
                continue
            assert point is not None
            tags = {
                schema.SCIENTIFIC: point.label,
                schema.CONFIRMS: json.dumps(setting, sort_keys=True),
            }
            return Job(
                cfg,
                confirm_label(point, setting, seed),
                number,
                remaining,
                tags,
                (),  # no pruning: a confirmation run trains its full budget
                TrialLease(self.study, trial.number),
                handle=ConfirmTicket(trial.number),
            )
        return None

    def record(self, job: Job, outcome: Outcome) -> None:
        assert isinstance(job.handle, ConfirmTicket)
        ok = outcome.state is RunState.FINISHED
        value = outcome.metrics.get(self.spec.metric) if ok else None
        ledger.finish(
            self.study, job.handle.number, TrialState.COMPLETE if ok else TrialState.FAIL, value
        )

    # ------------------------------------------------------------------ results
    def summary(self, parent: str) -> dict[str, dict[str, Any]]:
        """Per scientific point label (as in best.json): the setting, the seeds and the
        mean and t-interval of the metric and of test accuracy over its finished
        confirmation runs (raw values, 0..1 for accuracies)."""
        finished = {c.key: c for c in self.tracker.children(parent) if c.state == RunState.FINISHED}
        out: dict[str, dict[str, Any]] = {}
        for point in self.scientific:
            plans = [p for p in self.planned.values() if p.point.index == point.index]
            if not plans:
                continue
            runs = [(p, finished[p.config.key()]) for p in plans if p.config.key() in finished]
            entry: dict[str, Any] = {
                "setting": plans[0].setting,
                "seeds": [p.seed for p in plans],
                "finished_seeds": [p.seed for p, _ in runs],
                "mlflow_run_ids": [c.run_id for _, c in runs],
            }
            for metric in dict.fromkeys((self.spec.metric, "test_acc")):
                values = [c.metrics[metric] for _, c in runs if metric in c.metrics]
                entry[metric] = {**mean_interval(values), "values": values}
            out[point.label] = entry
        return out


def _seeds_text(seeds: Sequence[int]) -> str:
    """'1-3' for consecutive seeds, else '1, 5, 9'."""
    if len(seeds) > 2 and list(seeds) == list(range(seeds[0], seeds[-1] + 1)):
        return f"{seeds[0]}-{seeds[-1]}"
    return ", ".join(str(s) for s in seeds)
