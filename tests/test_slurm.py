"""`ablate launch slurm` against the real single-node SLURM of `.ci/slurm.sh`, a real
PostgreSQL (the Optuna storage) and a real `mlflow server`; and its pieces, alone.

- strides.yaml launched as 2 array tasks with `--wait`, one of them warned (USR1) as
  SLURM warns before the time limit: its run ends KILLED "preempted", the task requeues
  itself, and every point is finished exactly once;
- what cannot work on a cluster is refused through the real CLI, before submitting;
- the batch script keeps every value literal, passes USR1 on and requeues only then.

A job cancelled mid-run and launched again is `tests/test_readme_slurm.py` (the
README's own commands). The tests fail, never skip, without SLURM.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient
from slurm_cluster import slurm_cluster, squeue_ids  # noqa: F401 (slurm_cluster: a fixture)
from store import finished_keys, state, sweep_runs, the_sweep

from ablate.launch import LaunchError, Resources, fs_type, is_shared, job_name
from ablate.launch.checks import check_reachable_hosts, check_storage, resolve_data
from ablate.launch.jobs import exit_code, parse_sacct, parse_squeue
from ablate.launch.script import job_script, masked_script, sbatch_argv, warn_seconds
from ablate.store import RunState, schema

ROOT = Path(__file__).resolve().parents[1]
SLICE = ROOT / "tests" / "data" / "cifar10-slice.zip"
STRIDES = ROOT / "search_spaces" / "strides.yaml"
ENV = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", "ABLATE_SLURM_POLL": "1"}


def cli(*args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 600):  # type: ignore[no-untyped-def]
    """`ablate ARGS` in a fresh process, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "ablate.cli", *args],
        cwd=cwd, env=env or ENV, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


