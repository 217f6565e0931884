"""The states of a run, as recorded in the state tag (`schema.STATE`) of a child run (and of
a sweep's parent run), and the MLflow status each one ends with. Pure: no mlflow."""

from __future__ import annotations

from enum import Enum


class RunState(str, Enum):
    """The state tag: the tag strings are the values, unchanged since the first store."""

    RUNNING = "running"  # training now, or its worker died (see `ablate.store.liveness`)
    FINISHED = "finished"  # trained, tested, logged (and explained)
    SKIPPED = "skipped"  # an invalid point, recorded with its reason; never trained
    PRUNED = "pruned"  # stopped early by Optuna's pruner; a valid result
    FAILED = "failed"  # crashed, or its worker stopped beating; re-run on resume
    KILLED = "killed"  # interrupted (Ctrl-C, SIGTERM); re-run on resume

    @property
    def mlflow_status(self) -> str:
        """The MLflow run status a run in this state ends with."""
        return _MLFLOW_STATUS[self]

    @property
    def ok(self) -> bool:
        """A point in this state needs nothing more: the sweep may exit 0."""
        return self in (RunState.FINISHED, RunState.SKIPPED, RunState.PRUNED)

    @property
    def settles(self) -> bool:
        """A run in this state settles its point for good: a re-run skips it."""
        return self in (RunState.FINISHED, RunState.SKIPPED)

    @property
    def label(self) -> str:
        """What a person reads (`ablate status`, the report): "done" for finished, else the
        tag string."""
        return _LABEL.get(self, self.value)

    def __str__(self) -> str:
        return self.value

    # hash as the tag string it equals (Enum hashes by name), so that "finished" and
    # RunState.FINISHED are one key in a set or dict
    __hash__ = str.__hash__


_LABEL = {RunState.FINISHED: "done"}
_MLFLOW_STATUS = {
    RunState.RUNNING: "RUNNING",
    RunState.FINISHED: "FINISHED",
    RunState.SKIPPED: "FINISHED",
    RunState.PRUNED: "FINISHED",
    RunState.FAILED: "FAILED",
    RunState.KILLED: "KILLED",
}
