"""`ablate report`: one self-contained HTML page for a sweep."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Annotated

import typer

from ablate.cli.exits import user_errors
from ablate.cli.options import MarginOpt, TrackingOpt


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
    figures: Annotated[
        Path | None,
        typer.Option(
            "--figures",
            help="also write every plot as PDF and PNG, and effects.tex (booktabs), into DIR",
            metavar="DIR",
        ),
    ] = None,
    margin: MarginOpt = None,
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
            margins=report_margins(margin or []),
            figures=figures,
        )
        result = write_report(opts)
    r = result.report
    finished = sum(1 for run in r.runs if run.state == "finished")
    print(
        f"{result.html}  ({result.size_bytes / 1e6:.1f} MB, {finished} finished runs of "
        f"'{r.provenance.experiment}', built in {result.seconds:.1f} s)"
    )
    print(f"also {result.runs_csv} and {result.effects_csv}")
    if figures is not None:
        plots = sum(1 for p in result.figures if p.suffix == ".pdf")
        print(f"figures: {plots} plots as PDF and PNG, and effects.tex, in {figures}")
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


def report_margins(given: list[str]) -> dict[str, float]:
    """--margin test_acc=0.5 --margin train_seconds=2 -> {"test_acc": 0.5, ...}: a
    practical margin per response in its display units (points, s, ...); a bare number
    is test accuracy's; 0 turns equivalence off for that response."""
    from ablate.cli.options import margins
    from ablate.errors import ConfigError

    out: dict[str, float] = {}
    for key, value in margins(given).items():
        if isinstance(value, float) and math.isfinite(value) and value >= 0:
            out[key] = value
            continue
        raise ConfigError(
            f"--margin {key}={value}: a margin is a number >= 0 in the response's display "
            "units (points of accuracy, seconds), e.g. --margin test_acc=0.5."
        )
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
