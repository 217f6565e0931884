"""`ablate status` finds the sweep a user just ran, whatever options it ran with (issue 16 G).

Real sweeps through the CLI on the committed slice, at tiny budgets: one store with two
grid sweeps of `search_spaces/strides.yaml` (the first with `--seeds 2 --max-epochs 1 --set
...`), and one with an Optuna sweep of `search_spaces/strides_tuned_lr.yaml` run with
`--n-trials 2`. Status is then asked as a user would: with no argument, with the space file
alone, by experiment, by `--sweep` prefix, and with the run's own options.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ablate.cli import app
from ablate.inspection.status import options_of, planned
from ablate.store import SweepRun

ROOT = Path(__file__).resolve().parents[1]
SLICE = ROOT / "tests" / "data" / "cifar10-slice.zip"
STRIDES = ROOT / "search_spaces" / "strides.yaml"  # 3 points at 1 seed
TUNED = ROOT / "search_spaces" / "strides_tuned_lr.yaml"  # 3 strides x n_trials (6 in the file)
# the budget of every sweep here: 200 training images, 1 epoch, no explanations
TINY = ["--set", "data.limit_train=200", "--set", "data.limit_test=50"]
TINY += ["--set", "model.width=8", "--set", "explain.enabled=false", "--max-epochs", "1"]
FIRST = ["--seeds", "2", *TINY]  # 6 runs: the sweep with --seeds, --max-epochs, --set
SECOND = ["--set", "model.stride=2", *TINY]  # 1 run, the newest sweep of the same experiment


# ------------------------------------------------------------------------- helpers


def invoke(*args: str | Path) -> tuple[int, str]:
    result = CliRunner().invoke(app, [str(a) for a in args])
    return result.exit_code, result.output


def ablate_run(mp: pytest.MonkeyPatch, cache: Path, space: Path, *options: str) -> None:
    args = ["run", str(space), "--data", str(SLICE), "--set", f"data.cache_dir={cache}"]
    args += [*options, "--no-report"]
    mp.setattr("sys.argv", ["ablate", *args])  # the parent records the command line
    code, out = invoke(*args)
    assert code == 0, out


def counts(out: str) -> dict[str, int | str]:
    """The status table's one row: done running failed pruned skipped pending of."""
    lines = out.splitlines()
    head = next(i for i, ln in enumerate(lines) if "done" in ln and "pending" in ln)
    names = [c.strip() for c in lines[head].split("┃")[1:-1]]
    cells = [c.strip() for c in lines[head + 2].split("│")[1:-1]]
    return {n: int(c) if c.isdigit() else c for n, c in zip(names, cells, strict=True)}


def listed(out: str) -> list[dict[str, str]]:
    """The rows of the list of sweeps (wrapped continuation lines dropped), newest first."""
    lines = out.splitlines()
    heads = [i for i, ln in enumerate(lines) if "sweep" in ln and "started" in ln and "┃" in ln]
    if not heads:
        return []
    names = [c.strip() for c in lines[heads[0]].split("┃")[1:-1]]
    rows = []
    for ln in lines[heads[0] + 2 :]:
        if not ln.startswith("│"):
            break
        row = dict(zip(names, (c.strip() for c in ln.split("│")[1:-1]), strict=True))
        if row["sweep"]:
            rows.append(row)
    return rows


def shown_sweep(out: str) -> str:
    """The run id of the sweep shown in full (its table's title)."""
    title = next(ln for ln in out.splitlines() if ": sweep " in ln)
    return title.split(": sweep ")[1].split()[0]


