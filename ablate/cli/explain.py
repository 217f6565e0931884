"""`ablate explain RUN_ID`: a logged run's model explained on your own images."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from ablate.cli.exits import user_errors
from ablate.cli.options import TrackingOpt


def explain(
    run_id: Annotated[str, typer.Argument(help="MLflow run id of a trained run")],
    image: Annotated[
        list[Path] | None,
        typer.Option("--image", help="image file(s); default: the run's probe set"),
    ] = None,
    class_id: Annotated[
        int | None,
        typer.Option("--class-id", help="explain this class instead of the predicted one"),
    ] = None,
    method: Annotated[
        list[str] | None, typer.Option("--method", help="e.g. gradcam; repeatable")
    ] = None,
    out: Annotated[Path, typer.Option("--out", help="output folder")] = Path("explanations"),
    data: Annotated[
        str | None,
        typer.Option(
            "--data",
            help="CIFAR-10 source to pick the run's probe images from, for a run trained with "
            "explanations off (no --image). Default: $ABLATE_DATA.",
        ),
    ] = None,
    tracking_uri: TrackingOpt = None,
) -> None:
    """Explain a logged run's model on your own images: overlays as PNG, raw maps as .npy."""
    from ablate.inspection import explain_command
    from ablate.runtime import quiet_libraries
    from ablate.store import resolve_tracking_uri

    quiet_libraries()
    with user_errors():
        explain_command(
            run_id,
            images=image or [],
            class_id=class_id,
            methods=method or [],
            out=out,
            data=data or os.environ.get("ABLATE_DATA"),
            tracking_uri=resolve_tracking_uri(tracking_uri, os.environ),
        )
