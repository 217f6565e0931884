"""`ablate` command line. Each command parses, then calls one library function.

Domain errors of every floor (`ablate.errors.USER_ERRORS`: `AblateError`,
`LightningModulesError`, `ExplainError`) become one paragraph on stderr and
their `exit_code` (2).
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from ablate.errors import USER_ERRORS

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Grid and Optuna ablations of CIFAR-10 CNNs, tracked in MLflow, explained with Captum.",
)

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


def _fail(e: Exception) -> None:
    from ablate.console import err_console

    err_console.print(f"[bold red]error:[/bold red] {e}", soft_wrap=True)
    raise typer.Exit(getattr(e, "exit_code", 2))


def _overrides(
    sets: list[str],
    max_epochs: int | None,
    data: str | None,
    accelerator: str | None,
    experiment: str | None,
) -> dict[str, Any]:
    from ablate.spaces import parse_override

    out: dict[str, Any] = dict(parse_override(s) for s in sets)
    if max_epochs is not None:
        out["train.max_epochs"] = max_epochs
    if data is not None:
        out["data.source"] = data
    if accelerator is not None:
        out["train.accelerator"] = accelerator
    if experiment is not None:
        out["experiment"] = experiment
    return out


@app.command()
def run(
    space: Annotated[
        Path, typer.Argument(help="search space YAML, e.g. search_spaces/strides.yaml")
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="print the expanded points and exit")
    ] = False,
    max_epochs: Annotated[int | None, typer.Option("--max-epochs", min=1)] = None,
    data: DataOpt = None,
    accelerator: Annotated[str | None, typer.Option("--accelerator", help="auto, cpu, gpu")] = None,
    experiment: Annotated[
        str | None, typer.Option("--experiment", help="MLflow experiment name")
    ] = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="override any key, e.g. --set train.lr=0.01")
    ] = None,
    tracking_uri: TrackingOpt = None,
    storage: StorageOpt = None,
    workers: Annotated[
        int, typer.Option("--workers", min=1, help="run N workers in parallel on this machine")
    ] = 1,
    n_trials: Annotated[
        int | None, typer.Option("--n-trials", min=1, help="kind: optuna only: trials per study")
    ] = None,
    stale_after: Annotated[
        float,
        typer.Option(
            "--stale-after", min=1, help="seconds without heartbeat before a run counts as dead"
        ),
    ] = 120.0,
) -> None:
    """Expand SPACE into runs, train each with Lightning, log each to MLflow."""
    from ablate.spaces import apply_overrides, expand, load_space

    try:
        ov = _overrides(set_ or [], max_epochs, data, accelerator, experiment)
        if n_trials is not None:
            ov["n_trials"] = n_trials
        sp = load_space(space, ov)
        env_data = os.environ.get("ABLATE_DATA")
        if "data.source" not in ov and sp.base["data"].get("source") is None and env_data:
            sp = apply_overrides(sp, {"data.source": env_data})
        if dry_run:
            from ablate.dryrun import print_points

            print_points(sp, expand(sp))
            return
        from ablate.console import quiet_libraries
        from ablate.orchestrate import SweepOptions, print_summary, run_sweep
        from ablate.tracking import Tracker, resolve_tracking_uri

        quiet_libraries()
        if workers > 1:
            from ablate.ledger import DEFAULT_JOURNAL
            from ablate.workers import launch, strip_options

            Tracker(resolve_tracking_uri(tracking_uri, os.environ)).ensure_store()
            argv = strip_options(sys.argv[1:], ("--workers", "--storage"))
            raise typer.Exit(launch(argv, workers, storage or f"journal:{DEFAULT_JOURNAL}"))
        opts = SweepOptions(
            tracking_uri=resolve_tracking_uri(tracking_uri, os.environ),
            command=shlex.join(["ablate", *sys.argv[1:]]),
            storage=storage,
            stale_after=stale_after,
            heartbeat_seconds=min(20.0, stale_after / 4),
        )
        outcomes = run_sweep(sp, opts)
    except USER_ERRORS as e:
        _fail(e)
        return
    except KeyboardInterrupt:
        from ablate.console import err_console

        err_console.print(
            "interrupted: finished runs are kept; run the same command again to resume."
        )
        raise typer.Exit(130) from None
    print_summary(outcomes)
    if not all(o.ok for o in outcomes):
        raise typer.Exit(1)


@app.command()
def status(
    space: Annotated[Path, typer.Argument(help="search space YAML of the sweep")],
    data: DataOpt = None,
    max_epochs: Annotated[int | None, typer.Option("--max-epochs", min=1)] = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="the same overrides as the run")
    ] = None,
    tracking_uri: TrackingOpt = None,
    storage: StorageOpt = None,
) -> None:
    """Points done, running, failed, pruned and pending; the best so far; recent workers."""
    from ablate.console import quiet_libraries
    from ablate.spaces import load_space
    from ablate.status import print_status, sweep_status
    from ablate.tracking import resolve_tracking_uri

    quiet_libraries()
    try:
        sp = load_space(space, _overrides(set_ or [], max_epochs, data, None, None))
        print_status(sp, sweep_status(sp, resolve_tracking_uri(tracking_uri, os.environ), storage))
    except USER_ERRORS as e:
        _fail(e)


@app.command()
def models() -> None:
    """List the model presets (use as model.preset in a space)."""
    from ablate.dryrun import print_presets

    print_presets()


@app.command()
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
    from ablate.console import quiet_libraries
    from ablate.explain_cli import explain_command
    from ablate.tracking import resolve_tracking_uri

    quiet_libraries()
    try:
        explain_command(
            run_id,
            images=image or [],
            class_id=class_id,
            methods=method or [],
            out=out,
            data=data or os.environ.get("ABLATE_DATA"),
            tracking_uri=resolve_tracking_uri(tracking_uri, os.environ),
        )
    except USER_ERRORS as e:
        _fail(e)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
