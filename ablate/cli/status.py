"""`ablate status`: where a sweep stands, read from the store without changing it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ablate.cli.exits import user_errors
from ablate.cli.options import (
    DataOpt,
    MaxEpochsOpt,
    SeedsOpt,
    StorageOpt,
    TrackingOpt,
    load_space_as_run,
    overrides,
)

if TYPE_CHECKING:
    pass

# What --data, --accelerator and --experiment set: where a sweep runs or is recorded, not
# which sweep it is, so alone they do not pick a sweep by its id (the newest is shown).
WHERE_ONLY = frozenset({"data.source", "train.accelerator", "experiment"})


def status(
    target: Annotated[
        str | None,
        typer.Argument(
            help="experiment name or space YAML; default: the newest sweep in the store",
            show_default=False,
        ),
    ] = None,
    sweep: Annotated[
        str | None,
        typer.Option("--sweep", help="the sweep to show: a prefix of its run id or sweep id"),
    ] = None,
    data: DataOpt = None,
    max_epochs: MaxEpochsOpt = None,
    seeds: SeedsOpt = None,
    n_trials: Annotated[
        int | None, typer.Option("--n-trials", min=1, help="kind: optuna only: trials per study")
    ] = None,
    accelerator: Annotated[str | None, typer.Option("--accelerator", help="auto, cpu, gpu")] = None,
    experiment: Annotated[
        str | None, typer.Option("--experiment", help="MLflow experiment name")
    ] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="an override of the run")] = None,
    tracking_uri: TrackingOpt = None,
    storage: StorageOpt = None,
) -> None:
    """Points done, running, failed, pruned and pending; the best so far; recent workers.

    Finds the sweep whatever options it ran with: the newest of the experiment (or of the
    store) is shown, the others are listed. A space file with the run's options (--seeds,
    --max-epochs, --set, --data, --n-trials, ...) picks exactly the sweep they made."""
    from ablate.errors import ConfigError
    from ablate.inspection import StatusQuery, find_status, print_status
    from ablate.runtime import quiet_libraries
    from ablate.spaces import load_space
    from ablate.store import resolve_tracking_uri

    quiet_libraries()
    with user_errors():
        ov = overrides(set_ or [], max_epochs, data, accelerator, experiment, seeds)
        if n_trials is not None:
            ov["n_trials"] = n_trials
        space = None
        if target is not None and (target.endswith((".yaml", ".yml")) or _is_file(target)):
            space = load_space_as_run(Path(target), ov) if ov else load_space(Path(target), {})
        elif ov:
            raise ConfigError(
                f"{', '.join(_flags(ov))}: these pick a sweep by its space file; give the "
                "space YAML first, e.g. `ablate status search_spaces/strides.yaml --seeds 2`."
            )
        query = StatusQuery(
            tracking_uri=resolve_tracking_uri(tracking_uri, os.environ),
            experiment=target if space is None else None,
            space=space,
            exact=bool(set(ov) - WHERE_ONLY),
            sweep=sweep,
            storage=storage,
        )
        print_status(find_status(query))


def _is_file(target: str) -> bool:
    """Whether the argument names a file (a space YAML under another suffix); a name too
    long for a path, or otherwise not one, is an experiment name."""
    try:
        return Path(target).is_file()
    except (OSError, ValueError):
        return False


def _flags(ov: dict[str, Any]) -> list[str]:
    names = {
        "seeds": "--seeds",
        "train.max_epochs": "--max-epochs",
        "data.source": "--data",
        "train.accelerator": "--accelerator",
        "experiment": "--experiment",
        "n_trials": "--n-trials",
    }
    return sorted({names.get(k, "--set") for k in ov})
