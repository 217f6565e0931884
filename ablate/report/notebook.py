"""The report's analysis in a notebook: `ablate.load_sweep("strides")`.

    >>> import ablate
    >>> sweep = ablate.load_sweep("strides")        # experiment name or space file
    >>> sweep.runs                                  # = reports/strides.runs.csv
    >>> sweep.effects(baseline={"stride": "2"}, margin=0.5)  # as --baseline, --margin
    >>> sweep.findings()
    >>> fig = sweep.figure("effect-test-acc-stride")  # a matplotlib Figure
    >>> sweep.write_report("reports/strides.html")

Every number comes from the same code as `ablate report` (`build_report`), so the frame,
the effects and the figures equal the page's and its CSV files for the same store.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from ablate.report.build import ReportOptions, build_report, effects_frame, write_report
from ablate.report.data.runs import runs_frame
from ablate.report.export import PageFigure, page_figures, write_figures
from ablate.stats.model import Interval, Report
from ablate.store import resolve_tracking_uri


class Sweep:
    """One sweep of a tracking store, analysed as `ablate report` analyses it."""

    def __init__(
        self,
        opts: ReportOptions,
        report: Report,
        interaction_cells: Mapping[tuple[Any, Any], Interval] | None,
    ) -> None:
        self._opts = opts
        self.report = report  # every number on the page (ablate.stats.model.Report)
        self._cells = interaction_cells
        self._figures = {f.name: f for f in page_figures(report, interaction_cells)}

    def __repr__(self) -> str:
        p = self.report.provenance
        return (
            f"<Sweep {p.experiment!r}: {len(self.report.runs)} runs, parent {p.parent_run_id[:12]}>"
        )

    @property
    def experiment(self) -> str:
        return self.report.provenance.experiment

    @property
    def runs(self) -> pd.DataFrame:
        """One row per run (and per design point with no run yet): the rows and columns
        of `<report>.runs.csv`."""
        return runs_frame(self.report.runs, self.report.factors)

    def effects(
        self,
        baseline: Mapping[str, str] | None = None,
        margin: float | Mapping[str, float] | None = None,
        response: str | None = None,
    ) -> pd.DataFrame:
        """Main effects and interactions, as `<report>.effects.csv`.

        baseline: factor -> level text, as `ablate report --baseline stride=2`.
        margin: the equivalence margin of test accuracy in points, or response -> margin,
            as `ablate report --margin`; default: the sweep's own (1 point of accuracy).
        response: keep one response, by key ("test_acc") or label ("test accuracy").
        """
        report = self.report
        if baseline or margin is not None:
            margins = {"test_acc": float(margin)} if isinstance(margin, int | float) else margin
            opts = replace(
                self._opts,
                baseline=dict(baseline or self._opts.baseline),
                margins=dict(margins or self._opts.margins),
            )
            report, _ = build_report(opts)
        frame = effects_frame(report.effects + report.interactions, report.responses)
        if response is None or frame.empty:
            return frame
        keys = {r.key for r in report.responses if response in (r.key, r.label)}
        if not keys:
            known = ", ".join(r.key for r in report.responses)
            raise KeyError(f"no response {response!r} in this sweep; known: {known}")
        return frame[frame["response"].isin(keys)].reset_index(drop=True)

    def findings(self) -> list[str]:
        """The page's findings, as sentences."""
        return list(self.report.findings)

    @property
    def figure_names(self) -> list[str]:
        """The names `figure` takes, in page order."""
        return list(self._figures)

    def figure(self, name: str) -> Figure:
        """One of the page's plots as a matplotlib Figure (see `figure_names`)."""
        spec: PageFigure | None = self._figures.get(name)
        if spec is None:
            raise KeyError(f"no figure {name!r}; this sweep has: {', '.join(self._figures)}")
        from ablate.report.figures.style import style

        with style():
            return spec.draw()

    def write_figures(self, folder: str | Path) -> list[Path]:
        """Every plot as PDF and PNG at print size, as `ablate report --figures DIR`."""
        return write_figures(self.report, Path(folder), self._cells)

    def write_report(self, path: str | Path) -> Path:
        """The HTML page (and its CSV files beside it); the page's path."""
        return write_report(replace(self._opts, out=Path(path), log_to_parent=False)).html


def load_sweep(target: str | None = None, tracking_uri: str | None = None) -> Sweep:
    """A sweep of the tracking store: `target` is its experiment name or space file
    (None: the newest sweep). tracking_uri: default $MLFLOW_TRACKING_URI, else
    sqlite:///mlflow.db in this folder. Reading creates nothing in the store."""
    uri = resolve_tracking_uri(tracking_uri, os.environ)
    opts = ReportOptions(tracking_uri=uri, target=target, log_to_parent=False)
    report, cells = build_report(opts)
    return Sweep(opts, report, cells)
