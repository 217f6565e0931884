"""`ablate launch slurm`, the whole of it: refuse what cannot work on a cluster, submit
the workers, say how to watch and cancel them, and with `--wait` wait and exit as
`ablate run` would."""

from __future__ import annotations

import os
import shlex
import socket
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ablate.launch.checks import (
    check_reachable_hosts,
    check_storage,
    check_tracking,
    fs_type,
    is_shared,
    require,
    resolve_data,
)
from ablate.launch.jobs import exit_code, partition_nodes, settled
from ablate.launch.script import Resources
from ablate.launch.slurm import Launch, submit, wait
from ablate.store import check_server, mask_password


@dataclass(frozen=True)
class SlurmRequest:
    """What `ablate launch slurm` was asked: the space and its `ablate run` options
    (passed on to every worker), where the workers meet, and what each asks SLURM for."""

    space: Path
    overrides: dict[str, Any]  # the run options as a space override (validated here)
    storage: str | None
    tracking_uri: str | None
    resources: Resources
    sets: list[str] = field(default_factory=list)
    data: str | None = None
    max_epochs: int | None = None
    seeds: int | None = None
    accelerator: str | None = None
    experiment: str | None = None
    n_trials: int | None = None
    stale_after: float | None = None
    shared_fs: bool = False
    wait: bool = False


def worker_argv(req: SlurmRequest, space: Path, data: Path | None) -> list[str]:
    """One worker's command: `ablate run SPACE --storage ... --tracking-uri ...` with the
    launch's run options; paths absolute, no report (the sweep's is one `ablate report`)."""
    assert req.storage is not None and req.tracking_uri is not None
    argv = [sys.executable, "-m", "ablate.cli", "run", str(space)]
    argv += ["--storage", req.storage, "--tracking-uri", req.tracking_uri, "--no-report"]
    if data is not None:
        argv += ["--data", str(data)]
    for s in req.sets:
        argv += ["--set", s]
    for option, value in (
        ("--max-epochs", req.max_epochs),
        ("--seeds", req.seeds),
        ("--accelerator", req.accelerator),
        ("--experiment", req.experiment),
        ("--n-trials", req.n_trials),
        ("--stale-after", req.stale_after),
    ):
        if value is not None:
            argv += [option, str(value)]
    return argv


def data_source(req: SlurmRequest, base_source: Any) -> str | None:
    """The data the workers read: --data, else the space's data.source, else $ABLATE_DATA."""
    source = req.data or base_source or os.environ.get("ABLATE_DATA")
    return str(source) if source else None


def checked(req: SlurmRequest, cwd: Path) -> tuple[SlurmRequest, str, Path | None, list[str]]:
    """Everything refused before submitting, checked: the request with its tracking URI
    and paths made absolute, the experiment, the data path and the partition's nodes."""
    from ablate.spaces import load_space

    sp = load_space(req.space, req.overrides)  # a bad space or --set: refused here
    tracking = req.tracking_uri or os.environ.get("MLFLOW_TRACKING_URI")
    check_storage(req.storage, req.shared_fs)
    check_tracking(tracking, req.shared_fs)
    assert req.storage is not None and tracking is not None
    data = resolve_data(data_source(req, sp.base["data"].get("source")), cwd)
    require("sbatch")
    nodes = partition_nodes(req.resources.partition)
    urls = {"--storage": req.storage, "--tracking-uri": tracking}
    check_reachable_hosts(urls, nodes, socket.gethostname().split(".")[0])
    if tracking.startswith(("http://", "https://")):
        check_server(tracking)
    elif "://" not in tracking and not tracking.startswith("file:"):
        tracking = str((cwd / tracking).absolute())  # a file store, as every worker finds it
    space = (cwd / req.space.expanduser()).absolute()
    return replace(req, tracking_uri=tracking, space=space), sp.experiment, data, nodes


def launch_slurm(req: SlurmRequest, cwd: Path | None = None) -> int:
    """Check, submit, print how to watch and cancel; with `wait`, the sweep's exit code."""
    cwd = (cwd or Path.cwd()).absolute()
    shown = req.space  # as the user spelt it, for the commands we print
    req, experiment, data, nodes = checked(req, cwd)
    command = mask_password(shlex.join(["ablate", *sys.argv[1:]]))
    launch = submit(worker_argv(req, req.space, data), experiment, req.resources, command, cwd)
    _print_submitted(launch, replace(req, space=shown), data, nodes)
    if not req.wait:
        return 0
    try:
        wait(launch)
    except KeyboardInterrupt:
        print(f"stopped waiting; the job runs on (scancel {launch.job_id} stops it).")
        return 130
    code, bad = exit_code(settled(launch), launch.workers)
    for line in bad:
        print(line)
    verdict = "every task finished." if code == 0 else f"see the logs in {launch.folder}."
    tracking = shlex.quote(mask_password(req.tracking_uri or ""))
    print(f"job {launch.job_id} ended: {verdict} Report: ablate report "
          f"{shlex.quote(experiment)} --tracking-uri {tracking}")  # fmt: skip
    return code


def _print_submitted(
    launch: Launch, req: SlurmRequest, data: Path | None, nodes: list[str]
) -> None:
    first, last = f"{launch.job_id}_0", f"{launch.job_id}_{launch.workers - 1}"
    where = f" on partition {req.resources.partition}" if req.resources.partition else ""
    tasks = first if launch.workers == 1 else f"{first} .. {last}"
    print(
        f"Submitted job {launch.job_id}: {launch.workers} worker(s) ({tasks}){where}, named {launch.name}."
    )
    print(f"  logs:   {launch.logs}")
    if data is not None:
        note = (
            ""
            if is_shared(data) or set(nodes) <= {socket.gethostname().split(".")[0]}
            else (f"  (on {fs_type(data)}: every node needs a copy at this path)")
        )
        print(f"  data:   {data}{note}")
    storage = shlex.quote(mask_password(req.storage or ""))
    tracking = shlex.quote(mask_password(req.tracking_uri or ""))
    print(
        f"  watch:  ablate status {shlex.quote(str(req.space))} --storage {storage} --tracking-uri {tracking}"
    )
    print(f"          squeue -j {launch.job_id}")
    print(
        f"  cancel: scancel {launch.job_id}   (the sweep stays resumable: launch the same command again)"
    )
