"""The store room: the only door to MLflow.

`Tracker` opens a store; `RunHandle` is one run (start, finish, fail with a reason, kill,
prune, skip); the tag and artifact names are the module `ablate.store.schema`
(`from ablate.store import schema`), and `RunState` the states of a run."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ablate.doors import lazy

if TYPE_CHECKING:
    from ablate.store.access import check_server as check_server
    from ablate.store.access import check_store as check_store
    from ablate.store.access import exclusive as exclusive
    from ablate.store.access import mask_password as mask_password
    from ablate.store.access import sqlite_path as sqlite_path
    from ablate.store.liveness import is_stale as is_stale
    from ablate.store.liveness import worker_id as worker_id
    from ablate.store.loading import load_run as load_run
    from ablate.store.loading import model_from_checkpoint as model_from_checkpoint
    from ablate.store.loading import run_checkpoint as run_checkpoint
    from ablate.store.run_handle import RunHandle as RunHandle
    from ablate.store.schema import CHECKPOINT as CHECKPOINT
    from ablate.store.states import RunState as RunState
    from ablate.store.tracking import ChildRun as ChildRun
    from ablate.store.tracking import SweepRun as SweepRun
    from ablate.store.tracking import Tracker as Tracker
    from ablate.store.tracking import resolve_tracking_uri as resolve_tracking_uri

# name -> the module that defines it, loaded on first use (ablate.doors)
_WHERE = {
    "CHECKPOINT": "ablate.store.schema",
    "ChildRun": "ablate.store.tracking",
    "RunHandle": "ablate.store.run_handle",
    "RunState": "ablate.store.states",
    "SweepRun": "ablate.store.tracking",
    "Tracker": "ablate.store.tracking",
    "check_server": "ablate.store.access",
    "check_store": "ablate.store.access",
    "exclusive": "ablate.store.access",
    "is_stale": "ablate.store.liveness",
    "load_run": "ablate.store.loading",
    "mask_password": "ablate.store.access",
    "model_from_checkpoint": "ablate.store.loading",
    "resolve_tracking_uri": "ablate.store.tracking",
    "run_checkpoint": "ablate.store.loading",
    "sqlite_path": "ablate.store.access",
    "worker_id": "ablate.store.liveness",
}
__all__ = sorted(_WHERE)

__getattr__ = lazy(__name__, _WHERE)
