"""CNNs built from a `ModelConfig`, looked up by `arch` in a small registry.

Networks take float images in [0, 1] (N, 3, H, W) and normalise inside, so that
explanation baselines (black), noise levels and user images are all in pixel
units. Each block is (Conv-BN-ReLU) x convs, then an optional 2x2 max-pool.
Shapes and parameter counts by arithmetic are in `lightning_modules.shapes`, the
named presets in `lightning_modules.presets` (neither needs torch).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from lightning_modules.cifar import CIFAR_MEAN, CIFAR_STD
from lightning_modules.config import ModelConfig, is_external
from lightning_modules.errors import InvalidPointError
from lightning_modules.shapes import (
    check_shapes,
    feature_hw,
    feature_sizes,
    invalid_reason,
    pools_after,
    same_padding,
)

# the shape helpers lived here before shapes.py; importing them from here still works,
# but only shapes.py is free of torch
__all__ = [
    "ARCHS",
    "CNN",
    "Normalization",
    "Normalize",
    "SameConv2d",
    "build_model",
    "check_shapes",
    "count_params",
    "feature_hw",
    "feature_sizes",
    "flops_per_image",
    "invalid_reason",
    "normalize_layer",
    "same_padding",
]


class SameConv2d(nn.Conv2d):
    """Conv2d with Keras "same" padding for any kernel and stride.

    PyTorch refuses padding='same' with stride > 1, and padding=k//2 turns
    32x32 into 33x33 for k=4, so asymmetric padding is applied explicitly. Where it is
    symmetric (odd kernel at stride 1, the common case) the conv pads by itself: the
    same zeros without a separate F.pad copy of the input (issue 14 section 4).
    """

    def __init__(self, in_ch: int, out_ch: int, kernel: int, stride: int, bias: bool) -> None:
        super().__init__(in_ch, out_ch, kernel, stride=stride, padding=0, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k, s = self.kernel_size[0], self.stride[0]
        _, top, bottom = same_padding(x.shape[-2], k, s)
        _, left, right = same_padding(x.shape[-1], k, s)
        if top == bottom and left == right:
            padding = (top, left)
            return F.conv2d(x, self.weight, self.bias, self.stride, padding, self.dilation)
        return super().forward(F.pad(x, (left, right, top, bottom)))


# per-channel (mean, std) in [0, 1] pixel units, as measured on a training split
Normalization = tuple[tuple[float, ...], tuple[float, ...]]


class Normalize(nn.Module):
    mean: torch.Tensor
    std: torch.Tensor

    def __init__(self, mean: tuple[float, ...], std: tuple[float, ...]) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std).view(1, -1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


def normalize_layer(cfg: ModelConfig, norm: Normalization | None) -> Normalize:
    """The first layer of every network: `norm` if given, else CIFAR-10's channel statistics.

    The mean and std are buffers, so a checkpoint carries them and a rebuilt net gets the
    statistics it was trained with once its state dict is loaded.
    """
    mean, std = norm if norm is not None else (CIFAR_MEAN, CIFAR_STD)
    if len(mean) < cfg.in_channels or len(std) < cfg.in_channels:
        raise ValueError(
            f"normalisation has {len(mean)} channels; the model takes {cfg.in_channels}"
        )
    return Normalize(tuple(mean[: cfg.in_channels]), tuple(std[: cfg.in_channels]))


class CNN(nn.Module):
    """normalize -> features (conv blocks) -> head (pool/flatten, [FC-ReLU], dropout, fc).

    `cam_layer` is the module whose output feeds the head: Grad-CAM and CAM use it.
    """

    def __init__(self, cfg: ModelConfig, norm: Normalization | None = None) -> None:
        super().__init__()
        check_shapes(cfg)
        self.normalize = normalize_layer(cfg, norm)
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
                if pools_after(cfg, i, convs):
                    layers.append(nn.MaxPool2d(2))
            blocks.append(nn.Sequential(*layers))
        self.features = nn.Sequential(*blocks)
        h, w = feature_hw(cfg)[-1]
        head: list[nn.Module] = []
        if cfg.head == "gap":
            head += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
            n_in = ch
        else:
            head += [nn.Flatten()]
            n_in = ch * h * w
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


def _resnet(cfg: ModelConfig, norm: Normalization | None) -> nn.Module:
    from lightning_modules.resnet import ResNet  # resnet.py builds on this module

    return ResNet(cfg, norm)


# name -> builder(cfg, norm)
ARCHS: dict[str, Callable[[ModelConfig, Normalization | None], nn.Module]] = {
    "cnn": CNN,
    "resnet": _resnet,
}


def build_model(cfg: ModelConfig, norm: Normalization | None = None) -> nn.Module:
    """Look the architecture up by name; fail loudly on an unknown one.

    norm: the data's per-channel (mean, std); None = CIFAR-10's. An arch "module:callable"
    is the user's own network (lightning_modules.external).
    """
    if is_external(cfg.arch):
        from lightning_modules.external import ExternalNet  # imports this module

        return ExternalNet(cfg, norm)
    try:
        builder = ARCHS[cfg.arch]
    except KeyError:
        raise InvalidPointError(
            f"unknown model.arch {cfg.arch!r}; known: {', '.join(sorted(ARCHS))}"
        ) from None
    return builder(cfg, norm)


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def flops_per_image(model: nn.Module, cfg: ModelConfig) -> int:
    """Forward FLOPs for one image (2 per multiply-add), counted by torch."""
    from torch.utils.flop_counter import FlopCounterMode

    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    x = torch.zeros(1, cfg.in_channels, *cfg.image_hw(), device=device)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(x)
    model.train(was_training)
    return int(counter.get_total_flops())
