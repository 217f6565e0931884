"""`ablate explain RUN_ID`: a logged run's model explained on your own images."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from ablate.cli.exits import user_errors
from ablate.cli.options import TrackingOpt

# Click options take one value each, so `--image a.png b.png` (or a shell glob after one
# --image) leaves b.png as a positional argument: the arguments after the run id are
# images too.
RUN_HELP = (
    "the run: its MLflow run id or any unique prefix of it (at least 4 characters; the "
    "sweep's table prints 12)"
)
IMAGE_HELP = (
    "image files or folders: several after one --image (a shell glob such as imgs/*.png "
    "works), or --image repeated. A folder means its .png .jpg .jpeg .bmp .gif .webp .tif "
    ".tiff files, sorted by name. Default: the run's probe images"
)


def explain(
    run_id: Annotated[str, typer.Argument(help=RUN_HELP, metavar="RUN_ID", show_default=False)],
    more_images: Annotated[
        list[Path] | None,
        typer.Argument(
            metavar="IMAGE",
            help="more images, as after --image (what a shell glob after one --image gives)",
            show_default=False,
        ),
    ] = None,
    image: Annotated[list[Path] | None, typer.Option("--image", help=IMAGE_HELP)] = None,
    class_id: Annotated[
        str | None,
        typer.Option(
            "--class-id",
            help="explain this class instead of the predicted one: an index (0-based) or a "
            "class name of the run, e.g. automobile",
        ),
    ] = None,
    method: Annotated[
        list[str] | None,
        typer.Option(
            "--method",
            help="e.g. gradcam; repeatable. Default: the run's methods. One that does not "
            "apply to the run's network (cam on a flatten head) is named with the reason; "
            "if none of those asked applies, the exit code is 2",
        ),
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
    """Explain a logged run's model on your own images: overlays as PNG, raw maps as .npy.
    Reads the store only: creates nothing there."""
    from ablate.errors import ConfigError
    from ablate.inspection import explain_command
    from ablate.runtime import quiet_libraries
    from ablate.store import resolve_tracking_uri

    quiet_libraries()
    with user_errors():
        if Path(run_id).suffix and Path(run_id).exists():
            raise ConfigError(
                f"{run_id} is a file: the run id comes first, e.g. "
                "`ablate explain RUN_ID --image a.png b.png`."
            )
        explain_command(
            run_id,
            images=[*(image or []), *(more_images or [])],
            class_id=class_id,
            methods=method or [],
            out=out,
            data=data or os.environ.get("ABLATE_DATA"),
            tracking_uri=resolve_tracking_uri(tracking_uri, os.environ),
        )
