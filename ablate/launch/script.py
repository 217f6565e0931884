"""The batch script of one SLURM worker, and the sbatch options that submit N of them.

The script is fixed text; the only values in it are the worker's argument list, each
element quoted with `shlex.quote` into a bash array, and the launch folder. It is
handed to sbatch on stdin (SLURM keeps its own copy, readable only by the owner and
the admins), so the storage URL's password appears in no `squeue`, `scontrol` or
`sacct` line; the copy saved in the launch folder has it masked.

Signals, as SLURM sends them:
- USR1, `--signal=B:USR1@S`: S seconds before the time limit, to this shell only.
  The shell passes it on to ablate, which ends its run KILLED "preempted" and exits
  143; the task then requeues itself and, started again, carries on with the sweep.
- SIGTERM (scancel, a preemption, the limit itself): to every process of the job.
  ablate stops the same way; the shell only waits for it and does not requeue, since
  scancel means stop (a preempting SLURM with PreemptMode=REQUEUE requeues by itself).
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ablate.store import mask_password

PREEMPTED_EXIT = 143  # what `ablate run` exits with after SIGTERM or SIGUSR1 (128 + 15)
# Seconds before the time limit that USR1 comes. SLURM may send it up to 60 s earlier
# than asked (its event loop's resolution); ablate needs a few seconds to end its run
# (store writes finish first) and the requeue must be in before the limit kills the job.
WARN_SECONDS = 120

TEMPLATE = """#!/bin/bash
# One worker of an ablate sweep, written by `ablate launch slurm` (launch it again
# rather than editing this). See ablate/launch/script.py for the signals.
set -u
argv=({argv})
task=${{SLURM_ARRAY_JOB_ID:-${{SLURM_JOB_ID:-0}}}}_${{SLURM_ARRAY_TASK_ID:-0}}
threads=${{SLURM_CPUS_PER_TASK:-1}}
export OMP_NUM_THREADS=$threads MKL_NUM_THREADS=$threads PYTHONUNBUFFERED=1
export ABLATE_WORKER_INDEX=${{SLURM_ARRAY_TASK_ID:-0}} ABLATE_LAUNCH_DIR={folder}
echo "ablate worker $task on $(hostname) (restart ${{SLURM_RESTART_COUNT:-0}}), $(date -Is)"
warned=0
child=
trap 'warned=1; [ -n "$child" ] && kill -USR1 "$child" 2>/dev/null' USR1
trap ':' TERM  # ablate has it from SLURM too: wait for it to end its run
"${{argv[@]}}" &
child=$!
while :; do
    wait "$child"
    rc=$?
    kill -0 "$child" 2>/dev/null || break  # a trapped signal ended the wait, not ablate
done
echo "ablate worker $task exited $rc, $(date -Is)"
if [ "$warned" = 1 ] && [ "$rc" -eq {preempted} ]; then
    echo "ablate worker $task: time limit near, requeueing it to carry on"
    scontrol requeue "$task"
fi
exit "$rc"
"""


def job_script(argv: Sequence[str], folder: Path) -> str:
    """The batch script that runs `argv` as one worker (every value shell-quoted)."""
    return TEMPLATE.format(
        argv=" ".join(shlex.quote(a) for a in argv),
        folder=shlex.quote(str(folder)),
        preempted=PREEMPTED_EXIT,
    )


def masked_script(argv: Sequence[str], folder: Path) -> str:
    """The script as saved in the launch folder: passwords masked."""
    return job_script([mask_password(a) for a in argv], folder)


@dataclass(frozen=True)
class Resources:
    """What each worker asks SLURM for; None leaves the cluster's default."""

    workers: int
    partition: str | None = None
    gpus_per_worker: int | None = None
    cpus_per_worker: int | None = None
    mem: str | None = None  # sbatch's --mem: 32G, 4000M; per node, i.e. per worker
    time_minutes: int | None = None
    account: str | None = None
    qos: str | None = None


def warn_seconds(time_minutes: int | None) -> int:
    """When USR1 comes before the limit: WARN_SECONDS, or a quarter of a short limit."""
    if time_minutes is None:
        return WARN_SECONDS
    return max(10, min(WARN_SECONDS, time_minutes * 60 // 4))


def job_name(experiment: str) -> str:
    """The name every task of a sweep's jobs carries: `squeue --name ablate-EXPERIMENT`."""
    return f"ablate-{experiment}"


def sbatch_argv(sbatch: str, name: str, res: Resources, folder: Path, cwd: Path) -> list[str]:
    """sbatch's argument list for an array of `res.workers` tasks; the script on stdin."""
    argv = [
        sbatch,
        "--parsable",
        f"--job-name={name}",
        f"--array=0-{res.workers - 1}",
        f"--output={folder / '%A_%a.out'}",  # stderr too: one log per task
        "--open-mode=append",  # a requeued task adds to its log
        "--requeue",
        f"--signal=B:USR1@{warn_seconds(res.time_minutes)}",
        f"--chdir={cwd}",
        "--ntasks=1",  # one process per worker: ablate trains one run at a time
    ]
    if res.partition:
        argv.append(f"--partition={res.partition}")
    if res.cpus_per_worker:
        argv.append(f"--cpus-per-task={res.cpus_per_worker}")
    if res.gpus_per_worker:
        argv.append(f"--gres=gpu:{res.gpus_per_worker}")
    if res.mem:
        argv.append(f"--mem={res.mem}")
    if res.time_minutes:
        argv.append(f"--time={res.time_minutes}")
    if res.account:
        argv.append(f"--account={res.account}")
    if res.qos:
        argv.append(f"--qos={res.qos}")
    return argv
