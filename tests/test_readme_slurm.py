"""The README's SLURM commands, read from the README and run as written, in order:
launch, status and squeue while a point trains, scancel mid-run, launch again with
`--wait`; then every point finished exactly once (a job cancelled mid-run, then a
second launch).

Against the real single-node SLURM of `.ci/slurm.sh`, a private PostgreSQL and the
session's `mlflow server` on 127.0.0.1. Substituted, as in test_readme_scaleout.py, only
what cannot be the same here: the database URL (the test cluster's user, no password)
and the tracking server's address, the data path (the committed CIFAR-10 slice) and
the space file (a six-point space named `full`, so the README's job name
`ablate-full` is this sweep's). Flags, job names and commands are the README's own.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from mlflow.tracking import MlflowClient
from readme_commands import section_commands
from slurm_cluster import slurm_cluster, squeue_ids, wait_gone  # noqa: F401 (slurm_cluster: a fixture)
from store import finished_keys, state, sweep_runs

from ablate.store import RunState, schema

ROOT = Path(__file__).resolve().parents[1]
SLICE = ROOT / "tests" / "data" / "cifar10-slice.zip"
README_DB = "postgresql://ablate:secret@dbhost/ablate"
README_TRACKING = "http://dbhost:5000"
pytestmark = [pytest.mark.servers, pytest.mark.usefixtures("slurm_cluster")]


EPOCHS = 24


def six_point_space(tmp: Path) -> Path:
    """`full`, six points of 24 short epochs (about 4 s) on the README's two workers: three
    rounds, so that the cancel lands in the first half of a point however long the status
    and squeue before it took on loaded cores."""
    doc = {
        "experiment": "full",  # the README's space: the same experiment and job name
        "base": {
            "model": {"depth": 2, "width": 8},
            "data": {"limit_train": 600, "limit_test": 100, "cache_dir": str(tmp / "cache")},
            "train": {"max_epochs": EPOCHS, "batch_size": 32},
            "explain": {"enabled": False},
        },
        "grid": {"model.stride": [1, 2]},
        "seeds": 3,
    }
    path = tmp / "full.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def test_readme_slurm_commands_run_as_written(
    tmp_path: Path, postgres_db_url: str, mlflow_server: str
) -> None:
    commands = section_commands("SLURM")
    launches = [c for c in commands if c.startswith("ablate launch slurm")]
    status = [c for c in commands if c.startswith("ablate status")]
    squeue = [c for c in commands if c.startswith("squeue")]
    scancel = [c for c in commands if c.startswith("scancel")]
    assert len(launches) == 2 and len(status) == len(squeue) == len(scancel) == 1, commands
    assert "--wait" not in launches[0] and launches[1].endswith("--wait"), launches
    assert len(commands) == 5, commands  # every command of the section is run below
    assert all(README_DB in c and README_TRACKING in c for c in (*launches, *status))

    space = six_point_space(tmp_path)
    from ablate.spaces import DataConfig
    from lightning_modules.data import load_cifar10

    load_cifar10(DataConfig(source=str(SLICE), cache_dir=str(tmp_path / "cache")))

    def substitute(cmd: str) -> list[str]:
        cmd = cmd.replace(README_DB, postgres_db_url).replace(README_TRACKING, mlflow_server)
        cmd = cmd.replace("search_spaces/full.yaml", str(space))
        words = shlex.split(cmd.replace("/path/to/cifar10-jpeg.zip", str(SLICE)))
        if words[0] == "ablate":
            words = [sys.executable, "-m", "ablate.cli", *words[1:]]  # this install's ablate
        return words

    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", "ABLATE_SLURM_POLL": "1"}
    env.pop("MLFLOW_TRACKING_URI", None)

    def run(cmd: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        argv = substitute(cmd)
        res = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True,
                             timeout=timeout)  # fmt: skip
        assert res.returncode == 0, f"$ {shlex.join(argv)}\n{res.stdout}{res.stderr}\n{logs()}"
        return res

    def logs() -> str:
        return "\n".join(f"--- {p}\n{p.read_text()[-2500:]}" for p in tmp_path.rglob("*.out"))

    client = MlflowClient(mlflow_server)
    t0 = time.perf_counter()
    try:
        first = run(launches[0])
        job = re.search(r"Submitted job (\d+)", first.stdout)
        assert job, first.stdout
        assert "scancel " in first.stdout and "squeue -j " in first.stdout
        assert "secret" not in first.stdout + first.stderr

        def early(children: list) -> list:  # type: ignore[type-arg]
            """Points running and in the first half of their epochs: seconds from the end."""
            live = [c for c in children if state(c) == RunState.RUNNING]
            done = {c.info.run_id: len(client.get_metric_history(c.info.run_id, "val_acc"))
                    for c in live}  # fmt: skip
            return [c for c in live if done[c.info.run_id] < EPOCHS // 2]

        def wait_for(pick: object) -> list:  # type: ignore[type-arg]
            deadline = time.monotonic() + 240
            while time.monotonic() < deadline:
                found = pick(sweep_runs(client, "full")[1])  # type: ignore[operator]
                if found:
                    return found  # type: ignore[no-any-return]
                time.sleep(0.2)
            raise AssertionError(logs())

        wait_for(lambda cs: [c for c in cs if state(c) == RunState.RUNNING])
        t_running = time.perf_counter() - t0

        watched = run(status[0])
        assert "full" in watched.stdout, watched.stdout
        assert "SLURM jobs (ablate-full)" in watched.stdout, watched.stdout  # the tasks too
        assert f"{job.group(1)}_" in watched.stdout, watched.stdout
        queued = run(squeue[0])
        assert f"{job.group(1)}_" in queued.stdout, queued.stdout
        # status and squeue take seconds on loaded cores, in which a point may finish: the
        # cancel goes in while a point still has half its epochs to run.
        running = wait_for(early)
        run(scancel[0])  # mid-run
        wait_gone("ablate-full")
        _, children = sweep_runs(client, "full")
        cut = [client.get_run(r.info.run_id) for r in running]
        assert all(state(r) == RunState.KILLED for r in cut), [r.data.tags for r in cut]
        assert {r.data.tags[schema.FAIL_REASON] for r in cut} == {"preempted (SIGTERM)"}
        assert len(finished_keys(children)) < 6  # the cancel did cut the sweep short

        t_cancelled = time.perf_counter() - t0
        second = run(launches[1], timeout=600)
        assert "every task finished" in second.stdout, second.stdout
    finally:
        subprocess.run(["scancel", "--name", "ablate-full"], timeout=60, check=False)
    _, children = sweep_runs(client, "full")
    keys = finished_keys(children)
    assert len(keys) == 6 and set(keys.values()) == {1}, (keys, logs())
    assert squeue_ids("ablate-full") == []
    print(
        f"launch to a running point {t_running:.1f} s, cancelled by {t_cancelled:.1f} s, "
        f"second launch done at {time.perf_counter() - t0:.1f} s"
    )
