"""A sweep's SLURM jobs as SLURM reports them: one row per task (sacct, else squeue).

The jobs of a sweep are those recorded by its launches in `.ablate/slurm/` here and
those SLURM holds under the sweep's job name (`ablate-<experiment>`), so someone in
another folder still sees the running ones. Nothing here fails where SLURM is absent:
`sweep_jobs` is then empty.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from dataclasses import dataclass

from ablate.launch.script import job_name
from ablate.launch.slurm import Launch, launches

# sacct/squeue states after which a task runs no more (the rest may still run or requeue)
ENDED = frozenset(
    {
        "COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY",
        "BOOT_FAIL", "DEADLINE", "PREEMPTED", "REVOKED",
    }
)  # fmt: skip
SEP = "|"


@dataclass(frozen=True)
class SlurmTask:
    """One task of an array job: `12_0`, `RUNNING`, on `node1`, for `00:03:10`."""

    task: str  # <job>_<index>, or <job>_[0-7] for tasks not started yet
    state: str  # SLURM's state, first word (`CANCELLED by 0` -> CANCELLED)
    node: str  # "" while pending
    elapsed: str  # [days-]hh:mm:ss
    exit_code: int | None  # the batch script's exit code, once ended (sacct only)

    @property
    def ended(self) -> bool:
        """True once SLURM runs this task no more."""
        return self.state in ENDED

    @property
    def ok(self) -> bool:
        """Ended as `ablate run` ends when every point it ran finished."""
        return self.state == "COMPLETED" and self.exit_code == 0


def _run(argv: list[str]) -> str | None:
    """stdout of a SLURM command, or None where it is absent or fails."""
    if shutil.which(argv[0]) is None:
        return None
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=15, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def parse_sacct(text: str) -> list[SlurmTask]:
    """Rows of `sacct -n -P -X -o JobID,State,NodeList,Elapsed,ExitCode`."""
    rows = []
    for line in text.splitlines():
        fields = line.split(SEP)
        if len(fields) != 5:
            continue
        task, state, node, elapsed, code = fields
        node = "" if node in ("None assigned", "(null)") else node
        exit_code = int(code.split(":")[0]) if code.split(":")[0].isdigit() else None
        words = state.split()
        rows.append(SlurmTask(task, words[0] if words else "", node, elapsed, exit_code))
    return rows


def parse_squeue(text: str) -> list[SlurmTask]:
    """Rows of `squeue -h -r -o %i|%T|%N|%M`."""
    rows = []
    for line in text.splitlines():
        fields = line.split(SEP)
        if len(fields) == 4:
            task, state, node, elapsed = (f.strip() for f in fields)
            rows.append(SlurmTask(task, state, node, elapsed, None))
    return rows


def task_rows(job_ids: list[str]) -> list[SlurmTask]:
    """The tasks of these jobs: from sacct (ended ones too), else squeue (live ones)."""
    if not job_ids:
        return []
    ids = ",".join(job_ids)
    fields = "JobID,State,NodeList,Elapsed,ExitCode"
    out = _run(["sacct", "-n", "-P", "-X", "-j", ids, "-o", fields, "--delimiter", SEP])
    if out is not None and out.strip():
        return parse_sacct(out)
    out = _run(["squeue", "-h", "-r", "-j", ids, "-o", f"%i{SEP}%T{SEP}%N{SEP}%M"])
    return parse_squeue(out or "")


def sweep_jobs(experiment: str) -> list[SlurmTask]:
    """The tasks of `experiment`'s SLURM jobs: its latest launch from this folder and
    every job SLURM still holds under its job name. [] where SLURM is not installed."""
    ids = [launch.job_id for launch in launches(experiment)[-1:]]
    out = _run(["squeue", "-h", "--name", job_name(experiment), "-o", "%F"])
    for job in (out or "").split():
        if job.isdigit() and job not in ids:
            ids.append(job)
    return task_rows(ids)


def settled(launch: Launch, timeout: float = 60.0, pause: float = 1.0) -> list[SlurmTask]:
    """The tasks of a launch once accounting has them all ended (slurmdbd records
    asynchronously, so sacct may lag the queue by a moment)."""
    deadline = time.monotonic() + timeout
    while True:
        rows = task_rows([launch.job_id])
        if (rows and all(r.ended for r in rows)) or time.monotonic() > deadline:
            return rows
        time.sleep(pause)


def exit_code(rows: list[SlurmTask], workers: int) -> tuple[int, list[str]]:
    """What `ablate run` would exit with, and a line per task that did not end well:
    0 when every task completed with 0 (its worker found no point left and none of its
    runs failed), else 1."""
    bad = [
        f"task {r.task}: {r.state}"
        + (f" (exit {r.exit_code})" if r.exit_code is not None else "")
        + (f" on {r.node}" if r.node else "")
        for r in rows
        if not r.ok
    ]
    if len(rows) < workers:
        bad.append(f"{workers - len(rows)} task(s) without accounting rows (sacct)")
    return (0 if not bad else 1), bad


def partition_nodes(partition: str | None) -> list[str]:
    """The node names of `partition` (the default one when None); [] where sinfo fails."""
    argv = ["sinfo", "-h", "-N", "-o", "%N"] + ([f"--partition={partition}"] if partition else [])
    out = _run(argv)
    return sorted(set((out or "").split()))
