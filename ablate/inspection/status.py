"""`ablate status`: where a sweep stands, read from MLflow (and the Optuna storage) without
writing to either.

Which sweep: the sweeps' parent runs as `Tracker.sweeps` lists them, newest first (the
look-up `ablate report` uses), of an experiment, of the sweeps a space file ran (its
experiment, or its file under another `--experiment`), or of the whole store. The newest
is shown in full and, when there are several, all are listed; `--sweep PREFIX` picks one by
run id or sweep id, and a space file given with overrides picks exactly the sweep those
overrides made (its sweep id), as `ablate run` finds it to resume.

How many points (grid) or trials (Optuna) a sweep plans is what its parent recorded when
it was opened (param `points`), never the YAML re-expanded without the run's overrides.
"""

from __future__ import annotations

import json
import math
import shlex
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ablate.errors import AblateError
from ablate.runtime import console, fmt_seconds, table
from ablate.schedulers import STALE_SECONDS
from ablate.spaces import Space, expand, space_hash, spec_of, sweep_id
from ablate.store import (
    ChildRun,
    RunState,
    SweepRun,
    Tracker,
    check_server,
    mask_password,
    schema,
    sqlite_path,
)

LISTED = 10  # sweeps listed at most; older ones are counted, not read
PENDING = "pending"  # a point with no run yet: not a RunState
ORDER = ("done", "running", "failed", "pruned", "skipped", PENDING)  # columns of the table


class StatusError(AblateError):
    """No such sweep or experiment: the line names what there is instead."""


def quoted(text: str, limit: int = 80) -> str:
    """A name from the command line for a message: repr'd (no control characters reach
    the terminal) and at most `limit` characters."""
    shown = repr(text)
    return shown if len(shown) <= limit else shown[: limit - 3] + "..."


@dataclass(frozen=True)
class StatusQuery:
    """What `ablate status` was asked. `space` is the space file with the command line's
    overrides; `exact` when overrides were given, so that its sweep id picks the sweep."""

    tracking_uri: str
    experiment: str | None = None  # None: every experiment in the store
    space: Space | None = None
    exact: bool = False
    sweep: str | None = None  # a run id or sweep id prefix
    storage: str | None = None  # Optuna storage URL, for the trial states
    stale_after: float = STALE_SECONDS  # seconds without heartbeat before a run counts dead


@dataclass
class SweepStatus:
    parent: str | None
    expected: int | None  # points (grid) or trials (optuna) the sweep plans; None: unknown
    counts: Counter[str] = field(default_factory=Counter)  # ORDER's states -> points
    best: ChildRun | None = None
    workers: dict[str, float] = field(default_factory=dict)  # worker -> seconds since last beat
    study: dict[str, int] = field(default_factory=dict)  # Optuna trial states (with a storage)
    sweep: SweepRun | None = None
    kind: str = "grid"


@dataclass(frozen=True)
class SweepLine:
    """One sweep in the list: when, with which options, how far."""

    sweep: SweepRun
    done: int
    expected: int | None


@dataclass
class StatusAnswer:
    query: StatusQuery
    shown: SweepStatus | None  # the sweep shown in full; None: none recorded (see `note`)
    listed: list[SweepLine] = field(default_factory=list)  # newest first, when several
    older: int = 0  # sweeps in scope beyond the list
    note: str = ""  # why no sweep is shown


# ------------------------------------------------------------------------- reading


def point_state(runs: list[ChildRun], now: float, stale_after: float) -> str:
    """One state per point from all its attempts: a success settles it."""
    states = {r.state for r in runs}
    for s in (RunState.FINISHED, RunState.SKIPPED, RunState.PRUNED):
        if s in states:
            return s.label
    if any(r.is_live(now, stale_after) for r in runs):
        return RunState.RUNNING.label
    return RunState.FAILED.label if runs else PENDING


def space_sweep_id(space: Space) -> str:
    """The id `ablate run` gives the sweep of this space (with its overrides)."""
    if space.kind == "optuna":
        return space_hash(space)
    return sweep_id(expand(space), space.until)


def space_plan(space: Space) -> int:
    """Points (grid) or trials in all (optuna) this space plans, as the schedulers count."""
    points = len(expand(space))
    return points * spec_of(space).n_trials if space.kind == "optuna" else points


def _design(sweep: SweepRun) -> dict[str, object]:
    try:
        design = json.loads(sweep.params.get("design", ""))
    except ValueError:
        return {}
    return design if isinstance(design, dict) else {}


