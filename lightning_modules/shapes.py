"""Shapes and sizes of the CNN and the ResNet, by arithmetic (pure: no torch).

`--dry-run` and YAML validation use these, so they never import torch; a test
checks `param_count` against torch's count for every point of full.yaml.
"""

from __future__ import annotations

import math

from lightning_modules.config import ModelConfig
from lightning_modules.errors import InvalidPointError


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int, int]:
    """Keras/TensorFlow "same" padding: (out_size, pad_before, pad_after).

    out = ceil(size / stride). An even total pads one pixel more after than
    before, which is what Keras does for 4x4 kernels.
    """
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return out, total // 2, total - total // 2


def feature_hw(cfg: ModelConfig) -> list[tuple[int, int]]:
    """(height, width) after every conv and pool of the CNN, in order."""
    (h, w), sizes = cfg.image_hw(), []
    for convs in cfg.block_convs():
        for i in range(convs):
            s = cfg.stride if i == 0 else 1
            h, w = math.ceil(h / s), math.ceil(w / s)
            sizes.append((h, w))
            if pools_after(cfg, i, convs):
                h, w = h // 2, w // 2  # 2x2 max-pool, "valid"
                sizes.append((h, w))
    return sizes


def feature_sizes(cfg: ModelConfig) -> list[int]:
    """Spatial side after every conv and pool, in order (the height where the input is
    not square: `feature_hw` gives both)."""
    return [h for h, _ in feature_hw(cfg)]


def pools_after(cfg: ModelConfig, conv: int, convs: int) -> bool:
    """Whether a 2x2 max-pool follows conv number `conv` (0-based) of a block of `convs`:
    after the last (pool: max) or after the first (pool: max_early, airbench's order,
    which runs the block's other convs at a quarter of the pixels)."""
    if cfg.pool == "max":
        return conv == convs - 1
    return cfg.pool == "max_early" and conv == 0


def check_shapes(cfg: ModelConfig) -> None:
    """Raise InvalidPointError naming the layer where the feature map shrinks below 1x1."""
    if cfg.arch != "cnn":  # a ResNet's "same" convs never go below 1x1; others are built
        return
    h, w = cfg.image_hw()
    image = f"{h}px" if h == w else f"{h}x{w}px"
    for b, convs in enumerate(cfg.block_convs(), start=1):
        for i in range(convs):
            s = cfg.stride if i == 0 else 1
            h, w = math.ceil(h / s), math.ceil(w / s)
            if pools_after(cfg, i, convs):
                if min(h, w) < 2:
                    raise InvalidPointError(
                        f"the feature map is {h}x{w} before the max-pool of block {b} "
                        f"(stride {cfg.stride}, depth {cfg.depth}, image {image}): "
                        "a 2x2 pool would shrink it below 1x1"
                    )
                h, w = h // 2, w // 2


def invalid_reason(cfg: ModelConfig) -> str | None:
    try:
        check_shapes(cfg)
    except InvalidPointError as e:
        return str(e)
    return None


def resnet_blocks(cfg: ModelConfig) -> int:
    """Basic blocks per stage of a ResNet of `depth` = 6n+2 layers (the config checks it)."""
    return (cfg.depth - 2) // 6


def resnet_sizes(cfg: ModelConfig) -> list[tuple[int, int]]:
    """(height, width) after the stem and after each of the 3 stages ("same" convs)."""
    h, w = cfg.image_hw()
    stem = (math.ceil(h / cfg.stride), math.ceil(w / cfg.stride))
    stage2 = (math.ceil(stem[0] / 2), math.ceil(stem[1] / 2))  # stride 2
    return [stem, stem, stage2, (math.ceil(stage2[0] / 2), math.ceil(stage2[1] / 2))]


def resnet_param_count(cfg: ModelConfig) -> int:
    """Trainable parameters of `lightning_modules.resnet.ResNet(cfg)`. The option-A
    shortcuts have none, so `residual` does not change the count."""
    k2, n = cfg.kernel_size**2, resnet_blocks(cfg)

    def conv(c_in: int, c_out: int) -> int:  # weights, then BN's weight and bias or a bias
        return c_in * c_out * k2 + (2 * c_out if cfg.batch_norm else c_out)

    total, ch = conv(cfg.in_channels, cfg.width), cfg.width
    for j in range(3):
        width = cfg.width * 2**j
        for _ in range(n):
            total += conv(ch, width) + conv(width, width)
            ch = width
    h, w = resnet_sizes(cfg)[-1]
    n_in = ch if cfg.head == "gap" else ch * h * w
    return total + n_in * cfg.num_classes + cfg.num_classes


def param_count(cfg: ModelConfig) -> int | None:
    """Trainable parameters of the built-in network `cfg.arch` names (CNN or ResNet),
    counted by hand; None for another architecture (build it and count instead)."""
    if cfg.arch == "resnet":
        return resnet_param_count(cfg)
    if cfg.arch != "cnn":
        return None
    n, ch = 0, cfg.in_channels
    for width, convs in zip(cfg.block_widths(), cfg.block_convs(), strict=True):
        for _ in range(convs):
            # weights; then a BN's weight and bias, or the conv's own bias
            n += ch * width * cfg.kernel_size**2 + (2 * width if cfg.batch_norm else width)
            ch = width
    h, w = feature_hw(cfg)[-1]
    n_in = ch if cfg.head == "gap" else ch * h * w
    if cfg.hidden:
        n += n_in * cfg.hidden + cfg.hidden
        n_in = cfg.hidden
    return n + n_in * cfg.num_classes + cfg.num_classes
