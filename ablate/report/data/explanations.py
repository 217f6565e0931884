"""The report's explanation views from runs' `explain/` artifacts: the gallery (the same
probe images explained by every configuration) and the mean deletion/insertion curves."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ablate.stats.model import FaithCurves, Gallery, GalleryCell, GalleryColumn
from explain.heatmap import overlay_png, png_bytes
from explain.methods import METHODS, NAMES
from explain.postprocess import postprocess

ONE_PER_CLASS_ABOVE = 12  # columns; above this the gallery keeps one probe image per class
NORMALISATION = (
    "Each map is scaled to [0, 1] per image by its own maximum, after {conv}; colours are "
    "therefore comparable within a map, not between images. Maps explain the predicted class."
)


def _normalisation() -> str:
    conv = "; ".join(
        f"{m.name}: {'ReLU' if m.sign == 'relu' else 'absolute value'}" for m in METHODS
    )
    return NORMALISATION.format(conv=conv)


def load_maps(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def gallery(
    columns: Sequence[tuple[str, str, str]],
    maps: Mapping[str, dict[str, np.ndarray]],
    classes: Sequence[str],
    skipped: Mapping[str, Mapping[str, str]],
) -> Gallery | None:
    """columns: (config label, run id, last feature-map size) in factor order; maps: run id
    -> its maps.npz arrays; skipped: run id -> method -> why it does not apply."""
    usable = [(c, rid, fm) for c, rid, fm in columns if rid in maps]
    if not usable:
        return None
    first = maps[usable[0][1]]
    probe = ~first["mistake"].astype(bool)
    indices = first["indices"][probe]
    labels = first["labels"][probe]
    rows = np.arange(len(indices))
    if len(usable) > ONE_PER_CLASS_ABOVE:
        _, keep = np.unique(labels, return_index=True)
        rows = np.sort(keep)
    # a method gets its tab when any run has its maps, or says why it does not apply
    # (CAM on flatten heads): such a column then reads "n/a" with the reason
    methods = tuple(
        m for m in NAMES if any(m in maps[rid] or m in skipped.get(rid, {}) for _, rid, _ in usable)
    )
    images = first["images"][probe][rows]
    out_cols = []
    for config, rid, feature_map in usable:
        z = maps[rid]
        order = {int(i): j for j, i in enumerate(z["indices"]) if not z["mistake"][j]}
        picked = [order.get(int(indices[r])) for r in rows]
        cells: dict[str, list[GalleryCell]] = {}
        na: dict[str, str] = {}
        for m in methods:
            if m not in z:
                na[m] = skipped.get(rid, {}).get(m, "not computed for this run")
                continue
            display = postprocess(torch.from_numpy(z[m]), m).numpy()
            column = []
            for row, j in zip(rows, picked, strict=True):
                if j is None:
                    column.append(GalleryCell(None, "", 0.0, False))
                    continue
                target = int(z["targets"][j])
                column.append(
                    GalleryCell(
                        png=overlay_png(first["images"][probe][row], display[j]),
                        predicted=classes[target] if target < len(classes) else str(target),
                        confidence=float(z["probs"][j, target]),
                        mistake=target != int(z["labels"][j]),
                    )
                )
            cells[m] = column
        out_cols.append(GalleryColumn(config, rid, feature_map, cells, na))
    return Gallery(
        methods=methods,
        images=[png_bytes(img) for img in images],
        labels=[classes[int(y)] if int(y) < len(classes) else str(y) for y in labels[rows]],
        indices=[int(i) for i in indices[rows]],
        columns=out_cols,
        normalisation=_normalisation(),
    )


def faith_curves(
    configs: Mapping[str, Sequence[Mapping[str, Any]]],
) -> list[FaithCurves]:
    """configs: label -> the `curves` blocks of its runs' metrics.json; the mean per config."""
    out = []
    for config, blocks in configs.items():
        blocks = [b for b in blocks if b.get("random")]
        if not blocks:
            continue
        methods = [m for m in NAMES if all(m in b for b in blocks)]

        def mean(method: str, mode: str, bs: Sequence[Mapping[str, Any]] = blocks) -> list[float]:
            return np.mean([b[method][mode] for b in bs], axis=0).round(5).tolist()

        n = len(blocks[0]["random"]["deletion"])
        fractions = np.linspace(0.0, 1.0, n).round(5).tolist()
        for m in methods:
            out.append(
                FaithCurves(
                    config,
                    m,
                    fractions,
                    mean(m, "deletion"),
                    mean(m, "insertion"),
                    mean("random", "deletion"),
                    mean("random", "insertion"),
                )
            )
    return out
