"""Heat maps as pixels: a map in [0, 1] coloured through a matplotlib colormap and laid
over its image, and small PNGs of the result. The one place maps get their colours: the
per-run pictures (`explain.pictures`) and the report's gallery both use it.

Pure array-in, array- or bytes-out functions (numpy and Pillow; matplotlib gives only
its colormaps, no pyplot). No torch, so the report can import it cheaply. Maps arrive
already in [0, 1] from `explain.postprocess.postprocess`; nothing here rescales them.
"""

from __future__ import annotations

import io
from functools import cache

import numpy as np
from PIL import Image

CMAP = "jet"  # attribution maps
ALPHA = 0.5  # overlay opacity: the image stays readable under the map
LEVELS = 256  # entries of a colormap's lookup table (matplotlib's default N)


@cache
def lookup_table(name: str = CMAP) -> np.ndarray:
    """(256, 3) uint8: the colormap's own lookup table, as matplotlib colours with it."""
    import matplotlib

    rgba = matplotlib.colormaps[name](np.linspace(0.0, 1.0, LEVELS))
    return np.asarray((rgba[:, :3] * 255).round(), dtype=np.uint8)


def colorize(heat: np.ndarray, cmap: str = CMAP) -> np.ndarray:
    """(H, W) map in [0, 1] -> (H, W, 3) uint8, the colours `matplotlib.colormaps[cmap]`
    gives (value v -> table entry floor(v * 256), 1.0 -> the last); NaN reads as 0."""
    if heat.ndim != 2:
        raise ValueError(f"expected an (H, W) map, got shape {heat.shape}")
    scaled = np.clip(np.nan_to_num(heat), 0.0, 1.0) * LEVELS  # in the map's own dtype
    idx = np.minimum(scaled.astype(np.intp), LEVELS - 1)
    return lookup_table(cmap)[idx]


def _check_rgb(rgb: np.ndarray) -> np.ndarray:
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) image, got shape {rgb.shape}")
    if rgb.dtype != np.uint8:
        raise ValueError(f"expected uint8 pixels, got {rgb.dtype}")
    return rgb


def fit(heat: np.ndarray, size: tuple[int, ...]) -> np.ndarray:
    """A coarse map (e.g. Grad-CAM's 8x8) blown up to the image by whole factors,
    nearest neighbour, so every map cell stays a visible block; other sizes are refused."""
    if heat.ndim != 2:
        raise ValueError(f"expected an (H, W) map, got shape {heat.shape}")
    (h, w), (H, W) = heat.shape, size[:2]
    if (h, w) == (H, W):
        return heat
    if H % h or W % w:
        raise ValueError(f"map {heat.shape} does not divide image {(H, W)} into whole blocks")
    return np.repeat(np.repeat(heat, H // h, axis=0), W // w, axis=1)


def blend(rgb: np.ndarray, heat: np.ndarray, alpha: float = ALPHA) -> np.ndarray:
    """The image (H, W, 3) uint8 with the coloured map laid over it at opacity `alpha`."""
    _check_rgb(rgb)
    heat = fit(heat, rgb.shape[:2])
    mixed = (1.0 - alpha) * rgb.astype(np.float32) + alpha * colorize(heat).astype(np.float32)
    return np.asarray(mixed.round(), dtype=np.uint8)


def png_bytes(rgb: np.ndarray) -> bytes:
    """(H, W, 3) uint8 -> PNG bytes, losslessly compressed as far as Pillow goes."""
    buf = io.BytesIO()
    Image.fromarray(_check_rgb(rgb), mode="RGB").save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def overlay_png(rgb: np.ndarray, heat: np.ndarray, alpha: float = ALPHA) -> bytes:
    """PNG of `blend(rgb, heat, alpha)`; about 1-3 KB for a 32x32 CIFAR image."""
    return png_bytes(blend(rgb, heat, alpha))
