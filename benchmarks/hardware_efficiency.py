"""Hardware efficiency: training FLOP/s of each preset as a fraction of the conv peak
measured on the same machine in the same run; and the CPU-dependent defaults.

    python -m benchmarks.hardware_efficiency [--repeats 3] [--no-append]

1. Peak: the best fp32 FLOP/s of a few large 3x3 convolutions (forward, channels_last,
   batch 64) that keep every core busy: what this CPU's conv kernels can do at best.
2. Each preset: a plain training step (forward, backward, SGD) on a batch of 128
   random images; achieved = 3 x forward FLOPs per image (forward + two backward
   products, the usual estimate) x images/s; as a share of the peak.
3. The defaults that depend on the CPU (issue 10): channels_last against NCHW, and
   bf16 autocast against fp32, for seed 000's network, interleaved. ablate trains
   channels_last and fp32 on CPUs (bf16-mixed only on a GPU that supports it).
"""

from __future__ import annotations

import argparse

import torch
import torch.nn.functional as F

from benchmarks.common import interleaved, markdown_table, median, report
from lightning_modules.config import ModelConfig
from lightning_modules.models import build_model, flops_per_image
from lightning_modules.presets import PRESETS

BATCH = 128


def conv_peak(repeats: int) -> tuple[float, str]:
    best, which = 0.0, ""
    for channels, side in ((256, 16), (128, 32), (512, 8)):
        conv = torch.nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        conv = conv.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
        x = torch.randn(64, channels, side, side).contiguous(memory_format=torch.channels_last)
        flops = 2 * 64 * channels * channels * 9 * side * side
        with torch.no_grad():
            t = median(interleaved([("conv", lambda c=conv, i=x: c(i))], repeats)["conv"])
        if flops / t > best:
            best, which = flops / t, f"{channels}->{channels} 3x3 at {side}x{side}"
    return best, which


def step_fn(net: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, bf16: bool = False):  # type: ignore[no-untyped-def]
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)

    def step() -> None:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = F.cross_entropy(net(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-append", action="store_true")
    args = parser.parse_args()
    torch.manual_seed(0)
    peak, which = conv_peak(args.repeats)
    x = torch.randn(BATCH, 3, 32, 32).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (BATCH,))
    rows = []
    for name, preset in PRESETS.items():
        cfg = ModelConfig(**preset.fields)
        net = build_model(cfg).to(memory_format=torch.channels_last)  # type: ignore[call-overload]
        fwd = flops_per_image(net, cfg)
        t = median(interleaved([(name, step_fn(net, x, y))], args.repeats)[name])
        achieved = 3 * fwd * BATCH / t
        rows.append(
            [
                name,
                f"{fwd / 1e6:.1f}",
                f"{BATCH / t:,.0f}",
                f"{achieved / 1e9:.0f}",
                f"{achieved / peak:.0%}",
            ]
        )
        print(rows[-1], flush=True)
    table = f"Conv peak: {peak / 1e9:.0f} GFLOP/s fp32 ({which}, forward, batch 64).\n\n"
    table += markdown_table(
        ["preset", "MFLOP/img fwd", "train img/s", "GFLOP/s", "share of conv peak"], rows
    )
    # the CPU-dependent defaults, on seed 000's network
    cfg = ModelConfig(**PRESETS["keras_cnn"].fields)
    nchw = build_model(cfg)
    cl = build_model(cfg).to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    x_nchw = x.contiguous()
    t = interleaved(
        [
            ("NCHW fp32", step_fn(nchw, x_nchw, y)),
            ("channels_last fp32", step_fn(cl, x, y)),
            ("channels_last bf16 autocast", step_fn(cl, x, y, bf16=True)),
        ],
        args.repeats,
    )
    base = median(t["NCHW fp32"])
    default_rows = [
        [k, f"{BATCH / median(v):,.0f}", f"{base / median(v):.2f}x"] for k, v in t.items()
    ]
    table += "\n\nseed 000's network (keras_cnn), batch 128, training step:\n\n"
    table += markdown_table(["layout, precision", "img/s", "vs NCHW fp32"], default_rows)
    report(
        "Hardware efficiency and CPU-dependent defaults",
        table,
        notes=f"Median of {args.repeats}. Achieved FLOP/s count 3x the forward FLOPs "
        "(torch's FlopCounterMode) per trained image.",
        append=not args.no_append,
    )


if __name__ == "__main__":
    main()
