"""explain_model, the sweep's one entry point: it picks the probe set and the mistakes
from the data module itself, and gives back the probe indices it used."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import torch

from explain.config import ExplainConfig
from explain.pipeline import explain_run, predict
from explain.probe import most_confident_mistakes
from explain.trained import explain_model, probe_set
from lightning_modules.config import ModelConfig
from lightning_modules.datamodule import to_float
from lightning_modules.models import build_model

CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
CFG = ExplainConfig(
    methods=("saliency",), metrics=False, probe_per_class=1, misclassified=2, feature_map_layers=()
)


def _data() -> Any:
    """What explain_model reads of a set-up CifarDataModule: uint8 test images, labels, mean."""
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (30, 3, 32, 32), generator=g, dtype=torch.uint8)
    return SimpleNamespace(test_x=x, test_y=torch.arange(30) % 10, mean=(0.5, 0.5, 0.5))


def test_explain_model_explains_the_probe_set_and_the_worst_mistakes(tmp_path: Path) -> None:
    torch.manual_seed(0)
    net = build_model(ModelConfig(depth=2, width=8)).eval()
    dm = _data()
    result = explain_model(net, cast(Any, dm), CLASSES, CFG, tmp_path / "a")

    probe = probe_set(dm.test_y, CFG)
    assert result.probe_indices == tuple(probe.tolist())
    assert len(result.probe_indices) == 10  # one per class
    wrong = most_confident_mistakes(predict(net, to_float(dm.test_x)), dm.test_y, 2)
    by_hand = explain_run(
        net,
        to_float(dm.test_x[probe]),
        dm.test_y[probe],
        probe,
        to_float(dm.test_x[wrong]),
        dm.test_y[wrong],
        wrong,
        CLASSES,
        CFG,
        tmp_path / "b",
        mean=(0.5, 0.5, 0.5),
    )
    assert sorted(f.name for f in result.files) == sorted(f.name for f in by_hand.files)
    summary = json.loads((tmp_path / "a" / "metrics.json").read_text())
    assert summary["n_probe"] == 10 and summary["n_mistakes"] == len(wrong)


def test_a_given_probe_set_is_used_as_it_is(tmp_path: Path) -> None:
    net = build_model(ModelConfig(depth=2, width=8)).eval()
    result = explain_model(net, cast(Any, _data()), CLASSES, CFG, tmp_path, probe=[3, 1, 4])
    assert result.probe_indices == (3, 1, 4)