def planned(sweep: SweepRun, space: Space | None = None) -> int | None:
    """What the sweep plans, from its parent's record (param `points`, written at open time
    by every scheduler). Parents without it: the given space when it made this very sweep,
    else the logged design (grid levels x seeds); None when nothing says."""
    try:
        return int(sweep.params["points"])
    except (KeyError, ValueError):
        pass
    if space is not None and sweep.tags.get(schema.SWEEP_ID) == space_sweep_id(space):
        return space_plan(space)
    design = _design(sweep)
    grid, seeds = design.get("grid"), design.get("seeds")
    if design.get("kind") == "grid" and isinstance(grid, dict) and isinstance(seeds, list):
        return math.prod(len(v) for v in grid.values() if isinstance(v, list)) * len(seeds)
    return None


def sweep_kind(sweep: SweepRun, children: list[ChildRun]) -> str:
    """grid or optuna: the logged design's kind, else whether its runs are Optuna trials."""
    kind = _design(sweep).get("kind")
    if isinstance(kind, str):
        return kind
    return "optuna" if any(schema.OPTUNA_TRIAL in c.tags for c in children) else "grid"


def count_points(
    children: list[ChildRun], kind: str, expected: int | None, now: float, stale_after: float
) -> Counter[str]:
    """Points per state (a grid point by run key, an Optuna trial by run); `pending` is
    what the plan still lacks."""
    by_point: dict[str, list[ChildRun]] = {}
    for c in children:
        by_point.setdefault(c.run_id if kind == "optuna" else c.key, []).append(c)
    counts: Counter[str] = Counter(point_state(r, now, stale_after) for r in by_point.values())
    settled = sum(counts[k] for k in ("done", "skipped", "pruned", "running"))
    counts[PENDING] = max(0, expected - settled) if expected is not None else 0
    return counts


def options_of(sweep: SweepRun) -> str:
    """The options the sweep was started with: its command after `ablate run SPACE`."""
    command = sweep.tags.get(schema.COMMAND, "")
    try:
        words = shlex.split(command)
    except ValueError:
        return command
    if len(words) >= 3 and words[1] == "run":
        return shlex.join(words[3:])
    return command


def same_file(recorded: str, space: Space) -> bool:
    """Whether a parent's space file tag names this space file (a relative tag is read
    from here, as the run that wrote it usually ran here)."""
    if not recorded:
        return False
    try:
        return Path(recorded).resolve() == Path(space.path).resolve()
    except OSError:
        return False


def in_scope(tracker: Tracker, q: StatusQuery) -> list[SweepRun]:
    """The sweeps the query is about, newest first."""
    if q.space is None:
        return tracker.sweeps(q.experiment)
    space = q.space
    # the space's experiment, and sweeps of this file that ran under another --experiment
    own = tracker.sweeps(space.experiment)
    elsewhere = [
        s
        for s in tracker.sweeps(None)
        if s.experiment != space.experiment and same_file(s.tags.get(schema.SPACE_FILE, ""), space)
    ]
    if not elsewhere:
        return own
    return sorted([*own, *elsewhere], key=lambda s: s.start_time or 0.0, reverse=True)


def pick(sweeps: list[SweepRun], q: StatusQuery, where: str) -> SweepRun | None:
    """The sweep to show: by --sweep prefix, by the space's sweep id, or the newest."""
    if q.sweep:
        prefix = q.sweep.strip().lower()
        found = [
            s
            for s in sweeps
            if s.run_id.startswith(prefix) or s.tags.get(schema.SWEEP_ID, "").startswith(prefix)
        ]
        if len(found) == 1:
            return found[0]
        known = ", ".join(s.run_id[:8] for s in sweeps[:LISTED]) or "none"
        if not found:
            raise StatusError(
                f"--sweep {quoted(q.sweep)}: no such sweep {where}; sweeps there: {known}."
            )
        raise StatusError(
            f"--sweep {quoted(q.sweep)} matches {len(found)} sweeps {where} "
            f"({', '.join(s.run_id for s in found[:LISTED])}): give more of the id."
        )
    if q.exact and q.space is not None:
        sid = space_sweep_id(q.space)
        same = [s for s in sweeps if s.tags.get(schema.SWEEP_ID) == sid]
        return same[-1] if same else None  # the first opened, as `ablate run` resumes it
    return sweeps[0] if sweeps else None


