"""What the terminal shows: sweep progress with an ETA, tables, and `fmt_seconds`, the one
duration formatter (the report page uses it too). No torch, no Lightning:
`--help` and `--dry-run` import this. (One line per epoch: `ablate.sweep.epoch_line`.)"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

# Piped output (CI logs, `| tee`) gets wide lines instead of rich's 80 columns.
console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
err_console = Console(stderr=True, highlight=False, width=None if sys.stderr.isatty() else 160)


def quiet_libraries() -> None:
    """Keep the terminal to our own lines: Lightning's banners and known-harmless
    warnings go, real warnings stay."""
    import logging
    import os
    import warnings

    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")  # read when mlflow is imported
    logging.getLogger("mlflow").setLevel(logging.WARNING)  # in case it already was

    for name in ("lightning.pytorch", "lightning.fabric", "lightning"):
        logging.getLogger(name).setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message=".*on_after_batch_transfer.*")  # ours, on purpose
    warnings.filterwarnings("ignore", message=".*LeafSpec.*")  # torch 2.14 vs lightning 2.6
    warnings.filterwarnings("ignore", message=".*litlogger.*")


def fmt_seconds(s: float | None, *, spaced: bool = False) -> str:
    """A duration as people read it; None or NaN -> '–'. Compact for terminal lines, to
    whole seconds: 12.3 -> '12s', 252 -> '4m12s', 4980 -> '1h23m'. `spaced` for the report
    page, cut down (not rounded) to the unit shown: '12.3 s', '4 min 12 s', '1 h 23 min'."""
    if s is None or not math.isfinite(s):
        return "–"
    if spaced:
        if s < 60:
            return f"{s:.1f} s"
        if s < 3600:
            return f"{int(s // 60)} min {int(s % 60):02d} s"
        return f"{int(s // 3600)} h {int(s % 3600 // 60):02d} min"
    t = int(max(0.0, round(s)))
    if t < 60:
        return f"{t}s"
    if t < 3600:
        return f"{t // 60}m{t % 60:02d}s"
    return f"{t // 3600}h{(t % 3600) // 60:02d}m"


class SweepProgress:
    """'point i of N' lines with an ETA from the mean time of the points trained so far."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.trained_seconds: list[float] = []
        self.started = 0  # points started by this process

    def start(self, i: int, label: str, remaining: int) -> None:
        self.started += 1
        eta = ""
        if self.trained_seconds and remaining > 0:  # 0: unknown (shared queue)
            mean = sum(self.trained_seconds) / len(self.trained_seconds)
            eta = f"  [dim]ETA {fmt_seconds(mean * remaining)}[/dim]"
        console.print(f"[bold]point {i} of {self.total}[/bold]  {escape(label)}{eta}")

    def done(self, seconds: float) -> None:
        self.trained_seconds.append(seconds)

    def note(self, i: int, label: str, what: str) -> None:
        console.print(
            f"[bold]point {i} of {self.total}[/bold]  {escape(label)}  [dim]{escape(what)}[/dim]"
        )


def table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A table of plain text: cells and title quote user input, never Rich markup."""
    t = Table(title=escape(title), title_justify="left")
    for c in columns:
        t.add_column(escape(c), overflow="fold", no_wrap=c in ("run key", "run", "#"))
    for r in rows:
        t.add_row(*(escape(str(x)) for x in r))
    console.print(t)
