"""Whole-batch pixel transforms, on whatever device the batch lives on.

The LightningModule calls `to_float` on every batch and, when `DataConfig.augment` is
set and it is training, `augment_batch`, both in `on_after_batch_transfer`. Inputs stay
in [0, 1]: normalisation by mean/std belongs to the model.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

PAD = 4  # pixels of zero padding before the random 32x32 crop (the usual CIFAR-10 recipe)


def to_float(x: Tensor, dtype: torch.dtype = torch.float32) -> Tensor:
    """uint8 pixels in [0, 255] -> `dtype` in [0, 1]. Floating input is returned as is."""
    if x.is_floating_point():
        return x
    if x.dtype != torch.uint8:
        raise TypeError(f"expected uint8 or floating pixels, got {x.dtype}")
    return x.to(dtype).div_(255)


def crop_flip(x: Tensor, dy: Tensor, dx: Tensor, flip: Tensor, pad: int = PAD) -> Tensor:
    """Crop each image of `x` (N, C, H, W), zero-padded by `pad`, at its own offset; mirror some.

    dy, dx: int64 (N,), the crop's top-left corner in the padded image, in [0, 2 * pad]
    (`pad` means no shift). flip: bool (N,), mirror left-right after cropping. The result
    has x's shape, dtype and device.
    """
    n, c, h, w = x.shape
    wide = w + 2 * pad
    padded = F.pad(x, (pad, pad, pad, pad)).reshape(n, c, -1)  # zeros; uint8 or float
    cols = torch.arange(w, device=x.device)
    cols = torch.where(flip[:, None], w - 1 - cols, cols) + dx[:, None]  # (N, W)
    rows = dy[:, None] + torch.arange(h, device=x.device)  # (N, H)
    flat = (rows[:, :, None] * wide + cols[:, None, :]).reshape(n, 1, h * w)
    # One gather over the flattened padded image, the same indices for every channel:
    # about 10x faster on CPU than 4-D advanced indexing (0.5 ms per 128 uint8 images).
    return padded.gather(2, flat.expand(n, c, h * w)).reshape(n, c, h, w)


def random_crop_flip_params(
    n: int,
    device: torch.device | str | None = None,
    generator: torch.Generator | None = None,
    pad: int = PAD,
) -> tuple[Tensor, Tensor, Tensor]:
    """Random (dy, dx, flip) for `crop_flip`: offsets uniform in [0, 2 * pad], flip with p=0.5.

    Drawn on the generator's device (or `device` without one) and moved to `device`; pass a
    generator on the batch's device to avoid a host-device copy per step.
    """
    where = generator.device if generator is not None else device
    dy = torch.randint(0, 2 * pad + 1, (n,), device=where, generator=generator)
    dx = torch.randint(0, 2 * pad + 1, (n,), device=where, generator=generator)
    flip = torch.rand(n, device=where, generator=generator) < 0.5
    return dy.to(device), dx.to(device), flip.to(device)


def augment_batch(x: Tensor, generator: torch.Generator | None = None, pad: int = PAD) -> Tensor:
    """Random crop with `pad` pixels of zero padding and random horizontal flip, per image.

    x: (N, C, H, W), uint8 or float, on any device; returns the same shape, dtype, device.
    `generator` makes it reproducible; None uses torch's global RNG on x's device.
    """
    dy, dx, flip = random_crop_flip_params(x.shape[0], x.device, generator, pad)
    return crop_flip(x, dy, dx, flip, pad)
