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
from torch import nn

from lightning_modules.config import ModelConfig, is_external
from lightning_modules.errors import InvalidPointError
from lightning_modules.layers import (
    Normalization,
    Normalize,
    SameConv2d,
    count_params,
    normalize_layer,
)
from lightning_modules.shapes import (
    check_shapes,
    feature_hw,
    feature_sizes,
    invalid_reason,
    pools_after,
    same_padding,
)

# the shape helpers lived here before shapes.py, the layers before layers.py; importing
# them from here still works, but only shapes.py is free of torch
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
    from lightning_modules.resnet import ResNet  # loaded when a resnet is first built

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
        from lightning_modules.external import ExternalNet  # loaded for a user's network only

        return ExternalNet(cfg, norm)
    try:
        builder = ARCHS[cfg.arch]
    except KeyError:
        raise InvalidPointError(
            f"unknown model.arch {cfg.arch!r}; known: {', '.join(sorted(ARCHS))}"
        ) from None
    return builder(cfg, norm)


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
