"""Every attribution method on a matrix of tiny CNNs: shapes, ranges, no side effects.

Plus the two facts that make the maps mean something: CAM equals Grad-CAM up to
the positive scale h*w on GAP-linear heads, and maps depend on the target class.
"""

from __future__ import annotations

import functools

import pytest
import torch
from torch import nn

from explain.attributions import (
    METHODS,
    MethodNotApplicable,
    applicable_methods,
    cam,
    gradcam,
    gradcam_layer,
)
from explain.config import ExplainConfig
from explain.errors import ExplainConfigError
from explain.feature_maps import capture_outputs, default_layers, feature_maps
from explain.metrics import spearman_per_image
from explain.postprocess import postprocess
from lightning_modules.config import ModelConfig
from lightning_modules.models import CNN, build_model

# small sample counts: the matrix checks plumbing, not quality
CFG = ExplainConfig(smoothgrad_samples=3, ig_steps=6)
VARIANTS = {
    f"{head}-s{stride}-k{kernel}": ModelConfig(
        depth=2, width=8, head=head, stride=stride, kernel_size=kernel
    )
    for head in ("flatten", "gap")
    for stride in (1, 2)
    for kernel in (3, 4)
}


@functools.cache
def _model(name: str) -> CNN:
    torch.manual_seed(0)
    model = build_model(VARIANTS[name])
    assert isinstance(model, CNN)
    return model


def _state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in model.state_dict().items()}


@pytest.mark.parametrize("batch", [1, 5])
@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("method", sorted(METHODS))
def test_method_matrix(method: str, variant: str, batch: int) -> None:
    model = _model(variant)
    model.train()  # must come back in train mode, with BatchNorm statistics untouched
    before = _state(model)
    g = torch.Generator().manual_seed(batch)
    x = torch.rand(batch, 3, 32, 32, generator=g)
    x_before = x.clone()
    targets = torch.randint(0, 10, (batch,), generator=g)
    if method == "cam" and VARIANTS[variant].head == "flatten":
        with pytest.raises(MethodNotApplicable, match="global average pooling"):
            METHODS[method](model, x, targets, CFG)
        assert model.training
        return
    maps = METHODS[method](model, x, targets, CFG)
    assert maps.shape == (batch, 32, 32)
    assert maps.dtype == torch.float32 and not maps.requires_grad
    assert torch.isfinite(maps).all()
    shown = postprocess(maps, method)
    assert shown.min() >= 0 and shown.max() <= 1
    assert torch.equal(x, x_before) and not x.requires_grad  # input untouched
    assert model.training and all(m.training for m in model.modules())
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_eval_flags_restored_per_module() -> None:
    model = _model("gap-s1-k3")
    model.train()
    model.features[0].eval()  # a frozen block must stay frozen
    gradcam(model, torch.rand(2, 3, 32, 32), torch.tensor([0, 1]), CFG)
    assert model.training and not model.features[0].training
    model.train()


