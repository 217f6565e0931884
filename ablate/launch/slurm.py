"""`ablate launch slurm`: submit a sweep's workers as one SLURM array job, and wait.

sbatch itself (a subprocess with an argument list), not submitit: one array job of N
tasks is one sbatch call, the batch script stays readable (script.py), and none of
submitit's pickling, its folder per job or its own view of timeouts and requeues
come in between. Each launch gets a folder `.ablate/slurm/<experiment>-<time>/`
with `launch.json` (the job id, what was asked), the masked batch script and the
tasks' logs `<job>_<task>.out`.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from ablate.launch.checks import LaunchError, require
from ablate.launch.script import Resources, job_name, job_script, masked_script, sbatch_argv
from ablate.store import mask_password

LAUNCHES = Path(".ablate") / "slurm"  # under the folder the launch runs in
RECORD = "launch.json"
POLL_SECONDS = 5.0  # how often --wait asks squeue (SLURM's own scheduler ticks are seconds)
SQUEUE_STATES = "PENDING,RUNNING,REQUEUED,REQUEUE_HOLD,REQUEUE_FED,SUSPENDED,COMPLETING,CONFIGURING,RESIZING,STAGE_OUT,SIGNALING"


@dataclass(frozen=True)
class Launch:
    """One submitted array job of a sweep, as recorded in its folder."""

    job_id: str
    experiment: str
    name: str
    workers: int
    folder: str
    submitted: float  # unix time
    command: str  # the launch command, passwords masked

    @property
    def logs(self) -> str:
        """Where task i writes: <folder>/<job>_<i>.out."""
        return str(Path(self.folder) / f"{self.job_id}_<task>.out")


def launch_folder(root: Path, experiment: str, now: float) -> Path:
    """A new folder for this launch: <root>/<experiment>-<YYYYmmdd-HHMMSS>[-n]."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", experiment)[:64] or "sweep"
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    for n in range(1000):
        folder = root / (f"{safe}-{stamp}" + (f"-{n}" if n else ""))
        try:
            folder.mkdir(parents=True)
            return folder
        except FileExistsError:
            continue
    raise LaunchError(f"cannot make a launch folder under {root}")  # pragma: no cover


def submit(
    worker_argv: Sequence[str],
    experiment: str,
    res: Resources,
    command: str,
    cwd: Path | None = None,
) -> Launch:
    """Submit `res.workers` tasks, each running `worker_argv`; record and return the job."""
    sbatch = require("sbatch")
    cwd = (cwd or Path.cwd()).absolute()
    now = time.time()
    folder = launch_folder(cwd / LAUNCHES, experiment, now)
    name = job_name(experiment)
    (folder / "worker.sh").write_text(masked_script(worker_argv, folder))
    argv = sbatch_argv(sbatch, name, res, folder, cwd)
    try:
        done = subprocess.run(
            argv,
            input=job_script(worker_argv, folder),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        raise LaunchError(f"sbatch did not answer: {e}") from None
    if done.returncode != 0:
        first = (done.stderr.strip() or done.stdout.strip() or "no message").splitlines()[0]
        raise LaunchError(f"sbatch refused the job: {mask_password(first)}")
    job_id = done.stdout.strip().split(";")[0]  # --parsable: "id" or "id;cluster"
    if not job_id.isdigit():
        raise LaunchError(f"sbatch answered {done.stdout.strip()!r}, not a job id")
    launch = Launch(job_id, experiment, name, res.workers, str(folder), now, command)
    (folder / RECORD).write_text(json.dumps(asdict(launch), indent=2) + "\n")
    return launch


def launches(experiment: str, cwd: Path | None = None) -> list[Launch]:
    """The launches of `experiment` recorded under <cwd>/.ablate/slurm, oldest first."""
    root = (cwd or Path.cwd()) / LAUNCHES
    found: list[Launch] = []
    for record in sorted(root.glob(f"*/{RECORD}")):
        try:
            launch = Launch(**json.loads(record.read_text()))
        except (OSError, ValueError, TypeError):
            continue  # a half-written or foreign file: not ours to judge here
        if launch.experiment == experiment:
            found.append(launch)
    return sorted(found, key=lambda x: x.submitted)


def active_tasks(job_id: str, tries: int = 5) -> list[str]:
    """The tasks of array job `job_id` that SLURM still holds (pending, running, requeued).
    A busy controller ("Socket timed out") is asked again, `tries` times in all."""
    argv = [require("squeue"), "-h", "-r", "-j", job_id, "-t", SQUEUE_STATES, "-o", "%i"]
    for attempt in range(tries):
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
        if done.returncode == 0:
            return [line.strip() for line in done.stdout.splitlines() if line.strip()]
        if "invalid job id" in done.stderr.lower():
            return []  # ended long enough ago that the controller forgot it
        if attempt < tries - 1:
            time.sleep(2.0 * (attempt + 1))
    message = (done.stderr.strip() or "no message").splitlines()[0]
    raise LaunchError(f"squeue -j {job_id} failed {tries} times: {message}")


def wait(launch: Launch, poll_seconds: float | None = None) -> None:
    """Block until no task of `launch` is pending or running."""
    pause = poll_seconds if poll_seconds is not None else _poll_seconds()
    last = ""
    while tasks := active_tasks(launch.job_id):
        line = f"waiting for {len(tasks)} of {launch.workers} task(s) of job {launch.job_id}"
        if line != last:
            print(line, flush=True)
            last = line
        time.sleep(pause)


def _poll_seconds() -> float:
    """POLL_SECONDS, or $ABLATE_SLURM_POLL (seconds) where tests need it shorter."""
    try:
        return max(0.2, float(os.environ.get("ABLATE_SLURM_POLL", POLL_SECONDS)))
    except ValueError:
        return POLL_SECONDS