def find_status(q: StatusQuery) -> StatusAnswer:
    """Where the asked-for sweep stands, and the other sweeps in scope. Creates nothing:
    a missing sqlite store is reported, not made."""
    experiment = q.space.experiment if q.space is not None else q.experiment
    where = f"of experiment {quoted(experiment)}" if experiment else "in the store"
    db = sqlite_path(q.tracking_uri)
    if db is not None and not db.exists():  # nothing recorded: create no store
        return StatusAnswer(q, None, note=f"no tracking store at {db}")
    if q.tracking_uri.startswith(("http://", "https://")):
        check_server(q.tracking_uri)
    tracker = Tracker(q.tracking_uri)
    sweeps = in_scope(tracker, q)
    if not sweeps and q.space is None and q.experiment is not None:
        known = [n for n in tracker.experiment_names() if n != "Default"]
        if q.experiment not in known:
            raise StatusError(
                f"unknown experiment {quoted(q.experiment)} in {mask_password(tracker.uri)}; "
                f"experiments there: {', '.join(known) or 'none'} (or give a space YAML)."
            )
    chosen = pick(sweeps, q, where)
    now = time.time()
    answer = StatusAnswer(q, None)
    if chosen is not None:
        answer.shown = sweep_status(tracker, chosen, q, now)
    if len(sweeps) > 1 or (sweeps and chosen is None):
        for s in sweeps[:LISTED]:
            st = answer.shown
            if st is not None and s.run_id == st.parent:  # read once
                answer.listed.append(SweepLine(s, st.counts["done"], st.expected))
                continue
            children = tracker.children(s.run_id)
            expected = planned(s, q.space)
            counts = count_points(children, sweep_kind(s, children), expected, now, q.stale_after)
            answer.listed.append(SweepLine(s, counts["done"], expected))
        answer.older = max(0, len(sweeps) - LISTED)
    if chosen is None:
        answer.note = "no sweep recorded yet" if not sweeps else "no sweep with these options"
    return answer


def sweep_status(tracker: Tracker, sweep: SweepRun, q: StatusQuery, now: float) -> SweepStatus:
    """One sweep in full: points per state, the best run so far, the workers beating."""
    children = tracker.children(sweep.run_id)
    kind = sweep_kind(sweep, children)
    expected = planned(sweep, q.space)
    st = SweepStatus(parent=sweep.run_id, expected=expected, sweep=sweep, kind=kind)
    st.counts = count_points(children, kind, expected, now, q.stale_after)
    for c in children:
        if c.is_live(now, q.stale_after):
            worker = c.worker or "unknown"
            st.workers[worker] = min(st.workers.get(worker, math.inf), now - c.heartbeat)
        better = (
            st.best is None or c.metrics.get("best_val_acc", -1.0) > st.best.metrics["best_val_acc"]
        )
        if c.state == RunState.FINISHED and "best_val_acc" in c.metrics and better:
            st.best = c
    if q.storage:
        st.study = study_counts(q.storage, sweep.experiment, sweep.tags.get(schema.SWEEP_ID, ""))
    return st


def storage_missing(storage_url: str) -> Path | None:
    """A file-based Optuna storage that does not exist (opening it would create it)."""
    if storage_url.startswith("journal:") or storage_url.endswith(".journal"):
        path = Path(storage_url.removeprefix("journal:")).expanduser()
    elif storage_url.startswith("sqlite:///"):
        path = Path(storage_url.removeprefix("sqlite:///"))
    else:
        return None
    return None if path.exists() else path


def study_counts(storage_url: str, experiment: str, sid: str) -> dict[str, int]:
    """Trial states of this sweep's Optuna studies (a grid's queue, or an Optuna sweep's
    studies); {} when the storage file is not there."""
    if storage_missing(storage_url) is not None:
        return {}
    import optuna

    from ablate.schedulers import open_storage

    roots = (schema.grid_study_name(experiment, sid), schema.optuna_study_root(experiment, sid))
    storage = open_storage(storage_url)
    counts: Counter[str] = Counter()
    for summary in optuna.get_all_study_summaries(storage, include_best_trial=False):
        name = summary.study_name
        ours = any(name == r or name.startswith(r + ".") for r in roots)
        if ours and not name.endswith("::lock"):
            study = optuna.load_study(study_name=name, storage=storage)
            counts.update(t.state.name for t in study.get_trials(deepcopy=False))
    return dict(counts)


# ------------------------------------------------------------------------ printing