def small(experiment: str, cache: Path) -> list[str]:
    """The small-budget run options the tests train with."""
    return [
        "--experiment", experiment, "--max-epochs", "1", "--seeds", "1",
        "--set", "data.limit_train=300", "--set", "data.limit_test=100",
        "--set", "explain.enabled=false", "--set", f"data.cache_dir={cache}",
    ]  # fmt: skip


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The slice decoded once, so that the workers start equally fast."""
    from ablate.spaces import DataConfig
    from lightning_modules.data import load_cifar10

    folder = tmp_path_factory.mktemp("slurm-cache")
    load_cifar10(DataConfig(source=str(SLICE), cache_dir=str(folder)))
    return folder


def logs_of(folder: Path) -> str:
    return "\n".join(
        f"--- {p.name}\n{p.read_text()[-3000:]}" for p in sorted(folder.rglob("*.out"))
    )


# --------------------------------------------------------------------------- real SLURM


def task_of(worker: str, job: str) -> str:
    """The array task (`<job>_<i>`) whose processes include the worker `host:pid:boot`."""
    pid = worker.split(":")[1]
    pids = subprocess.run(["scontrol", "listpids"], capture_output=True, text=True,
                          timeout=60, check=True).stdout.split("\n")  # fmt: skip
    raw = {row.split()[0]: row.split()[1] for row in pids[1:] if len(row.split()) >= 2}
    tasks = subprocess.run(["squeue", "-h", "-r", "-j", job, "-o", "%A %i"], capture_output=True,
                           text=True, timeout=60, check=True).stdout.split("\n")  # fmt: skip
    by_raw = dict(row.split() for row in tasks if len(row.split()) == 2)
    return by_raw[raw[pid]]


def released_when_requeued(task: str, timeout: float = 120) -> None:
    """Wait until `task` is pending again after a requeue; start it at once (SLURM holds
    a requeued job back for 2 minutes)."""
    deadline = time.monotonic() + timeout
    while True:
        show = subprocess.run(["scontrol", "show", "job", task], capture_output=True,
                              text=True, timeout=60).stdout  # fmt: skip
        if "JobState=PENDING" in show and "Restarts=1" in show:
            break
        assert time.monotonic() < deadline, f"{task} not requeued:\n{show}"
        time.sleep(0.3)
    subprocess.run(["scontrol", "update", f"jobid={task}", "StartTime=now"], check=True,
                   timeout=60)  # fmt: skip


@pytest.mark.servers
@pytest.mark.usefixtures("slurm_cluster")
def test_two_workers_wait_finish_every_point_once_through_a_requeue(
    cache: Path, postgres_db_url: str, mlflow_server: str, tmp_path: Path
) -> None:
    """strides.yaml as 2 tasks with --wait. While stride 1 trains (epoch 2 of 3), its
    task gets what SLURM sends 120 s before --time (USR1 to the batch shell,
    `--signal=B:USR1`): the run ends KILLED "preempted", the task requeues itself,
    starts again and, with the other task, finishes every point exactly once."""
    experiment = f"slurm_strides_{uuid.uuid4().hex[:6]}"
    options = small(experiment, cache)
    options[options.index("--max-epochs") + 1] = "3"
    options[options.index("data.limit_train=300")] = "data.limit_train=600"  # seconds a point
    data = os.path.relpath(SLICE, tmp_path)  # relative: the workers get it resolved
    t0 = time.perf_counter()
    launch = subprocess.Popen(
        [sys.executable, "-m", "ablate.cli", "launch", "slurm", str(STRIDES), "--workers", "2",
         "--wait", "--storage", postgres_db_url, "--tracking-uri", mlflow_server,
         "--data", data, "--cpus-per-worker", "1", "--time", "10", *options],
        cwd=tmp_path, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    client = MlflowClient(mlflow_server)
    logs = lambda: logs_of(tmp_path / ".ablate")  # noqa: E731
    try:
        stride1 = None
        deadline = time.monotonic() + 240
        while stride1 is None and time.monotonic() < deadline and launch.poll() is None:
            time.sleep(0.3)
            _, children = sweep_runs(client, experiment)
            for c in children:  # training: past its first epoch, two more to go
                if (
                    state(c) == RunState.RUNNING
                    and c.data.params.get("model.stride") == "1"
                    and "val_acc" in c.data.metrics
                    and any(  # its epoch 1 checkpoint uploaded: the next attempt resumes it
                        f.path == "resume/state.json"
                        for f in client.list_artifacts(c.info.run_id, "resume")
                    )
                ):
                    stride1 = c
        assert stride1 is not None, logs()
        job = json.loads(next((tmp_path / ".ablate").rglob("launch.json")).read_text())["job_id"]
        task = task_of(stride1.data.tags[schema.WORKER], job)
        subprocess.run(["scancel", "--batch", "--signal=USR1", task], check=True, timeout=60)
        released_when_requeued(task)
        stdout, _ = launch.communicate(timeout=400)
    finally:
        if launch.poll() is None:
            launch.kill()
        subprocess.run(["scancel", "--name", job_name(experiment)], timeout=60, check=False)
    elapsed = time.perf_counter() - t0
    out = stdout + logs()
    assert launch.returncode == 0, out
    assert "Submitted job " in stdout and f"named ablate-{experiment}" in stdout, out
    assert f"data:   {SLICE}" in stdout, out  # the relative path, resolved and shown
    assert "every task finished" in stdout, out
    assert "time limit near, requeueing it" in out and "(restart 1)" in out, out

    _, children = the_sweep(mlflow_server, experiment)
    keys = finished_keys(children)
    assert len(keys) == 3 and set(keys.values()) == {1}, (keys, out)  # 3 strides, each once
    cut = client.get_run(stride1.info.run_id)
    assert state(cut) == RunState.KILLED, (cut.data.tags, out)
    assert cut.data.tags[schema.FAIL_REASON] == "preempted (SIGUSR1)"
    assert len(children) == 4, out  # and nothing else: no failed or duplicate attempt
    # the requeued point went on from the cut run's last finished epoch, not from epoch 0
    (again,) = [
        c for c in children if c.data.params.get("model.stride") == "1" and state(c) == "finished"
    ]
    assert again.data.tags[schema.RESUMED_FROM] == stride1.info.run_id, (again.data.tags, out)
    assert f"resumed {stride1.info.run_id[:12]} from epoch" in out, out

    (folder,) = (tmp_path / ".ablate" / "slurm").iterdir()
    record = json.loads((folder / "launch.json").read_text())
    assert record["experiment"] == experiment and record["workers"] == 2
    assert sorted(p.name for p in folder.glob("*.out")) == [f"{job}_0.out", f"{job}_1.out"]
    assert "postgres@" in (folder / "worker.sh").read_text()  # the real script went to sbatch

    from ablate.launch import sweep_jobs

    os.chdir(tmp_path)
    try:
        rows = sweep_jobs(experiment)
    finally:
        os.chdir(ROOT)
    assert sorted(r.task for r in rows) == [f"{job}_0", f"{job}_1"], rows
    assert all(r.state == "COMPLETED" and r.exit_code == 0 and r.node for r in rows), rows
    assert squeue_ids(job_name(experiment)) == []
    print(f"2 SLURM workers, 3 points and a requeue in {elapsed:.1f} s")


@pytest.mark.servers
@pytest.mark.usefixtures("slurm_cluster")
@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("no-storage", "--storage is required"),
        ("sqlite-storage", "sqlite is for one process on one machine"),
        ("sqlite-tracking", "a sqlite store is one machine's file"),
        ("local-journal", "which only this machine sees"),
        ("missing-data", "is not there (resolved to "),
        ("no-sbatch", "sbatch is not on the PATH"),
    ],
)
def test_refused_before_submitting(tmp_path: Path, case: str, expected: str) -> None:
    experiment = f"slurm_refused_{uuid.uuid4().hex[:6]}"
    # every refusal comes before the tracking server is asked: no server needed
    storage, tracking = f"journal:{tmp_path}/sweep.journal", "http://tracking.invalid:5000"
    extra, env = ["--shared-fs"], dict(ENV)
    if case == "no-storage":
        storage = ""
    elif case == "sqlite-storage":
        storage = f"sqlite:///{tmp_path}/optuna.db"
    elif case == "sqlite-tracking":
        tracking = "sqlite:///mlflow.db"
    elif case == "local-journal":
        extra = []
        assert not is_shared(tmp_path), f"tmp is on {fs_type(tmp_path)}: expected a local fs"
    elif case == "missing-data":
        extra += ["--data", "data/cifar10.zip"]
    elif case == "no-sbatch":
        env["PATH"] = str(tmp_path / "empty-bin")  # python by its full path; no SLURM
    args = ["launch", "slurm", str(STRIDES), "--tracking-uri", tracking, *extra]
    args += ["--storage", storage] if storage else []
    res = cli(*args, "--experiment", experiment, cwd=tmp_path, env=env, timeout=120)
    assert res.returncode == 2, res.stdout + res.stderr
    assert expected in res.stderr, res.stderr
    assert "Traceback" not in res.stderr and res.stdout == ""
    assert len(res.stderr.strip().splitlines()) == 1, res.stderr
    if case == "missing-data":
        assert str(tmp_path / "data" / "cifar10.zip") in res.stderr
    if case == "local-journal":
        assert "--shared-fs" in res.stderr  # the way out, named
    assert not (tmp_path / ".ablate").exists()  # nothing recorded...
    assert squeue_ids(job_name(experiment)) == []  # ...and nothing submitted


# --------------------------------------------------------------------------- pieces


@pytest.mark.unit
def test_the_batch_script_keeps_every_value_literal(tmp_path: Path) -> None:
    hostile = [
        "a b",
        "$(touch PWNED)",
        "`touch PWNED`",
        "it's",
        '"',
        "x; touch PWNED",
        "*",
        "\n",
        "",
    ]
    probe = "import json, sys; print('ARGS=' + json.dumps(sys.argv[1:]))"
    script = tmp_path / "worker.sh"
    script.write_text(job_script([sys.executable, "-c", probe, *hostile], tmp_path / "my dir"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLURM_")}
    res = subprocess.run(["bash", str(script)], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=60)  # fmt: skip
    assert res.returncode == 0, res.stderr
    line = next(x for x in res.stdout.splitlines() if x.startswith("ARGS="))
    assert json.loads(line.removeprefix("ARGS=")) == hostile
    assert not any(tmp_path.rglob("PWNED"))
    masked = masked_script(["run", "--storage", "postgresql://u:secret@h/db"], tmp_path)
    assert "secret" not in masked and "u:***@h" in masked


def run_script_with(tmp_path: Path, child: str, send: signal.Signals, to_shell: bool) -> str:
    """Run the batch script on `child` (python code) with a recording `scontrol` on
    the PATH; send `send` to the shell only (USR1, as `--signal=B:`) or to every
    process (as SLURM's SIGTERM); return what scontrol was asked."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    record = tmp_path / "scontrol.args"
    (bin_dir / "scontrol").write_text(f'#!/bin/sh\necho "$@" >> {record}\n')
    (bin_dir / "scontrol").chmod(0o755)
    ready = tmp_path / "ready"
    code = f"import pathlib, signal, sys, time\n{child}\npathlib.Path({str(ready)!r}).touch()\ntime.sleep(60)"
    script = tmp_path / "worker.sh"
    script.write_text(job_script([sys.executable, "-c", code], tmp_path))
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}",
           "SLURM_ARRAY_JOB_ID": "77", "SLURM_ARRAY_TASK_ID": "3"}  # fmt: skip
    proc = subprocess.Popen(["bash", str(script)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)  # fmt: skip
    deadline = time.monotonic() + 30
    while not ready.exists():
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.05)
    if to_shell:
        proc.send_signal(send)
    else:
        os.killpg(proc.pid, send)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 143, out
    return record.read_text() if record.exists() else ""


