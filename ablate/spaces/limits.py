"""The limits of what a search space and the command line may ask for, and the text
rules every name and value obeys.

Each limit is far above what a real sweep uses and far below what breaks a machine, a
terminal or MLflow: a value past one is refused before anything is recorded, in well
under a second, with the limit named. Counts are computed without expanding anything
(a grid's size is the product of its lists' lengths).
"""

from __future__ import annotations

import math
import os
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any

from ablate.errors import ConfigError

MAX_FILE_BYTES = 1_000_000  # a search space; the largest shipped one is about 2 kB
MAX_DEPTH = 32  # nesting of YAML blocks and lists; a space needs 4
MAX_NODES = 1_000_000  # YAML values after aliases (*name) are expanded: refuses alias bombs
MAX_STRING = 1000  # characters of a key or string value (paths, names)
MAX_DESCRIPTION = 5000  # characters of `description:`; MLflow keeps 8000 in a tag
MAX_EXPERIMENT = 250  # MLflow validates 500, but its SQL stores hold 256
MAX_RUN_NAME = 250  # MLflow's SQL `runs.name` column holds 250
MAX_SEEDS = 1000  # seeds per point
MAX_SEED = 2**32 - 1  # Lightning's and NumPy's seeds are 0 .. 2**32 - 1
MAX_RUNS = 100_000  # runs of one sweep: grid points x seeds, or studies x trials
MAX_TRIALS = 100_000  # Optuna trials per study
MAX_CHOICES = 1000  # choices of one categorical Optuna param
MAX_INT_DIGITS = 19  # 2**63 - 1 has 19 digits: no setting takes a larger integer

# invisible characters that reorder or hide text: terminals, CSV and HTML titles show
# them as something else (U+202E RIGHT-TO-LEFT OVERRIDE turns 'exe.txt' around)
_REFUSED_CATEGORIES = {
    "Cc": "control character",
    "Cf": "invisible formatting character",
    "Cs": "lone surrogate",
    "Zl": "line separator",
    "Zp": "paragraph separator",
}
_ALLOWED_FORMATTING = {"\u200d"}  # ZERO WIDTH JOINER: part of many emoji


def bad_character(text: str, multiline: bool = False) -> str | None:
    """What is wrong with `text`'s characters, or None: control characters (ANSI
    escapes, NUL, newlines), bidi overrides and other invisible ones. `multiline`
    allows newlines and tabs (a description)."""
    for i, ch in enumerate(text):
        if multiline and ch in "\n\t":
            continue
        kind = _REFUSED_CATEGORIES.get(unicodedata.category(ch))
        if kind is None or ch in _ALLOWED_FORMATTING:
            continue
        name = unicodedata.name(ch, "")
        return f"it holds the {kind} U+{ord(ch):04X}{' ' + name if name else ''} at position {i}"
    return None


def shown(text: str) -> str:
    """A string for a message: escaped (repr) and cut to 80 characters."""
    r = repr(text)
    return r if len(r) <= 80 else r[:76] + "...'"


def check_text(where: str, key: str, text: str, *, limit: int = MAX_STRING) -> None:
    """A key or string value: at most `limit` characters, printable only."""
    multiline = limit == MAX_DESCRIPTION
    if len(text) > limit:
        raise ConfigError(
            f"{where}: {key} = {shown(text)} is {len(text):,} characters long; "
            f"the limit is {limit:,}."
        )
    problem = bad_character(text, multiline)
    if problem:
        allowed = "printable characters, newlines and tabs" if multiline else "printable characters"
        raise ConfigError(
            f"{where}: {key} = {shown(text)} is not allowed: {problem}; only {allowed} are allowed."
        )


FORMULA_START = ("=", "+", "-", "@")  # a CSV cell starting so is a formula in a spreadsheet