def files(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file under `folder` but the data cache, with its size and mtime."""
    return {
        str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file() and "cache" not in p.relative_to(folder).parts
    }


# ------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="session")
def data_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("status-cache")


@pytest.fixture(scope="session")
def grid_store(tmp_path_factory: pytest.TempPathFactory, data_cache: Path) -> Iterator[dict]:
    """Two grid sweeps of strides.yaml in ./mlflow.db; status asked after each."""
    work = tmp_path_factory.mktemp("status-grid")
    mp = pytest.MonkeyPatch()
    mp.chdir(work)
    mp.delenv("MLFLOW_TRACKING_URI", raising=False)
    mp.delenv("ABLATE_DATA", raising=False)
    ablate_run(mp, data_cache, STRIDES, *FIRST)
    before = files(work)
    after_first = {"none": invoke("status"), "space": invoke("status", STRIDES)}
    # a new process, as a user would run it: stdout is the answer, stderr stays empty
    proc = subprocess.run(
        [sys.executable, "-m", "ablate.cli", "status", str(STRIDES)],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert files(work) == before, "status wrote to the folder or the store"
    ablate_run(mp, data_cache, STRIDES, *SECOND)
    yield {"work": work, "after_first": after_first, "process": proc}
    mp.undo()


@pytest.fixture(scope="session")
def optuna_store(tmp_path_factory: pytest.TempPathFactory, data_cache: Path) -> Iterator[Path]:
    """One Optuna sweep of strides_tuned_lr.yaml with --n-trials 2 (3 studies, 6 trials,
    and 3 confirmation runs per study)."""
    work = tmp_path_factory.mktemp("status-optuna")
    mp = pytest.MonkeyPatch()
    mp.chdir(work)
    mp.delenv("MLFLOW_TRACKING_URI", raising=False)
    mp.delenv("ABLATE_DATA", raising=False)
    ablate_run(mp, data_cache, TUNED, "--n-trials", "2", *TINY)
    yield work
    mp.undo()


# ------------------------------------------------------------------- grid sweeps


@pytest.mark.e2e
@pytest.mark.parametrize("how", ["none", "space"])
def test_a_sweep_run_with_overrides_is_found_without_them(grid_store: dict, how: str) -> None:
    code, out = grid_store["after_first"][how]
    assert code == 0, out
    assert "no sweep recorded" not in out
    # 3 strides x 2 seeds, as the sweep recorded it (the YAML alone says 3)
    row = counts(out)
    assert row == {"done": 6, "running": 0, "failed": 0, "pruned": 0, "skipped": 0,
                   "pending": 0, "of": 6}, out  # fmt: skip
    assert "options: --data" in out and "--seeds 2" in out and "--max-epochs 1" in out
    assert listed(out) == [], "one sweep: no list"


@pytest.mark.e2e
def test_status_prints_only_the_answer_and_writes_nothing(grid_store: dict) -> None:
    proc = grid_store["process"]
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert counts(proc.stdout)["of"] == 6, proc.stdout
    assert proc.stdout.splitlines()[0].startswith("strides: sweep ")


@pytest.mark.e2e
@pytest.mark.parametrize("target", [[], [str(STRIDES)], ["strides"]])
def test_two_sweeps_are_listed_and_the_newest_shown(grid_store: dict, target: list[str]) -> None:
    code, out = invoke("status", *target)
    assert code == 0, out
    rows = listed(out)
    assert len(rows) == 2, out
    newest, first = rows
    assert newest[""] == "*" and first[""] == "", out  # the one shown below
    assert (newest["done"], newest["of"]) == ("1", "1"), out
    assert (first["done"], first["of"]) == ("6", "6"), out
    assert "--seeds 2" in out  # the first sweep's options, in the list
    assert shown_sweep(out).startswith(newest["sweep"])
    assert counts(out)["of"] == 1 and counts(out)["done"] == 1
    assert "model.stride=2" in out.split(": sweep ")[1]  # the shown sweep's own options


@pytest.mark.e2e
def test_sweep_prefix_picks_another(grid_store: dict) -> None:
    _, out = invoke("status")
    first = listed(out)[1]["sweep"]
    code, out = invoke("status", "--sweep", first[:6])
    assert code == 0, out
    assert shown_sweep(out).startswith(first)
    assert counts(out)["of"] == 6
    assert listed(out)[1][""] == "*"  # marked in the list
    code, out = invoke("status", "--sweep", "zzzz")
    assert code == 2 and "Traceback" not in out, out
    assert "--sweep 'zzzz': no such sweep in the store" in out


@pytest.mark.e2e
def test_the_space_with_the_runs_own_options_picks_exactly_that_sweep(grid_store: dict) -> None:
    _, out = invoke("status")
    first = listed(out)[1]["sweep"]
    code, out = invoke("status", STRIDES, *FIRST, "--data", SLICE)  # the old way still works
    assert code == 0, out
    assert shown_sweep(out).startswith(first), out
    assert counts(out)["done"] == 6
    code, out = invoke("status", STRIDES, *SECOND)
    assert counts(out)["of"] == 1 and shown_sweep(out).startswith(listed(out)[0]["sweep"])
    # options no sweep ran with: said so, with the sweeps there are
    code, out = invoke("status", STRIDES, "--seeds", "3")
    assert code == 0, out
    assert "no sweep recorded yet with these options for experiment 'strides' (9 to run)" in out
    assert len(listed(out)) == 2 and ": sweep " not in out


@pytest.mark.e2e
def test_unknown_experiment_and_options_without_a_space_are_refused(grid_store: dict) -> None:
    code, out = invoke("status", "stirdes")
    assert code == 2 and "unknown experiment 'stirdes'" in out and "strides" in out, out
    code, out = invoke("status", "--seeds", "2")
    assert code == 2 and "--seeds" in out and "space YAML" in out, out


# ------------------------------------------------------------------ Optuna sweeps


@pytest.mark.e2e
@pytest.mark.parametrize("how", ["none", "space", "experiment", "space-and-its-options"])
def test_an_optuna_sweep_run_with_n_trials_is_found_and_counted(
    optuna_store: Path, data_cache: Path, how: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(optuna_store)
    args = {"none": [], "space": [TUNED], "experiment": ["strides_tuned_lr"]}.get(how)
    if args is None:
        # an Optuna sweep's id hashes its whole base, the data's paths included
        # (ablate.spaces.tuning.space_hash): the exact pick needs them too
        args = [TUNED, "--n-trials", "2", *TINY, "--data", SLICE]
        args += ["--set", f"data.cache_dir={data_cache}"]
    code, out = invoke("status", *args)
    assert code == 0, out
    row = counts(out)
    # 3 strides x (--n-trials 2 + 3 confirmation runs), not the file's 3 x (6 + 3)
    assert row["of"] == 15, out
    assert row["done"] + row["pruned"] == 15 and row["pending"] == 0, out


@pytest.mark.e2e
def test_optuna_trial_states_come_from_this_sweeps_studies(
    optuna_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(optuna_store)
    code, out = invoke("status", "--storage", "journal:.ablate/optuna.journal")
    assert code == 0, out
    line = next(ln for ln in out.splitlines() if ln.startswith("Optuna trials: "))
    states = dict(p.rsplit(" ", 1) for p in line.removeprefix("Optuna trials: ").split(", "))
    assert sum(int(v) for v in states.values()) == 6 and set(states) <= {"complete", "pruned"}
    # a storage file that is not there is reported, not created
    code, out = invoke("status", "--storage", "journal:nowhere/optuna.journal")
    assert code == 0 and "Optuna trials: no storage at nowhere/optuna.journal" in out, out
    assert not (optuna_store / "nowhere").exists()


@pytest.mark.e2e
def test_a_space_finds_its_sweep_under_another_experiment_name(
    tmp_path: Path, data_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    ablate_run(monkeypatch, data_cache, STRIDES, "--experiment", "renamed", *SECOND)
    code, out = invoke("status", STRIDES)  # its experiment is 'strides'; the file is this one
    assert code == 0, out
    assert out.startswith("renamed: sweep ") and counts(out)["done"] == 1, out
    code, out = invoke("status", STRIDES, "--experiment", "renamed", *SECOND)
    assert code == 0 and out.startswith("renamed: sweep "), out


# --------------------------------------------------------- no store, old stores, records


@pytest.mark.unit
def test_status_with_no_argument_in_an_empty_folder_creates_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    code, out = invoke("status")
    assert code == 0, out
    assert f"no tracking store at {tmp_path / 'mlflow.db'}" in out
    assert list(tmp_path.iterdir()) == []


@pytest.mark.unit
def test_a_store_from_before_is_read(tmp_path: Path) -> None:
    """store_v1 (issue 13) records `points` on its parent; nothing is written to it."""
    shutil.copy(ROOT / "tests" / "fixtures" / "store_v1" / "mlflow.db", tmp_path / "mlflow.db")
    before = files(tmp_path)
    code, out = invoke("status", "--tracking-uri", f"sqlite:///{tmp_path / 'mlflow.db'}")
    assert code == 0, out
    with sqlite3.connect(tmp_path / "mlflow.db") as db:
        (finished,) = db.execute(
            "SELECT count(*) FROM tags WHERE key = 'ablate.state' AND value = 'finished'"
        ).fetchone()
    assert counts(out)["of"] == 12 and counts(out)["done"] == 12, out
    assert finished == 13  # 12 runs and their parent
    assert files(tmp_path) == before


@pytest.mark.unit
@pytest.mark.parametrize("name", ["x" * 10_000, "a\x1b[31mb\x07", "it's"])
def test_names_no_store_holds_are_one_bounded_line(tmp_path: Path, name: str) -> None:
    shutil.copy(ROOT / "tests" / "fixtures" / "store_v1" / "mlflow.db", tmp_path / "mlflow.db")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    for args in (["status", name], ["status", "--sweep", name]):
        code, out = invoke(*args, "--tracking-uri", uri)
        assert code == 2 and "Traceback" not in out, out
        assert len(out.strip().splitlines()) == 1 and len(out) < 400, out
        assert "\x1b" not in out and "\x07" not in out  # escaped, never sent to the terminal
        assert "unknown experiment" in out or "no such sweep in the store" in out, out


def sweep_run(params: dict[str, str], command: str = "") -> SweepRun:
    return SweepRun("r1", "e", "1", "FINISHED", None, None, params, {"ablate.command": command})


@pytest.mark.unit
def test_the_plan_is_the_parents_record_else_its_logged_design() -> None:
    design = '{"kind": "grid", "grid": {"model.stride": [1, 2, 3], "model.head": ["gap"]}, "seeds": [0, 1]}'
    assert planned(sweep_run({"points": "4", "design": design})) == 4  # the record wins
    assert planned(sweep_run({"design": design})) == 6  # 3 x 1 levels x 2 seeds
    assert planned(sweep_run({})) is None  # nothing says: shown as "?"
    assert planned(sweep_run({"design": "not json"})) is None


@pytest.mark.unit
def test_options_are_the_command_after_the_space() -> None:
    cmd = "ablate run search_spaces/strides.yaml --seeds 2 --set 'data.source=/a b/c.zip'"
    assert options_of(sweep_run({}, cmd)) == "--seeds 2 --set 'data.source=/a b/c.zip'"
    assert options_of(sweep_run({}, "ablate run s.yaml")) == ""
    assert options_of(sweep_run({}, "odd 'quote")) == "odd 'quote"
