"""The `ablate` Typer app: one command per module of this room, each of which parses
its options and calls one library function. Errors become messages and exit codes in
`ablate.cli.exits` only. Heavy libraries load inside the commands, so `--help` is fast.
"""

from __future__ import annotations

import typer

from ablate.cli import explain, launch, models, report, run, status

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Grid and Optuna ablations of CIFAR-10 CNNs, tracked in MLflow, explained with Captum.",
)
# in the order `ablate --help` lists them
app.command()(run.run)
app.command()(report.report)
app.command()(status.status)
app.command()(models.models)
app.command()(explain.explain)
app.add_typer(launch.app, name="launch")  # ablate launch slurm


def main() -> None:
    """The `ablate` script (pyproject's entry point) and `python -m ablate.cli`."""
    from ablate.runtime.collector import fewer_collections

    fewer_collections()  # seconds of full collections over torch, Lightning and MLflow
    app()
