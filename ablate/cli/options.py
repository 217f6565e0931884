"""Options shared by several commands, and the overrides they make of a space."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from ablate.spaces import Space

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
UntilSettledOpt = Annotated[
    bool,
    typer.Option(
        "--until-settled",
        help="kind: grid only: run seed blocks until every effect of test accuracy is settled "
        "(seeds: {min: 2, max: 12, until: settled})",
    ),
]
MaxSeedsOpt = Annotated[
    int | None,
    typer.Option(
        "--max-seeds", min=1, help="with --until-settled: stop at this many seeds (default 12)"
    ),
]
MarginOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--margin",
        help="equivalence margin, e.g. --margin test_acc=0.5 (points; a bare number is for "
        "test_acc); repeatable; overrides margins: in the space",
    ),
]


def seed_rule(until_settled: bool, max_seeds: int | None) -> dict[str, Any] | None:
    """--until-settled / --max-seeds as a partial `seeds:` rule (the space checks it)."""
    rule: dict[str, Any] = {"until": "settled"} if until_settled else {}
    if max_seeds is not None:
        rule["max"] = max_seeds
    return rule or None


def margins(given: list[str]) -> dict[str, Any]:
    """--margin test_acc=0.5 --margin 0.5 -> {"test_acc": 0.5} (the space validates it)."""
    out: dict[str, Any] = {}
    for text in given:
        key, _, raw = text.rpartition("=")
        try:
            value: Any = float(raw)
        except ValueError:
            value = raw
        out[key.strip() or "test_acc"] = value
    return out


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


def load_space_as_run(space: Path, ov: dict[str, Any]) -> Space:
    """The space as `ablate run` loads it: the command line's overrides, then
    $ABLATE_DATA where no data source is given (so the same options give the same sweep)."""
    from ablate.spaces import apply_overrides, load_space

    sp = load_space(space, ov)
    env_data = os.environ.get("ABLATE_DATA")
    if "data.source" not in ov and sp.base["data"].get("source") is None and env_data:
        sp = apply_overrides(sp, {"data.source": env_data})
    return sp
