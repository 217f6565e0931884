"""`ablate run`: expand a space into runs, train and log each, then write the report."""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ablate.cli.exits import SWEEP_FAILED, user_errors
from ablate.cli.options import (
    DataOpt,
    MarginOpt,
    MaxEpochsOpt,
    MaxSeedsOpt,
    SeedsOpt,
    StorageOpt,
    TrackingOpt,
    UntilSettledOpt,
    load_space_as_run,
    margins,
    overrides,
    seed_rule,
)
from ablate.errors import USER_ERRORS, ConfigError

if TYPE_CHECKING:
    pass

INTERRUPTED = "interrupted: finished runs are kept; run the same command again to resume."


def run(
    space: Annotated[
        Path, typer.Argument(help="search space YAML, e.g. search_spaces/strides.yaml")
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="print the expanded points and exit")
    ] = False,
    max_epochs: MaxEpochsOpt = None,
    seeds: SeedsOpt = None,
    until_settled: UntilSettledOpt = False,
    max_seeds: MaxSeedsOpt = None,
    margin: MarginOpt = None,
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
    with user_errors(interrupted=INTERRUPTED):
        from ablate.spaces import check_workers

        check_workers(workers)  # before anything is read, recorded or started
        ov = overrides(set_ or [], max_epochs, data, accelerator, experiment, seeds)
        if n_trials is not None:
            ov["n_trials"] = n_trials
        rule = seed_rule(until_settled, max_seeds)
        if rule is not None:
            if seeds is not None:
                raise ConfigError("--seeds N and --until-settled/--max-seeds: give one of them.")
            ov["seeds"] = rule
        if margin:
            ov["margins"] = margins(margin)
        sp = load_space_as_run(space, ov)
        if dry_run:
            from ablate.inspection import print_points
            from ablate.spaces import expand

            print_points(sp, expand(sp))
            return
        from ablate.runtime import quiet_libraries
        from ablate.store import resolve_tracking_uri
        from ablate.sweep import SweepOptions, run_sweep

        quiet_libraries()
        uri = resolve_tracking_uri(tracking_uri, os.environ)
        if workers > 1:
            raise typer.Exit(_launch(uri, workers, storage))
        outcomes = run_sweep(
            sp,
            SweepOptions(
                tracking_uri=uri,
                command=shlex.join(["ablate", *sys.argv[1:]]),
                storage=storage,
                stale_after=stale_after,
                heartbeat_seconds=min(20.0, stale_after / 4),
            ),
        )
    from ablate.sweep import print_summary

    print_summary(outcomes)
    if not no_report:
        _report_after_run(uri, sp.experiment)
    if not all(o.ok for o in outcomes):
        raise typer.Exit(SWEEP_FAILED)


def _launch(uri: str, workers: int, storage: str | None) -> int:
    """Start `workers` copies of this command on one shared queue; their exit code."""
    from ablate.schedulers import DEFAULT_JOURNAL
    from ablate.store import Tracker, check_store
    from ablate.sweep import launch, strip_options

    check_store(uri)
    Tracker(uri)  # creates a new store once, before the workers start
    argv = strip_options(sys.argv[1:], ("--workers", "--storage"))
    return launch(argv, workers, storage or f"journal:{DEFAULT_JOURNAL}")


def _report_after_run(tracking_uri: str, experiment: str) -> None:
    """The sweep's report, or one line saying why there is none; never fails the run."""
    from ablate.report import ReportOptions, write_report
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
