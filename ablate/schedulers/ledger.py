"""An Optuna storage used as an exactly-once work queue for sweep points.

Optuna's GridSampler can run a point twice under concurrency (optuna #2039,
#4627, #5139). Here points are enqueued explicitly (one WAITING trial per run
key, under a lock) and claimed with the storage's own atomic
WAITING -> RUNNING transition, which succeeds for exactly one process.

Liveness is our own heartbeat, kept as a trial user attribute, so it works on
every storage (JournalStorage has no heartbeat of its own). A RUNNING trial
whose heartbeat is older than `stale_after` is failed (the rule of
`ablate.store.liveness`), and its point is enqueued again. Per-trial writes go through
`ablate.schedulers.optuna_adapter`, never through Optuna's private attributes.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import optuna
from optuna.storages import BaseStorage
from optuna.trial import FrozenTrial, TrialState

from ablate.errors import AblateError
from ablate.schedulers.optuna_adapter import StudyHandle
from ablate.store import is_stale, mask_password, schema, worker_id

# the trial user attributes of the queue (names from the store's schema)
KEY = schema.RUN_KEY
BEAT = schema.HEARTBEAT
WORKER = schema.WORKER
MLFLOW_RUN = schema.MLFLOW_RUN_ATTR
LABEL = schema.LABEL_ATTR
INDEX = schema.INDEX_ATTR
DEFAULT_JOURNAL = ".ablate/optuna.journal"

optuna.logging.set_verbosity(optuna.logging.WARNING)


def open_storage(url: str) -> BaseStorage:
    """postgresql://, mysql://, sqlite:/// -> RDBStorage; journal:PATH or *.journal -> a
    journal file (safe for several processes on one machine or a shared filesystem)."""
    if url.startswith("journal:") or url.endswith(".journal"):
        from optuna.storages import JournalStorage
        from optuna.storages.journal import JournalFileBackend

        path = Path(url.removeprefix("journal:")).expanduser()
        path.parent.mkdir(parents=True, exist_ok=True)
        return JournalStorage(JournalFileBackend(str(path)))
    for attempt in range(5):
        try:
            return optuna.storages.RDBStorage(url, engine_kwargs={"pool_pre_ping": True})
        except Exception as e:  # sqlalchemy raises many types for a bad URL or server
            # Workers started together on a fresh database race to create Optuna's
            # schema; the losers fail once with an IntegrityError, then find it there.
            if type(e).__name__ in ("IntegrityError", "ProgrammingError") and attempt < 4:
                time.sleep(0.3 * (attempt + 1) + random.random() * 0.3)
                continue
            error = e
            break
    raise AblateError(
        f"cannot open the Optuna storage {mask_password(url)!r}: {type(error).__name__}: "
        f"{mask_password(str(error).splitlines()[0])}. Use postgresql://USER:PASS@HOST/DB, mysql://..., "
        "sqlite:///FILE (one process only) or journal:PATH (a file on a shared filesystem)."
    )


def open_study(
    storage: BaseStorage, name: str, direction: str = "maximize", **kwargs: Any
) -> StudyHandle:
    return StudyHandle.open(storage, name, direction, **kwargs)


@contextmanager
def study_lock(storage: BaseStorage, name: str, stale_after: float = 60.0) -> Iterator[None]:
    """A mutex over any Optuna storage: creating a study with a unique name is atomic.

    A lock older than `stale_after` seconds belongs to a dead process and is broken.
    """
    lock = f"{name}::lock"
    while True:
        try:
            sid = storage.create_new_study([optuna.study.StudyDirection.MINIMIZE], lock)
            storage.set_study_user_attr(sid, "since", time.time())
            storage.set_study_user_attr(sid, "owner", worker_id())
            break
        except optuna.exceptions.DuplicatedStudyError:
            try:
                sid = storage.get_study_id_from_name(lock)
                since = float(storage.get_study_user_attrs(sid).get("since", time.time()))
                if time.time() - since > stale_after:
                    storage.delete_study(sid)
                    continue
            except KeyError:
                continue  # released between our two calls
            time.sleep(0.2)
    try:
        yield
    finally:
        with suppress(KeyError):  # broken as stale by another process: nothing left to release
            storage.delete_study(sid)


def trials_by_key(study: StudyHandle) -> dict[str, list[FrozenTrial]]:
    out: dict[str, list[FrozenTrial]] = {}
    for t in study.study.get_trials(deepcopy=False):
        key = t.user_attrs.get(KEY)
        if key:
            out.setdefault(key, []).append(t)
    return out


def enqueue_missing(
    study: StudyHandle,
    items: Sequence[tuple[str, int, str]],
    attrs: Mapping[str, Mapping[str, Any]] | None = None,
) -> int:
    """Enqueue (key, index, label) items that have no COMPLETE, RUNNING or WAITING trial,
    each with `attrs[key]` as further user attributes (a confirmation run's setting).
    Call under `study_lock`. Returns how many were enqueued."""
    live = {TrialState.COMPLETE, TrialState.RUNNING, TrialState.WAITING}
    have = {k for k, ts in trials_by_key(study).items() if any(t.state in live for t in ts)}
    n = 0
    for key, index, label in items:
        if key not in have:
            extra = dict((attrs or {}).get(key, {}))
            study.study.enqueue_trial(
                {}, user_attrs={**extra, KEY: key, INDEX: index, LABEL: label}
            )
            n += 1
    return n


def claim(study: StudyHandle) -> FrozenTrial | None:
    """Atomically take one WAITING trial (lowest number first), or None."""
    for t in study.study.get_trials(deepcopy=False, states=(TrialState.WAITING,)):
        try:
            if study.set_state(t.number, TrialState.RUNNING):
                study.set_user_attr(t.number, WORKER, worker_id())
                study.set_user_attr(t.number, BEAT, time.time())
                return study.get_trial(t.number)
        except optuna.exceptions.UpdateFinishedTrialError:
            continue
    return None


def beat(study: StudyHandle, number: int) -> None:
    study.set_user_attr(number, BEAT, time.time())


def fail_stale(study: StudyHandle, stale_after: float) -> list[FrozenTrial]:
    """Fail RUNNING trials whose worker is gone (see `ablate.store.liveness`); return them."""
    now, failed = time.time(), []
    for t in study.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        last = float(
            t.user_attrs.get(BEAT, t.datetime_start.timestamp() if t.datetime_start else now)
        )
        if not is_stale(last, str(t.user_attrs.get(WORKER, "")), now, stale_after):
            continue
        try:
            if study.set_state(t.number, TrialState.FAIL):
                failed.append(t)
        except optuna.exceptions.UpdateFinishedTrialError:
            pass  # another process failed or finished it first
    return failed


def finish(study: StudyHandle, number: int, state: TrialState, value: float | None = None) -> None:
    values = [value] if value is not None and state == TrialState.COMPLETE else None
    # failed as stale by another process while we finished: our MLflow run stands
    with suppress(optuna.exceptions.UpdateFinishedTrialError):
        study.set_state(number, state, values)
