"""PNG pictures of maps: pixel canvases drawn with numpy and Pillow (matplotlib gives
only its colormaps and its DejaVu Sans font; no matplotlib figure is drawn).

Every function takes numpy arrays that are ready to draw: images uint8 (N, H, W, 3)
and maps already in [0, 1] (from `explain.postprocess.postprocess`), writes one PNG
and returns its path.

Pictures are composed as one pixel canvas (images upscaled by whole factors with
nearest neighbour, overlays from `explain.heatmap`, the colouring the report's gallery
shares) plus text drawn by Pillow.
Drawing the text with Pillow instead of a matplotlib Figure made a panel and an overlay 6x
cheaper to save: `ablate explain` on 100 images writes 300 of them
(benchmarks/explain_speed.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import torch
from matplotlib import font_manager
from PIL import Image, ImageDraw, ImageFont

from explain.heatmap import blend, colorize
from explain.methods import title as method_title

DPI = 100  # canvas pixels are figure pixels: 1 inch = 100 px
FEATURE_CMAP = "viridis"  # feature maps; attribution maps use explain.heatmap.CMAP
CELL = 128  # px per image cell (a 32x32 image at 4x; larger images are shrunk to fit)
GAP = 8  # px between cells
LINE = 14  # px per line of 8 pt text at DPI 100


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """(N, C, H, W) floats in [0, 1] -> (N, H, W, 3) uint8 (grey images repeated to RGB)."""
    arr = images.detach().float().clamp(0, 1).mul(255).round().to(torch.uint8).cpu().numpy()
    arr = arr.transpose(0, 2, 3, 1)
    return np.repeat(arr, 3, axis=-1) if arr.shape[-1] == 1 else arr


def _upscale(img: np.ndarray, size: int) -> np.ndarray:
    """(h, w[, 3]) fitted into a size x size cell, aspect kept: a small image is upscaled by
    a whole factor with nearest neighbour (every pixel stays a block); one larger than the
    cell is shrunk (Pillow's box filter) so that its longer side is `size`."""
    h, w = img.shape[:2]
    if max(h, w) > size:
        fit = (max(1, round(w * size / max(h, w))), max(1, round(h * size / max(h, w))))
        return np.asarray(Image.fromarray(img).resize(fit, Image.Resampling.BOX))
    f = max(1, size // max(h, w))
    return np.repeat(np.repeat(img, f, axis=0), f, axis=1)


@dataclass
class _Canvas:
    """A white pixel canvas, pasted cells and text; `save` draws the text with Pillow."""

    width: int
    height: int
    pixels: np.ndarray = field(init=False)
    texts: list[tuple[float, float, str, dict[str, Any]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.pixels = np.full((self.height, self.width, 3), 255, dtype=np.uint8)

    def paste(self, img: np.ndarray, x: int, y: int, size: int = CELL) -> None:
        big = _upscale(img, size)
        self.pixels[y : y + big.shape[0], x : x + big.shape[1]] = big

    def text(self, x: float, y: float, s: str, size: float = 8, **kw: Any) -> None:
        """Text with its top at pixel row y; centred on x unless ha= says otherwise."""
        self.texts.append((x, y, s, {"fontsize": size, "ha": "center", "va": "top", **kw}))

    def save(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        img = Image.fromarray(self.pixels)
        draw = ImageDraw.Draw(img)
        for x, y, s, kw in self.texts:
            anchor = {"center": "m", "left": "l", "right": "r"}[kw["ha"]] + "a"
            draw.text((x, y), s, fill=(0, 0, 0), font=_font(kw["fontsize"]), anchor=anchor)
        img.save(path, compress_level=1)  # 1.6x faster to write than the default 6, ~25% larger
        return path


@cache
def _font(points: float) -> ImageFont.FreeTypeFont:
    """matplotlib's own DejaVu Sans at `points` pt on a DPI canvas."""
    path = font_manager.findfont(font_manager.FontProperties(family="DejaVu Sans"))
    return ImageFont.truetype(path, round(points * DPI / 72))


def panel(
    path: Path,
    image: np.ndarray,
    overlays: Mapping[str, np.ndarray],
    top: Sequence[tuple[str, float]],
    title: str,
) -> Path:
    """One image: the original, each method's overlay, and bars of the top classes."""
    cols = len(overlays) + 1
    bars_w = 170
    top_y = GAP + LINE + GAP + LINE  # title line, gap, cell titles
    canvas = _Canvas(GAP + cols * (CELL + GAP) + bars_w + GAP, top_y + CELL + GAP)
    canvas.text(canvas.width / 2, GAP, title, size=9)
    cells = [("original", image)] + [
        (method_title(m), blend(image, d)) for m, d in overlays.items()
    ]
    for i, (name, cell) in enumerate(cells):
        x = GAP + i * (CELL + GAP)
        canvas.text(x + CELL / 2, top_y - LINE, name)
        canvas.paste(cell, x, top_y)
    x0 = GAP + cols * (CELL + GAP)
    canvas.text(x0 + bars_w / 2, top_y - LINE, "top classes")
    for j, (name, p) in enumerate(top):
        y = top_y + 4 + j * 2 * LINE
        canvas.text(x0, y, f"{name}  {p:.2f}", ha="left")
        canvas.pixels[y + LINE : y + LINE + 8, x0 : x0 + round(p * (bars_w - 10))] = (31, 119, 180)
    return canvas.save(path)


def method_grid(
    path: Path,
    images: np.ndarray,
    maps01: np.ndarray,
    method: str,
    captions: Sequence[str],
    rows_per_column: int = 10,
) -> Path:
    """Rows are images: caption, image, overlay; long sets wrap into side-by-side groups."""
    n = len(images)
    rows = min(n, rows_per_column)
    groups = -(-n // rows)
    size, text_w = CELL * 3 // 4, 130  # 96 px cells keep a 20-image grid under ~200 KB
    group_w = text_w + 2 * (size + GAP) + GAP
    head = GAP + LINE + GAP
    canvas = _Canvas(groups * group_w, head + rows * (size + GAP))
    canvas.text(canvas.width / 2, GAP, f"{method}: target = predicted class", size=9)
    for i in range(n):
        r, g = i % rows, i // rows
        x, y = g * group_w, head + r * (size + GAP)
        for k, line in enumerate(captions[i].split("\n")):
            canvas.text(x + text_w - 4, y + size / 2 - LINE + k * LINE, line, size=7, ha="right")
        canvas.paste(images[i], x + text_w, y, size)
        canvas.paste(blend(images[i], maps01[i]), x + text_w + size + GAP, y, size)
    return canvas.save(path)


def mistakes_gallery(
    path: Path,
    images: np.ndarray,
    maps01: np.ndarray | None,
    captions: Sequence[str],
    method: str,
    per_row: int = 4,
) -> Path:
    """Misclassified images: a caption over the image and the map's overlay."""
    n = len(images)
    rows, cols = -(-n // per_row), min(n, per_row)
    pair = 1 if maps01 is None else 2
    size = CELL * 3 // 4
    item_w = pair * (size + GAP) + 2 * GAP
    item_h = 2 * LINE + size + GAP
    head = GAP + LINE + GAP
    canvas = _Canvas(max(cols * item_w, 420), head + rows * item_h)
    shown = f", overlay: {method} for the predicted class" if maps01 is not None else ""
    canvas.text(canvas.width / 2, GAP, f"most confident mistakes{shown}", size=9)
    for i in range(n):
        r, c = divmod(i, per_row)
        x, y = c * item_w + GAP, head + r * item_h
        for k, line in enumerate(captions[i].split("\n")):
            canvas.text(x + pair * (size + GAP) / 2, y + k * LINE, line, size=7)
        canvas.paste(images[i], x, y + 2 * LINE, size)
        if maps01 is not None:
            canvas.paste(blend(images[i], maps01[i]), x + size + GAP, y + 2 * LINE, size)
    return canvas.save(path)


def feature_map_grid(
    path: Path, images: np.ndarray, fmaps01: np.ndarray, layer: str, channels: Sequence[int]
) -> Path:
    """Rows are images: the input, then the chosen channels (fmaps01 (n, k, h, w) in [0, 1])."""
    n, k = len(images), len(channels)
    size = 64
    head = GAP + LINE + GAP + LINE
    canvas = _Canvas(GAP + (k + 1) * (size + GAP), head + n * (size + GAP))
    h, w = fmaps01.shape[-2:]
    title = f"{layer}: output {h}x{w}, the {k} channels with the largest mean activation"
    canvas.text(canvas.width / 2, GAP, title, size=9)
    canvas.text(GAP + size / 2, head - LINE, "input", size=7)
    for j, ch in enumerate(channels):
        canvas.text(GAP + (j + 1) * (size + GAP) + size / 2, head - LINE, f"ch {ch}", size=7)
    for r in range(n):
        y = head + r * (size + GAP)
        canvas.paste(images[r], GAP, y, size)
        for j in range(k):
            cell = colorize(fmaps01[r, j], FEATURE_CMAP)
            canvas.paste(cell, GAP + (j + 1) * (size + GAP), y, size)
    return canvas.save(path)


def overlay_image(path: Path, image: np.ndarray, map01: np.ndarray, title: str) -> Path:
    """A single overlay with a title, for `ablate explain`."""
    size = 2 * CELL
    canvas = _Canvas(size + 2 * GAP, GAP + LINE + GAP + size + GAP)
    canvas.text(canvas.width / 2, GAP, title, size=9)
    canvas.paste(blend(image, map01), GAP, 2 * GAP + LINE, size)
    return canvas.save(path)
