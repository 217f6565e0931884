"""Hostile input by class, not by example (issue 16 E): several members of each class,
each through the real `ablate run` in a subprocess from an empty folder.

The classes: values YAML parses but no user means; sizes no machine holds; names that
break a terminal, a CSV, an HTML title or MLflow's limits. Every member must be
refused with exit code 2, exactly one line on stderr naming what is wrong (escaped,
never raw), no traceback, in under 5 s, and with nothing recorded in the folder.

The cases run two at a time (each is a fresh Python process: about 0.8 s of CPU and
1.4 s of wall-clock time, measured one at a time); the 89 CLI cases took 33 s on a
quiet two-core machine, 108 s on one shared at a load average of 3 to 5. "Under 5 s"
is checked on the child's own CPU time, which a busy CI machine cannot inflate, with
a wall-clock guard of 15 s.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ablate.spaces.limits import max_workers

ROOT = Path(__file__).resolve().parents[1]
SLICE = ROOT / "tests" / "data" / "cifar10-slice.zip"
SECONDS = 5.0  # the promise: refused in under 5 s, start-up included (CPU time, below)
WALL = 3 * SECONDS  # wall-clock guard: CI machines are shared, and a hang is still caught
PARALLEL = 2  # cases at once

# a small valid space; a case adds or replaces lines
BASE = """\
base:
  model: {depth: 2, width: 8}
  data: {limit_train: 100, limit_test: 50}
  train: {max_epochs: 1, batch_size: 50}
  explain: {enabled: false}
