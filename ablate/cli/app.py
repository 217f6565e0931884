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
    from ablate.runtime import err_console

    err_console.print(f"[bold red]error:[/bold red] {e}", soft_wrap=True)
    raise typer.Exit(getattr(e, "exit_code", 2))


SeedsOpt = Annotated[
    int | None,
    typer.Option(
        "--seeds", min=1, help="kind: grid only: run seeds 0..N-1 of every point (overrides seeds:)"
    ),
]


def _overrides(
    sets: list[str],
    max_epochs: int | None,
    data: str | None,
    accelerator: str | None,
    experiment: str | None,
    seeds: int | None = None,
) -> dict[str, Any]:
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


@app.command()
def run(
    space: Annotated[
        Path, typer.Argument(help="search space YAML, e.g. search_spaces/strides.yaml")
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="print the expanded points and exit")
    ] = False,
    max_epochs: Annotated[int | None, typer.Option("--max-epochs", min=1)] = None,
    seeds: SeedsOpt = None,
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
    no_report: Annotated[
        bool, typer.Option("--no-report", help="do not write the HTML report at the end")
    ] = False,
) -> None:
    """Expand SPACE into runs, train each with Lightning, log each to MLflow."""
    from ablate.spaces import apply_overrides, expand, load_space

    try:
        ov = _overrides(set_ or [], max_epochs, data, accelerator, experiment, seeds)
        if n_trials is not None:
            ov["n_trials"] = n_trials
        sp = load_space(space, ov)
        env_data = os.environ.get("ABLATE_DATA")
        if "data.source" not in ov and sp.base["data"].get("source") is None and env_data:
            sp = apply_overrides(sp, {"data.source": env_data})
        if dry_run:
            from ablate.inspection import print_points

            print_points(sp, expand(sp))
            return
        from ablate.runtime import quiet_libraries
        from ablate.store import Tracker, resolve_tracking_uri
        from ablate.sweep import SweepOptions, print_summary, run_sweep

        quiet_libraries()
        if workers > 1:
            from ablate.schedulers import DEFAULT_JOURNAL
            from ablate.store import check_store
            from ablate.sweep import launch, strip_options

            uri = resolve_tracking_uri(tracking_uri, os.environ)
            check_store(uri)
            Tracker(uri)  # creates a new store once, before the workers start
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
        from ablate.runtime import err_console

        err_console.print(
            "interrupted: finished runs are kept; run the same command again to resume."
        )
        raise typer.Exit(130) from None
    print_summary(outcomes)
    if not no_report:
        _report_after_run(opts.tracking_uri, sp.experiment)
    if not all(o.ok for o in outcomes):
        raise typer.Exit(1)


def _report_after_run(tracking_uri: str, experiment: str) -> None:
    """The sweep's report, or one line saying why there is none; never fails the run."""
    from ablate.report.build import ReportOptions, write_report
    from ablate.runtime import err_console

    try:
        result = write_report(ReportOptions(tracking_uri=tracking_uri, target=experiment))
    except USER_ERRORS as e:
        err_console.print(f"no report: {e}", soft_wrap=True)
        return
    except Exception as e:  # a report bug must not turn a finished sweep into a failed command
        err_console.print(
            f"no report: {type(e).__name__}: {e} (the runs are recorded; "
            f"`ablate report {shlex.quote(experiment)}` tries again)",
            soft_wrap=True,
        )
        return
    print(f"Report: {result.html} (ablate report {shlex.quote(experiment)} rebuilds it)")


@app.command()
def report(
    experiment: Annotated[
        str | None,
        typer.Argument(help="experiment name or space YAML; default: the newest sweep"),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="HTML file; default reports/<experiment>.html")
    ] = None,
    tracking_uri: TrackingOpt = None,
    ui_url: Annotated[
        str | None,
        typer.Option(
            "--ui-url", help="MLflow UI address to link runs to, e.g. http://127.0.0.1:5000"
        ),
    ] = None,
    baseline: Annotated[
        str | None,
        typer.Option(
            "--baseline",
            help="levels effects are measured against, e.g. stride=2,kernel=3; default: the "
            "first level of each factor",
        ),
    ] = None,
    interaction: Annotated[
        str | None,
        typer.Option(
            "--interaction", help="two factors for the interaction plot, e.g. stride,head"
        ),
    ] = None,
) -> None:
    """One self-contained HTML page: effects with intervals over seeds, findings, curves,
    cost, confusion matrices and the same test images explained by every configuration."""
    from ablate.report.build import ReportOptions, write_report
    from ablate.runtime import quiet_libraries
    from ablate.store import resolve_tracking_uri

    quiet_libraries()
    try:
        opts = ReportOptions(
            tracking_uri=resolve_tracking_uri(tracking_uri, os.environ),
            target=experiment,
            out=out,
            ui_url=ui_url,
            baseline=_pairs("--baseline", baseline),
            interaction=_two("--interaction", interaction),
        )
        result = write_report(opts)
    except USER_ERRORS as e:
        _fail(e)
        return
    r = result.report
    finished = sum(1 for run in r.runs if run.state == "finished")
    print(
        f"{result.html}  ({result.size_bytes / 1e6:.1f} MB, {finished} finished runs of "
        f"'{r.provenance.experiment}', built in {result.seconds:.1f} s)"
    )
    print(f"also {result.runs_csv} and {result.effects_csv}")
    for line in r.findings:
        print(f"  - {line}")


def _pairs(flag: str, text: str | None) -> dict[str, str]:
    """'stride=2,kernel=3' -> {'stride': '2', 'kernel': '3'}."""
    from ablate.errors import ConfigError

    out: dict[str, str] = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        key, eq, value = part.partition("=")
        if not eq or not key.strip() or not value.strip():
            raise ConfigError(
                f"{flag} {text!r}: give KEY=VALUE pairs separated by commas, e.g. stride=2."
            )
        out[key.strip()] = value.strip()
    return out


def _two(flag: str, text: str | None) -> tuple[str, str] | None:
    from ablate.errors import ConfigError

    if text is None:
        return None
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if len(parts) != 2 or parts[0] == parts[1]:
        raise ConfigError(f"{flag} {text!r}: give two different factors, e.g. stride,head.")
    return parts[0], parts[1]


@app.command()
def status(
    space: Annotated[Path, typer.Argument(help="search space YAML of the sweep")],
    data: DataOpt = None,
    max_epochs: Annotated[int | None, typer.Option("--max-epochs", min=1)] = None,
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
    try:
        sp = load_space(space, _overrides(set_ or [], max_epochs, data, None, None, seeds))
        print_status(sp, sweep_status(sp, resolve_tracking_uri(tracking_uri, os.environ), storage))
    except USER_ERRORS as e:
        _fail(e)


@app.command()
def models() -> None:
    """List the model presets (use as model.preset in a space)."""
    from ablate.inspection import print_presets

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
    from ablate.inspection import explain_command
    from ablate.runtime import quiet_libraries
    from ablate.store import resolve_tracking_uri

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
