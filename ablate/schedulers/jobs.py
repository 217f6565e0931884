"""What the sweep engine (`ablate.sweep.engine`) and its schedulers exchange.

A scheduler (local grid, shared queue, Optuna) decides what runs next and hands
the engine a `Job`; the engine trains it and hands back an `Outcome`. A `Lease`
is the scheduler's hold on a job while it runs: it learns the MLflow run id and
beats with the run's own heartbeat (an Optuna trial's liveness).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ablate.store import RunState

if TYPE_CHECKING:
    from lightning.pytorch import Callback

    from ablate.spaces import RunConfig

# A running child whose heartbeat is older than STALE_SECONDS is taken for dead
# (crashed, killed -9, machine lost) and its point is run again.
HEARTBEAT_SECONDS = 20.0
STALE_SECONDS = 120.0


@dataclass(frozen=True)
class SweepOptions:
    tracking_uri: str
    command: str = ""
    workdir: Path | None = None  # scratch for Lightning checkpoints; default: a temp folder
    storage: str | None = None  # Optuna storage URL: grid points become a shared work queue
    heartbeat_seconds: float = HEARTBEAT_SECONDS
    stale_after: float = STALE_SECONDS
    poll_seconds: float = 5.0  # how often an idle worker looks for lost or remaining points


@dataclass
class Outcome:
    """What became of one point (or trial) in this sweep."""

    label: str
    state: RunState
    run_id: str = ""
    metrics: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    reason: str = ""
    earlier: bool = False  # settled before this process looked: by an earlier run or another worker

    @property
    def ok(self) -> bool:
        return self.state.ok

    @property
    def shown(self) -> str:
        """The state column of the summary: 'done' / 'busy' for points settled elsewhere."""
        if self.earlier:
            return RunState.FINISHED.label if self.state.settles else "busy"
        return self.state.value


class Lease(Protocol):
    """A scheduler's hold on a running job."""

    def bind(self, run_id: str) -> None:
        """The MLflow run now doing the job (so that a reaper can fail it)."""

    def beat(self) -> None:
        """Called with the run's heartbeat: the job's own liveness, if it has one."""


class NoLease:
    """For a job nobody else could take (the local grid)."""

    def bind(self, run_id: str) -> None:
        pass

    def beat(self) -> None:
        pass


@dataclass
class Job:
    """One config to train, and what the scheduler needs done around it."""

    config: RunConfig
    label: str
    number: int  # shown as "point <number> of <total>"
    remaining: int = 0  # points left for the ETA, this one included; 0: unknown
    tags: Mapping[str, str] = field(default_factory=dict)  # extra MLflow tags of the run
    callbacks: Sequence[Callback] = ()  # extra Lightning callbacks (Optuna's pruning)
    lease: Lease = field(default_factory=NoLease)
    handle: Any = None  # the scheduler's own reference (an Optuna trial)


@dataclass(frozen=True)
class Settled:
    """A point that needs no run: settled earlier or running in another process."""

    number: int
    outcome: Outcome
    note: str  # e.g. "finished earlier (run ...)"


class Judge(Protocol):
    """A sweep that stops when settled (`seeds: {min, max, until: settled}`): after a seed
    block, may it stop? `ablate.sweep.settling` decides with the report's statistics on
    the sweep's finished runs, read back from the store, and tags the parent."""

    def __call__(self, parent: str, seeds: int) -> bool:
        """After seed block `seeds` (seeds 0 .. seeds - 1 of every point done): True when
        no effect is open. Recomputed from the runs, so calling it again is harmless."""


class Scheduler(Protocol):
    """Decides what runs next. Built with the sweep's `Tracker`; the engine calls, in
    order: `open`, `reap`, then `next` and `record` until `next` returns None, then
    `close`; `classify` for an exception a job raised."""

    total: int  # points or trials of the sweep, for "point i of N"

    def open(self) -> str:
        """Create or resume the sweep's parent run; return its id."""

    def classify(self, exc: BaseException) -> RunState | None:
        """The state an exception of the scheduler's own ends a run in (Optuna's
        `TrialPruned`: PRUNED); None for any other, which the engine handles."""

    def reap(self) -> None:
        """Fail the runs (and trials) of workers that stopped beating, so their points run again."""

    def next(self) -> Job | Settled | None:
        """The next job, a point that needs none, or None when the sweep is done. May wait
        for other workers."""

    def record(self, job: Job, outcome: Outcome) -> None:
        """Tell the scheduler's own store (an Optuna study) how the job ended."""

    def close(self) -> None:
        """After the last job, before the parent is ended (e.g. the best per point)."""
