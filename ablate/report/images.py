"""Small PNGs for the report's gallery: probe images and heat-map overlays as data URIs.

Pure array-in, bytes-out functions (Pillow + numpy). Maps arrive already in [0, 1]
from `explain.postprocess.postprocess`; nothing here rescales them.
"""

from __future__ import annotations

import base64
import io
from functools import cache

import numpy as np
from PIL import Image

# Same colormap as the per-run pictures (explain.pictures.CMAP), so the page and the
# MLflow artifacts read alike.
CMAP = "jet"
ALPHA = 0.5  # overlay opacity: the image stays readable under the map


@cache
def _lut(name: str = CMAP) -> np.ndarray:
    """(256, 3) uint8 lookup table of a matplotlib colormap (no pyplot)."""
    import matplotlib

    rgba = matplotlib.colormaps[name](np.linspace(0.0, 1.0, 256))
    return np.asarray((rgba[:, :3] * 255).round(), dtype=np.uint8)


def _check_rgb(rgb: np.ndarray) -> np.ndarray:
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) image, got shape {rgb.shape}")
    if rgb.dtype != np.uint8:
        raise ValueError(f"expected uint8 pixels, got {rgb.dtype}")
    return rgb


def png_bytes(rgb: np.ndarray) -> bytes:
    """(H, W, 3) uint8 -> PNG bytes, losslessly compressed as far as Pillow goes."""
    buf = io.BytesIO()
    Image.fromarray(_check_rgb(rgb), mode="RGB").save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def colorize(heat: np.ndarray, cmap: str = CMAP) -> np.ndarray:
    """(H, W) map in [0, 1] -> (H, W, 3) uint8 through the colormap's 256-entry table."""
    if heat.ndim != 2:
        raise ValueError(f"expected an (H, W) map, got shape {heat.shape}")
    idx = np.nan_to_num(np.clip(heat, 0.0, 1.0) * 255.0).round().astype(np.uint8)
    return _lut(cmap)[idx]


def _fit(heat: np.ndarray, size: tuple[int, ...]) -> np.ndarray:
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


def overlay(rgb: np.ndarray, heat: np.ndarray, alpha: float = ALPHA) -> np.ndarray:
    """The image with the colourised map blended over it at opacity `alpha`, (H, W, 3) uint8."""
    _check_rgb(rgb)
    heat = _fit(heat, rgb.shape[:2])
    mixed = (1.0 - alpha) * rgb.astype(np.float32) + alpha * colorize(heat).astype(np.float32)
    return np.asarray(mixed.round(), dtype=np.uint8)


def overlay_png(rgb: np.ndarray, heat: np.ndarray, alpha: float = ALPHA) -> bytes:
    """PNG of `overlay(rgb, heat, alpha)`; about 1-3 KB for a 32x32 CIFAR image."""
    return png_bytes(overlay(rgb, heat, alpha))


def data_uri(png: bytes) -> str:
    """PNG bytes -> a `data:image/png;base64,...` URI for an <img src>."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")
