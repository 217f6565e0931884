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


def time_command(cmd: list[str], repeat: int) -> list[float]:
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"}
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, env=env, check=True, capture_output=True)
        times.append(time.perf_counter() - t0)
    return times


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
        f"Python {platform.python_version()}; wall seconds of a fresh process, "
        f"median of {args.repeat} (min-max).",
        "",
        "| command | median s | min-max s |",
        "|---|---|---|",
    ]
    for name, cmd in commands.items():
        t = time_command(cmd, args.repeat)
        lines.append(f"| `{name}` | {statistics.median(t):.2f} | {min(t):.2f}-{max(t):.2f} |")
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
