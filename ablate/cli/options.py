"""Options shared by several commands, and the overrides they make of a space."""

from __future__ import annotations

from typing import Annotated, Any

import typer

DataOpt = Annotated[
    str | None,
    typer.Option(
        "--data",
        help="CIFAR-10 source: a .zip or folder with train/ and test/ (one folder per class), or a "
        "folder of PNGs with a labels CSV. Default: data.source in the YAML, else $ABLATE_DATA, "
        "else torchvision's download.",
    ),
]
StorageOpt = Annotated[
    str | None,
    typer.Option(
        "--storage",
        help="Optuna storage shared by workers: postgresql://..., mysql://..., journal:PATH (a file), "
        "or sqlite:///FILE (one process only). Grid points are then claimed exactly once.",
    ),
]
TrackingOpt = Annotated[
    str | None,
    typer.Option(
        "--tracking-uri",
        help="MLflow tracking URI. Default: $MLFLOW_TRACKING_URI, else sqlite:///mlflow.db here.",
    ),
]
SeedsOpt = Annotated[
    int | None,
    typer.Option(
        "--seeds", min=1, help="kind: grid only: run seeds 0..N-1 of every point (overrides seeds:)"
    ),
]
MaxEpochsOpt = Annotated[int | None, typer.Option("--max-epochs", min=1)]


def overrides(
    sets: list[str],
    max_epochs: int | None,
    data: str | None,
    accelerator: str | None,
    experiment: str | None,
    seeds: int | None = None,
) -> dict[str, Any]:
    """The command line's changes to a space: {dotted key: value}, `--set` first."""
    from ablate.spaces import parse_override

    out: dict[str, Any] = dict(parse_override(s) for s in sets)
    if seeds is not None:
        out["seeds"] = seeds
    if max_epochs is not None:
        out["train.max_epochs"] = max_epochs
    if data is not None:
        out["data.source"] = data
    if accelerator is not None:
        out["train.accelerator"] = accelerator
    if experiment is not None:
        out["experiment"] = experiment
    return out
