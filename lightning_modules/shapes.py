"""Shapes and sizes of the CNN, by arithmetic (pure: no torch).

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


def feature_sizes(cfg: ModelConfig) -> list[int]:
    """Spatial side after every conv and pool, in order."""
    side, sizes = cfg.image_size, []
    for convs in cfg.block_convs():
        for i in range(convs):
            side = math.ceil(side / (cfg.stride if i == 0 else 1))
            sizes.append(side)
            if pools_after(cfg, i, convs):
                side = side // 2  # 2x2 max-pool, "valid"
                sizes.append(side)
    return sizes


def pools_after(cfg: ModelConfig, conv: int, convs: int) -> bool:
    """Whether a 2x2 max-pool follows conv number `conv` (0-based) of a block of `convs`:
    after the last (pool: max) or after the first (pool: max_early, airbench's order,
    which runs the block's other convs at a quarter of the pixels)."""
    if cfg.pool == "max":
        return conv == convs - 1
    return cfg.pool == "max_early" and conv == 0


def check_shapes(cfg: ModelConfig) -> None:
    """Raise InvalidPointError naming the layer where the feature map shrinks below 1x1."""
    side = cfg.image_size
    for b, convs in enumerate(cfg.block_convs(), start=1):
        for i in range(convs):
            side = math.ceil(side / (cfg.stride if i == 0 else 1))
            if pools_after(cfg, i, convs):
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


def param_count(cfg: ModelConfig) -> int | None:
    """Trainable parameters of `lightning_modules.models.CNN(cfg)`, counted by hand;
    None for another architecture (build it and count instead)."""
    if cfg.arch != "cnn":
        return None
    n, ch = 0, cfg.in_channels
    for width, convs in zip(cfg.block_widths(), cfg.block_convs(), strict=True):
        for _ in range(convs):
            # weights; then a BN's weight and bias, or the conv's own bias
            n += ch * width * cfg.kernel_size**2 + (2 * width if cfg.batch_norm else width)
            ch = width
    side = feature_sizes(cfg)[-1]
    n_in = ch if cfg.head == "gap" else ch * side * side
    if cfg.hidden:
        n += n_in * cfg.hidden + cfg.hidden
        n_in = cfg.hidden
    return n + n_in * cfg.num_classes + cfg.num_classes
