"""Wall time of the commands that train nothing: `ablate --help` and a dry run.

    python benchmarks/command_latency.py --label "after issue 8" [--repeat 3]

Runs each command `--repeat` times as a fresh process (`python -m ablate.cli` in
this checkout), prints the CPU model, the date, the median and the spread, and
appends the same table, with this command line, to benchmarks/RESULTS.md.
Targets (issue 8): `--help` under 0.5 s, the full dry run under 2 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import resource
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "RESULTS.md"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return f"{line.split(':', 1)[1].strip()}, {os.cpu_count()} cores"
    except OSError:
        pass
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"


def time_command(cmd: list[str], repeat: int) -> tuple[list[float], list[float]]:
    """Wall seconds and CPU seconds (user + sys) of each run of `cmd`."""
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"}
    walls, cpus = [], []
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, env=env, check=True, capture_output=True)
        walls.append(time.perf_counter() - t0)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return walls, cpus


def load_average() -> str:
    try:
        return f"load average {os.getloadavg()[0]:.1f}"
    except OSError:
        return "load average unknown"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--label", default="", help="what code was measured, e.g. a commit")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-write", action="store_true", help="print only")
    args = ap.parse_args()
    # `python -m ablate.cli` in the repository root is what the `ablate` script runs,
    # and it measures this checkout's code whatever is installed
    ablate = [sys.executable, "-m", "ablate.cli"]
    commands = {
        "ablate --help": [*ablate, "--help"],
        "ablate run search_spaces/full.yaml --dry-run": [
            *ablate,
            "run",
            "search_spaces/full.yaml",
            "--dry-run",
        ],
    }
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    lines = [
        f"### {args.label or 'run'} (commit {commit or 'unknown'})",
        "",
        f"`python {shlex.join(['benchmarks/command_latency.py', *sys.argv[1:]])}` on "
        f"{cpu_model()}, {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC, "
        f"Python {platform.python_version()}, {load_average()} at the start; seconds of a "
        f"fresh process, median of {args.repeat} (min-max). CPU = user + sys: less "
        "sensitive than wall time to other work on the machine.",
        "",
        "| command | wall median s | wall min-max s | CPU median s |",
        "|---|---|---|---|",
    ]
    for name, cmd in commands.items():
        t, cpu = time_command(cmd, args.repeat)
        lines.append(
            f"| `{name}` | {statistics.median(t):.2f} | {min(t):.2f}-{max(t):.2f} "
            f"| {statistics.median(cpu):.2f} |"
        )
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.no_write:
        if not RESULTS.exists():
            RESULTS.write_text(
                "# Benchmark results\n\nAppended by the scripts in this folder; newest last.\n\n"
            )
        with RESULTS.open("a") as f:
            f.write("\n" + text)


if __name__ == "__main__":
    main()
