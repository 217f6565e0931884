"""The three schedulers behind `ablate.schedulers.jobs.Scheduler`, one per kind of sweep:

- `local_grid.LocalGrid`: a grid, in order, in this process;
- `shared_queue.SharedQueue`: a grid shared by many workers through an Optuna
  storage, each point claimed exactly once (`--storage`, `--workers`);
- `optuna_search.OptunaSearch`: a `kind: optuna` space, one study per scientific point.

`ablate.sweep.engine` picks one and runs the one sweep loop around it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ablate.doors import lazy

if TYPE_CHECKING:
    from ablate.schedulers.jobs import HEARTBEAT_SECONDS as HEARTBEAT_SECONDS
    from ablate.schedulers.jobs import STALE_SECONDS as STALE_SECONDS
    from ablate.schedulers.jobs import Job as Job
    from ablate.schedulers.jobs import Outcome as Outcome
    from ablate.schedulers.jobs import Scheduler as Scheduler
    from ablate.schedulers.jobs import Settled as Settled
    from ablate.schedulers.jobs import SweepOptions as SweepOptions
    from ablate.schedulers.ledger import DEFAULT_JOURNAL as DEFAULT_JOURNAL
    from ablate.schedulers.ledger import open_storage as open_storage
    from ablate.schedulers.local_grid import LocalGrid as LocalGrid
    from ablate.schedulers.optuna_adapter import STORAGE_METHODS as STORAGE_METHODS
    from ablate.schedulers.optuna_adapter import StudyHandle as StudyHandle
    from ablate.schedulers.optuna_search import OptunaSearch as OptunaSearch
    from ablate.schedulers.reaping import release_stale as release_stale
    from ablate.schedulers.shared_queue import SharedQueue as SharedQueue

# name -> the module that defines it, loaded on first use (ablate.doors)
_WHERE = {
    "DEFAULT_JOURNAL": "ablate.schedulers.ledger",
    "HEARTBEAT_SECONDS": "ablate.schedulers.jobs",
    "Job": "ablate.schedulers.jobs",
    "LocalGrid": "ablate.schedulers.local_grid",
    "OptunaSearch": "ablate.schedulers.optuna_search",
    "Outcome": "ablate.schedulers.jobs",
    "STALE_SECONDS": "ablate.schedulers.jobs",
    "STORAGE_METHODS": "ablate.schedulers.optuna_adapter",
    "Scheduler": "ablate.schedulers.jobs",
    "Settled": "ablate.schedulers.jobs",
    "SharedQueue": "ablate.schedulers.shared_queue",
    "StudyHandle": "ablate.schedulers.optuna_adapter",
    "SweepOptions": "ablate.schedulers.jobs",
    "open_storage": "ablate.schedulers.ledger",
    "release_stale": "ablate.schedulers.reaping",
}
__all__ = sorted(_WHERE)

__getattr__ = lazy(__name__, _WHERE)
