"""What every benchmark prints and appends: the machine, the date, the command, a table.

Comparisons run interleaved in one process (A B A B ..., median of the repeats), so
that a machine that is 3x slower or busier shifts both sides alike; quote ratios.
"""

from __future__ import annotations

import datetime as dt
import os
import shlex
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
# the offline CIFAR-10 copy beside the checkout, as in CI; $ABLATE_DATA wins, --data wins over both
DEFAULT_DATA = os.environ.get(
    "ABLATE_DATA", str(ROOT.parent / "shared" / "data" / "cifar10-jpeg.zip")
)


def machine() -> str:
    """CPU model, cores, the flags that matter to torch's kernels, threads, torch version."""
    import torch

    from ablate.runtime import describe

    return (
        f"{describe()}; torch {torch.__version__}, {torch.get_num_threads()} threads; "
        f"load average {os.getloadavg()[0]:.1f}"
    )


def interleaved(
    cases: Sequence[tuple[str, Callable[[], object]]], repeats: int, warmup: int = 1
) -> dict[str, list[float]]:
    """Seconds of each call of each case, run A B C A B C ... `repeats` times after warm-up."""
    for _ in range(warmup):
        for _, fn in cases:
            fn()
    times: dict[str, list[float]] = {name: [] for name, _ in cases}
    for _ in range(repeats):
        for name, fn in cases:
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return times


def median(xs: Sequence[float]) -> float:
    return statistics.median(xs)


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def report(title: str, table: str, notes: str = "", append: bool = True) -> None:
    """Print the table with the machine and date; append it to RESULTS.md with the command."""
    command = shlex.join(["python", "-m", f"benchmarks.{Path(sys.argv[0]).stem}", *sys.argv[1:]])
    block = (
        f"## {title}\n\n{dt.datetime.now().strftime('%Y-%m-%d %H:%M')}; {machine()}\n\n"
        f"`{command}`\n\n{table}\n" + (f"\n{notes}\n" if notes else "")
    )
    print(block)
    if append:
        with RESULTS.open("a") as f:
            f.write("\n" + block)
