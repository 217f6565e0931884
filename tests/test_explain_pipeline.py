"""explain_run and explain_images end to end on tiny models: files, keys, shapes, no side effects."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from explain.attributions import METHODS
from explain.config import ExplainConfig
from explain.errors import ExplainConfigError
from explain.metrics import SENSITIVITY_METHODS
from explain.pipeline import compute_maps, explain_images, explain_run
from lightning_modules.config import ModelConfig
from lightning_modules.models import build_model

CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
CFG = ExplainConfig(smoothgrad_samples=3, ig_steps=6, metric_steps=6)
PER_METHOD = (
    "deletion_auc",
    "deletion_auc_random",
    "insertion_auc",
    "insertion_auc_random",
    "sanity_spearman",
    "infidelity",
    "seconds",
)


def _images(n: int, seed: int) -> torch.Tensor:
    return torch.rand(n, 3, 32, 32, generator=torch.Generator().manual_seed(seed))


def _png_ok(path: Path) -> None:
    with Image.open(path) as im:
        im.verify()
    assert path.stat().st_size < 400_000


@pytest.mark.e2e  # the whole pipeline with every faithfulness metric: ~10 s of CPU each
@pytest.mark.parametrize("head", ["gap", "flatten"])
def test_explain_run_writes_everything(tmp_path: Path, head: str) -> None:
    torch.manual_seed(0)
    model = build_model(ModelConfig(depth=2, width=8, head=head)).train()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    probe_x, wrong_x = _images(6, 1), _images(3, 2)
    probe_y, wrong_y = torch.arange(6) % 10, torch.tensor([1, 2, 3])
    probe_idx, wrong_idx = torch.arange(10, 16), torch.tensor([100, 7, 42])
    inputs = [t.clone() for t in (probe_x, wrong_x)]

    result = explain_run(
        model, probe_x, probe_y, probe_idx, wrong_x, wrong_y, wrong_idx, CLASSES, CFG, tmp_path
    )

    assert model.training
    assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())
    assert torch.equal(probe_x, inputs[0]) and torch.equal(wrong_x, inputs[1])
    methods = [m for m in CFG.methods if not (m == "cam" and head == "flatten")]
    names = {p.relative_to(tmp_path).as_posix() for p in result.files}
    expected = {
        "maps.npz",
        "metrics.json",
        "mistakes.png",
        "feature_maps_features.0.png",
        "feature_maps_features.1.png",
        *(f"grid_{m}.png" for m in methods),
        *(f"panels/probe_{i}.png" for i in range(10, 16)),
        *(f"panels/wrong_{i}.png" for i in (100, 7, 42)),
    }
    assert names == expected
    assert all(p.is_file() for p in result.files)
    for p in result.files:
        if p.suffix == ".png":
            _png_ok(p)

    with np.load(tmp_path / "maps.npz") as npz:
        assert set(npz.files) == {
            *methods,
            "images",
            "targets",
            "labels",
            "probs",
            "indices",
            "mistake",
        }
        for m in methods:
            assert npz[m].shape == (9, 32, 32) and npz[m].dtype == np.float32
        assert npz["images"].shape == (9, 32, 32, 3) and npz["images"].dtype == np.uint8
        assert npz["probs"].shape == (9, 10)
        assert npz["indices"].tolist() == [10, 11, 12, 13, 14, 15, 100, 7, 42]
        assert npz["labels"].tolist() == [0, 1, 2, 3, 4, 5, 1, 2, 3]
        assert npz["mistake"].tolist() == [False] * 6 + [True] * 3
        np.testing.assert_array_equal(npz["targets"], npz["probs"].argmax(1))

    summary = json.loads((tmp_path / "metrics.json").read_text())
    assert summary["metrics"] == pytest.approx(result.metrics)
    assert summary["flags"] == result.flags
    assert summary["config"] == CFG.model_dump(mode="json")
    assert ("cam" in summary["skipped"]) == (head == "flatten")
    for m in methods:
        for k in PER_METHOD:
            assert np.isfinite(result.metrics[f"xai.{m}.{k}"]), (m, k)
        assert (f"xai.{m}.sensitivity_max" in result.metrics) == (m in SENSITIVITY_METHODS)
        assert isinstance(result.flags[f"xai.{m}.sanity_failed"], bool)
    per_method = sum(v for k, v in result.metrics.items() if k.endswith(".seconds"))
    assert per_method > 0 and result.metrics["xai.seconds_total"] >= per_method  # a sum of parts
    assert not any(k.startswith("xai.cam.") for k in result.metrics) or head == "gap"


def test_explain_run_without_mistakes_or_metrics(tmp_path: Path) -> None:
    model = build_model(ModelConfig(depth=2, width=8, head="gap"))
    cfg = ExplainConfig(methods=("gradcam",), metrics=False)
    empty = torch.empty(0, 3, 32, 32)
    result = explain_run(
        model, _images(2, 0), torch.tensor([0, 1]), torch.tensor([5, 6]),
        empty, torch.empty(0, dtype=torch.long), torch.empty(0, dtype=torch.long),
        CLASSES, cfg, tmp_path,
    )  # fmt: skip
    assert set(result.metrics) == {"xai.gradcam.seconds", "xai.seconds_total"}
    assert result.flags == {}
    assert not (tmp_path / "mistakes.png").exists()


def test_explain_images_writes_panel_overlay_npy(tmp_path: Path) -> None:
    model = build_model(ModelConfig(depth=2, width=8, head="flatten"))
    x = _images(2, 3)
    files = explain_images(model, x, CLASSES, CFG, tmp_path, ["cat one", "dog"], target=3)
    methods = [m for m in CFG.methods if m != "cam"]  # flatten head: CAM skipped
    expected = {"cat_one_panel.png", "dog_panel.png"}
    expected |= {
        f"{n}_{m}.{ext}" for n in ("cat_one", "dog") for m in methods for ext in ("png", "npy")
    }
    assert {p.name for p in files} == expected
    for p in files:
        if p.suffix == ".png":
            _png_ok(p)
    raw = np.load(tmp_path / "dog_gradcam.npy")
    assert raw.shape == (32, 32) and raw.dtype == np.float32
    # the saved map is the raw map for the requested class
    again = compute_maps(model, x, torch.tensor([3, 3]), ["gradcam"], CFG)["gradcam"][1]
    np.testing.assert_allclose(raw, again.numpy(), rtol=1e-5, atol=1e-7)
    with pytest.raises(ExplainConfigError, match="out of range"):
        explain_images(model, x, CLASSES, CFG, tmp_path, ["a", "b"], target=10)
    with pytest.raises(ExplainConfigError, match="names"):
        explain_images(model, x, CLASSES, CFG, tmp_path, ["a"])


def test_compute_maps_default_target_is_prediction() -> None:
    model = build_model(ModelConfig(depth=2, width=8, head="gap")).eval()
    x = _images(3, 4)
    pred = model(x).argmax(1)
    maps = compute_maps(model, x, None, sorted(METHODS), CFG)
    explicit = compute_maps(model, x, pred, sorted(METHODS), CFG)
    for m in METHODS:
        assert maps[m].device.type == "cpu" and maps[m].dtype == torch.float32
        torch.testing.assert_close(maps[m], explicit[m])


@pytest.mark.e2e  # the whole pipeline with every faithfulness metric
def test_explain_run_inside_inference_mode(tmp_path: Path) -> None:
    """Lightning's test loop runs under torch.inference_mode; gradients must still flow."""
    model = build_model(ModelConfig(depth=2, width=8, head="gap"))
    cfg = ExplainConfig(methods=("saliency", "gradcam", "cam"), metric_steps=4)
    with torch.inference_mode():
        x, y, idx = _images(3, 5), torch.tensor([0, 1, 2]), torch.arange(3)
        result = explain_run(
            model, x[:2], y[:2], idx[:2], x[2:], y[2:], idx[2:], CLASSES, cfg, tmp_path
        )
    assert np.isfinite(result.metrics["xai.saliency.sensitivity_max"])
    assert np.isfinite(result.metrics["xai.cam.sanity_spearman"])
