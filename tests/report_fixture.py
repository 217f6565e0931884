"""A small, realistic `Report` for tests of the report's plots and page, built in memory.

`make_report()` is a 3-level stride x 2-level head grid sweep (6 configurations) with
`n_seeds` seeds each: final metrics whose stride effect is large and whose head effect is
small, per-epoch curves, mean confusion matrices, deletion/insertion curves and a gallery.
Everything is deterministic (numpy seed 0). The keywords make the edge cases:

- `n_seeds=1`: one seed per cell, so no interval anywhere;
- `unfinished_level=3`: every run of stride 3 failed (no values, no curves, no confusion);
- `nan=True`: one test accuracy and one train time are NaN (a metric that was not logged);
- `faith=False`: no deletion/insertion curves;
- `full=True`: full.yaml's design instead, stride x kernel x head x depth (36 configurations).

Cells here are computed with a plain Student-t interval; `ablate.stats` is the
reference for how the real report computes them.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
from scipy import stats as sps

from ablate.stats.model import (
    Factor,
    FaithCurves,
    Gallery,
    GalleryCell,
    GalleryColumn,
    Interval,
    Provenance,
    Report,
    Response,
    RunRow,
    factor_name,
    level_label,
)

CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
STRIDE = Factor("model.stride", (1, 2, 3))
HEAD = Factor("model.head", ("gap", "flatten"))
KERNEL = Factor("model.kernel_size", (3, 4))
DEPTH = Factor("model.depth", (2, 3, 4))
RESPONSES = [
    Response("test_acc", "test accuracy", "points", scale=100.0),
    Response("train_seconds", "train time", "s", higher_is_better=False, group="cost"),
    Response("flops", "FLOPs per image", "MFLOP", 1e-6, higher_is_better=False, group="cost"),
    Response(
        "xai.gradcam.insertion_vs_random",
        "Grad-CAM insertion AUC minus random",
        "AUC",
        group="explanations",
    ),
]
EPOCHS = 8
# a 1x1 transparent PNG, enough for the gallery's <img>
PIXEL = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6300010000050001a5f645400000000049454e44ae426082"
)


def config_label(values: dict[str, Any], factors: list[Factor]) -> str:
    """'stride=1 head=GAP', as `ablate.stats.config_label` writes it."""
    return " ".join(f"{factor_name(f.key)}={level_label(f.key, values[f.key])}" for f in factors)


def interval(values: list[float]) -> Interval:
    """Mean, SD, n and 95% t-interval of the finite values."""
    xs = np.array([v for v in values if math.isfinite(v)], dtype=float)
    n = int(xs.size)
    if n == 0:
        return Interval(math.nan, math.nan, 0, None, None)
    mean = float(xs.mean())
    if n < 2:
        return Interval(mean, math.nan, 1, None, None)
    sd = float(xs.std(ddof=1))
    half = float(sps.t.ppf(0.975, n - 1)) * sd / math.sqrt(n)
    return Interval(mean, sd, n, mean - half, mean + half)


def _confusion(rng: np.random.Generator, accuracy: float) -> list[list[float]]:
    """Counts per 1000 test images of each class; cats and dogs get confused most."""
    k = len(CLASSES)
    matrix = np.zeros((k, k))
    for i in range(k):
        acc = min(0.98, accuracy + rng.normal(0, 0.06) - (0.15 if i in (3, 5) else 0))
        off = rng.dirichlet(np.ones(k - 1)) * (1 - acc)
        if i in (3, 5):  # cat <-> dog
            off = off * 0.4
            off[4 if i == 3 else 3] += (1 - acc) * 0.6
        matrix[i] = np.insert(off, i, acc) * 1000
    return np.round(matrix, 1).tolist()


def _curve(rng: np.random.Generator, start: float, end: float, epochs: int) -> list[float]:
    t = np.arange(1, epochs + 1)
    return (end + (start - end) * np.exp(-t / 2.5) + rng.normal(0, 0.01, epochs)).tolist()


def make_report(
    n_seeds: int = 3,
    *,
    unfinished_level: Any = None,
    nan: bool = False,
    faith: bool = True,
    epochs: int = EPOCHS,
    full: bool = False,
) -> Report:
    """A stride (1, 2, 3) x head (GAP, flatten) grid sweep with `n_seeds` seeds per cell
    (with `full`, stride x kernel x head x depth)."""
    rng = np.random.default_rng(0)
    factors = [STRIDE, KERNEL, HEAD, DEPTH] if full else [STRIDE, HEAD]
    seeds = list(range(n_seeds))
    runs: list[RunRow] = []
    config_factors: dict[str, dict[str, Any]] = {}
    values: dict[str, dict[str, list[float]]] = {r.key: {} for r in RESPONSES}
    confusion: dict[str, list[list[float]]] = {}
    faith_curves: list[FaithCurves] = []
    columns: list[GalleryColumn] = []
    for combination in itertools.product(*(f.levels for f in factors)):
        point = dict(zip((f.key for f in factors), combination, strict=True))
        stride, head = point[STRIDE.key], point[HEAD.key]
        config = config_label(point, factors)
        config_factors[config] = point
        acc = {1: 0.80, 2: 0.75, 3: 0.66}[stride] - (0.01 if head == "flatten" else 0)
        acc += 0.01 * (point.get(DEPTH.key, 2) - 2) - 0.005 * (point.get(KERNEL.key, 3) - 3)
        seconds = {1: 120.0, 2: 45.0, 3: 22.0}[stride] * (1.1 if head == "flatten" else 1)
        flops = {1: 38e6, 2: 9.6e6, 3: 0.9e6}[stride]
        done = stride != unfinished_level
        for seed in seeds:
            metrics: dict[str, float] = {}
            curves: dict[str, list[float]] = {}
            if done:
                metrics = {
                    "test_acc": acc + rng.normal(0, 0.006),
                    "train_seconds": seconds * rng.uniform(0.95, 1.05),
                    "flops": flops,
                    "xai.gradcam.insertion_vs_random": 0.2 / stride + rng.normal(0, 0.02),
                }
                curves = {
                    "train_loss": _curve(rng, 2.1, 2.3 - 2.5 * acc, epochs),
                    "val_loss": _curve(rng, 2.0, 2.4 - 2.4 * acc, epochs),
                    "train_acc": _curve(rng, 0.3, acc + 0.08, epochs),
                    "val_acc": _curve(rng, 0.35, acc, epochs),
                }
                for response in RESPONSES:
                    display = metrics[response.key] * response.scale
                    values[response.key].setdefault(config, []).append(display)
            runs.append(
                RunRow(
                    run_id=f"run{len(config_factors)}-{seed}",
                    name=f"{config} seed={seed}",
                    state="finished" if done else "failed",
                    reason="" if done else "CUDA out of memory",
                    factors=dict(point),
                    seed=seed,
                    metrics=metrics,
                    curves=curves,
                    start_time=1.7e9,
                    end_time=1.7e9 + seconds,
                )
            )
        if not done:
            continue
        confusion[config] = _confusion(rng, acc)
        fractions = np.linspace(0, 1, 11)
        drop = np.exp(-fractions * (6 / stride)) * 0.9
        faith_curves.append(
            FaithCurves(
                config=config,
                method="gradcam",
                fractions=fractions.tolist(),
                deletion=drop.tolist(),
                insertion=(0.9 - 0.8 * np.exp(-fractions * 8 / stride)).tolist(),
                deletion_random=np.exp(-fractions * 2.5).tolist(),
                insertion_random=(0.9 - 0.8 * np.exp(-fractions * 2.5)).tolist(),
            )
        )
        cell = GalleryCell(png=PIXEL, predicted="cat", confidence=0.7, mistake=False)
        columns.append(
            GalleryColumn(
                config=config,
                run_id=f"run{len(config_factors)}-0",
                feature_map={1: "8x8", 2: "2x2", 3: "1x1"}[stride],
                cells={"gradcam": [cell, cell]},
                na={},
            )
        )
    if nan:
        first = next(iter(values["test_acc"]))
        values["test_acc"][first][0] = math.nan
        values["train_seconds"][first][-1] = math.nan
    cells = {key: {c: interval(v) for c, v in per.items()} for key, per in values.items()}
    return Report(
        provenance=Provenance(
            experiment="strides",
            parent_run_id="parent",
            space_file="search_spaces/strides.yaml",
            space_sha256="0" * 64,
            git_commit="abc1234",
            command="ablate run search_spaces/strides.yaml --seeds 3",
            hardware="test CPU",
            accelerator="cpu",
            started=1.7e9,
            finished=1.7e9 + 3600,
            compute_seconds=3600.0,
            tracking_uri="file:///tmp/mlruns",
        ),
        kind="grid",
        factors=factors,
        seeds=seeds,
        responses=list(RESPONSES),
        runs=runs,
        cells=cells,
        cell_values=values,
        config_factors=config_factors,
        effects=[],
        interaction=(STRIDE.key, HEAD.key),
        interactions=[],
        noise=[],
        findings=[],
        warnings=[],
        baseline={STRIDE.key: 1, HEAD.key: "gap"},
        classes=list(CLASSES),
        confusion=confusion,
        gallery=Gallery(
            methods=("gradcam",),
            images=[PIXEL, PIXEL],
            labels=["cat", "ship"],
            indices=[3, 18],
            columns=columns,
            normalisation="each map scaled to [0, 1] by its maximum after ReLU",
        )
        if columns
        else None,
        faith_curves=faith_curves if faith else [],
    )


def interaction_cells(
    report: Report, response: str = "test_acc"
) -> dict[tuple[Any, Any], Interval]:
    """Cells of the interaction plot keyed by (stride, head), from the report's values."""
    out: dict[tuple[Any, Any], Interval] = {}
    for config, point in report.config_factors.items():
        key = (point[STRIDE.key], point[HEAD.key])
        out[key] = report.cells[response].get(config, interval([]))
    return out
