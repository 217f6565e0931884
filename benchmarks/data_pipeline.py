"""Data pipeline: ablate's in-memory uint8 batches against the tutorial pipeline.

    python -m benchmarks.data_pipeline [--images 20000] [--repeats 3] [--no-append]
        [--data ../shared/data/cifar10-jpeg.zip]

Both produce shuffled, augmented (random crop with 4 px padding, horizontal flip),
normalised float batches of 128, ready for a model, for one pass over the same
images:

- ablate: `TensorBatches` over uint8 tensors, `augment_batch` on the uint8 batch,
  `to_float`, normalise (in ablate the model's first layer does it; here it is timed
  with the data so that both sides do the same work);
- tutorial: `torchvision.datasets.CIFAR10` (its own loading code, fed the same images
  written in its python-pickle format) + `DataLoader(shuffle=True)` + PIL transforms
  `RandomCrop(32, padding=4)`, `RandomHorizontalFlip`, `ToTensor`, `Normalize`, with 0
  and 2 loader worker processes.

Interleaved, median of the repeats; goal (issue 10): at least 10x.
"""

from __future__ import annotations

import argparse
import pickle
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from benchmarks.common import DEFAULT_DATA, interleaved, markdown_table, median, report
from lightning_modules.augment import augment_batch, to_float
from lightning_modules.config import DataConfig
from lightning_modules.data import load_cifar10
from lightning_modules.datamodule import TensorBatches, channel_stats

BATCH = 128


def write_torchvision_copy(x: torch.Tensor, y: torch.Tensor, root: Path) -> None:
    """The images in torchvision's `cifar-10-batches-py` format (one training batch)."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    flat = x.reshape(len(x), -1).numpy()  # (N, 3*32*32), channel-major like the original
    batch = {"data": flat, "labels": y.tolist(), "batch_label": "bench"}  # str keys, as
    # torchvision reads the original (Python 2) pickles with encoding="latin1"
    for name in ("data_batch_1", "test_batch"):
        with (folder / name).open("wb") as f:
            pickle.dump(batch, f)
    for name in ("data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5"):
        with (folder / name).open("wb") as f:
            pickle.dump({"data": flat[:0], "labels": [], "batch_label": "empty"}, f)
    with (folder / "batches.meta").open("wb") as f:
        pickle.dump({"label_names": [str(i) for i in range(10)]}, f)


def tutorial_loader(root: Path, mean: Any, std: Any, workers: int) -> Any:
    from torchvision import datasets, transforms

    class LocalCIFAR10(datasets.CIFAR10):
        def _check_integrity(self) -> bool:  # our copy has other checksums
            return True

        def _load_meta(self) -> None:  # the same: skip the meta file's checksum
            self.classes = [str(i) for i in range(10)]
            self.class_to_idx = {c: i for i, c in enumerate(self.classes)}

    tf = transforms.Compose(
        [
            transforms.RandomCrop(32, padding=4),
            transforms.RandomHorizontalFlip(),
            transforms.ToTensor(),
            transforms.Normalize(mean, std),
        ]
    )
    ds = LocalCIFAR10(str(root), train=True, transform=tf, download=False)
    return torch.utils.data.DataLoader(
        ds, batch_size=BATCH, shuffle=True, num_workers=workers, persistent_workers=workers > 0
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=DEFAULT_DATA)
    parser.add_argument("--images", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-append", action="store_true")
    args = parser.parse_args()
    arrays = load_cifar10(DataConfig(source=args.data))
    x, y = arrays.train_x[: args.images].contiguous(), arrays.train_y[: args.images]
    mean_t, std_t = channel_stats(x)
    mean = torch.tensor(mean_t).view(1, 3, 1, 1)
    std = torch.tensor(std_t).view(1, 3, 1, 1)
    ours = TensorBatches(x, y, BATCH, shuffle=True)

    def ablate_pass() -> int:
        n = 0
        for xb, _ in ours:
            out = (to_float(augment_batch(xb)) - mean) / std
            n += len(out)
        return n

    with tempfile.TemporaryDirectory() as tmp:
        write_torchvision_copy(x, y, Path(tmp))
        loaders = {w: tutorial_loader(Path(tmp), mean_t, std_t, w) for w in (0, 2)}

        def tutorial_pass(workers: int) -> Any:
            def run() -> int:
                return sum(len(xb) for xb, _ in loaders[workers])

            return run

        assert ablate_pass() == tutorial_pass(0)() == len(x)  # the same images, once each
        times = interleaved(
            [
                ("ablate", ablate_pass),
                ("tutorial, 0 workers", tutorial_pass(0)),
                ("tutorial, 2 workers", tutorial_pass(2)),
            ],
            args.repeats,
        )
    ours_s = median(times["ablate"])
    rows = [
        [name, f"{len(x) / median(ts):,.0f}", f"{median(ts) / ours_s:.1f}x"]
        for name, ts in times.items()
    ]
    report(
        "Data pipeline: in-memory uint8 batches vs torchvision + DataLoader + PIL",
        markdown_table(["pipeline", "images/s", "ablate is faster by"], rows),
        notes=f"{len(x):,} images of {arrays.source}, batch {BATCH}, crop+flip+normalise; "
        f"median of {args.repeats} interleaved passes. numpy {np.__version__}.",
        append=not args.no_append,
    )


if __name__ == "__main__":
    main()
