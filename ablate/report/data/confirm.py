"""A tuned sweep's confirmation runs (`confirm_seeds:`), as the report compares them.

Each scientific value's confirmation runs are its chosen nuisance setting trained again
on fresh seeds (`ablate.schedulers.confirm`). Together they are a grid over the
scientific factors x seeds, each cell at its own tuned setting, so the report compares
them with a grid's statistics: paired by seed, Holm-corrected, the same findings.

Only the runs of the setting that the tuning trials choose now count (a study that has
grown since may choose another setting: its value is then left out, and said so). The
tuning trials never count: their seed is the one the setting won on. Pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pandas as pd

from ablate.report.data.configs import same_level
from ablate.stats.model import Factor, ScientificRow, factor_name, level_label
from ablate.store import ChildRun, schema


def confirmation_ids(children: Iterable[ChildRun]) -> set[str]:
    """Run ids of the confirmation runs (tag `schema.CONFIRMS`)."""
    return {c.run_id for c in children if schema.CONFIRMS in c.tags}


def without_runs(frame: pd.DataFrame, run_ids: set[str]) -> pd.DataFrame:
    """The runs table less the runs `run_ids` (e.g. the tuning trials alone)."""
    if frame.empty or "run_id" not in frame:
        return frame
    return frame[~frame["run_id"].isin(run_ids)]


@dataclass(frozen=True)
class Confirmation:
    """The confirmation runs that the report's statistics compare."""

    frame: pd.DataFrame  # finished confirmation runs of each value's chosen setting
    seeds: list[int]  # their seeds, every value together
    note: str  # the sentence that says what is compared, first of the findings
    stale: list[str]  # values whose confirmation runs are of a setting no longer chosen


def confirmation(
    frame: pd.DataFrame,
    run_ids: set[str],
    chosen: Sequence[ScientificRow],
    scientific: Sequence[Factor],
    nuisance: Sequence[str],
) -> Confirmation | None:
    """The confirmation runs of `frame` (finished runs) whose setting is the one `chosen`
    (the tuning trials' best per scientific value) names; None when there are none."""
    runs = frame[frame["run_id"].isin(run_ids)] if run_ids and "run_id" in frame else None
    if runs is None or runs.empty:
        return None
    keep = pd.Series(False, index=runs.index)
    stale: list[str] = []
    missing: list[str] = []
    counts: list[int] = []
    for row in chosen:
        of_value = _matches(runs, row.scientific)
        label = " ".join(f"{factor_name(k)}={level_label(k, v)}" for k, v in row.scientific.items())
        if not of_value.any():
            missing.append(label)
            continue
        mine = of_value & _matches(runs, row.nuisance)
        if not mine.any():
            stale.append(label or "the best setting")
            continue
        keep |= mine
        counts.append(int(mine.sum()))
    kept = runs[keep]
    if kept.empty:
        return None
    seeds = sorted({int(s) for s in kept["seed"]})
    # the levels compared: those with confirmation runs of their chosen setting
    present = [
        Factor(
            f.key,
            tuple(v for v in f.levels if kept[f.key].map(lambda x, v=v: same_level(x, v)).any()),
            f.role,
        )
        for f in scientific
    ]
    note = _note(present, nuisance, counts, seeds, stale, missing)
    return Confirmation(kept, seeds, note, stale)


def _matches(runs: pd.DataFrame, values: dict[str, object]) -> pd.Series:
    mask = pd.Series(True, index=runs.index)
    for key, value in values.items():
        if key not in runs:
            return pd.Series(False, index=runs.index)
        mask &= runs[key].map(lambda x, v=value: same_level(x, v))
    return mask


def _note(
    scientific: Sequence[Factor],
    nuisance: Sequence[str],
    counts: Sequence[int],
    seeds: Sequence[int],
    stale: Sequence[str],
    missing: Sequence[str] = (),
) -> str:
    """'stride 1, 2 and 3 compared on confirmation runs: each at its own tuned lr and
    weight decay, 3 seeds (1-3, not the tuning seed), paired by seed'."""
    tuned = _and([factor_name(k).replace("_", " ") for k in nuisance])
    n = min(counts) if counts else 0
    n_text = f"{n} seed" + ("" if n == 1 else "s")
    if counts and max(counts) != n:
        n_text = f"{n} to {max(counts)} seeds"
    what = " x ".join(
        f"{f.name} " + _and([level_label(f.key, v) for v in f.levels]) for f in scientific
    )
    fresh = f"(seeds {_span(seeds)}, fresh: not the seed it was tuned on)"
    if what:
        out = (
            f"{what} compared on confirmation runs: each at its own tuned {tuned}, "
            f"{n_text} {fresh}, paired by seed"
        )
    else:  # no scientific factor: the one best setting, over seeds
        out = f"The best setting on confirmation runs: its tuned {tuned}, {n_text} {fresh}"
    if missing:
        out += f"; {_and(list(missing))}: no confirmation run finished yet, not compared"
    if stale:
        out += (
            f"; {', '.join(stale)} left out: its confirmation runs are of a setting the "
            "tuning no longer chooses (run the sweep's command again to confirm the new one)"
        )
    return out


def _and(words: Sequence[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    if len(words) < 2:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def _span(seeds: Sequence[int]) -> str:
    if len(seeds) > 2 and list(seeds) == list(range(seeds[0], seeds[-1] + 1)):
        return f"{seeds[0]}-{seeds[-1]}"
    return ", ".join(str(s) for s in seeds)