@pytest.mark.parametrize("variant", ["gap-s1-k3", "gap-s2-k4"])
def test_cam_equals_gradcam_times_hw(variant: str) -> None:
    """Raw maps, before ReLU: Grad-CAM weights are w_c / (h*w) for a GAP-linear head."""
    model = _model(variant).eval()
    x = torch.rand(4, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    targets = torch.tensor([0, 3, 7, 9])
    with capture_outputs({"cam": model.cam_layer}) as store, torch.no_grad():
        model(x)
    h, w = store["cam"].shape[-2:]
    cam_maps, grad_maps = cam(model, x, targets, CFG), gradcam(model, x, targets, CFG)
    scale = cam_maps.abs().max()
    assert scale > 0
    torch.testing.assert_close(cam_maps / scale, grad_maps * (h * w) / scale, atol=1e-5, rtol=1e-4)


def test_cam_rejects_hidden_layer() -> None:
    model = build_model(ModelConfig(depth=2, width=8, head="gap", hidden=16))
    with pytest.raises(MethodNotApplicable, match="Linear -> ReLU"):
        cam(model, torch.rand(1, 3, 32, 32), torch.tensor([0]), CFG)
    keep, skipped = applicable_methods(model, ExplainConfig().methods, CFG)
    assert "cam" not in keep and "global average pooling" in skipped["cam"]


def test_cam_works_with_dropout_head() -> None:
    model = build_model(ModelConfig(depth=2, width=8, head="gap", dropout=0.5))
    assert cam(model, torch.rand(2, 3, 32, 32), torch.tensor([0, 1]), CFG).shape == (2, 32, 32)


def test_gradcam_maps_depend_on_target() -> None:
    """Seed 003's Grad-CAM ignored gradients and gave every class the same map; ours must not."""
    torch.manual_seed(3)
    model = build_model(ModelConfig(depth=2, width=8, head="gap")).eval()
    x = torch.rand(6, 3, 32, 32, generator=torch.Generator().manual_seed(2))
    a = gradcam(model, x, torch.full((6,), 1), CFG)
    b = gradcam(model, x, torch.full((6,), 6), CFG)
    rho = spearman_per_image(a.numpy(), b.numpy())
    relative = (a - b).flatten(1).norm(dim=1) / a.flatten(1).norm(dim=1)
    print("Spearman(target 1, target 6) per image:", rho.round(2), "relative L2:", relative)
    assert (relative > 0.5).all()
    assert rho.mean() < 0.5


def test_gradcam_layer_override_and_fallback() -> None:
    model = _model("gap-s1-k3")
    x = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    first = gradcam(model, x, torch.tensor([0, 1]), CFG)
    cfg = ExplainConfig(gradcam_layer="features.0")
    assert gradcam_layer(model, cfg) is model.features[0]
    early = gradcam(model, x, torch.tensor([0, 1]), cfg)
    # both are upsampled to 32x32, so only the values can tell that another layer was used
    assert not torch.allclose(early, first, atol=1e-4)
    with pytest.raises(ExplainConfigError, match=r"no layer named 'features\.9'"):
        gradcam_layer(model, ExplainConfig(gradcam_layer="features.9"))

    last = nn.Conv2d(4, 4, 3, padding=1)
    convs = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), last)
    plain = nn.Sequential(convs, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3))
    assert gradcam_layer(plain, CFG) is last  # no cam_layer: the last Conv2d
    assert gradcam(plain, torch.rand(2, 3, 32, 32), torch.tensor([0, 2]), CFG).shape == (2, 32, 32)
    with pytest.raises(MethodNotApplicable, match="cam needs a model"):
        cam(plain, torch.rand(1, 3, 32, 32), torch.tensor([0]), CFG)


def test_smoothgrad_is_seeded_and_leaves_global_rng_alone() -> None:
    model = _model("flatten-s1-k3")
    x, t = torch.rand(3, 3, 32, 32), torch.tensor([0, 1, 2])
    torch.manual_seed(5)
    state = torch.get_rng_state()
    a = METHODS["smoothgrad"](model, x, t, CFG)
    assert torch.equal(torch.get_rng_state(), state)
    torch.testing.assert_close(a, METHODS["smoothgrad"](model, x, t, CFG))


@pytest.mark.parametrize("method", sorted(METHODS))
def test_works_inside_inference_mode(method: str) -> None:
    """The orchestrator may call from Lightning's test loop: inference_mode, inference tensors."""
    model = _model("gap-s1-k3")
    x, t = torch.rand(2, 3, 32, 32), torch.tensor([0, 1])
    expected = METHODS[method](model, x, t, CFG)
    with torch.inference_mode():
        maps = METHODS[method](model, x.clone(), t.clone(), CFG)
    torch.testing.assert_close(maps, expected)
    assert maps.abs().sum() > 0


def test_feature_maps_hooks_removed() -> None:
    model = _model("gap-s2-k3")
    assert default_layers(model) == ["features.0", "features.1"]
    fm = feature_maps(model, torch.rand(2, 3, 32, 32))
    assert [tuple(v.shape) for v in fm.values()] == [(2, 8, 8, 8), (2, 16, 2, 2)]
    assert all(not m._forward_hooks for m in model.modules())
    with pytest.raises(RuntimeError, match="boom"), capture_outputs({"f": model.features[0]}):
        raise RuntimeError("boom")
    assert all(not m._forward_hooks for m in model.modules())
    with pytest.raises(ExplainConfigError, match="no layer named"):
        feature_maps(model, torch.rand(1, 3, 32, 32), ["nope"])