def check_cell(where: str, key: str, value: Any) -> None:
    """A factor's value or an experiment name: it becomes a cell of the report's CSV
    files, where a leading = + - @ makes Excel and LibreOffice run it as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        raise ConfigError(
            f"{where}: {key} = {shown(value)} is not allowed: it starts with {value[0]!r}, "
            "which a spreadsheet opening the report's CSV runs as a formula; "
            "start it with a letter, a digit, '.', '/' or '_'."
        )
    if isinstance(value, list | tuple):
        for i, v in enumerate(value):
            check_cell(where, f"{key}[{i}]", v)


def check_experiment(where: str, name: Any) -> str:
    """An MLflow experiment name: a non-blank printable string of at most 250 characters."""
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(
            f"{where}: experiment = {shown(name) if isinstance(name, str) else repr(name)} "
            "is not allowed: give a non-empty name."
        )
    check_text(where, "experiment", name, limit=MAX_EXPERIMENT)
    check_cell(where, "experiment", name)
    return name


def check_plain(where: str, key: str, value: Any, depth: int = 0) -> None:
    """A value given on the command line (or $ABLATE_DATA): finite numbers, bounded
    integers, printable bounded strings, bounded nesting."""
    if depth > MAX_DEPTH:
        raise ConfigError(f"{where}: {key} is nested deeper than {MAX_DEPTH} levels.")
    if isinstance(value, str):
        check_text(where, key, value)
    elif isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(
            f"{where}: {key} = {value} is not allowed: give a finite number (no .nan or .inf)."
        )
    elif isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 2**63:
        raise ConfigError(
            f"{where}: {key} is an integer of about {int(value.bit_length() * 0.30103) + 1:,} "
            f"digits: no setting takes one of more than {MAX_INT_DIGITS} digits."
        )
    elif isinstance(value, Mapping):
        for k, v in value.items():
            check_plain(where, f"{key}.{k}", v, depth + 1)
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            check_plain(where, f"{key}[{i}]", v, depth + 1)


def check_seed_count(where: str, count: int) -> None:
    if count > MAX_SEEDS:
        raise ConfigError(
            f"{where}: seeds = {count:,} is too many: at most {MAX_SEEDS:,} seeds per point."
        )


def check_seed(where: str, key: str, seed: int) -> None:
    if not 0 <= seed <= MAX_SEED:
        raise ConfigError(
            f"{where}: {key} = {seed} is not allowed: a seed is an integer from 0 to {MAX_SEED}."
        )


def check_runs(where: str, grid: Mapping[str, Sequence[Any]], per_point: int, unit: str) -> None:
    """grid points x `per_point` (seeds, or trials per study) must stay within MAX_RUNS,
    counted as the product of the lists' lengths, never by expanding them."""
    sizes = {k: len(v) for k, v in sorted(grid.items())}
    runs = math.prod(sizes.values()) * per_point
    if runs <= MAX_RUNS:
        return
    parts = [f"{n:,} {k}" for k, n in sizes.items() if n > 1]
    how = " x ".join([*parts, f"{per_point:,} {unit}"])
    raise ConfigError(
        f"{where}: this sweep would be {runs:,} runs ({how}); the limit is {MAX_RUNS:,} "
        "runs per sweep: split it into smaller spaces."
    )


def check_run_names(where: str, grid: Mapping[str, Sequence[Any]], longest_seed: int) -> None:
    """Run names (a point's label, 'stride=1 head=gap seed=0') within MLflow's 250
    characters, from each factor's longest value: nothing is expanded."""
    widths = {k: max(len(f"{k.split('.')[-1]}={v}") for v in vs) for k, vs in grid.items() if vs}
    total = sum(widths.values()) + len(widths) + len(f"seed={longest_seed}")
    if total <= MAX_RUN_NAME:
        return
    worst = max(widths, key=lambda k: widths[k])
    raise ConfigError(
        f"{where}: run names would be up to {total:,} characters (MLflow keeps {MAX_RUN_NAME}); "
        f"shorten the values of grid.{worst} (the longest is {widths[worst]:,} characters)."
    )


def usable_cpus() -> int:
    """CPUs this process may run on (a container's or taskset's share, not the host's)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        return os.cpu_count() or 1


def memory_gib() -> int | None:
    """This machine's memory in GiB, or None where the OS does not say."""
    try:
        return int(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2**30)
    except (AttributeError, OSError, ValueError):
        return None


def max_workers() -> int:
    """The most `--workers` this machine runs: two per usable CPU (a worker waiting on a
    GPU leaves its core idle), and one per GiB of memory (a worker holds about 0.5 GiB
    before it loads any data)."""
    by_cpu = 2 * usable_cpus()
    gib = memory_gib()
    return max(1, min(by_cpu, gib)) if gib else by_cpu


def check_workers(workers: int) -> None:
    """`--workers N` starts N training processes: no more than the machine can run."""
    most = max_workers()
    if workers > most:
        gib = memory_gib()
        raise ConfigError(
            f"--workers {workers:,} is more than this machine can run: it has {usable_cpus()} "
            f"usable CPU(s){f' and {gib} GiB of memory' if gib else ''}, so at most "
            f"--workers {most} (two per CPU, one per GiB). To use more machines, start "
            "workers on each with --storage (see the README's Scale-out section)."
        )
