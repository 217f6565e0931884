"""`explain_model`: the one entry point the sweep calls after training a run.

It takes the trained network and its data module and picks the images itself: the
sweep's fixed probe set (the same test indices in every run) and this run's most
confident mistakes. The test tensors stay on this floor; the caller gets files, metrics
and the probe indices (to record once per sweep).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import nn

from explain.config import ExplainConfig
from explain.pipeline import ExplainResult, explain_run, predict
from explain.probe import most_confident_mistakes, probe_indices
from lightning_modules.datamodule import to_float

if TYPE_CHECKING:
    from lightning_modules.datamodule import CifarDataModule

PROBE_SEED = 0  # the probe set depends on the test labels only: the same in every run


def probe_set(test_y: torch.Tensor, cfg: ExplainConfig) -> torch.Tensor:
    """The test indices every run of a sweep explains (`cfg.probe_per_class` per class)."""
    return probe_indices(test_y.cpu(), cfg.probe_per_class, seed=PROBE_SEED)


def explain_model(
    net: nn.Module,
    datamodule: CifarDataModule,
    classes: Sequence[str],
    cfg: ExplainConfig,
    out: Path,
    probe: Sequence[int] | None = None,
) -> ExplainResult:
    """Explain a trained `net` on the test set of `datamodule` (after its `setup`).

    `probe`: the test indices to explain; None = `probe_set` of the test labels. The
    result's `probe_indices` are the ones used. Writes under `out` (see `explain_run`).
    """
    test_x, test_y = datamodule.test_x, datamodule.test_y
    device = next(net.parameters()).device
    probe_idx = (
        probe_set(test_y, cfg) if probe is None else torch.tensor(list(probe), dtype=torch.long)
    )
    probs = predict(net, to_float(test_x).to(device)).cpu()
    wrong_idx = most_confident_mistakes(probs, test_y.cpu(), cfg.misclassified)
    out.mkdir(parents=True, exist_ok=True)
    probe_at, wrong_at = probe_idx.to(test_x.device), wrong_idx.to(test_x.device)
    return explain_run(
        net,
        to_float(test_x[probe_at]).to(device),
        test_y[probe_at].to(device),
        probe_idx,
        to_float(test_x[wrong_at]).to(device),
        test_y[wrong_at].to(device),
        wrong_idx,
        classes,
        cfg,
        out,
        mean=tuple(float(v) for v in datamodule.mean),
    )
