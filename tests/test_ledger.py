"""The exactly-once work queue on an Optuna storage: enqueue, claim, stale, lock."""

from __future__ import annotations

import itertools
import multiprocessing as mp
import time
from pathlib import Path

import optuna
from optuna.trial import TrialState

from ablate.schedulers import ledger

ITEMS = [(f"key{i}", i, f"point {i}") for i in range(6)]


def journal(tmp_path: Path) -> str:
    return f"journal:{tmp_path / 'ledger.journal'}"


def test_enqueue_is_idempotent(tmp_path: Path) -> None:
    storage = ledger.open_storage(journal(tmp_path))
    study = ledger.open_study(storage, "s")
    assert ledger.enqueue_missing(study, ITEMS) == 6
    assert ledger.enqueue_missing(study, ITEMS) == 0
    assert len(study.study.get_trials(states=(TrialState.WAITING,))) == 6


def _claim_all(url: str, out: mp.Queue) -> None:  # type: ignore[type-arg]
    study = ledger.open_study(ledger.open_storage(url), "s")
    got = []
    while (t := ledger.claim(study)) is not None:
        got.append(t.user_attrs[ledger.KEY])
        time.sleep(0.01)  # hold the claim a moment, as a real worker would
        ledger.finish(study, t.number, TrialState.COMPLETE, 1.0)
    out.put(got)


def test_concurrent_claims_hand_out_each_point_once(tmp_path: Path) -> None:
    url = journal(tmp_path)
    study = ledger.open_study(ledger.open_storage(url), "s")
    items = [(f"k{i}", i, "") for i in range(30)]
    ledger.enqueue_missing(study, items)
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    procs = [ctx.Process(target=_claim_all, args=(url, q)) for _ in range(3)]
    for p in procs:
        p.start()
    claimed = [k for _ in procs for k in q.get(timeout=120)]
    for p in procs:
        p.join()
    assert sorted(claimed) == sorted(k for k, _, _ in items)  # all, and none twice
    assert len(study.study.get_trials(states=(TrialState.COMPLETE,))) == 30


def test_stale_trials_fail_and_their_points_requeue(tmp_path: Path) -> None:
    storage = ledger.open_storage(journal(tmp_path))
    study = ledger.open_study(storage, "s")
    ledger.enqueue_missing(study, ITEMS[:2])
    a = ledger.claim(study)
    b = ledger.claim(study)
    assert a is not None and b is not None and ledger.claim(study) is None
    ledger.finish(study, b.number, TrialState.COMPLETE, 0.5)
    assert ledger.fail_stale(study, stale_after=60) == []  # a is fresh
    study.set_user_attr(a.number, ledger.BEAT, time.time() - 61)
    failed = ledger.fail_stale(study, stale_after=60)
    assert [t.number for t in failed] == [a.number]
    assert ledger.enqueue_missing(study, ITEMS[:2]) == 1  # only the lost point comes back
    again = ledger.claim(study)
    assert again is not None and again.user_attrs[ledger.KEY] == a.user_attrs[ledger.KEY]


def test_finish_after_being_failed_as_stale_does_not_raise(tmp_path: Path) -> None:
    storage = ledger.open_storage(journal(tmp_path))
    study = ledger.open_study(storage, "s")
    ledger.enqueue_missing(study, ITEMS[:1])
    t = ledger.claim(study)
    assert t is not None
    study.set_state(t.number, TrialState.FAIL)
    ledger.finish(study, t.number, TrialState.COMPLETE, 1.0)
    assert study.study.get_trials()[0].state == TrialState.FAIL


def _hold_lock(url: str, name: str, hold: float, out: mp.Queue) -> None:  # type: ignore[type-arg]
    storage = ledger.open_storage(url)
    with ledger.study_lock(storage, name):
        start = time.time()
        time.sleep(hold)
        out.put((start, time.time()))


def test_lock_is_exclusive_under_contention(tmp_path: Path) -> None:
    """Three processes take the same lock at once: their critical sections never overlap."""
    url = journal(tmp_path)
    ledger.open_storage(url)  # create the journal file before the race
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    procs = [ctx.Process(target=_hold_lock, args=(url, "s", 0.5, q)) for _ in range(3)]
    for p in procs:
        p.start()
    spans = sorted(q.get(timeout=120) for _ in procs)
    for p in procs:
        p.join()
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert start >= end, spans  # the next holder starts only after the previous one left


def test_lock_is_released_and_breaks_when_stale(tmp_path: Path) -> None:
    storage = ledger.open_storage(journal(tmp_path))
    with ledger.study_lock(storage, "s"):
        names = {s.study_name for s in optuna.get_all_study_summaries(storage)}
        assert "s::lock" in names
    assert "s::lock" not in {s.study_name for s in optuna.get_all_study_summaries(storage)}
    # a lock left by a dead process is broken after stale_after seconds
    sid = storage.create_new_study([optuna.study.StudyDirection.MINIMIZE], "s::lock")
    storage.set_study_user_attr(sid, "since", time.time() - 100)
    t0 = time.perf_counter()
    with ledger.study_lock(storage, "s", stale_after=60):
        pass
    assert time.perf_counter() - t0 < 5


def test_release_stale_fails_orphan_mlflow_runs(tmp_path: Path) -> None:
    """A worker killed after creating its MLflow run, before its trial knew the run id."""
    from mlflow.tracking import MlflowClient

    from ablate.schedulers import release_stale
    from ablate.spaces import RunConfig
    from ablate.store import Tracker, schema

    tracker = Tracker(f"sqlite:///{tmp_path / 'm.db'}")
    parent, _ = tracker.start_parent("e", "sweep", "e sweep", None, "ablate run", {})
    orphan = tracker.start_child(parent, RunConfig(), "orphan")
    alive = tracker.start_child(parent, RunConfig(seed=1), "alive")
    tracker.set_tags(orphan, {schema.HEARTBEAT: f"{time.time() - 100:.0f}"})
    study = ledger.open_study(ledger.open_storage(journal(tmp_path)), "s")
    assert release_stale(tracker, study, parent, stale_after=60) == 0  # no trial was stale
    client = MlflowClient(tracker.uri)
    assert client.get_run(orphan).info.status == "FAILED"
    assert client.get_run(orphan).data.tags[schema.STATE] == "failed"
    assert client.get_run(alive).info.status == "RUNNING"