"""
OPTUNA = BASE + "kind: optuna\nparams:\n  train.lr: {type: float, low: 0.001, high: 0.1}\n"


def grid(lists: int, values: int) -> str:
    keys = ["model.width", "model.depth", "train.lr", "train.batch_size", "model.hidden",
            "train.weight_decay"]  # fmt: skip
    return "grid:\n" + "".join(f"  {k}: {list(range(1, values + 1))}\n" for k in keys[:lists])


def laughs(levels: int = 9) -> str:
    """A "billion laughs": 9 aliases of 9 aliases of ... (9**9 values expanded)."""
    lines = ["lol: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Case:
    space: str | bytes  # the file's content
    needles: tuple[str, ...]  # must all be on the error line
    args: tuple[str, ...] = ()  # more options of `ablate run`
    name: str = "space.yaml"  # the space's file name
    env: dict[str, str] = field(default_factory=dict)
    path: str | None = None  # run this path instead of the written file


# ------------------------------------------------------------------------------ class 1
# values YAML parses but no user means

MEANT = {
    "nan-lr": Case(BASE + "grid: {train.lr: [.nan]}\n", ("grid.train.lr[0]", ".nan", "finite")),
    "inf-weight-decay": Case(
        BASE.replace("batch_size: 50", "batch_size: 50, weight_decay: .inf"),
        ("base.train.weight_decay", ".inf", "finite", "line 4"),
    ),
    "minus-inf-in-grid": Case(
        BASE + "grid:\n  train.lr: [0.1, -.inf]\n", ("grid.train.lr[1]", "-.inf", "finite")
    ),
    "overflow-to-inf": Case(BASE + "grid:\n  train.lr: [1.0e999]\n", ("1.0e999", "finite")),
    "text-inf": Case(BASE + "grid:\n  train.lr: [inf]\n", ("train.lr", "'inf'", "finite")),
    "optuna-nan-low": Case(
        OPTUNA.replace("low: 0.001", "low: .nan"), ("params.train.lr.low", "finite")
    ),
    "optuna-inf-high": Case(
        OPTUNA.replace("high: 0.1", "high: .inf"), ("params.train.lr.high", "finite")
    ),
    "inf-seed": Case(BASE + "seeds: [0, .inf]\n", ("seeds[1]", "finite")),
    "duplicate-top-key": Case(
        "experiment: a\n" + BASE + "experiment: b\n",
        ("'experiment' appears twice", "lines 1 and 7"),
    ),
    "duplicate-nested-key": Case(
        BASE.replace("max_epochs: 1,", "max_epochs: 1, max_epochs: 9,"),
        ("'max_epochs' appears twice", "base.train", "lines 4 and 4"),
    ),
    "duplicate-grid-key": Case(
        BASE + "grid:\n  model.width: [8]\n  model.width: [16]\n",
        ("'model.width' appears twice", "grid", "lines 7 and 8"),
    ),
    "bool-for-count": Case(
        BASE.replace("batch_size: 50", "batch_size: yes"),
        ("base.train.batch_size", "true", "where a number goes"),
    ),
    "bool-in-grid": Case(
        BASE + "grid:\n  model.width: [16, on]\n", ("grid.model.width[1]", "where a number goes")
    ),
    "bool-in-list": Case(
        BASE + "grid:\n  model.convs_per_block: [[1, true]]\n", ("convs_per_block", "boolean")
    ),
    "bool-for-float": Case(BASE + "grid:\n  train.lr: [true]\n", ("train.lr", "boolean")),
    "number-for-name": Case("experiment: 42\n" + BASE, ("experiment = 42", "name")),
    "date-for-name": Case("experiment: 2024-01-31\n" + BASE, ("experiment", "date", "quote")),
    "binary-for-path": Case(
        BASE + "grid:\n  data.source: [!!binary aGVsbG8=]\n", ("grid.data.source[0]", "binary")
    ),
    "number-key": Case(BASE + "1: one\n", ("key '1'", "integer", "names")),
    "yes-key": Case(BASE + "on: push\n", ("key 'on'", "boolean")),
    "null-key": Case(BASE + "~: x\n", ("key '~'", "null")),
    "list-key": Case(BASE + "? [a, b]\n: c\n", ("list or mapping",)),
    "alias-bomb": Case(BASE + laughs(), ("expands to", "aliases", "1,000,000")),
    "alias-bomb-in-grid": Case(BASE + laughs() + "grid:\n  model.width: *l8\n", ("aliases",)),
    "alias-loop": Case(BASE + "grid:\n  model.width: &w [8, *w]\n", ("refers to itself",)),
    "huge-integer": Case(
        BASE + "grid:\n  model.width: [1" + "0" * 5000 + "]\n",
        ("grid.model.width[0]", "5,001 digits"),
    ),
    "not-utf8": Case(b"experiment: caf\xe9\n", ("not UTF-8", "0xe9")),
    "utf16": Case("experiment: x\n".encode("utf-16"), ("not UTF-8",)),
    "empty": Case("", ("empty",)),
    "only-comments": Case("# nothing here\n\n", ("empty",)),
    "top-level-list": Case("- model.width: [8]\n", ("top level must be a mapping", "list")),
    "top-level-text": Case("just words\n", ("top level must be a mapping", "str")),
    "negative-seed": Case(BASE + "seeds: [0, -1]\n", ("seeds[1] = -1", "0 to 4294967295")),
    "seed-past-2-32": Case(BASE + "seeds: [4294967296]\n", ("seeds[0]", "0 to 4294967295")),
    "optuna-negative-seed": Case(OPTUNA + "seed: -1\n", ("seed", "-1")),
}


# ------------------------------------------------------------------------------ class 2
# sizes no machine holds: refused at once, the limit named

MOST = max_workers()

SIZES = {
    "seed-count": Case(BASE + "seeds: 1000000000000\n", ("seeds = 1,000,000,000,000", "1,000")),
    "seed-list": Case(BASE + f"seeds: {list(range(1001))}\n", ("seeds = 1,001", "1,000")),
    "grid-10-to-12": Case(BASE + grid(6, 100), ("1,000,000,000,000 runs", "100,000")),
    "grid-times-seeds": Case(BASE + grid(3, 50) + "seeds: 10\n", ("1,250,000 runs", "10 seeds")),
    "optuna-trials": Case(OPTUNA + "n_trials: 1000000000\n", ("n_trials", "100000")),
    "optuna-studies-x-trials": Case(
        OPTUNA + "n_trials: 1000\nscientific:\n  model.width: " + str(list(range(1, 1001))) + "\n",
        # each study's 1,000 trials and its 3 confirmation runs (scientific: sets 3)
        ("1,003,000 runs", "1,003 trials and confirmation runs", "100,000"),
    ),
    "optuna-choices": Case(
        BASE
        + "kind: optuna\nparams:\n  model.width: {type: categorical, choices: "
        + str(list(range(1, 2002)))
        + "}\n",
        ("params.model.width", "2,001 choices", "1,000"),
    ),
    "deep-nesting": Case(
        BASE + "grid:\n  model.convs_per_block: " + "[" * 40 + "1" + "]" * 40 + "\n",
        ("deeper than 32 levels",),
    ),
    "very-deep-nesting": Case("x: " + "[" * 100_000 + "\n", ("deeper than 32", "line 1")),
    "deep-mappings": Case(
        "x:\n" + "".join("  " * i + f"k{i}:\n" for i in range(1, 41)) + "  v\n", ("deeper than 32",)
    ),
    "long-experiment": Case("experiment: " + "e" * 251 + "\n" + BASE, ("251 characters", "250")),
    "long-value": Case(
        BASE + "grid:\n  data.source: [" + "d" * 5000 + "]\n",
        ("grid.data.source[0]", "5,000 characters", "1,000"),
    ),
    "long-key": Case(BASE + "? " + "k" * 2000 + "\n: 1\n", ("2,000 characters", "1,000")),
    "long-description": Case("description: " + "w " * 3000 + "\n" + BASE, ("description", "5,000")),
    "big-file": Case("# " + "x" * 1_100_000 + "\n" + BASE, ("over 1,000,000 bytes",)),
    "dev-zero": Case("", ("over 1,000,000 bytes",), path="/dev/zero"),
    "long-run-names": Case(
        BASE + f"grid:\n  model.arch: [{'p' * 250}, q]\n",
        ("run names would be up to", "MLflow keeps 250", "model.arch"),
    ),
    "cli-seeds": Case(BASE, ("seeds = 1,000,000,000,000", "1,000"), ("--seeds", "1000000000000")),
    "cli-n-trials": Case(OPTUNA, ("n_trials", "100000"), ("--n-trials", "1000000000000")),
    "cli-set-grid": Case(BASE + grid(5, 100), ("100,000,000 runs",), ("--set", "train.lr=0.1")),
    "cli-set-long": Case(BASE, ("data.source", "1,000"), ("--set", "data.source=" + "s" * 1500)),
    "cli-set-huge-int": Case(
        BASE, ("model.width", "40 digits"), ("--set", "model.width=" + "9" * 40)
    ),
    "cli-set-deep": Case(
        BASE, ("deeper than 32",), ("--set", "model.convs_per_block=" + "[" * 50 + "]" * 50)
    ),
    "cli-set-bomb": Case(
        BASE,
        ("aliases",),
        ("--set", "model.convs_per_block=" + "{" + laughs().replace("\n", ", ").rstrip(", ") + "}"),
    ),
    "workers-million": Case(
        BASE, ("--workers 1,000,000", f"at most --workers {MOST}"), ("--workers", "1000000")
    ),
    "workers-past-cpus": Case(
        BASE, (f"--workers {MOST + 1}", "usable CPU", "two per CPU"), ("--workers", str(MOST + 1))
    ),
}


# ------------------------------------------------------------------------------ class 3
# names that break a terminal, a CSV, an HTML title, or MLflow's limits

NAMES = {
    "ansi-experiment": Case(
        'experiment: "red\\e[31mALERT\\e[0m"\n' + BASE,
        ("experiment", "'red\\x1b[31mALERT", "U+001B", "printable"),
    ),
    "newline-experiment": Case('experiment: "two\\nlines"\n' + BASE, ("'two\\nlines'", "U+000A")),
    "nul-experiment": Case('experiment: "nul\\0"\n' + BASE, ("'nul\\x00'", "U+0000")),
    "del-experiment": Case('experiment: "del\\x7f"\n' + BASE, ("U+007F",)),
    "c1-csi-experiment": Case('experiment: "csi\\x9b2J"\n' + BASE, ("U+009B",)),
    "bidi-experiment": Case(
        'experiment: "report\\u202Egpj.exe"\n' + BASE,
        ("'report\\u202egpj.exe'", "U+202E RIGHT-TO-LEFT OVERRIDE"),
    ),
    "line-separator": Case('experiment: "a\\u2028b"\n' + BASE, ("U+2028",)),
    "blank-experiment": Case('experiment: "   "\n' + BASE, ("experiment", "non-empty")),
    "long-experiment-mlflow": Case("experiment: " + "m" * 600 + "\n" + BASE, ("600 characters",)),
    "ansi-file-name": Case(
        BASE, ("file name is not allowed", "\\x1b", "rename"), name="evil\x1b[2J.yaml"
    ),
    "newline-file-name": Case(BASE, ("file name is not allowed", "\\n"), name="two\nlines.yaml"),
    "cli-experiment-ansi": Case(BASE, ("experiment", "\\x1b"), ("--experiment", "x\x1b[31m")),
    "cli-experiment-newline": Case(BASE, ("experiment", "\\n"), ("--experiment", "a\nb")),
    "cli-experiment-long": Case(
        BASE, ("experiment", "300 characters", "250"), ("--experiment", "x" * 300)
    ),
    "cli-experiment-bidi": Case(BASE, ("U+202E",), ("--experiment", "a\u202eb")),
    "cli-data-newline": Case(BASE, ("data.source", "\\n"), ("--data", "/tmp/a\nb.zip")),
    "cli-set-ansi": Case(
        BASE, ("data.cache_dir", "\\x1b"), ("--set", "data.cache_dir=/tmp/\x1b[2J")
    ),
    "cli-set-key-ansi": Case(BASE, ("key", "\\x1b"), ("--set", "model.wid\x1bth=8")),
    "env-data-ansi": Case(BASE, ("data.source", "\\x1b"), env={"ABLATE_DATA": "/d\x1b]0;t\x07"}),
    "description-ansi": Case('description: "ok\\e[2J"\n' + BASE, ("description", "U+001B")),
    "grid-value-bidi": Case(
        BASE + 'grid:\n  data.source: ["a\\u202Eb", c]\n', ("grid.data.source[0]", "U+202E")
    ),
    "key-ansi": Case(BASE + '"model\\e[31m": 1\n', ("U+001B",)),
    "devices-markup": Case(BASE + 'grid:\n  train.devices: ["[/x]"]\n', ("train.devices",)),
    "csv-formula-experiment": Case(
        'experiment: "=HYPERLINK(1)"\n' + BASE, ("experiment", "'='", "formula")
    ),
    "csv-formula-grid": Case(
        BASE + 'grid:\n  data.source: [a.zip, "@SUM(1)"]\n', ("grid.data.source[1]", "'@'")
    ),
    "csv-formula-choice": Case(
        BASE + "kind: optuna\nparams:\n  model.head: {type: categorical, choices: [gap, +x]}\n",
        ("params.model.head.choices[1]", "'+'"),
    ),
    "csv-formula-cli": Case(
        BASE + "grid:\n  data.source: [a.zip, b.zip]\n",
        ("'-cmd'", "formula"),
        ("--data=-cmd",),
    ),
    "markup-file-name": Case(BASE + "seeds: 0\n", ("[/x].yaml", "seeds = 0"), name="[/x].yaml"),
}

CASES = {**MEANT, **SIZES, **NAMES}


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str
    seconds: float  # wall-clock, start-up included
    cpu: float  # the child's user + system seconds: what contention on CI cannot inflate
    left: list[str]


def _ablate() -> list[str]:
    script = shutil.which("ablate", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "ablate.cli"]


def _run(case: Case, tmp: Path) -> Result:
    work, inputs = tmp / "work", tmp / "inputs"
    work.mkdir(parents=True)
    inputs.mkdir()
    space = inputs / case.name
    space.parent.mkdir(parents=True, exist_ok=True)  # a name with "/" is a folder and a file
    (space.write_bytes if isinstance(case.space, bytes) else space.write_text)(case.space)  # type: ignore[operator]
    env = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "ABLATE_DATA")}
    env.update(MLFLOW_DISABLE_TELEMETRY="true", COLUMNS="200", **case.env)
    own_data = case.env.get("ABLATE_DATA") or any(a.startswith("--data") for a in case.args)
    data = () if own_data else ("--data", str(SLICE))
    cmd = [*_ablate(), "run", case.path or str(space), *data,
           "--set", f"data.cache_dir={tmp / 'cache'}", *case.args]  # fmt: skip
    out, err = tmp / "stdout", tmp / "stderr"
    with out.open("wb") as o, err.open("wb") as e:
        start = time.monotonic()
        p = subprocess.Popen(cmd, cwd=work, env=env, stdout=o, stderr=e)
        guard = threading.Timer(120, p.kill)  # a case that trains instead is stopped
        guard.start()
        _, status, usage = os.wait4(p.pid, 0)  # wait4: this child's own CPU time
        seconds = time.monotonic() - start
        guard.cancel()
    p.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    return Result(
        p.returncode,
        out.read_text(errors="replace"),
        err.read_text(errors="replace"),
        seconds,
        usage.ru_utime + usage.ru_stime,
        sorted(os.listdir(work)),
    )


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Future[Result]]:
    """Every case started at once on a few threads; each test waits for its own."""
    pool = ThreadPoolExecutor(max_workers=PARALLEL)
    futures = {
        cid: pool.submit(_run, case, tmp_path_factory.mktemp(cid.replace("-", "_")))
        for cid, case in CASES.items()
    }
    yield futures  # type: ignore[misc]
    pool.shutdown(wait=True, cancel_futures=True)


def check(results: dict[str, Future[Result]], cid: str) -> None:
    r = results[cid].result()
    lines = r.err.strip("\n").splitlines()
    assert r.code == 2, f"exit {r.code}\n{r.err}{r.out}"
    assert "Traceback" not in r.err + r.out, r.err
    assert len(lines) == 1, f"{len(lines)} lines on stderr:\n{r.err}"
    assert lines[0].startswith("error: "), lines[0]
    for needle in CASES[cid].needles:
        assert needle in lines[0], f"{needle!r} not in: {lines[0]}"
    assert "\x1b" not in r.err and "\u202e" not in r.err, f"raw control text shown: {r.err!r}"
    assert r.out == "", r.out
    assert r.left == [], f"recorded: {r.left}"
    assert r.cpu < SECONDS and r.seconds < WALL, f"took {r.seconds:.1f} s ({r.cpu:.1f} s CPU)"


@pytest.mark.e2e
@pytest.mark.parametrize("cid", sorted(MEANT))
def test_values_no_user_means_are_refused(results: dict[str, Future[Result]], cid: str) -> None:
    check(results, cid)


@pytest.mark.e2e
@pytest.mark.parametrize("cid", sorted(SIZES))
def test_sizes_no_machine_holds_are_refused(results: dict[str, Future[Result]], cid: str) -> None:
    check(results, cid)


@pytest.mark.e2e
@pytest.mark.parametrize("cid", sorted(NAMES))
def test_names_that_break_terminals_and_mlflow_are_refused(
    results: dict[str, Future[Result]], cid: str
) -> None:
    check(results, cid)


IN_PROCESS = sorted(c for c, case in SIZES.items() if not case.args and not case.path)


@pytest.mark.unit
@pytest.mark.parametrize("cid", IN_PROCESS)
def test_a_size_past_a_limit_is_refused_in_under_a_second(tmp_path: Path, cid: str) -> None:
    """The refusal itself, without the start-up: nothing is expanded to count it."""
    from ablate.errors import ConfigError
    from ablate.spaces import load_space

    space = tmp_path / "space.yaml"
    text = SIZES[cid].space
    space.write_bytes(text if isinstance(text, bytes) else text.encode())
    start = time.process_time()  # CPU time: a shared machine's load does not count
    with pytest.raises(ConfigError) as e:
        load_space(space)
    seconds = time.process_time() - start
    assert seconds < 1.0, f"{seconds:.2f} s"
    for needle in SIZES[cid].needles:
        assert needle in str(e.value), str(e.value)
