"""A grid sweep in this process: every point in order, finished points skipped."""

from __future__ import annotations

import time
from pathlib import Path

from ablate.schedulers.jobs import Job, Outcome, Settled, SweepOptions
from ablate.schedulers.reaping import classify, fail_stale_runs
from ablate.spaces import Space, expand, sweep_id
from ablate.store import ChildRun, RunState, Tracker


class LocalGrid:
    def __init__(self, space: Space, opts: SweepOptions, tracker: Tracker) -> None:
        self.space, self.opts, self.tracker = space, opts, tracker
        self._points = expand(space)
        self.total = len(self._points)
        self._next = 0
        self._settled: dict[str, ChildRun] = {}

    def open(self) -> str:
        self.parent, self.resumed = self.tracker.start_parent(
            self.space.experiment,
            sweep_id(self._points),
            name=f"{self.space.experiment} sweep",
            space_file=Path(self.space.path),
            command=self.opts.command,
            summary={
                "space": self.space.path,
                "points": len(self._points),
                "seeds": list(self.space.seeds),
                "design": self.space.design(),
                "description": self.space.description,
            },
        )
        return self.parent

    def classify(self, exc: BaseException) -> RunState | None:
        return None  # a grid raises nothing of its own

    def reap(self) -> None:
        children = self.tracker.children(self.parent)
        if fail_stale_runs(self.tracker, children, self.opts.stale_after):
            print("Runs left by processes that died were marked failed; their points run again.")
        # dead runs settle nothing
        self._settled = classify(children, time.time(), self.opts.stale_after)
        if self.resumed:
            done = sum(1 for p in self._points if p.config.key() in self._settled)
            print(f"Resuming sweep {self.parent}: {done} of {self.total} points already recorded.")

    def next(self) -> Job | Settled | None:
        if self._next >= self.total:
            return None
        point = self._points[self._next]
        self._next += 1
        number = point.index + 1
        known = self._settled.get(point.config.key())
        if known is not None:
            state = RunState(known.state)
            what = "finished earlier" if state.settles else "running in another process"
            outcome = Outcome(point.label, state, known.run_id, known.metrics, earlier=True)
            return Settled(number, outcome, f"{what} (run {known.run_id})")
        remaining = sum(
            1 for p in self._points[point.index :] if p.config.key() not in self._settled
        )
        return Job(point.config, point.label, number, remaining)

    def record(self, job: Job, outcome: Outcome) -> None:
        pass  # MLflow holds everything a local grid needs to resume

    def close(self) -> None:
        pass
