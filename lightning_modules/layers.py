"""The layers every network of `lightning_modules` shares: the normalising first layer
and Keras-"same" convolutions. `models` (the registry and the plain CNN), `resnet` and
`external` (a user's network) all build on this module and on nothing of each other's.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from lightning_modules.cifar import CIFAR_MEAN, CIFAR_STD
from lightning_modules.config import ModelConfig
from lightning_modules.shapes import same_padding


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


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
