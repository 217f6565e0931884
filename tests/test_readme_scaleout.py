"""The README's Scaling out commands, read from the README and run as written.

Only what cannot be the same here is substituted: host names and the port
(127.0.0.1 and free ports: nothing here may listen beyond loopback), the
artifact folder, the data path (the committed CIFAR-10 slice), and the space
file (a two-point space in place of full.yaml's 108 runs). `sudo -u postgres
psql` becomes psql as the private cluster's superuser. URL schemes, drivers,
users, passwords, database names and flags are the README's own, so a README
that spells a driver the default install lacks fails here.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from readme_commands import section_commands
from servers import MlflowServer as Server
from servers import (
    ServerError,
    _wait_healthy,
    free_port,
    log_tail,
    postgres_running,
    stop_process_group,
)
from store import finished_keys, sweep_runs

ROOT = Path(__file__).resolve().parents[1]
SLICE = ROOT / "tests" / "data" / "cifar10-slice.zip"
pytestmark = pytest.mark.servers


def tiny_space(tmp: Path) -> Path:
    doc = {
        "experiment": "full",  # the README's space: the same experiment name
        "base": {
            "model": {"depth": 2, "width": 8},
            "data": {"limit_train": 200, "limit_test": 100},
            "train": {"max_epochs": 1, "batch_size": 32},
            "explain": {"enabled": False},
        },
        "grid": {"model.stride": [1, 2]},
    }
    path = tmp / "full.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def test_readme_scaleout_commands_run_as_written(tmp_path: Path) -> None:
    commands = section_commands("Scaling out")
    psql = [c for c in commands if " psql " in f" {c} "]
    server = [c for c in commands if " mlflow server " in f" {c} "]
    workers = [c for c in commands if c.startswith("ablate run") and "--storage" in c]
    local = [c for c in commands if c.startswith("ablate run") and "--workers" in c]
    status = [c for c in commands if c.startswith("ablate status")]
    assert len(psql) == len(server) == len(workers) == len(local) == len(status) == 1, commands
    assert all("postgresql://" in c for c in (*server, *workers, *status))  # no driver spelled

    space = tiny_space(tmp_path)
    mlflow_port = free_port()

    def substitute(cmd: str, pg_port: int) -> str:
        cmd = cmd.replace("search_spaces/full.yaml", str(space))
        cmd = cmd.replace("/path/to/cifar10-jpeg.zip", str(SLICE))
        cmd = cmd.replace("../shared/data/cifar10-jpeg.zip", str(SLICE))
        cmd = cmd.replace("@localhost/", f"@127.0.0.1:{pg_port}/")
        cmd = cmd.replace("@dbhost/", f"@127.0.0.1:{pg_port}/")
        cmd = cmd.replace("http://dbhost:5000", f"http://127.0.0.1:{mlflow_port}")
        cmd = cmd.replace("--host 0.0.0.0 --port 5000", f"--host 127.0.0.1 --port {mlflow_port}")
        return cmd.replace("/srv/mlflow-artifacts", str(tmp_path / "artifacts"))

    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", "OMP_NUM_THREADS": "1"}
    env.pop("MLFLOW_TRACKING_URI", None)
    bindir = Path(sys.executable).parent  # `ablate` and `mlflow` of this install

    def argv_env(cmd: str) -> tuple[list[str], dict[str, str]]:
        words, extra = shlex.split(cmd), {}
        while words and re.fullmatch(r"[A-Z_]+=.*", words[0]):
            k, v = words.pop(0).split("=", 1)
            extra[k] = v
        if words[0] in ("ablate", "mlflow"):
            words[0] = str(bindir / words[0])
        return words, {**env, **extra}

    # --workers N on this machine, with the store in the project folder: its own folder and
    # store, so it runs while the PostgreSQL half below waits on its servers (wall time)
    work = tmp_path / "local"
    work.mkdir()
    local_argv, local_env = argv_env(substitute(local[0], 0))
    local_log = tmp_path / "local.log"
    local_run = subprocess.Popen(
        local_argv, cwd=work, env=local_env, stdin=subprocess.DEVNULL,
        stdout=local_log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        with postgres_running() as pg:
            # the README creates the database itself: drop the cluster's own first
            pg.run("psql", "-h", "127.0.0.1", "-p", str(pg.port), "-U", pg.user, "-d",
                   "postgres", "-c", "DROP DATABASE ablate")  # fmt: skip
            words = shlex.split(psql[0])
            assert words[:3] == ["sudo", "-u", "postgres"] and words[3] == "psql", words
            pg.run("psql", "-h", "127.0.0.1", "-p", str(pg.port), "-U", pg.user, "-d",
                   "postgres", *words[4:])  # fmt: skip

            argv, server_env = argv_env(substitute(server[0], pg.port))
            log = tmp_path / "mlflow-server.log"
            proc = subprocess.Popen(
                argv, cwd=tmp_path, env=server_env, stdin=subprocess.DEVNULL,
                stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
            mlflow = Server(url=f"http://127.0.0.1:{mlflow_port}", port=mlflow_port,
                            root=tmp_path, process=proc)  # fmt: skip
            try:
                try:
                    _wait_healthy(mlflow, 90)
                except ServerError as e:
                    pytest.fail(f"{e}\n$ {shlex.join(argv)}\n{log_tail(log)}")
                runs = []
                for cmd in (workers[0], workers[0], status[0]):
                    argv, run_env = argv_env(substitute(cmd, pg.port))
                    res = subprocess.run(argv, cwd=tmp_path, env=run_env, capture_output=True,
                                         text=True, timeout=300)  # fmt: skip
                    runs.append(res)
                    assert res.returncode == 0, f"$ {shlex.join(argv)}\n{res.stdout}{res.stderr}"
                assert "0 points queued now" in runs[1].stdout  # a second worker: all done
                assert "epoch 1/1" not in runs[1].stdout, runs[1].stdout
                assert not any("secret" in r.stdout + r.stderr for r in runs)  # masked
                assert "best so far:" in runs[2].stdout, runs[2].stdout
                from mlflow.tracking import MlflowClient

                parents, children = sweep_runs(MlflowClient(mlflow.url), "full")
                assert len(parents) == 1
                assert set(finished_keys(children).values()) == {1}
                assert len(finished_keys(children)) == 2
            finally:
                stop_process_group(proc)
        local_code = local_run.wait(timeout=300)
    except ServerError as e:
        pytest.fail(str(e), pytrace=False)
    finally:
        if local_run.poll() is None:
            stop_process_group(local_run)
    assert local_code == 0, f"$ {shlex.join(local_argv)}\n{log_tail(local_log, 80)}"
    assert (work / "mlflow.db").exists()


def test_a_psycopg2_url_works_too(postgres_db_url: str) -> None:
    """`postgresql+psycopg2://` (older docs, MLflow's examples) opens the same storage."""
    import optuna

    url = postgres_db_url.replace("postgresql://", "postgresql+psycopg2://")
    optuna.create_study(study_name="psycopg2", storage=url).optimize(lambda t: 1.0, n_trials=1)
    study = optuna.load_study(study_name="psycopg2", storage=postgres_db_url)
    assert len(study.trials) == 1
