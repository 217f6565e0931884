"""The builder over every point of full.yaml, presets, padding and the shape check."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from ablate.spaces import RunConfig, expand, load_space
from lightning_modules.config import ModelConfig
from lightning_modules.errors import InvalidPointError
from lightning_modules.models import SameConv2d, build_model, count_params, flops_per_image
from lightning_modules.presets import ALIASES, PRESETS, find_preset, preset_key_name
from lightning_modules.shapes import (
    check_shapes,
    feature_sizes,
    invalid_reason,
    param_count,
    same_padding,
)

ROOT = Path(__file__).resolve().parents[1]
FULL = [p for p in expand(load_space(ROOT / "search_spaces" / "full.yaml")) if p.seed == 0]


@pytest.mark.parametrize("point", FULL, ids=lambda p: p.label)
def test_every_point_of_full_yaml(point) -> None:  # type: ignore[no-untyped-def]
    cfg = point.config.model
    sizes = feature_sizes(cfg)
    if min(sizes) < 1:
        with pytest.raises(InvalidPointError, match=r"block \d"):
            build_model(cfg)
        assert invalid_reason(cfg) is not None
        return
    net = build_model(cfg).eval()
    out = net(torch.rand(3, 3, 32, 32))
    assert out.shape == (3, 10)
    assert count_params(net) == param_count(cfg)  # the dry run's arithmetic equals torch's count


def test_full_yaml_invalid_points_are_the_deep_strided_ones() -> None:
    bad = {
        (p.config.model.depth, p.config.model.stride)
        for p in FULL
        if invalid_reason(p.config.model)
    }
    assert bad == {(3, 2), (4, 2), (3, 3), (4, 3)}


@pytest.mark.parametrize(
    "size,kernel,stride", [(32, 3, 1), (32, 4, 1), (32, 4, 2), (32, 3, 3), (11, 4, 3), (5, 2, 2)]
)
def test_same_padding_matches_keras(size: int, kernel: int, stride: int) -> None:
    out, before, after = same_padding(size, kernel, stride)
    assert out == -(-size // stride)  # ceil
    assert (out - 1) * stride + kernel <= size + before + after
    assert after - before in (0, 1)  # the extra pixel goes bottom/right, as in Keras
    conv = SameConv2d(1, 1, kernel, stride, bias=False)
    assert conv(torch.zeros(1, 1, size, size)).shape[-1] == out


@pytest.mark.parametrize("channels_last", [False, True], ids=["nchw", "channels_last"])
@pytest.mark.parametrize("size", [31, 32, 33])
@pytest.mark.parametrize("stride", [1, 2, 3])
@pytest.mark.parametrize("kernel", [3, 4, 5])
def test_same_conv_equals_explicit_pad_then_conv(
    kernel: int, stride: int, size: int, channels_last: bool
) -> None:
    """Symmetric padding inside the conv (issue 14 section 4) gives the very numbers of
    F.pad-then-conv, as SameConv2d computed them before; the gradients agree to float noise
    (another backward kernel sums in another order)."""
    torch.manual_seed(0)
    conv = SameConv2d(4, 6, kernel, stride, bias=True)
    x = torch.randn(2, 4, size, size + 1, requires_grad=True)  # odd and even sides at once
    xin = x.contiguous(memory_format=torch.channels_last) if channels_last else x
    _, top, bottom = same_padding(size, kernel, stride)
    _, left, right = same_padding(size + 1, kernel, stride)
    padded = torch.nn.functional.pad(xin, (left, right, top, bottom))
    want = torch.nn.functional.conv2d(padded, conv.weight, conv.bias, stride)
    got = conv(xin)
    assert torch.equal(got, want)
    g = torch.randn_like(want)
    assert conv.bias is not None
    inputs = (x, conv.weight, conv.bias)
    want_grads = torch.autograd.grad(want, inputs, g)
    for a, b in zip(torch.autograd.grad(got, inputs, g), want_grads, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


def test_4x4_kernel_keeps_32x32() -> None:
    conv = SameConv2d(3, 4, 4, 1, bias=False)
    assert conv(torch.zeros(1, 3, 32, 32)).shape == (1, 4, 32, 32)


def test_presets_match_the_seeds() -> None:
    keras = ModelConfig(**PRESETS["keras_cnn"].fields)
    seed000 = build_model(keras)
    assert count_params(seed000) == 60_458  # PITFALLS: "60k parameters, 11.3 MFLOP"
    assert abs(flops_per_image(seed000, keras) / 1e6 - 11.3) < 0.1
    vgg = ModelConfig(**PRESETS["vgg"].fields)
    assert vgg.block_widths() == (64, 128, 256)
    assert abs(count_params(build_model(vgg)) - 1.9e6) < 0.05e6


def test_old_preset_names_are_aliases_with_the_same_run_keys() -> None:
    assert ALIASES == {"seed000": "keras_cnn", "seed001": "gap_cnn", "seed003": "vgg"}
    for old, new in ALIASES.items():
        assert find_preset(old) is find_preset(new) is PRESETS[new]
        assert preset_key_name(new) == preset_key_name(old) == old
        cfg = PRESETS[new].fields
        keys = {RunConfig(model=ModelConfig(preset=name, **cfg)).key() for name in (old, new)}
        assert len(keys) == 1, (old, new)
    assert find_preset("seed002") is None


def test_check_shapes_names_the_layer() -> None:
    with pytest.raises(InvalidPointError, match="block 3"):
        check_shapes(ModelConfig(depth=3, stride=3))
    check_shapes(ModelConfig(depth=4, stride=1))


def test_relu_not_inplace_and_unknown_arch() -> None:
    net = build_model(ModelConfig())
    assert all(not m.inplace for m in net.modules() if isinstance(m, torch.nn.ReLU))
    with pytest.raises(InvalidPointError, match=r"unknown model\.arch"):
        build_model(ModelConfig(arch="densenet"))


def test_fast_preset_pools_after_each_blocks_first_conv() -> None:
    """airbench's order: conv, pool, conv: the second conv runs on a quarter of the pixels."""
    from lightning_modules.shapes import feature_sizes

    cfg = ModelConfig(**PRESETS["fast"].fields)
    assert feature_sizes(cfg) == [32, 16, 16, 16, 8, 8, 8, 4, 4]
    net = build_model(cfg)
    assert net.features(torch.zeros(1, 3, 32, 32)).shape == (1, 128, 4, 4)
    assert count_params(net) == param_count(cfg)
    late = ModelConfig(**{**PRESETS["fast"].fields, "pool": "max"})
    assert flops_per_image(net, cfg) < 0.5 * flops_per_image(build_model(late), late)
    with pytest.raises(InvalidPointError, match="block 3"):
        check_shapes(ModelConfig(**{**PRESETS["fast"].fields, "stride": 2}))


def test_flip_tta_scores_the_mean_of_an_image_and_its_mirror() -> None:
    from lightning_modules.config import TrainConfig
    from lightning_modules.module import Classifier

    cfg = RunConfig(model=ModelConfig(depth=1, width=4), train=TrainConfig(tta_flip=True))
    module = Classifier(build_model(cfg.model), cfg).eval()
    x = torch.rand(3, 3, 32, 32)
    with torch.no_grad():
        want = (module(x) + module(x.flip(3))) / 2
        assert torch.allclose(module.test_logits(x), want)
        plain = Classifier(module.net, RunConfig(model=cfg.model)).eval()
        assert torch.equal(plain.test_logits(x), module(x))
    assert cfg.key() != RunConfig(model=cfg.model).key()
