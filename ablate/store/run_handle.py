"""A handle bound to one child run: everything the sweep engine writes to a run, and the
one way to end it in each state (with its reason tag), so that "mark this run failed
with a reason" is written once, here."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ablate.store import schema
from ablate.store.states import RunState

if TYPE_CHECKING:
    from lightning.pytorch.loggers import MLFlowLogger
    from torch import nn

    from ablate.spaces import RunConfig

REASON_CHARS = 5000  # MLflow's limit on a tag value
STOPPED_BEATING = "stopped beating"  # the end of a lost run's reason: `RunHandle.lost`


class TrackerWrites(Protocol):
    """The writes of `ablate.store.tracking.Tracker` a handle uses (a protocol, so that
    tracking, which hands out handles, and this module do not import each other)."""

    def heartbeat(self, run_id: str) -> None: ...
    def epoch_logger(self, run_id: str, experiment: str) -> MLFlowLogger: ...
    def log_metrics(self, run_id: str, metrics: Mapping[str, float], step: int = 0) -> None: ...
    def log_files(self, run_id: str, files: Iterable[Path], root: Path, prefix: str) -> None: ...
    def log_checkpoint(
        self, run_id: str, net: nn.Module, cfg: RunConfig, classes: tuple[str, ...] = ()
    ) -> None: ...
    def log_text(self, run_id: str, text: str, path: str) -> None: ...
    def log_resume(self, run_id: str, checkpoint: Path, state_json: str) -> None: ...
    def log_parent_json_once(self, run_id: str, name: str, payload: Any) -> bool: ...
    def set_tags(self, run_id: str, tags: Mapping[str, str]) -> None: ...
    def end(self, run_id: str, state: RunState | str) -> None: ...


class RunHandle:
    """One MLflow run of a sweep, from `Tracker.start_run` (or `Tracker.run` for an
    existing one). The methods that end the run (`finish`, `fail`, `kill`, `prune`,
    `skip`) set the state tag and the matching MLflow status."""

    def __init__(self, tracker: TrackerWrites, run_id: str) -> None:
        self.tracker = tracker
        self.run_id = run_id

    def __repr__(self) -> str:
        return f"RunHandle({self.run_id!r})"

    # ----------------------------------------------------------------- writes
    def heartbeat(self) -> None:
        self.tracker.heartbeat(self.run_id)

    def epoch_logger(self, experiment: str) -> MLFlowLogger:
        """Lightning's MLflow logger bound to this run."""
        return self.tracker.epoch_logger(self.run_id, experiment)

    def log_metrics(self, metrics: Mapping[str, float], step: int = 0) -> None:
        self.tracker.log_metrics(self.run_id, metrics, step)

    def log_files(self, files: Iterable[Path], root: Path, prefix: str) -> None:
        """Log files keeping their path below `root`, under `prefix/`."""
        self.tracker.log_files(self.run_id, files, root, prefix)

    def log_checkpoint(self, net: nn.Module, cfg: RunConfig, classes: tuple[str, ...] = ()) -> None:
        self.tracker.log_checkpoint(self.run_id, net, cfg, classes)

    def set_tags(self, tags: Mapping[str, str]) -> None:
        self.tracker.set_tags(self.run_id, tags)

    def flag_explanations(self, flagged: Iterable[str]) -> None:
        """The explanation checks that failed (e.g. a sanity check), or "none"."""
        self.set_tags({schema.XAI_FLAGS: ",".join(flagged) or "none"})

    # ------------------------------------------------------------------- ends
    def finish(self) -> None:
        """Trained, tested, logged (and explained)."""
        self.tracker.end(self.run_id, RunState.FINISHED)

    def fail(self, reason: str, traceback: str | None = None) -> None:
        """Crashed, or its worker stopped beating: `reason` in the fail tag, and the
        traceback (if any) as the run's error.txt. Its point runs again on resume."""
        self.set_tags({schema.FAIL_REASON: reason[:REASON_CHARS]})
        if traceback is not None:
            self.tracker.log_text(self.run_id, traceback, schema.ERROR_TXT)
        self.tracker.end(self.run_id, RunState.FAILED)

    def lost(self, worker: str) -> None:
        """Its worker died (killed -9, machine lost): failed, and resumable from its last
        epoch checkpoint like a killed run."""
        self.fail(f"worker {worker} {STOPPED_BEATING}")

    def log_resume(self, checkpoint: Path, state_json: str) -> None:
        """This run's newest whole epoch checkpoint and its state file (resume/)."""
        self.tracker.log_resume(self.run_id, checkpoint, state_json)

    def kill(self, reason: str) -> None:
        """Interrupted (Ctrl-C, SIGTERM): its point runs again on resume."""
        self.set_tags({schema.FAIL_REASON: reason[:REASON_CHARS]})
        self.tracker.end(self.run_id, RunState.KILLED)

    def prune(self, message: str) -> None:
        """Stopped early by Optuna's pruner, e.g. "Trial was pruned at epoch 3."."""
        self.set_tags({schema.PRUNED: message[:REASON_CHARS]})
        self.tracker.end(self.run_id, RunState.PRUNED)

    def skip(self, reason: str) -> None:
        """An invalid point, never trained (`Tracker.skip` creates and skips in one)."""
        self.set_tags({schema.SKIP_REASON: reason[:REASON_CHARS]})
        self.tracker.end(self.run_id, RunState.SKIPPED)
