"""`ablate report`: one self-contained HTML page for a sweep."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from ablate.cli.exits import user_errors
from ablate.cli.options import TrackingOpt


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
    from ablate.report import ReportOptions, write_report
    from ablate.runtime import quiet_libraries
    from ablate.store import resolve_tracking_uri

    quiet_libraries()
    with user_errors():
        opts = ReportOptions(
            tracking_uri=resolve_tracking_uri(tracking_uri, os.environ),
            target=experiment,
            out=out,
            ui_url=ui_url,
            baseline=pairs("--baseline", baseline),
            interaction=two("--interaction", interaction),
        )
        result = write_report(opts)
    r = result.report
    finished = sum(1 for run in r.runs if run.state == "finished")
    print(
        f"{result.html}  ({result.size_bytes / 1e6:.1f} MB, {finished} finished runs of "
        f"'{r.provenance.experiment}', built in {result.seconds:.1f} s)"
    )
    print(f"also {result.runs_csv} and {result.effects_csv}")
    for line in r.findings:
        print(f"  - {line}")


def pairs(flag: str, text: str | None) -> dict[str, str]:
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


def two(flag: str, text: str | None) -> tuple[str, str] | None:
    """'stride,head' -> ('stride', 'head'): two different factors."""
    from ablate.errors import ConfigError

    if text is None:
        return None
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if len(parts) != 2 or parts[0] == parts[1]:
        raise ConfigError(f"{flag} {text!r}: give two different factors, e.g. stride,head.")
    return parts[0], parts[1]