PREEMPTIBLE = "signal.signal(signal.SIGUSR1, lambda *a: sys.exit(143))\nsignal.signal(signal.SIGTERM, lambda *a: sys.exit(143))"


@pytest.mark.unit
def test_usr1_reaches_ablate_and_the_task_requeues_itself(tmp_path: Path) -> None:
    assert run_script_with(tmp_path, PREEMPTIBLE, signal.SIGUSR1, to_shell=True) == "requeue 77_3\n"


@pytest.mark.unit
def test_sigterm_stops_the_worker_without_a_requeue(tmp_path: Path) -> None:
    assert run_script_with(tmp_path, PREEMPTIBLE, signal.SIGTERM, to_shell=False) == ""


@pytest.mark.unit
def test_sbatch_options() -> None:
    res = Resources(4, "gpu", 1, 8, "32G", 240, "proj", None)
    argv = sbatch_argv("sbatch", "ablate-full", res, Path("/l"), Path("/w"))
    for want in ("--array=0-3", "--requeue", "--signal=B:USR1@120", "--partition=gpu",
                 "--gres=gpu:1", "--cpus-per-task=8", "--mem=32G", "--time=240",
                 "--account=proj", "--job-name=ablate-full", "--output=/l/%A_%a.out",
                 "--open-mode=append", "--chdir=/w"):  # fmt: skip
        assert want in argv, (want, argv)
    assert not any(a.startswith("--qos") for a in argv)
    assert [warn_seconds(t) for t in (None, 240, 4, 1)] == [120, 120, 60, 15]


