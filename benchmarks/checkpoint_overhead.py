"""What the epoch checkpoints of mid-training resume cost, per epoch of `keras_cnn`.

    python -m benchmarks.checkpoint_overhead [--images 10000] [--epochs 2] [--repeats 2]
        [--data ../shared/data/cifar10-jpeg.zip] [--no-append]

Runs, interleaved in one process (A B A B ...), the same `keras_cnn` training:

- A, as a sweep trains: `fit_and_test` with epoch checkpoints, each uploaded to a run of
  a local MLflow store (sqlite + ./mlruns-like artifact folder), as `ablate run` does;
- B, without checkpoints.

The table gives the seconds per epoch that writing and uploading the checkpoint took
(measured around the two steps themselves), that as a share of a training epoch, the
wall time per epoch of A and B, and their training time (batches only) per epoch. Goal (issue 16): under 2% of a keras_cnn epoch. The share
depends on the epoch: on the full CIFAR-10 training split (45,000 images after the val
split) an epoch is `45000 / --images` times longer than here, so the share quoted for a
full epoch is scaled by that, from the measured numbers.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from ablate.spaces import RunConfig
from ablate.store import Tracker
from benchmarks.common import DEFAULT_DATA, markdown_table, median, report
from lightning_modules.config import DataConfig, ModelConfig, TrainConfig
from lightning_modules.datamodule import CifarDataModule
from lightning_modules.presets import find_preset
from lightning_modules.resume import ResumeState
from lightning_modules.train import Resume, fit_and_test

FULL_TRAIN = 45_000  # CIFAR-10 train images after the default 10% val split


def spec(data: str, images: int, epochs: int) -> RunConfig:
    preset = find_preset("keras_cnn")
    assert preset is not None
    return RunConfig(
        experiment="checkpoint-overhead",
        model=ModelConfig(preset="keras_cnn", **preset.fields),
        data=DataConfig(source=data, augment=True, limit_train=images, limit_test=1000),
        train=TrainConfig(max_epochs=epochs, batch_size=128),
        seed=0,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--data", default=DEFAULT_DATA)
    ap.add_argument("--images", type=int, default=10_000)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--no-append", action="store_true")
    args = ap.parse_args()

    cfg = spec(args.data, args.images, args.epochs)
    dm = CifarDataModule(cfg.data, batch_size=cfg.train.batch_size, seed=cfg.seed)
    walls: dict[str, list[float]] = {"A": [], "B": []}
    trains: dict[str, list[float]] = {"A": [], "B": []}  # TrainTimer: training batches only
    ckpt_seconds: list[float] = []
    with tempfile.TemporaryDirectory() as store_dir:
        store = Path(store_dir)
        tracker = Tracker(f"sqlite:///{store / 'mlflow.db'}")
        parent, _ = tracker.start_parent(
            cfg.experiment, "bench", name="bench", space_file=None, command="", summary={}
        )
        for i in range(args.repeats + 1):  # the first round warms up
            for side in ("A", "B") if i % 2 else ("B", "A"):  # alternate who goes first
                with tempfile.TemporaryDirectory() as tmp:
                    resume = None
                    if side == "A":
                        run = tracker.start_run(parent, cfg, f"bench {i}")

                        def upload(path: Path, st: ResumeState, run=run) -> None:  # type: ignore[no-untyped-def]
                            run.log_resume(path, st.to_json())

                        resume = Resume(folder=Path(tmp) / "resume", sink=upload)
                    t0 = time.perf_counter()
                    result = fit_and_test(cfg, Path(tmp), datamodule=dm, resume=resume)
                    wall = (time.perf_counter() - t0) / args.epochs
                    if i > 0:
                        walls[side].append(wall)
                        trains[side].append(result.metrics["train_seconds"] / args.epochs)
                        if resume is not None:
                            ckpt_seconds += resume.seconds
    ckpt = median(ckpt_seconds)
    epoch_train = median(trains["A"])
    share = ckpt / epoch_train
    full_share = ckpt / (epoch_train * FULL_TRAIN / args.images)
    rows = [
        ["checkpoint write + upload, s per epoch", f"{ckpt:.3f}"],
        [f"training epoch of {args.images} images, s (A)", f"{epoch_train:.2f}"],
        ["share of this epoch", f"{100 * share:.2f}%"],
        [f"share of a full {FULL_TRAIN}-image epoch (scaled)", f"{100 * full_share:.3f}%"],
        ["wall s per epoch, with checkpoints (A)", f"{median(walls['A']):.2f}"],
        ["wall s per epoch, without (B)", f"{median(walls['B']):.2f}"],
        ["wall ratio A/B", f"{median(walls['A']) / median(walls['B']):.3f}"],
        ["training s per epoch, without (B)", f"{median(trains['B']):.2f}"],
        ["training ratio A/B (checkpoints excluded)", f"{epoch_train / median(trains['B']):.3f}"],
    ]
    report(
        "Epoch checkpoints (mid-training resume): cost per keras_cnn epoch",
        markdown_table(["measure", "value"], rows),
        notes=(
            f"keras_cnn, batch 128, augment, {args.epochs} epochs x {args.repeats} repeats "
            "per side, A B interleaved; checkpoints to a local sqlite MLflow store."
        ),
        append=not args.no_append,
    )


if __name__ == "__main__":
    main()
