"""Many workers on one sweep, against a real PostgreSQL and a real `mlflow server`.

Three `ablate run` processes share a 6-point grid through PostgreSQL (Optuna
storage) and one MLflow tracking server: every point runs exactly once, under
one parent. Then a worker is killed with SIGKILL mid-trial, and a re-run
completes the sweep with no duplicate and no loss.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import optuna
import pytest
import yaml
from mlflow.tracking import MlflowClient
from store import finished_keys, sweep_runs

ROOT = Path(__file__).resolve().parents[1]
SLICE = ROOT / "tests" / "data" / "cifar10-slice.zip"
pytestmark = pytest.mark.servers


def grid_space(tmp: Path, experiment: str, epochs: int, limit_train: int) -> Path:
    doc = {
        "experiment": experiment,
        "base": {
            "model": {"depth": 2, "width": 8},
            "data": {"limit_train": limit_train, "limit_test": 100},
            "train": {"max_epochs": epochs, "batch_size": 32},
            "explain": {"enabled": False},
        },
        "grid": {"model.stride": [1, 2, 3], "model.head": ["gap", "flatten"]},
    }
    path = tmp / f"{experiment}.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def worker(
    space: Path, storage: str, tracking: str, cwd: Path, log: Path
) -> subprocess.Popen[bytes]:
    cmd = [
        sys.executable, "-m", "ablate.cli", "run", str(space),
        "--data", str(SLICE),
        "--storage", storage,
        "--tracking-uri", tracking,
        "--stale-after", "6",
        "--set", f"data.cache_dir={cwd / 'cache'}",
        "--set", "train.threads=1",
        "--no-report",  # each worker would write one; not what is tested here
    ]  # fmt: skip
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(cmd, cwd=cwd, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)


def study_of(storage: str, experiment: str) -> optuna.Study:
    names = [
        s.study_name
        for s in optuna.get_all_study_summaries(storage)
        if s.study_name.startswith(f"ablate.grid.{experiment}.")
        and not s.study_name.endswith("::lock")
    ]
    assert len(names) == 1, names
    return optuna.load_study(study_name=names[0], storage=storage)


@pytest.fixture(scope="module")
def warm_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Decode the slice once so that workers start equally fast."""
    from ablate.spaces import DataConfig
    from lightning_modules.data import load_cifar10

    work = tmp_path_factory.mktemp("scaleout")
    load_cifar10(DataConfig(source=str(SLICE), cache_dir=str(work / "cache")))
    return work


def test_three_workers_run_each_point_exactly_once(
    warm_cache: Path, postgres_db_url: str, mlflow_server: str
) -> None:
    space = grid_space(warm_cache, "three_workers", epochs=1, limit_train=300)
    logs = [warm_cache / f"w{i}.log" for i in range(3)]
    t0 = time.perf_counter()
    procs = [worker(space, postgres_db_url, mlflow_server, warm_cache, log) for log in logs]
    codes = [p.wait(timeout=400) for p in procs]
    elapsed = time.perf_counter() - t0
    output = "\n".join(f"--- {log.name}\n{log.read_text()[-3000:]}" for log in logs)
    assert codes == [0, 0, 0], output

    client = MlflowClient(mlflow_server)
    parents, children = sweep_runs(client, "three_workers")
    assert len(parents) == 1, output
    parent_id = parents[0].info.run_id
    assert all(c.data.tags["mlflow.parentRunId"] == parent_id for c in children)
    keys = finished_keys(children)
    assert len(keys) == 6 and set(keys.values()) == {1}, keys  # 6 points, none twice
    assert len(children) == 6  # and no failed or duplicate attempt either
    study = study_of(postgres_db_url, "three_workers")
    states = Counter(t.state.name for t in study.trials)
    assert states == {"COMPLETE": 6}, states
    assert Counter(t.user_attrs["ablate.run_key"] for t in study.trials) == keys
    assert {c.data.tags["optuna.state"] for c in children} == {"COMPLETE"}
    assert {c.data.tags["optuna.study"] for c in children} == {study.study_name}
    workers = Counter(c.data.tags["ablate.worker"] for c in children)
    print(f"3 workers, 6 points in {elapsed:.1f}s; points per worker: {dict(workers)}")
    cmd = [sys.executable, "-m", "ablate.cli", "status", str(space), "--data", str(SLICE)]
    cmd += ["--storage", postgres_db_url, "--tracking-uri", mlflow_server]
    status = subprocess.run(cmd, capture_output=True, text=True, cwd=warm_cache, timeout=120)
    assert status.returncode == 0, status.stderr
    assert "Optuna trials: complete 6" in status.stdout
    assert "best so far:" in status.stdout


def test_kill_9_mid_trial_then_rerun_completes_without_duplicates(
    warm_cache: Path, postgres_db_url: str, mlflow_server: str
) -> None:
    # 300 images x 4 epochs: seconds a point, enough to be seen running and killed
    space = grid_space(warm_cache, "kill9", epochs=4, limit_train=300)
    client = MlflowClient(mlflow_server)
    victim = worker(space, postgres_db_url, mlflow_server, warm_cache, warm_cache / "victim.log")
    deadline = time.time() + 180
    running: list = []  # type: ignore[type-arg]
    while time.time() < deadline and not running:
        time.sleep(0.5)
        if client.get_experiment_by_name("kill9") is None:
            continue
        _, children = sweep_runs(client, "kill9")
        # mid-trial: its second point is training (one finished point must survive the kill)
        running = [c for c in children if c.data.tags.get("ablate.state") == "running"]
        if running and len(children) < 2:
            running = []
    assert running, (warm_cache / "victim.log").read_text()[-3000:]
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=30)
    killed_run = running[0].info.run_id
    _, before = sweep_runs(client, "kill9")
    done_before = finished_keys(before)

    rerun_log = warm_cache / "rerun.log"
    rerun = worker(space, postgres_db_url, mlflow_server, warm_cache, rerun_log)
    assert rerun.wait(timeout=400) == 0, rerun_log.read_text()[-3000:]

    _, children = sweep_runs(client, "kill9")
    keys = finished_keys(children)
    assert len(keys) == 6 and set(keys.values()) == {1}, keys  # no loss, no duplicate
    assert done_before <= keys  # what finished before the kill was kept, not retrained
    killed = client.get_run(killed_run)
    assert killed.info.status == "FAILED"
    assert "stopped beating" in killed.data.tags["ablate.fail_reason"]
    study = study_of(postgres_db_url, "kill9")
    states = Counter(t.state.name for t in study.trials)
    assert states == {"COMPLETE": 6, "FAIL": 1}, states
    complete = Counter(
        t.user_attrs["ablate.run_key"] for t in study.trials if t.state.name == "COMPLETE"
    )
    assert complete == keys
