"""The one post-processing function: ranges, conventions, no mutation (pure, hypothesis)."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from explain.postprocess import CONVENTION, postprocess

maps_strategy = st.builds(
    lambda n, h, w, seed, scale: (
        torch.randn(n, h, w, generator=torch.Generator().manual_seed(seed)) * scale
    ),
    st.integers(1, 4),
    st.integers(1, 8),
    st.integers(1, 8),
    st.integers(0, 2**31 - 1),
    st.sampled_from([0.0, 1e-6, 1.0, 1e4]),
)


@settings(max_examples=60, deadline=None)
@given(maps=maps_strategy, method=st.sampled_from(sorted(CONVENTION)))
def test_range_and_no_mutation(maps: torch.Tensor, method: str) -> None:
    before = maps.clone()
    out = postprocess(maps, method)
    assert torch.equal(maps, before)
    assert out.shape == maps.shape and out.dtype == torch.float32
    assert torch.isfinite(out).all()
    assert out.min() >= 0 and out.max() <= 1
    # every image with any nonzero displayable value reaches exactly 1
    shown = maps.clamp(min=0) if CONVENTION[method] == "relu" else maps.abs()
    has_signal = shown.flatten(1).amax(1) > 0
    assert torch.allclose(out.flatten(1).amax(1)[has_signal], torch.ones(int(has_signal.sum())))


def test_conventions() -> None:
    m = torch.tensor([[[-2.0, 1.0], [0.5, 0.0]]])
    assert torch.equal(postprocess(m, "gradcam"), torch.tensor([[[0.0, 1.0], [0.5, 0.0]]]))
    assert torch.equal(postprocess(m, "cam"), postprocess(m, "gradcam"))
    assert torch.equal(
        postprocess(m, "integrated_gradients"), torch.tensor([[[1.0, 0.5], [0.25, 0.0]]])
    )
    assert torch.equal(postprocess(m.abs(), "saliency"), postprocess(m, "integrated_gradients"))


def test_all_negative_gradcam_is_zero_not_nan() -> None:
    out = postprocess(-torch.rand(2, 4, 4) - 0.1, "gradcam")
    assert torch.equal(out, torch.zeros(2, 4, 4))


def test_per_image_scaling_is_independent() -> None:
    m = torch.stack([torch.full((3, 3), 2.0), torch.full((3, 3), 1000.0)])
    m[:, 0, 0] = 0.0
    out = postprocess(m, "saliency")
    assert torch.equal(out[0], out[1])


@pytest.mark.parametrize("bad", [torch.zeros(4, 4), torch.zeros(1, 1, 4, 4)])
def test_rejects_wrong_rank(bad: torch.Tensor) -> None:
    with pytest.raises(ValueError, match=r"\(N, H, W\)"):
        postprocess(bad, "saliency")


def test_rejects_unknown_method() -> None:
    with pytest.raises(ValueError, match="unknown method"):
        postprocess(torch.zeros(1, 2, 2), "lime")
