"""The report page's explanations section: the saliency gallery (which probe images fit the
page) and each method's faithfulness and sanity table."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

from markupsafe import Markup

from ablate.report.export import gallery_methods
from ablate.report.page.format import data_uri, digits_for, fmt
from ablate.report.page.view import GalleryCol, GalleryItem, PageContext
from ablate.stats.model import Gallery, GalleryCell, Interval, is_finite
from explain.methods import METHODS, label

# computed on the last feature map, at its resolution: the class-activation methods, the
# ones whose maps are ReLU-clamped (the registry has no flag of its own for this yet)
MAP_METHODS = tuple(m.name for m in METHODS if m.sign == "relu")
BIG_GALLERY = 12  # more columns than this: one probe image per class
THUMB = 64  # px: a gallery image is shown at the whole multiple of its size that reaches this
GALLERY_BUDGET = 8_000_000  # bytes of image data URIs in the gallery, at most


def _gallery_rows(g: Gallery) -> tuple[list[int], str]:
    """Which probe images to show: all, or one per class for big sweeps, within the budget."""
    rows = list(range(len(g.images)))
    note = ""
    if len(g.columns) > BIG_GALLERY:
        # the builder may have done this already; the page says so either way
        seen: set[str] = set()
        rows = [i for i in rows if not (g.labels[i] in seen or seen.add(g.labels[i]))]  # type: ignore[func-returns-value]
        note = (
            f"{len(g.columns)} configurations: one probe image per class "
            f"({len(rows)} images) to keep the page small."
        )
    per_row = sum(
        len(cell.png or b"") for col in g.columns for cells in col.cells.values() for cell in cells
    ) / max(1, len(g.images))
    fits = max(1, int(GALLERY_BUDGET / max(1.0, per_row * 4 / 3)))
    if len(rows) > fits:
        rows = rows[:fits]
        note = (
            f"Showing {len(rows)} of {len(g.images)} probe images to keep the page "
            "under its size budget."
        )
    return rows, note


def image_box(png: bytes) -> dict[str, Any]:
    """The probe images' native size and the size the page shows them at: the smallest
    whole multiple of the native size whose longer side reaches THUMB px (pixels stay
    square blocks; an image at least THUMB px is shown at its own size). Aspect kept."""
    import io

    from PIL import Image

    with Image.open(io.BytesIO(png)) as im:
        w, h = im.size
    scale = max(1, math.ceil(THUMB / max(w, h, 1)))
    return {
        "native": f"{w}x{h} px",
        "width": w * scale,
        "height": h * scale,
        "scale": scale,
    }


def _coarse(feature_map: str) -> bool:
    m = re.match(r"^\s*(\d+)\s*x\s*(\d+)", feature_map)
    return bool(m) and max(int(m.group(1)), int(m.group(2))) <= 2  # type: ignore[union-attr]


def gallery_section(ctx: PageContext) -> dict[str, Any] | None:
    g = ctx.r.gallery
    if g is None or not g.columns or not g.images:
        return None
    rows, note = _gallery_rows(g)
    # a method that applies to no configuration (CAM where every head is flatten) gets no
    # tab of n/a cells: the page says once why it is left out
    shown = gallery_methods(g)
    left_out = [
        f"{label(m)} is not shown: {g.columns[0].na[m]} (true of every configuration here)."
        for m in g.methods
        if m not in shown
    ]

    def item(cell: GalleryCell | None) -> GalleryItem:
        if cell is None:
            return GalleryItem(None, "", math.nan, False)
        uri = data_uri(cell.png) if cell.png else None
        return GalleryItem(uri, cell.predicted, cell.confidence, cell.mistake)

    columns = []
    for col in g.columns:
        cells = {}
        for m in shown:
            got = col.cells.get(m, [])
            cells[m] = [item(got[i] if i < len(got) else None) for i in rows]
        columns.append(
            GalleryCol(
                config=col.config,
                color=ctx.config_color(col.config),
                feature_map=col.feature_map,
                coarse=_coarse(col.feature_map),
                article="an" if re.match(r"^(8\d*|11|18)(?!\d)", col.feature_map) else "a",
                na=col.na,
                cells=cells,
            )
        )
    methods = [(m, label(m)) for m in shown]
    faith = {fig.method: Markup(fig.svg()) for fig in ctx.figures if fig.section == "gallery"}
    return {
        "methods": methods,
        "map_methods": MAP_METHODS,
        "rows": [
            (data_uri(g.images[i]), g.labels[i], g.indices[i] if i < len(g.indices) else "")
            for i in rows
        ],
        "note": note,
        "image": image_box(g.images[0]),
        "left_out": left_out,
        "columns": columns,
        "normalisation": g.normalisation,
        "faith": faith,
        "checks": {m: _checks(ctx, m) for m in shown},
    }


def _checks(ctx: PageContext, method: str) -> dict[str, Any]:
    """Faithfulness and sanity numbers of one method: configurations x responses."""
    responses = [
        resp
        for resp in ctx.r.responses
        if resp.key.startswith(f"xai.{method}.") and ctx.r.cells.get(resp.key)
    ]

    def cell(iv: Interval | None, d: int) -> str:
        if iv is None or not is_finite(iv.mean):
            return "–"
        if is_finite(iv.lo) and is_finite(iv.hi):
            return f"{fmt(iv.mean, d)} [{fmt(iv.lo, d)}, {fmt(iv.hi, d)}]"
        return fmt(iv.mean, d)

    digits = {
        resp.key: digits_for([iv.mean for iv in ctx.r.cells[resp.key].values()])
        for resp in responses
    }
    rows = [
        (
            c,
            ctx.config_color(c),
            [cell(ctx.r.cells[resp.key].get(c), digits[resp.key]) for resp in responses],
        )
        for c in ctx.configs
    ]
    names = [label(method), method, method.replace("_", " ")]
    headers = [_strip_prefix(resp.label, names) for resp in responses]
    return {"responses": list(zip(responses, headers, strict=True)), "rows": rows}


def _strip_prefix(label: str, prefixes: Sequence[str]) -> str:
    """'Grad-CAM deletion AUC − random' -> 'deletion AUC − random' (the table names the method)."""
    for prefix in prefixes:
        if label.lower().startswith(prefix.lower() + " "):
            return label[len(prefix) + 1 :]
    return label
