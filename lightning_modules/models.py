"""CNNs built from a `ModelConfig`, named presets, and the shape check.

Networks take float images in [0, 1] (N, 3, H, W) and normalise inside, so that
explanation baselines (black), noise levels and user images are all in pixel
units. Each block is (Conv-BN-ReLU) x convs, then an optional 2x2 max-pool.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ablate.config import ModelConfig
from ablate.errors import InvalidPointError

# CIFAR-10 train statistics in [0,1] units (torchvision's published values).
CIFAR_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR_STD = (0.2470, 0.2435, 0.2616)


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int, int]:
    """Keras/TensorFlow "same" padding: (out_size, pad_before, pad_after).

    out = ceil(size / stride). An even total pads one pixel more after than
    before, which is what Keras does for 4x4 kernels.
    """
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return out, total // 2, total - total // 2


class SameConv2d(nn.Conv2d):
    """Conv2d with Keras "same" padding for any kernel and stride.

    PyTorch refuses padding='same' with stride > 1, and padding=k//2 turns
    32x32 into 33x33 for k=4, so asymmetric padding is applied explicitly.
    """

    def __init__(self, in_ch: int, out_ch: int, kernel: int, stride: int, bias: bool) -> None:
        super().__init__(in_ch, out_ch, kernel, stride=stride, padding=0, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k, s = self.kernel_size[0], self.stride[0]
        _, top, bottom = same_padding(x.shape[-2], k, s)
        _, left, right = same_padding(x.shape[-1], k, s)
        if top or bottom or left or right:
            x = F.pad(x, (left, right, top, bottom))
        return super().forward(x)


class Normalize(nn.Module):
    mean: torch.Tensor
    std: torch.Tensor

    def __init__(self, mean: tuple[float, ...], std: tuple[float, ...]) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std).view(1, -1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


class CNN(nn.Module):
    """normalize -> features (conv blocks) -> head (pool/flatten, [FC-ReLU], dropout, fc).

    `cam_layer` is the module whose output feeds the head: Grad-CAM and CAM use it.
    """

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        check_shapes(cfg)
        self.normalize = Normalize(CIFAR_MEAN[: cfg.in_channels], CIFAR_STD[: cfg.in_channels])
        blocks: list[nn.Module] = []
        ch = cfg.in_channels
        for width, convs in zip(cfg.block_widths(), cfg.block_convs(), strict=True):
            layers: list[nn.Module] = []
            for i in range(convs):
                stride = cfg.stride if i == 0 else 1
                layers.append(
                    SameConv2d(ch, width, cfg.kernel_size, stride, bias=not cfg.batch_norm)
                )
                if cfg.batch_norm:
                    layers.append(nn.BatchNorm2d(width))
                layers.append(nn.ReLU(inplace=False))  # Captum needs out-of-place ReLU
                ch = width
            if cfg.pool == "max":
                layers.append(nn.MaxPool2d(2))
            blocks.append(nn.Sequential(*layers))
        self.features = nn.Sequential(*blocks)
        side = feature_sizes(cfg)[-1]
        head: list[nn.Module] = []
        if cfg.head == "gap":
            head += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
            n_in = ch
        else:
            head += [nn.Flatten()]
            n_in = ch * side * side
        if cfg.hidden:
            head += [nn.Linear(n_in, cfg.hidden), nn.ReLU(inplace=False)]
            n_in = cfg.hidden
        if cfg.dropout:
            head.append(nn.Dropout(cfg.dropout))
        self.head = nn.Sequential(*head)
        self.fc = nn.Linear(n_in, cfg.num_classes)

    @property
    def cam_layer(self) -> nn.Module:
        return self.features[-1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.head(self.features(self.normalize(x))))


def feature_sizes(cfg: ModelConfig) -> list[int]:
    """Spatial side after every conv and pool, in order (pure; no torch)."""
    side, sizes = cfg.image_size, []
    for convs in cfg.block_convs():
        for i in range(convs):
            side = math.ceil(side / (cfg.stride if i == 0 else 1))
            sizes.append(side)
        if cfg.pool == "max":
            side = side // 2  # 2x2 max-pool, "valid"
            sizes.append(side)
    return sizes


def check_shapes(cfg: ModelConfig) -> None:
    """Raise InvalidPointError naming the layer where the feature map shrinks below 1x1."""
    side = cfg.image_size
    for b, convs in enumerate(cfg.block_convs(), start=1):
        for i in range(convs):
            side = math.ceil(side / (cfg.stride if i == 0 else 1))
        if cfg.pool == "max":
            if side < 2:
                raise InvalidPointError(
                    f"the feature map is {side}x{side} before the max-pool of block {b} "
                    f"(stride {cfg.stride}, depth {cfg.depth}, image {cfg.image_size}px): "
                    "a 2x2 pool would shrink it below 1x1"
                )
            side //= 2


def invalid_reason(cfg: ModelConfig) -> str | None:
    try:
        check_shapes(cfg)
    except InvalidPointError as e:
        return str(e)
    return None


# name -> builder. One entry today; a ResNet would be a second line.
ARCHS: dict[str, Callable[[ModelConfig], nn.Module]] = {"cnn": CNN}

# Named networks of the three seed scripts (../shared/seeds), as ModelConfig fields.
PRESETS: dict[str, dict[str, Any]] = {
    "seed000": dict(
        depth=2, width=32, convs_per_block=1, kernel_size=3, head="flatten", batch_norm=True
    ),
    "seed001": dict(
        depth=3, width=32, convs_per_block=2, kernel_size=3, head="gap", batch_norm=True
    ),
    "seed003": dict(
        depth=3,
        width=64,
        convs_per_block=(2, 2, 3),
        kernel_size=3,
        head="gap",
        hidden=512,
        dropout=0.5,
        batch_norm=True,
    ),
}
PRESET_NOTES = {
    "seed000": "Keras CNN: Conv32-BN-Pool, Conv64-BN-Pool, flatten, Dense 10",
    "seed001": "small interpretable CNN: 3 blocks of 2x(3x3 conv-BN-ReLU), GAP head (CAM)",
    "seed003": "Flax VGG-like: 2x64, 2x128, 3x256, GAP, FC512, dropout 0.5",
}


def build_model(cfg: ModelConfig) -> nn.Module:
    """Look the architecture up by name; fail loudly on an unknown one."""
    try:
        builder = ARCHS[cfg.arch]
    except KeyError:
        raise InvalidPointError(
            f"unknown model.arch {cfg.arch!r}; known: {', '.join(sorted(ARCHS))}"
        ) from None
    return builder(cfg)


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def flops_per_image(model: nn.Module, cfg: ModelConfig) -> int:
    """Forward FLOPs for one image (2 per multiply-add), counted by torch."""
    from torch.utils.flop_counter import FlopCounterMode

    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    x = torch.zeros(1, cfg.in_channels, cfg.image_size, cfg.image_size, device=device)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(x)
    model.train(was_training)
    return int(counter.get_total_flops())
