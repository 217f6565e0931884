"""Why a diverging-but-finite run trains slower, and what flushing denormals does.

    python -m benchmarks.denormals [--repeats 5] [--no-append]

Seed 000's network without batch norm (the issue's diverging setting), one batch of
128, a forward-backward-SGD step with lr 0 (the weights do not move, so every repeat
sees the same numbers). The classifier's weights are scaled so that the logits are
1x, 30x and 100x apart: at about 90 nats between the top logit and the others,
softmax probabilities fall below 1.2e-38, into float32's subnormal range, and so do
the gradients that flow back from them. x86 handles subnormals in microcode, many
times slower. `torch.set_flush_denormal(True)` treats them as zero. Interleaved in
one process; the table gives the median step time and the share of subnormal values
in the gradients.
"""

from __future__ import annotations

import argparse

import torch
from torch import nn

from benchmarks.common import interleaved, markdown_table, median, report
from lightning_modules.config import ModelConfig
from lightning_modules.models import build_model
from lightning_modules.presets import find_preset

TINY = torch.finfo(torch.float32).tiny  # smallest normal float32, 1.2e-38


def network(scale: float) -> nn.Module:
    preset = find_preset("keras_cnn")
    assert preset is not None
    torch.manual_seed(0)
    net = build_model(ModelConfig(**{**preset.fields, "batch_norm": False}))
    with torch.no_grad():
        net.fc.weight.mul_(scale)
    return net.to(memory_format=torch.channels_last)


def step_fn(net: nn.Module, x: torch.Tensor, y: torch.Tensor, flush: bool):  # type: ignore[no-untyped-def]
    opt = torch.optim.SGD(net.parameters(), lr=0.0)
    loss_fn = nn.CrossEntropyLoss()

    def step() -> float:
        torch.set_flush_denormal(flush)
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(net(x), y)
        loss.backward()
        opt.step()
        torch.set_flush_denormal(False)
        return float(loss)

    return step


def subnormal_share(net: nn.Module) -> float:
    grads = torch.cat([p.grad.flatten() for p in net.parameters() if p.grad is not None])
    tiny = (grads != 0) & (grads.abs() < TINY)
    return float(tiny.float().mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-append", action="store_true")
    args = parser.parse_args()
    g = torch.Generator().manual_seed(0)
    x = torch.randn(128, 3, 32, 32, generator=g).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (128,), generator=g)
    cases, info = [], {}
    for scale in (1.0, 10.0, 20.0, 30.0, 50.0, 100.0):
        net = network(scale)
        for flush in (False, True):
            name = f"{scale:g}x {'flush' if flush else 'keep'}"
            fn = step_fn(net, x, y, flush)
            loss = fn()
            info[name] = (loss, subnormal_share(net) if not flush else 0.0)
            cases.append((name, fn))
    times = interleaved(cases, args.repeats)
    base = median(times["1x keep"])
    rows = []
    for name, _ in cases:
        loss, share = info[name]
        t = median(times[name])
        rows.append([name, f"{loss:.3g}", f"{share:.1%}", f"{t * 1000:.0f} ms", f"{base / t:.2f}x"])
    header = ["logit scale, denormals", "loss", "subnormal grads", "step", "speed vs 1x keep"]
    report("Denormals: a huge but finite loss, and flushing them", markdown_table(header, rows),
           append=not args.no_append)  # fmt: skip


if __name__ == "__main__":
    main()
