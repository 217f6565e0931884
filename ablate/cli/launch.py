"""`ablate launch slurm`: a sweep's workers as one SLURM array job (ablate.launch)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer

from ablate.cli.exits import user_errors
from ablate.cli.options import (
    DataOpt,
    MaxEpochsOpt,
    SeedsOpt,
    StorageOpt,
    TrackingOpt,
    overrides,
)

app = typer.Typer(
    no_args_is_help=True,
    help="Run a sweep's workers on a cluster scheduler: `ablate launch slurm SPACE ...`.",
)
MEM = re.compile(r"^[1-9][0-9]{0,8}[KMGT]?$")  # sbatch --mem: a number, optionally K/M/G/T


@app.command()
def slurm(
    space: Annotated[Path, typer.Argument(help="search space YAML, e.g. search_spaces/full.yaml")],
    workers: Annotated[
        int, typer.Option("--workers", min=1, max=10000, help="SLURM tasks: workers of the sweep")
    ] = 1,
    storage: StorageOpt = None,
    tracking_uri: TrackingOpt = None,
    partition: Annotated[str | None, typer.Option("--partition", help="SLURM partition")] = None,
    gpus_per_worker: Annotated[
        int | None, typer.Option("--gpus-per-worker", min=0, max=64, help="GPUs per task (gres)")
    ] = None,
    cpus_per_worker: Annotated[
        int | None,
        typer.Option("--cpus-per-worker", min=1, max=4096, help="CPUs per task (torch threads)"),
    ] = None,
    mem: Annotated[
        str | None, typer.Option("--mem", help="memory per task, as sbatch: 32G, 4000M")
    ] = None,
    time_minutes: Annotated[
        int | None,
        typer.Option(
            "--time", min=1, max=525600, help="time limit per task, minutes; it requeues itself"
        ),
    ] = None,
    account: Annotated[str | None, typer.Option("--account", help="SLURM account")] = None,
    qos: Annotated[str | None, typer.Option("--qos", help="SLURM quality of service")] = None,
    wait: Annotated[
        bool, typer.Option("--wait", help="wait for every task, exit as `ablate run` would")
    ] = False,
    shared_fs: Annotated[
        bool,
        typer.Option(
            "--shared-fs", help="a journal or file store here is on a filesystem every node sees"
        ),
    ] = False,
    data: DataOpt = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="override any key, e.g. --set train.lr=0.01")
    ] = None,
    max_epochs: MaxEpochsOpt = None,
    seeds: SeedsOpt = None,
    accelerator: Annotated[str | None, typer.Option("--accelerator", help="auto, cpu, gpu")] = None,
    experiment: Annotated[
        str | None, typer.Option("--experiment", help="MLflow experiment name")
    ] = None,
    n_trials: Annotated[
        int | None, typer.Option("--n-trials", min=1, help="kind: optuna only: trials per study")
    ] = None,
    stale_after: Annotated[
        float | None,
        typer.Option("--stale-after", min=1, help="seconds without heartbeat: a dead worker"),
    ] = None,
) -> None:
    """Submit WORKERS tasks, each an `ablate run SPACE --storage ... --tracking-uri ...`
    worker of the same sweep; print the job id and how to watch and cancel it."""
    from ablate.launch import LaunchError, Resources, SlurmRequest, launch_slurm

    with user_errors(interrupted="stopped."):
        if mem is not None and not MEM.match(mem):
            raise LaunchError(f"--mem {mem[:40]!r}: use a number with K, M, G or T, e.g. 32G")
        ov = overrides(set_ or [], max_epochs, data, accelerator, experiment, seeds)
        if n_trials is not None:
            ov["n_trials"] = n_trials
        res = Resources(
            workers, partition, gpus_per_worker, cpus_per_worker, mem, time_minutes, account, qos
        )
        req = SlurmRequest(
            space, ov, storage, tracking_uri, res, set_ or [], data, max_epochs, seeds,
            accelerator, experiment, n_trials, stale_after, shared_fs, wait,
        )  # fmt: skip
        code = launch_slurm(req)
    raise typer.Exit(code)
