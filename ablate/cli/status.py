"""`ablate status`: where a sweep stands, read from the store without changing it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from ablate.cli.exits import user_errors
from ablate.cli.options import DataOpt, MaxEpochsOpt, SeedsOpt, StorageOpt, TrackingOpt, overrides


def status(
    space: Annotated[Path, typer.Argument(help="search space YAML of the sweep")],
    data: DataOpt = None,
    max_epochs: MaxEpochsOpt = None,
    seeds: SeedsOpt = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="the same overrides as the run")
    ] = None,
    tracking_uri: TrackingOpt = None,
    storage: StorageOpt = None,
) -> None:
    """Points done, running, failed, pruned and pending; the best so far; recent workers."""
    from ablate.inspection import print_status, sweep_status
    from ablate.runtime import quiet_libraries
    from ablate.spaces import load_space
    from ablate.store import resolve_tracking_uri

    quiet_libraries()
    with user_errors():
        sp = load_space(space, overrides(set_ or [], max_epochs, data, None, None, seeds))
        print_status(sp, sweep_status(sp, resolve_tracking_uri(tracking_uri, os.environ), storage))
