"""Training figures written next to each run (explanation pictures live in explain/)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from matplotlib.figure import Figure

CELL_COUNTS_UP_TO = 20  # classes: more, and the counts would not fit in their cells
TICKS_UP_TO = 40  # classes: more, and only every k-th class is named on the axes


def confusion_png(
    confusion: torch.Tensor, classes: Sequence[str], path: Path, title: str = ""
) -> Path:
    """Row-normalised confusion matrix (rows = true class), with counts in the cells for
    up to CELL_COUNTS_UP_TO classes (the CSV beside it has every count)."""
    cm = confusion.double()
    rates = cm / cm.sum(1, keepdim=True).clamp(min=1)
    n = len(cm)
    classes = _names(classes, n)
    side = min(14.0, max(5.6, 0.28 * n))  # inches: CIFAR-10's 6.4x5.6 up to 10 classes
    fig = Figure(figsize=(side + 0.8, side) if n > 10 else (6.4, 5.6), dpi=100)
    ax = fig.add_subplot()
    im = ax.imshow(rates.numpy(), cmap="Blues", vmin=0, vmax=1)
    step = 1 if n <= TICKS_UP_TO else -(-n // TICKS_UP_TO)
    ticks = list(range(0, n, step))
    names = [classes[i] for i in ticks]
    size = 8 if n <= CELL_COUNTS_UP_TO else 6
    ax.set_xticks(
        ticks, names, rotation=45 if n <= CELL_COUNTS_UP_TO else 90, ha="right", fontsize=size
    )
    ax.set_yticks(ticks, names, fontsize=size)
    ax.set_xlabel("predicted" + (f" (every {step}th class named)" if step > 1 else ""))
    ax.set_ylabel("true")
    if n <= CELL_COUNTS_UP_TO:
        for i in range(n):
            for j in range(n):
                color = "white" if rates[i, j] > 0.5 else "black"
                ax.text(j, i, f"{int(cm[i, j])}", ha="center", va="center", fontsize=6, color=color)
    fig.colorbar(im, ax=ax, fraction=0.046, label="fraction of the true class")
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    return path


def _names(classes: Sequence[str], n: int) -> list[str]:
    """One name per row of an n x n matrix: a net with more outputs than the data has
    classes (a hand-built config) gets '(output k)' for the extra ones."""
    return [*classes, *(f"(output {k})" for k in range(len(classes), n))][:n]


def confusion_csv(confusion: torch.Tensor, classes: Sequence[str], path: Path) -> Path:
    classes = _names(classes, len(confusion))
    lines = ["true\\predicted," + ",".join(classes)]
    for name, row in zip(classes, confusion.tolist(), strict=True):
        lines.append(name + "," + ",".join(str(int(v)) for v in row))
    path.write_text("\n".join(lines) + "\n")
    return path
