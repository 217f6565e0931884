"""He et al. 2016's CIFAR ResNets (section 4.2) and their plain twins, from a `ModelConfig`.

normalize -> features (stem, stage 1, stage 2, stage 3) -> head (GAP or flatten, dropout) -> fc.

- the stem is one conv (`kernel_size`, `stride`: stride 1 is the paper's) -> BN -> ReLU;
- stage j (1..3) is n = (depth - 2) / 6 basic blocks of `width * 2**(j-1)` filters; the
  first block of stages 2 and 3 has stride 2;
- a basic block is conv-BN-ReLU-conv-BN, plus the shortcut, then ReLU. The shortcut is
  the identity, or where the shape changes the paper's option A: subsample by the stride
  and pad the new channels with zeros (no parameters, so `residual: false` gives a net
  with the same parameter count that differs only in its forward pass).

Parameter counts by arithmetic are in `lightning_modules.shapes.param_count`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from lightning_modules.config import ModelConfig
from lightning_modules.layers import Normalization, SameConv2d, normalize_layer
from lightning_modules.shapes import resnet_blocks, resnet_sizes, same_padding

__all__ = ["BasicBlock", "ResNet", "Shortcut"]


def _conv_bn(in_ch: int, out_ch: int, cfg: ModelConfig, stride: int) -> list[nn.Module]:
    layers: list[nn.Module] = [
        SameConv2d(in_ch, out_ch, cfg.kernel_size, stride, bias=not cfg.batch_norm)
    ]
    if cfg.batch_norm:
        layers.append(nn.BatchNorm2d(out_ch))
    return layers


class Shortcut(nn.Module):
    """Option A: the input at the centre pixel of each strided conv window, with zeros for
    the channels the block adds. Parameter-free."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int, stride: int) -> None:
        super().__init__()
        self.extra, self.kernel, self.stride = out_ch - in_ch, kernel, stride

    def _offset(self, size: int) -> int:
        # the first window of a "same" conv starts pad_before pixels before the edge: its
        # centre is where the identity should sample (pixel 1 for k=3, stride 2, even size)
        _, before, _ = same_padding(size, self.kernel, self.stride)
        return max(0, (self.kernel - 1) // 2 - before)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride > 1:
            h, w = x.shape[-2], x.shape[-1]
            x = x[..., self._offset(h) :: self.stride, self._offset(w) :: self.stride]
        if self.extra:
            x = F.pad(x, (0, 0, 0, 0, 0, self.extra))  # zeros after the last channel
        return x


class BasicBlock(nn.Module):
    """conv-BN-ReLU-conv-BN, + shortcut (unless `residual: false`), ReLU. Out-of-place
    ReLUs and addition: Captum needs them."""

    def __init__(self, in_ch: int, out_ch: int, stride: int, cfg: ModelConfig) -> None:
        super().__init__()
        self.body = nn.Sequential(
            *_conv_bn(in_ch, out_ch, cfg, stride),
            nn.ReLU(inplace=False),
            *_conv_bn(out_ch, out_ch, cfg, 1),
        )
        self.shortcut = Shortcut(in_ch, out_ch, cfg.kernel_size, stride) if cfg.residual else None
        self.relu = nn.ReLU(inplace=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.body(x)
        if self.shortcut is not None:
            out = out + self.shortcut(x)
        return self.relu(out)


class ResNet(nn.Module):
    """`cam_layer` (stage 3's output) feeds the head: Grad-CAM and CAM use it."""

    def __init__(self, cfg: ModelConfig, norm: Normalization | None = None) -> None:
        super().__init__()
        self.normalize = normalize_layer(cfg, norm)
        n = resnet_blocks(cfg)
        stem = nn.Sequential(
            *_conv_bn(cfg.in_channels, cfg.width, cfg, cfg.stride), nn.ReLU(inplace=False)
        )
        stages: list[nn.Module] = [stem]
        ch = cfg.width
        for j in range(3):
            out_ch = cfg.width * 2**j
            blocks = [
                BasicBlock(ch if i == 0 else out_ch, out_ch, 2 if j and i == 0 else 1, cfg)
                for i in range(n)
            ]
            stages.append(nn.Sequential(*blocks))
            ch = out_ch
        self.features = nn.Sequential(*stages)
        head: list[nn.Module] = [nn.AdaptiveAvgPool2d(1)] if cfg.head == "gap" else []
        head.append(nn.Flatten())
        if cfg.dropout:
            head.append(nn.Dropout(cfg.dropout))
        self.head = nn.Sequential(*head)
        h, w = resnet_sizes(cfg)[-1]  # stage 3's output
        self.fc = nn.Linear(ch if cfg.head == "gap" else ch * h * w, cfg.num_classes)
        for m in self.modules():  # "we initialize the weights as in [13]" (He et al. 2015)
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    @property
    def cam_layer(self) -> nn.Module:
        return self.features[-1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.head(self.features(self.normalize(x))))
