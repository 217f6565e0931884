"""1 worker vs N workers on the same grid, side by side in one script.

    python benchmarks/workers.py --data ../shared/data/cifar10-jpeg.zip

Each configuration runs the same 6-point grid (seed 000's network, stride x
head; by default a 5,000-image train subset and 2 epochs; explanations off) in a fresh
folder with a warm data cache, as `ablate run` from the shell; wall time is
measured around the whole command. Prints a table with the speed-up.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

SPACE = {
    "experiment": "bench_workers",
    "base": {
        "model": {"preset": "keras_cnn"},
        "data": {"limit_train": 5000, "limit_test": 2000},
        "train": {"max_epochs": 2, "batch_size": 64},
        "explain": {"enabled": False},
    },
    "grid": {"model.stride": [1, 2, 3], "model.head": ["gap", "flatten"]},
}


def run(workers: int, data: str, cache: Path) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        space = Path(tmp) / "space.yaml"
        space.write_text(yaml.safe_dump(SPACE))
        cmd = [sys.executable, "-m", "ablate.cli", "run", str(space), "--data", data]
        cmd += ["--set", f"data.cache_dir={cache}", "--workers", str(workers)]
        env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"}
        t0 = time.perf_counter()
        subprocess.run(cmd, cwd=tmp, env=env, check=True, stdout=subprocess.DEVNULL)
        return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--data", default="../shared/data/cifar10-jpeg.zip")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--limit-train", type=int, default=5000, help="0 = the whole train split")
    args = ap.parse_args()
    SPACE["base"]["train"]["max_epochs"] = args.epochs  # type: ignore[index]
    SPACE["base"]["data"]["limit_train"] = args.limit_train or None  # type: ignore[index]
    with tempfile.TemporaryDirectory() as cache:
        from ablate.spaces import DataConfig
        from lightning_modules.data import load_cifar10

        load_cifar10(DataConfig(source=args.data, cache_dir=cache))  # warm the cache once
        times = {n: run(n, args.data, Path(cache)) for n in args.workers}
    base = times[args.workers[0]]
    n_train = args.limit_train or "all 45,000"
    print(f"6 points, {args.epochs} epochs, {n_train} train images, {os.cpu_count()} CPUs")
    print(f"{'workers':>8} {'wall s':>8} {'speed-up':>9}")
    for n, t in times.items():
        print(f"{n:>8} {t:>8.1f} {base / t:>8.2f}x")


if __name__ == "__main__":
    main()
