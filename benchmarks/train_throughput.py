"""Training throughput: ablate's Lightning path against a minimal plain PyTorch loop.

    python -m benchmarks.train_throughput [--quick] [--repeats 3] [--no-append]
        [--data ../shared/data/cifar10-jpeg.zip] [--models keras_cnn vgg]

Both sides train the same network (built by `lightning_modules.models`), on the same
uint8 CIFAR-10 tensors held in memory, with the same batch size, memory format
(channels_last), precision (fp32 on the CPU, bf16-mixed on a GPU), optimizer (Adam)
and batch augmentation (crop + flip, on uint8):

- A, ablate: `lightning_modules.train.fit_and_test`, exactly what a sweep runs (the
  Trainer, the data module, checkpointing, the divergence watch, per-epoch metrics),
  minus MLflow; its `train_images_per_second` counts training batches only;
- B, plain: a for-loop over shuffled index batches, augment, forward, loss, backward, step.

The second baseline (issue 14) is the loop a user would write for seed 000's network
(keras_cnn only): C, `user_net` with `nn.Conv2d(padding=1)`, the data converted to
normalised float channels_last tensors once, shuffled once per epoch, Adam, no
augmentation; against it, A' is ablate's path on the same config with augmentation off
(`ablate run`'s default for that preset).

Runs the sides in one process, each repeat in a rotated order (A B A' C, B A' C A, ...);
the table gives the median images/s of each and the ratios A/B and A'/C. Goal: at
least 0.95x for both (issues 10 and 14).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ablate.spaces import RunConfig
from benchmarks.common import DEFAULT_DATA, markdown_table, median, report
from lightning_modules.augment import augment_batch, to_float
from lightning_modules.cifar import CIFAR_MEAN, CIFAR_STD
from lightning_modules.config import DataConfig, ModelConfig, TrainConfig
from lightning_modules.data import load_cifar10
from lightning_modules.datamodule import CifarDataModule
from lightning_modules.models import build_model
from lightning_modules.presets import find_preset
from lightning_modules.train import fit_and_test, resolve_precision


def spec(
    model: str, data: str, images: int, epochs: int, batch: int, augment: bool = True
) -> RunConfig:
    preset = find_preset(model)
    assert preset is not None, model
    return RunConfig(
        model=ModelConfig(preset=model, **preset.fields),
        data=DataConfig(source=data, augment=augment, limit_train=images, limit_test=1000),
        train=TrainConfig(max_epochs=epochs, batch_size=batch),
        seed=0,
    )


def lightning_images_per_second(cfg: RunConfig, dm: CifarDataModule) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        result = fit_and_test(cfg, Path(tmp), datamodule=dm)
    return result.metrics["train_images_per_second"]


def plain_images_per_second(cfg: RunConfig, x: torch.Tensor, y: torch.Tensor) -> float:
    """The loop a researcher would write: no framework, same work per step."""
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.manual_seed(cfg.seed)
    net = build_model(cfg.model).to(device).to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    opt = torch.optim.Adam(net.parameters(), lr=cfg.train.lr)
    bf16 = resolve_precision(cfg.train) == "bf16-mixed"
    x, y = x.to(device), y.to(device)
    b = cfg.train.batch_size
    images, seconds = 0, 0.0
    torch.set_flush_denormal(True)  # as fit_and_test trains
    for epoch in range(cfg.train.max_epochs):
        if device.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        order = torch.randperm(len(x), generator=torch.Generator().manual_seed(epoch)).to(device)
        for i in range(0, len(x), b):
            idx = order[i : i + b]
            xb = to_float(augment_batch(x.index_select(0, idx)))
            xb = xb.contiguous(memory_format=torch.channels_last)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
                loss = F.cross_entropy(net(xb), y.index_select(0, idx))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            images += len(idx)
        if device.type == "cuda":
            torch.cuda.synchronize()
        seconds += time.perf_counter() - t0
    torch.set_flush_denormal(False)
    return images / seconds


def user_net() -> nn.Module:
    """Seed 000's network (keras_cnn) as a user writes it: nn.Conv2d(padding=1), no
    normalisation layer (the data is normalised once, up front)."""
    return nn.Sequential(
        nn.Conv2d(3, 32, 3, padding=1, bias=False),
        nn.BatchNorm2d(32),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1, bias=False),
        nn.BatchNorm2d(64),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(64 * 8 * 8, 10),
    )


def user_images_per_second(cfg: RunConfig, x: torch.Tensor, y: torch.Tensor) -> float:
    """The loop a user would write: float channels_last tensors made once, a shuffled copy
    per epoch sliced into batches, Adam; no augmentation, no framework."""
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.manual_seed(cfg.seed)
    net = user_net().to(device).to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    opt = torch.optim.Adam(net.parameters(), lr=cfg.train.lr)
    bf16 = resolve_precision(cfg.train) == "bf16-mixed"
    mean = torch.tensor(CIFAR_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(CIFAR_STD).view(1, 3, 1, 1)
    xf = ((x.float() / 255 - mean) / std).to(device)
    y = y.to(device)
    b = cfg.train.batch_size
    images, seconds = 0, 0.0
    for epoch in range(cfg.train.max_epochs):
        if device.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        order = torch.randperm(len(xf), generator=torch.Generator().manual_seed(epoch)).to(device)
        xs = xf[order].contiguous(memory_format=torch.channels_last)
        ys = y[order]
        for i in range(0, len(xs), b):
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
                loss = F.cross_entropy(net(xs[i : i + b]), ys[i : i + b])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            images += len(ys[i : i + b])
        if device.type == "cuda":
            torch.cuda.synchronize()
        seconds += time.perf_counter() - t0
    return images / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=DEFAULT_DATA)
    parser.add_argument("--models", nargs="+", default=["keras_cnn", "vgg"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="fewer images per epoch")
    parser.add_argument("--no-append", action="store_true")
    args = parser.parse_args()
    import lightning  # noqa: F401  (imported first: it resets its loggers to INFO)

    from ablate.runtime import quiet_libraries

    quiet_libraries()  # Lightning's banners
    rows = []
    for model in args.models:
        heavy = model in ("vgg", "seed003")
        images = (1000 if heavy else 5000) if args.quick else (3000 if heavy else 15000)
        cfg = spec(model, args.data, images, epochs=2, batch=128)
        dm = CifarDataModule(cfg.data, batch_size=cfg.train.batch_size, seed=cfg.seed)
        dm.setup("fit")  # decoded and split once; both sides use the same train tensors
        x, y = dm.train_x, dm.train_y
        sides: dict[str, Callable[[], float]] = {
            "A": partial(lightning_images_per_second, cfg, dm),
            "B": partial(plain_images_per_second, cfg, x, y),
        }
        user = find_preset(model) is find_preset("keras_cnn")  # the net user_net spells out
        if user:
            bare = spec(model, args.data, images, epochs=2, batch=128, augment=False)
            dm_bare = CifarDataModule(bare.data, batch_size=128, seed=bare.seed)
            dm_bare.setup("fit")
            assert sum(p.numel() for p in user_net().parameters()) == 60_458  # = keras_cnn
            sides["A2"] = partial(lightning_images_per_second, bare, dm_bare)
            sides["C"] = partial(user_images_per_second, bare, x, y)
        for run in sides.values():  # warm-up: first-call costs of every path
            run()
        got: dict[str, list[float]] = {name: [] for name in sides}
        names = list(sides)
        for r in range(args.repeats):
            for name in names[r % len(names) :] + names[: r % len(names)]:  # rotated order
                got[name].append(sides[name]())
        m = {name: median(v) for name, v in got.items()}
        vs_user = ["-", "-", "-"]
        if user:
            vs_user = [f"{m['A2']:,.0f}", f"{m['C']:,.0f}", f"**{m['A2'] / m['C']:.3f}x**"]
        rows.append(
            [
                model,
                f"{len(x):,} x 2 epochs",
                f"{m['A']:,.0f}",
                f"{m['B']:,.0f}",
                f"**{m['A'] / m['B']:.3f}x**",
                *vs_user,
            ]
        )
        print(rows[-1], flush=True)
    header = [
        "network",
        "train images",
        "A: ablate, augment img/s",
        "B: equal-work loop img/s",
        "A/B",
        "A': ablate, no augment img/s",
        "C: user's loop img/s",
        "A'/C",
    ]
    source = load_cifar10(DataConfig(source=args.data)).source
    report(
        "Training throughput: Lightning path vs a plain loop",
        markdown_table(header, rows),
        notes=f"Data: {source}. batch 128, Adam, channels_last, precision "
        f"{resolve_precision(TrainConfig())}; A and B augment (crop + flip on uint8), A' and C "
        f"do not; C is `user_net` (nn.Conv2d(padding=1)) on float tensors made once. Median "
        f"of {args.repeats} repeats, each in a rotated order.",
        append=not args.no_append,
    )


if __name__ == "__main__":
    main()
