"""Training figures written next to each run (explanation pictures live in explain/)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from matplotlib.figure import Figure


def confusion_png(
    confusion: torch.Tensor, classes: Sequence[str], path: Path, title: str = ""
) -> Path:
    """Row-normalised confusion matrix (rows = true class) with counts in the cells."""
    cm = confusion.double()
    rates = cm / cm.sum(1, keepdim=True).clamp(min=1)
    fig = Figure(figsize=(6.4, 5.6), dpi=100)
    ax = fig.add_subplot()
    im = ax.imshow(rates.numpy(), cmap="Blues", vmin=0, vmax=1)
    n = len(classes)
    ax.set_xticks(range(n), classes, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(n), classes, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
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


def confusion_csv(confusion: torch.Tensor, classes: Sequence[str], path: Path) -> Path:
    lines = ["true\\predicted," + ",".join(classes)]
    for name, row in zip(classes, confusion.tolist(), strict=True):
        lines.append(name + "," + ",".join(str(int(v)) for v in row))
    path.write_text("\n".join(lines) + "\n")
    return path
