"""A grid sweep in this process: every point in order, finished points skipped.

Points come seed-major (every configuration at seed k before any at seed k + 1). A
sweep that stops when settled (`seeds: {min, max, until: settled}`) asks its `Judge`
after each seed block from `min` on, and ends when the judge says nothing is open or
at `max`. The stop is not stored as a flag: a resumed sweep replays the blocks it has
(finished points need no run) and asks again, so a larger `max` continues where it stopped.
"""

from __future__ import annotations

import time
from pathlib import Path

from ablate.schedulers.jobs import Job, Judge, Outcome, Settled, SweepOptions
from ablate.schedulers.reaping import classify, fail_stale_runs
from ablate.spaces import Space, expand, sweep_id
from ablate.store import ChildRun, RunState, Tracker


class LocalGrid:
    def __init__(
        self, space: Space, opts: SweepOptions, tracker: Tracker, judge: Judge | None = None
    ) -> None:
        self.space, self.opts, self.tracker = space, opts, tracker
        self._points = expand(space)
        self.total = len(self._points)
        self._next = 0
        self._settled: dict[str, ChildRun] = {}
        if space.until is not None and judge is None:
            raise ValueError("a sweep that stops when settled needs a judge")
        self.judge = judge
        self.per_block = self.total // max(1, len(space.seeds))  # configurations per seed
        self._looked: set[int] = set()  # seed blocks asked about by this process

    def open(self) -> str:
        self.parent, self.resumed = self.tracker.start_parent(
            self.space.experiment,
            sweep_id(self._points, self.space.until),
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

    def _stop_here(self) -> bool:
        """At the end of a seed block from `min` on: ask the judge (once per block)."""
        rule = self.space.until
        if rule is None or self.judge is None or self._next % self.per_block:
            return False
        blocks = self._next // self.per_block
        if blocks < rule.min or blocks in self._looked:
            return False
        self._looked.add(blocks)
        return self.judge(self.parent, blocks) or blocks >= rule.max

    def next(self) -> Job | Settled | None:
        if self._stop_here():
            self._next = self.total
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
        # the ETA of a sweep that stops when settled runs to its next look: the block's end
        end = self.total
        if self.space.until is not None:
            end = (point.index // self.per_block + 1) * self.per_block
        remaining = sum(
            1 for p in self._points[point.index : end] if p.config.key() not in self._settled
        )
        return Job(point.config, point.label, number, remaining)

    def record(self, job: Job, outcome: Outcome) -> None:
        pass  # MLflow holds everything a local grid needs to resume

    def close(self) -> None:
        pass
