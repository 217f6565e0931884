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

Runs A B A B ... in one process; the table gives the median images/s of each and
the ratio A/B. Goal (issue 10): at least 0.95x.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from ablate.spaces import RunConfig
from benchmarks.common import DEFAULT_DATA, markdown_table, median, report
from lightning_modules.augment import augment_batch, to_float
from lightning_modules.config import DataConfig, ModelConfig, TrainConfig
from lightning_modules.data import load_cifar10
from lightning_modules.datamodule import CifarDataModule
from lightning_modules.models import build_model
from lightning_modules.presets import find_preset
from lightning_modules.train import fit_and_test, resolve_precision


def spec(model: str, data: str, images: int, epochs: int, batch: int) -> RunConfig:
    preset = find_preset(model)
    assert preset is not None, model
    return RunConfig(
        model=ModelConfig(preset=model, **preset.fields),
        data=DataConfig(source=data, augment=True, limit_train=images, limit_test=1000),
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
        lightning_images_per_second(cfg, dm)  # warm-up: first-call costs of both paths
        plain_images_per_second(cfg, x, y)
        a, b = [], []
        for _ in range(args.repeats):
            a.append(lightning_images_per_second(cfg, dm))
            b.append(plain_images_per_second(cfg, x, y))
        la, pb = median(a), median(b)
        rows.append(
            [model, f"{len(x):,} x 2 epochs", f"{la:,.0f}", f"{pb:,.0f}", f"{la / pb:.3f}x"]
        )
        print(rows[-1], flush=True)
    header = ["network", "train images", "ablate (Lightning) img/s", "plain loop img/s", "ratio"]
    source = load_cifar10(DataConfig(source=args.data)).source
    report(
        "Training throughput: Lightning path vs a plain loop",
        markdown_table(header, rows),
        notes=f"Data: {source}. batch 128, Adam, augment on, channels_last, "
        f"precision {resolve_precision(TrainConfig())}; median of {args.repeats} interleaved repeats.",
        append=not args.no_append,
    )


if __name__ == "__main__":
    main()