def when(t: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(t)) if t else "–"


def state_of(sweep: SweepRun) -> str:
    return sweep.tags.get(schema.STATE) or sweep.status.lower()


def of(expected: int | None) -> str:
    return "?" if expected is None else str(expected)


def print_status(answer: StatusAnswer) -> None:
    q, st = answer.query, answer.shown
    if st is None or st.sweep is None:
        print_nothing(answer)
        if answer.listed:
            print_list(answer)
        return
    if answer.listed:
        print_list(answer)
    s = st.sweep
    table(
        f"{s.experiment}: sweep {st.parent}",
        [*ORDER, "of"],
        [[*(st.counts.get(k, 0) for k in ORDER), of(st.expected)]],
    )
    console.print(
        f"started {when(s.start_time)}, {state_of(s)}; options: {options_of(s) or 'none'}",
        soft_wrap=True,
    )
    if st.best is not None:
        b = st.best
        console.print(
            f"best so far: {b.tags.get('mlflow.runName', b.run_id)}  best_val_acc {b.metrics['best_val_acc']:.4f}"
            + (f"  test_acc {b.metrics['test_acc']:.4f}" if "test_acc" in b.metrics else "")
            + f"  (run {b.run_id})"
        )
    if st.workers:
        console.print(
            "workers seen recently: "
            + ", ".join(f"{w} ({fmt_seconds(s)} ago)" for w, s in sorted(st.workers.items()))
        )
    else:
        console.print("workers seen recently: none")
    if st.study:
        console.print(
            "Optuna trials: " + ", ".join(f"{k.lower()} {v}" for k, v in sorted(st.study.items()))
        )
    elif q.storage and storage_missing(q.storage) is not None:
        console.print(f"Optuna trials: no storage at {storage_missing(q.storage)}")
    print_slurm_jobs(s.experiment)


def print_slurm_jobs(experiment: str) -> None:
    """The sweep's SLURM tasks (`ablate launch slurm`), if any: nothing where SLURM is
    not installed or holds no job of this sweep."""
    from ablate.launch import job_name, sweep_jobs

    jobs = sweep_jobs(experiment)
    if jobs:
        table(
            f"SLURM jobs ({job_name(experiment)})",
            ["task", "state", "node", "elapsed", "exit"],
            [
                [
                    j.task,
                    j.state,
                    j.node or "-",
                    j.elapsed,
                    "-" if j.exit_code is None else j.exit_code,
                ]
                for j in jobs
            ],
        )


def print_list(answer: StatusAnswer) -> None:
    shown = answer.shown.parent if answer.shown is not None else None
    several = len({line.sweep.experiment for line in answer.listed}) > 1
    columns = ["", "sweep", *(["experiment"] if several else []), "started", "state"]
    rows = [
        [
            "*" if line.sweep.run_id == shown else "",
            line.sweep.run_id[:8],
            *([line.sweep.experiment] if several else []),
            when(line.sweep.start_time),
            state_of(line.sweep),
            options_of(line.sweep) or "none",
            line.done,
            of(line.expected),
        ]
        for line in answer.listed
    ]
    scope = answer.query.space.experiment if answer.query.space else answer.query.experiment
    n = len(answer.listed) + answer.older
    title = f"{n} sweep{'' if n == 1 else 's'}" + (f" of {scope}" if scope else " in the store")
    if shown is None:
        title += ", with other options"
    table(f"{title}, newest first", [*columns, "options", "done", "of"], rows)
    if answer.older:
        console.print(f"and {answer.older} older sweeps, not listed")
    if shown is not None:
        console.print("* shown below; another: --sweep ID (a prefix of its id)")


def print_nothing(answer: StatusAnswer) -> None:
    q = answer.query
    if q.space is not None:
        options = " with these options" if answer.listed else ""
        console.print(
            f"{q.space.path}: no sweep recorded yet{options} for experiment "
            f"{q.space.experiment!r} ({space_plan(q.space)} to run).",
            soft_wrap=True,
        )
    elif answer.note.startswith("no tracking store"):
        console.print(
            f"{answer.note}: nothing recorded here yet (run `ablate run SPACE`, or pass "
            "--tracking-uri or set MLFLOW_TRACKING_URI).",
            soft_wrap=True,
        )
    else:
        where = f"for experiment {quoted(q.experiment)}" if q.experiment else "in the store"
        console.print(f"no sweep recorded yet {where}: run `ablate run SPACE` first.")
