"""Orchestration overhead: what ablate costs per run beyond training and explaining.

    python -m benchmarks.orchestration_overhead [--runs 8] [--no-append]
        [--data ../shared/data/cifar10-jpeg.zip]

Runs `ablate run` (in this process, through the CLI) on a grid of K tiny points
(1 epoch on 1,000 images) into a fresh sqlite store, once with explanations off and
once on, and times, per point, the calls that do the model work:
`lightning_modules.train.fit_and_test` (fit + restore best + test) and
`explain.trained.explain_model` (choosing the images and explaining them). Overhead = (wall of the whole command - time inside
those calls) / K: loading the space, checking the data and the store, the parent run,
params, tags, heartbeats, per-epoch metrics, the checkpoint, the confusion matrix,
artifacts and the final report. Goal (issue 10): under 1 s per run, or under 5% of it.
The data cache is warmed first (a first decode of the data is paid once per machine).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import yaml

from benchmarks.common import DEFAULT_DATA, markdown_table, report


@contextlib.contextmanager
def timed(module: Any, name: str, spent: list[float]) -> Iterator[None]:
    real: Callable[..., Any] = getattr(module, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return real(*args, **kwargs)
        finally:
            spent.append(time.perf_counter() - t0)

    setattr(module, name, wrapper)
    try:
        yield
    finally:
        setattr(module, name, real)


def sweep(data: str, runs: int, explain: bool, work: Path) -> tuple[float, float, float]:
    """(wall seconds, seconds in fit_and_test, seconds in explain_model) of one sweep."""
    from typer.testing import CliRunner

    import explain.trained as trained
    import lightning_modules.train as train
    from ablate.cli import app

    doc = {
        "experiment": f"overhead-{'explain' if explain else 'plain'}",
        "base": {
            "model": {"preset": "keras_cnn"},
            "data": {"limit_train": 1000, "limit_test": 500},
            "train": {"max_epochs": 1, "batch_size": 128},
            "explain": {"enabled": explain},
        },
        "grid": {"train.lr": [0.001 * (i + 1) for i in range(runs)]},
    }
    space = work / f"{doc['experiment']}.yaml"
    space.write_text(yaml.safe_dump(doc))
    fit: list[float] = []
    xai: list[float] = []
    with timed(train, "fit_and_test", fit), timed(trained, "explain_model", xai):
        t0 = time.perf_counter()
        result = CliRunner().invoke(app, ["run", str(space), "--data", data])
        wall = time.perf_counter() - t0
    if result.exit_code != 0:
        raise SystemExit(result.output[-3000:])
    assert len(fit) == runs, (len(fit), runs)
    return wall, sum(fit), sum(xai)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=DEFAULT_DATA)
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("--no-append", action="store_true")
    args = parser.parse_args()
    from lightning_modules.config import DataConfig
    from lightning_modules.data import load_cifar10

    load_cifar10(DataConfig(source=args.data))  # warm the decoded-data cache
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        cwd = os.getcwd()
        os.chdir(tmp)
        os.environ.pop("MLFLOW_TRACKING_URI", None)
        try:
            for explain in (False, True):
                wall, fit, xai = sweep(args.data, args.runs, explain, Path(tmp))
                over = (wall - fit - xai) / args.runs
                per_run = wall / args.runs
                rows.append(
                    [
                        "on" if explain else "off",
                        args.runs,
                        f"{wall:.1f} s",
                        f"{fit / args.runs:.2f} s",
                        f"{xai / args.runs:.2f} s",
                        f"**{over:.2f} s**",
                        f"{over / per_run:.0%}",
                    ]
                )
                print(rows[-1], flush=True)
        finally:
            os.chdir(cwd)
    header = [
        "explanations",
        "runs",
        "sweep wall",
        "fit+test per run",
        "explain per run",
        "overhead per run",
        "share of wall",
    ]
    report(
        "Orchestration overhead per run",
        markdown_table(header, rows),
        notes="Tiny points (keras_cnn, 1 epoch on 1,000 images, 500 test images) make the "
        "overhead's share as large as it gets; a real point trains for minutes.",
        append=not args.no_append,
    )


if __name__ == "__main__":
    main()
