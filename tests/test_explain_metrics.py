"""Pieces of the faithfulness and sanity metrics, checked against hand-computed answers."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import spearmanr
from torch import nn

from explain.metrics import (
    BLUR_SIGMA,
    auc,
    gaussian_blur,
    mean_abs_rho,
    perturbation_curves,
    randomized_copy,
    spearman_per_image,
    step_masks,
)
from lightning_modules.config import ModelConfig
from lightning_modules.models import build_model


@settings(max_examples=40, deadline=None)
@given(steps=st.integers(2, 20), side=st.integers(2, 9), seed=st.integers(0, 1000))
def test_step_masks_are_nested_top_k(steps: int, side: int, seed: int) -> None:
    maps = torch.rand(3, side, side, generator=torch.Generator().manual_seed(seed))
    masks, fractions = step_masks(maps, steps)
    assert masks.shape == (3, steps + 1, side, side)
    assert fractions[0] == 0 and fractions[-1] == 1
    counts = masks.flatten(2).sum(-1)
    assert torch.equal(counts[0], torch.round(fractions * side * side).long())
    assert torch.all(masks[:, 1:] >= masks[:, :-1])  # once removed, stays removed
    # the pixels in each mask are the most important ones
    for s in range(1, steps + 1):
        for n in range(3):
            kept = maps[n][masks[n, s]]
            left = maps[n][~masks[n, s]]
            if len(kept) and len(left):
                assert kept.min() >= left.max()


def test_auc_trapezoid() -> None:
    fractions = torch.linspace(0, 1, 5)
    curves = torch.stack([torch.ones(5), fractions, 1 - fractions])
    torch.testing.assert_close(auc(curves, fractions), torch.tensor([1.0, 0.5, 0.5]))


class _MeanBrightness(nn.Module):
    """Two classes; logit of class 1 grows with the mean brightness of the image."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m = x.mean(dim=(1, 2, 3)) * 20
        return torch.stack([torch.zeros_like(m), m - 10], dim=1)


def test_deletion_and_insertion_endpoints() -> None:
    model = _MeanBrightness()
    x = torch.rand(2, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    targets = torch.tensor([1, 1])
    order = torch.rand(2, 8, 8)
    dele, _ = perturbation_curves(model, x, targets, order, 4, "deletion")
    black, _ = perturbation_curves(model, x, targets, order, 4, "deletion", fill="black")
    ins, _ = perturbation_curves(model, x, targets, order, 4, "insertion")
    full = model(x).softmax(1)[:, 1]
    blurred = model(gaussian_blur(x, BLUR_SIGMA)).softmax(1)[:, 1]
    torch.testing.assert_close(dele[:, 0], full)
    torch.testing.assert_close(dele[:, -1], blurred)
    torch.testing.assert_close(black[:, -1], model(torch.zeros_like(x)).softmax(1)[:, 1])
    torch.testing.assert_close(ins[:, 0], blurred)
    torch.testing.assert_close(ins[:, -1], full)
    assert torch.all(black[:, 1:] <= black[:, :-1] + 1e-6)  # removing bright pixels lowers p
    with pytest.raises(ValueError, match="deletion or insertion"):
        perturbation_curves(model, x, targets, order, 4, "occlusion")


def test_deletion_orders_by_importance() -> None:
    """Deleting the brightest pixels first must beat deleting the darkest first."""
    model = _MeanBrightness()
    x = torch.rand(4, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    targets = torch.ones(4, dtype=torch.long)
    bright = x.mean(1)
    good, fr = perturbation_curves(model, x, targets, bright, 8, "deletion", fill="black")
    bad, _ = perturbation_curves(model, x, targets, -bright, 8, "deletion", fill="black")
    assert torch.all(auc(good, fr) < auc(bad, fr))


def test_gaussian_blur_keeps_constants_and_mean() -> None:
    const = torch.full((1, 3, 8, 8), 0.3)
    torch.testing.assert_close(gaussian_blur(const, 2.0), const)
    x = torch.rand(2, 3, 32, 32)
    y = gaussian_blur(x, 2.0)
    assert y.shape == x.shape and y.std() < x.std() / 2


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 1000), ties=st.booleans())
def test_spearman_matches_scipy(seed: int, ties: bool) -> None:
    rng = np.random.default_rng(seed)
    a, b = rng.random((3, 5, 5)), rng.random((3, 5, 5))
    if ties:
        a = np.round(a, 1)
    ours = spearman_per_image(a, b)
    for i in range(3):
        np.testing.assert_allclose(ours[i], spearmanr(a[i].ravel(), b[i].ravel())[0], atol=1e-10)


def test_spearman_constant_map_is_nan_and_skipped() -> None:
    a = np.stack([np.zeros((4, 4)), np.arange(16.0).reshape(4, 4)])
    rho = spearman_per_image(a, a)
    assert np.isnan(rho[0]) and rho[1] == pytest.approx(1.0)
    assert mean_abs_rho(rho) == pytest.approx(1.0)
    assert np.isnan(mean_abs_rho(np.array([np.nan])))


def test_randomized_copy_is_seeded_and_leaves_original() -> None:
    model = build_model(ModelConfig(depth=2, width=8))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    torch.manual_seed(7)
    state = torch.get_rng_state()
    a, b = randomized_copy(model), randomized_copy(model)
    assert torch.equal(torch.get_rng_state(), state)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    for (name, pa), pb, p in zip(
        a.named_parameters(), b.parameters(), model.parameters(), strict=True
    ):
        assert torch.equal(pa, pb), name  # same seed, same weights
        if "weight" in name and pa.dim() > 1:
            assert not torch.equal(pa, p), name  # and not the trained ones
