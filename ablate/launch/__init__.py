"""The launch room: a sweep's workers on a cluster scheduler (SLURM), what is refused
before anything is submitted, and the jobs of a sweep as the scheduler reports them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ablate.doors import lazy

if TYPE_CHECKING:
    from ablate.launch.checks import LaunchError as LaunchError
    from ablate.launch.checks import fs_type as fs_type
    from ablate.launch.checks import is_shared as is_shared
    from ablate.launch.jobs import SlurmTask as SlurmTask
    from ablate.launch.jobs import sweep_jobs as sweep_jobs
    from ablate.launch.launcher import SlurmRequest as SlurmRequest
    from ablate.launch.launcher import launch_slurm as launch_slurm
    from ablate.launch.script import Resources as Resources
    from ablate.launch.script import job_name as job_name

# name -> the module that defines it, loaded on first use (ablate.doors)
_WHERE = {
    "LaunchError": "ablate.launch.checks",
    "Resources": "ablate.launch.script",
    "SlurmRequest": "ablate.launch.launcher",
    "SlurmTask": "ablate.launch.jobs",
    "fs_type": "ablate.launch.checks",
    "is_shared": "ablate.launch.checks",
    "job_name": "ablate.launch.script",
    "launch_slurm": "ablate.launch.launcher",
    "sweep_jobs": "ablate.launch.jobs",
}
__all__ = sorted(_WHERE)

__getattr__ = lazy(__name__, _WHERE)
