"""A sweep that stops when its answer is settled (`seeds: {min, max, until: settled}`):
the look after each seed block.

The schedulers run seed blocks (every configuration at seed k before any at seed k + 1)
and, after each block from `min` on, call a `Judge` (`ablate.schedulers.jobs`). This
one reads the sweep's finished runs back from the store, makes the runs table the
report makes (one row per finished run: the factors' levels, the seed, the response),
and asks `ablate.stats.settle` (the report's own statistics and stopping rule) for one
decision per main effect of the headline response, against the report's default
baseline (each factor's first level). Then it records the look on the parent and
prints one line.

The record is the artifact `settle.json` on the parent (`schema.SETTLE_JSON`),
rewritten at each look, and the tag `ablate.settle` (`schema.SETTLE`) with the look's
line. Nothing in it is a permanent flag: the same runs give the same record, so two
workers that look at the same block write the same file, and a stopped sweep resumed
with a larger `max` looks again and goes on where an effect is still open. Only the
seeds up to the look are read, so a look at block k is the same whenever it is made.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from ablate.spaces import Point, Space
from ablate.stats import HEADLINE, Decision, settle
from ablate.stats.model import Factor, Response
from ablate.store import ChildRun, RunState, Tracker, schema


def factors_of(space: Space) -> list[Factor]:
    """The factors the report sees: grid keys with two or more values, in file order."""
    return [Factor(k, tuple(v), "grid") for k, v in space.grid.items() if len(v) > 1]


def runs_table(
    children: Sequence[ChildRun],
    points: Mapping[str, Point],
    factors: Sequence[Factor],
    response: Response,
    seeds: int,
) -> pd.DataFrame:
    """The report's runs table of the finished runs at seeds 0 .. seeds - 1: factor
    columns (the grid's own levels), "seed", and the response (raw, as logged)."""
    records: list[dict[str, Any]] = []
    for c in sorted(children, key=lambda c: c.start_time or 0.0):
        point = points.get(c.key)
        if c.state != RunState.FINISHED or point is None or point.seed >= seeds:
            continue
        if response.key not in c.metrics:
            continue
        rec: dict[str, Any] = {f.key: point.values[f.key] for f in factors}
        rec["seed"] = point.seed
        rec[response.key] = c.metrics[response.key]
        records.append(rec)
    columns = [*(f.key for f in factors), "seed", response.key]
    return pd.DataFrame.from_records(records, columns=columns)


def _num(x: float | None) -> float | None:
    """6 significant digits; None for a missing or non-finite number (JSON has no NaN)."""
    return None if x is None or not math.isfinite(x) else float(f"{x:.6g}")


def record_of(
    decisions: Sequence[Decision],
    space: Space,
    seeds: int,
    response: Response = HEADLINE,
    runs: int = 0,
) -> dict[str, Any]:
    """What a look records on the parent: each effect's decision and where the sweep stands.

    `seeds`: the seed blocks looked at; `planned`: the seeds per point the sweep runs to
    now (seeds when it stopped, else the next block).
    """
    assert space.until is not None
    rule = space.until
    open_ = sum(1 for d in decisions if not d.settled)
    stopped = open_ == 0 or seeds >= rule.max
    return {
        "response": response.key,
        "label": response.label,
        "unit": response.unit,
        "min": rule.min,
        "max": rule.max,
        "seeds": seeds,
        "planned": seeds if stopped else min(rule.max, seeds + 1),
        "stopped": stopped,
        "settled": len(decisions) - open_,
        "open": open_,
        "runs": runs,  # finished runs the look was made on
        "margins": dict(space.margins),  # as given; a response not named has the default
        "effects": [
            {
                "factor": d.factor,
                "level": d.level,
                "baseline": d.baseline,
                "state": d.state,
                "seeds": d.seeds,
                "estimate": _num(d.estimate),
                "lo": _num(d.lo),
                "hi": _num(d.hi),
                "margin": _num(d.margin),
                "look": d.look,
                "looks": d.looks,
                "alpha_look": d.alpha_look,
                "p_holm": _num(d.p_holm),
                "p_equiv_holm": _num(d.p_equiv_holm),
            }
            for d in decisions
        ],
    }


def look_line(record: Mapping[str, Any]) -> str:
    """'after seed block 3: 2 settled, 1 open' (+ why the sweep stops there)."""
    line = f"after seed block {record['seeds']}: {record['settled']} settled, {record['open']} open"
    if not record["effects"]:
        line = f"after seed block {record['seeds']}: no finished run with {record['response']} to judge"
    if record["open"] == 0:
        return line + "; nothing open: stopping"
    if record["stopped"]:
        return line + f"; stopping at the most seeds (max: {record['max']})"
    return line + f"; running seed block {record['planned']}"


class SettleJudge:
    """The `Judge` of a sweep that stops when settled (`ablate.schedulers.jobs.Judge`)."""

    def __init__(self, space: Space, tracker: Tracker, points: Sequence[Point]) -> None:
        assert space.until is not None
        self.space, self.tracker = space, tracker
        self.points = {p.config.key(): p for p in points}
        self.factors = factors_of(space)
        self.baseline = {f.key: f.levels[0] for f in self.factors}

    def decide(self, parent: str, seeds: int) -> dict[str, Any]:
        """The look after seed block `seeds`, recorded on the parent."""
        assert self.space.until is not None
        rule = self.space.until
        df = runs_table(self.tracker.children(parent), self.points, self.factors, HEADLINE, seeds)
        decisions = (
            settle(
                df,
                self.factors,
                HEADLINE,
                self.baseline,
                self.space.margins,
                seeds=seeds,
                min_seeds=rule.min,
                max_seeds=rule.max,
            )
            if len(df)
            else []
        )
        record = record_of(decisions, self.space, seeds, runs=len(df))
        if not len(df):  # nothing finished to judge (every run failed): not settled
            record.update(open=1, stopped=seeds >= rule.max)
            record["planned"] = seeds if record["stopped"] else min(rule.max, seeds + 1)
        line = look_line(record)
        self.tracker.log_parent_json(parent, schema.SETTLE_JSON, record)
        self.tracker.set_tags(parent, {schema.SETTLE: line})
        print(line)
        return record

    def __call__(self, parent: str, seeds: int) -> bool:
        return bool(self.decide(parent, seeds)["stopped"])


def note_plan(tracker: Tracker, parent: str, space: Space) -> None:
    """On opening the parent: the margins this command gives (the report uses the same),
    and, for a sweep that stops when settled, where it starts."""
    if space.margins or space.until is not None:
        tracker.set_tags(parent, {schema.MARGINS: json.dumps(space.margins, sort_keys=True)})
    if space.until is not None:
        rule = space.until
        tracker.set_tags(
            parent,
            {
                schema.SETTLE: f"running: seed blocks 1 to {rule.min} before the first look "
                f"(at most {rule.max} seeds)"
            },
        )