@pytest.mark.unit
def test_filesystem_types_from_mounts(tmp_path: Path) -> None:
    (tmp_path / "nfs" / "scratch" / "deep").mkdir(parents=True)
    mounts = tmp_path / "mounts"
    mounts.write_text(
        "/dev/vda / ext4 rw 0 0\n"
        f"srv:/export {tmp_path}/nfs nfs4 rw 0 0\n"
        f"lfs@o2ib:/fs {tmp_path}/nfs/scratch lustre rw 0 0\n"
    )
    assert fs_type(tmp_path / "nfs" / "a.journal", mounts) == "nfs4"
    assert fs_type(tmp_path / "nfs" / "scratch" / "deep" / "x", mounts) == "lustre"
    assert fs_type(tmp_path / "nfsish", mounts) == "ext4"  # a prefix is not a mount
    assert is_shared(tmp_path / "nfs" / "scratch", mounts)
    assert not is_shared(tmp_path / "elsewhere", mounts)
    check_storage(f"journal:{tmp_path}/nfs/sweep.journal", False, mounts)
    check_storage(f"journal:{tmp_path}/sweep.journal", True, mounts)  # --shared-fs
    with pytest.raises(LaunchError, match="is on ext4"):
        check_storage(f"journal:{tmp_path}/sweep.journal", False, mounts)
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "y.zip").touch()
    assert resolve_data("d/../d/y.zip", tmp_path) == tmp_path / "d" / "y.zip"
    assert resolve_data(None, tmp_path) is None  # torchvision's download
    with pytest.raises(LaunchError, match=str(tmp_path / "d" / "x.zip")):
        resolve_data("d/x.zip", tmp_path)


@pytest.mark.unit
def test_loopback_urls_only_on_a_cluster_of_this_machine() -> None:
    urls = {"--storage": "postgresql://u:pw@127.0.0.1:5432/db", "--tracking-uri": "http://h:5000"}
    check_reachable_hosts(urls, ["here"], "here")  # CI's single node: reachable
    with pytest.raises(LaunchError, match=r"127\.0\.0\.1.*node itself") as e:
        check_reachable_hosts(urls, ["here", "n1"], "here")
    assert "pw" not in str(e.value)
    check_reachable_hosts({"--tracking-uri": "http://dbhost:5000"}, ["n1", "n2"], "here")


@pytest.mark.unit
def test_task_rows_and_the_exit_code() -> None:
    rows = parse_sacct(
        "12_0|COMPLETED|n1|00:01:02|0:0\n12_1|FAILED|n2|00:00:40|1:0\n"
        "12_2|CANCELLED by 0|n1|00:00:05|0:15\n12_[3-4]|PENDING|None assigned|00:00:00|0:0\n"
    )
    assert [(r.task, r.state, r.node, r.exit_code) for r in rows] == [
        ("12_0", "COMPLETED", "n1", 0), ("12_1", "FAILED", "n2", 1),
        ("12_2", "CANCELLED", "n1", 0), ("12_[3-4]", "PENDING", "", 0),
    ]  # fmt: skip
    assert exit_code(rows[:1], 1) == (0, [])
    code, bad = exit_code(rows[:3], 3)
    assert code == 1 and bad == [
        "task 12_1: FAILED (exit 1) on n2",
        "task 12_2: CANCELLED (exit 0) on n1",
    ]
    assert exit_code(rows[:1], 2)[0] == 1  # a task SLURM has no row of: not known to be done
    assert parse_squeue("12_0|RUNNING|n1|1:02\n")[0].state == "RUNNING"
