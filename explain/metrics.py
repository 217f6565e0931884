"""Numbers that say whether a map means anything: faithfulness and sanity.

- Deletion / insertion AUC (Petsiuk et al. 2018, RISE): pixels are removed from
  the image or inserted into a blurred copy of it in order of importance, in
  `steps` equal steps; the curve is the softmax probability of the target class
  against the fraction of pixels changed, its area by the trapezoid rule over
  [0, 1]. Lower deletion AUC and higher insertion AUC are better; each is reported
  next to the same procedure with a seeded random pixel order.
  Importance order is the *raw* map, descending: signed for Grad-CAM, CAM and IG
  (positive evidence for the target first), |gradient| for saliency and SmoothGrad.
  Ties (e.g. Grad-CAM plateaus) break by pixel index.
  "Removed" means replaced by the blurred copy (Gaussian, sigma BLUR_SIGMA px), the
  same image insertion starts from, not black as in RISE: on 32x32 images, black
  speckles from a random order are themselves strong evidence to a CNN and drive the
  probability below chance, so the random baseline looked better than a map that
  was right. Measured on the known-answer model of tests/test_explain_known_answer.py
  (seed 0): Grad-CAM deletion AUC 0.38 vs random 0.21 with black, 0.29 vs 0.48
  with blur. `perturbation_curves(..., fill="black")` gives RISE's variant.
- Model-parameter randomisation (Adebayo et al. 2018): every parameter of a deep
  copy is re-initialised (`reset_parameters`, seeded); the mean over images of
  |Spearman rho| between trained and random raw maps above SANITY_MAX_ABS_RHO
  flags the method: its map barely depends on what the model learned.
- Captum's `infidelity` (normalize=True, so scale-free) under Gaussian pixel noise,
  the map spread equally over the colour channels. Caveat: with zero-mean noise it
  rewards signed, per-channel attributions; for unsigned pixel maps it barely
  separates methods (all within a few % of each other on the known-answer model).
- Captum's `sensitivity_max` (max relative change of the map in an L-inf ball), only
  for the cheap methods in SENSITIVITY_METHODS since it recomputes the map
  SENSITIVITY_SAMPLES times.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from captum.metrics import infidelity, sensitivity_max
from torch import nn

from explain import methods
from explain.attributions import METHODS, copies_per_batch, forward_batch, seeded
from explain.config import ExplainConfig
from explain.feature_maps import eval_mode
from lightning_modules.cifar import CIFAR_MEAN

BLUR_SIGMA = 2.0  # px: on 32x32 images this erases shapes below ~5 px but keeps colour layout
SANITY_MAX_ABS_RHO = 0.5  # mean |Spearman| above this: the map survives randomising the weights
INFIDELITY_NOISE = 0.03  # std of the Gaussian perturbation, [0, 1] pixel units (~8/255)
INFIDELITY_SAMPLES = 16
SENSITIVITY_RADIUS = 0.02  # L-inf radius in pixel units (~5/255), Captum's default
SENSITIVITY_SAMPLES = 4  # each sample recomputes the map: keep small
SENSITIVITY_METHODS = tuple(m.name for m in methods.METHODS if m.sensitivity)
METRIC_SEED = 1234  # random pixel order, randomised weights, perturbations


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of (N, C, H, W) images, reflect padding, sigma in px."""
    radius = max(1, math.ceil(3 * sigma))
    radius = min(radius, x.shape[-1] - 1, x.shape[-2] - 1)  # reflect padding must fit
    t = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)
    k = torch.exp(-0.5 * (t / sigma) ** 2)
    k = k / k.sum()
    c = x.shape[1]
    out = F.pad(x, (radius, radius, radius, radius), mode="reflect")
    out = F.conv2d(out, k.view(1, 1, 1, -1).repeat(c, 1, 1, 1), groups=c)
    return F.conv2d(out, k.view(1, 1, -1, 1).repeat(c, 1, 1, 1), groups=c)


def step_masks(order_maps: torch.Tensor, steps: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Masks (N, steps+1, H, W), True where a pixel is among the k most important,
    k = round(fraction * H * W) for fraction in 0, 1/steps, ..., 1; and those fractions."""
    n, h, w = order_maps.shape
    flat = order_maps.reshape(n, h * w)
    order = torch.sort(flat, dim=1, descending=True, stable=True).indices
    rank = torch.empty_like(order)
    rank.scatter_(1, order, torch.arange(h * w, device=flat.device).expand(n, -1))
    counts = torch.round(torch.linspace(0, 1, steps + 1, device=flat.device) * (h * w)).long()
    masks = rank[:, None, :] < counts[None, :, None]
    return masks.view(n, steps + 1, h, w), counts.float() / (h * w)


def perturbation_curves(
    model: nn.Module,
    x: torch.Tensor,
    targets: torch.Tensor,
    order_maps: torch.Tensor,
    steps: int,
    mode: str,
    fill: str = "blur",
) -> tuple[torch.Tensor, torch.Tensor]:
    """Target-class probability (N, steps+1) along deletion or insertion, and the fractions.

    `fill` is what deleted pixels become: "blur" (default, see the module docstring) or
    "black". All images and steps go through the model as one batch (chunked at
    `forward_batch`).
    """
    if mode not in ("deletion", "insertion"):
        raise ValueError(f"mode must be deletion or insertion, got {mode!r}")
    if fill not in ("blur", "black"):
        raise ValueError(f"fill must be blur or black, got {fill!r}")
    masks, fractions = step_masks(order_maps.to(x.device), steps)
    masks = masks[:, :, None]  # (N, S+1, 1, H, W): the same mask for every colour channel
    images = x[:, None]
    blurred = gaussian_blur(x, BLUR_SIGMA)[:, None]
    if mode == "insertion":
        batch = torch.where(masks, images, blurred)
    else:
        batch = torch.where(masks, blurred if fill == "blur" else torch.zeros_like(images), images)
    flat = batch.reshape(-1, *x.shape[1:])
    flat_targets = targets.repeat_interleave(steps + 1)
    probs = []
    with eval_mode(model), torch.no_grad():
        step = forward_batch(x.device)
        for start in range(0, flat.shape[0], step):
            p = model(flat[start : start + step]).float().softmax(dim=1)
            probs.append(p.gather(1, flat_targets[start : start + step, None])[:, 0])
    return torch.cat(probs).view(x.shape[0], steps + 1), fractions


def auc(curves: torch.Tensor, fractions: torch.Tensor) -> torch.Tensor:
    """Area under each curve (N, S+1) over the fractions in [0, 1], trapezoid rule."""
    return torch.trapezoid(curves, fractions, dim=-1)


def deletion_insertion(
    model: nn.Module, x: torch.Tensor, targets: torch.Tensor, order_maps: torch.Tensor, steps: int
) -> tuple[dict[str, float], dict[str, list[float]]]:
    """Mean deletion and insertion AUC over the images, and the mean curves themselves
    (target-class probability per step, keys "deletion" and "insertion")."""
    aucs, means = {}, {}
    for mode in ("deletion", "insertion"):
        curves, fractions = perturbation_curves(model, x, targets, order_maps, steps, mode)
        aucs[f"{mode}_auc"] = auc(curves, fractions).mean().item()
        means[mode] = [round(v, 5) for v in curves.mean(dim=0).tolist()]
    return aucs, means


def random_order(shape: Sequence[int], seed: int = METRIC_SEED) -> torch.Tensor:
    """A seeded random importance map: the random-order baseline of deletion/insertion."""
    return torch.rand(tuple(shape), generator=torch.Generator().manual_seed(seed))


@torch.inference_mode(False)  # a copy made under inference_mode could not be differentiated
def randomized_copy(model: nn.Module, seed: int = METRIC_SEED) -> nn.Module:
    """Deep copy with every module that has `reset_parameters` re-initialised (seeded).

    BatchNorm's reset also clears its running statistics. The original is untouched.
    """
    clone = copy.deepcopy(model)
    device = next(clone.parameters()).device
    with seeded(seed, device):
        for module in clone.modules():
            reset = getattr(module, "reset_parameters", None)
            if callable(reset):
                reset()
    return clone


def spearman_per_image(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Spearman rho per row of two (N, ...) arrays (average ranks for ties); NaN if a map is constant."""
    from scipy.stats import rankdata  # 0.8 s to import: only the sanity check needs it

    ra = rankdata(a.reshape(len(a), -1), axis=1)
    rb = rankdata(b.reshape(len(b), -1), axis=1)
    ra -= ra.mean(axis=1, keepdims=True)
    rb -= rb.mean(axis=1, keepdims=True)
    denom = np.sqrt((ra**2).sum(axis=1) * (rb**2).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, (ra * rb).sum(axis=1) / denom, np.nan)


def mean_abs_rho(rho: np.ndarray) -> float:
    """Mean |rho| over images whose rho is defined; NaN when none is."""
    finite = rho[np.isfinite(rho)]
    return float(np.abs(finite).mean()) if finite.size else float("nan")


def infidelity_score(
    model: nn.Module, x: torch.Tensor, targets: torch.Tensor, maps: torch.Tensor
) -> float:
    """Mean Captum infidelity (normalize=True) of (N, H, W) maps, spread to every channel."""
    attr = maps.to(x.device)[:, None].expand_as(x).contiguous()
    g = torch.Generator(device=x.device).manual_seed(METRIC_SEED)

    def perturb(inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        noise = torch.randn(inputs.shape, generator=g, device=inputs.device) * INFIDELITY_NOISE
        return noise, inputs - noise

    with eval_mode(model):
        values = infidelity(
            model,
            perturb,
            x.detach(),
            attr,
            target=targets,
            n_perturb_samples=INFIDELITY_SAMPLES,
            max_examples_per_batch=copies_per_batch(x.shape[0], INFIDELITY_SAMPLES, x.device),
            normalize=True,
        )
    return values.mean().item()


def sensitivity_score(
    model: nn.Module,
    x: torch.Tensor,
    targets: torch.Tensor,
    method: str,
    cfg: ExplainConfig,
    mean: tuple[float, ...] = CIFAR_MEAN,
) -> float:
    """Mean Captum sensitivity_max of a method: max ||map(x+d) - map(x)|| / ||map(x)||, |d|<=r."""
    fn = METHODS[method]
    g = torch.Generator(device=x.device).manual_seed(METRIC_SEED)

    def explain(inputs: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor]:
        # a tuple: captum iterates over the unperturbed explanation as one
        return (fn(model, inputs, target, cfg, mean=mean),)

    def perturb(inputs: torch.Tensor, radius: float) -> torch.Tensor:
        noise = torch.rand(inputs.shape, generator=g, device=inputs.device) * 2 - 1
        return inputs + noise * radius

    values = sensitivity_max(
        explain,
        x.detach(),
        perturb_func=perturb,
        perturb_radius=SENSITIVITY_RADIUS,
        n_perturb_samples=SENSITIVITY_SAMPLES,
        max_examples_per_batch=copies_per_batch(x.shape[0], SENSITIVITY_SAMPLES, x.device),
        target=targets,
    )
    return values.mean().item()


def faithfulness(
    model: nn.Module,
    x: torch.Tensor,
    targets: torch.Tensor,
    maps: Mapping[str, torch.Tensor],
    cfg: ExplainConfig,
    mean: tuple[float, ...] = CIFAR_MEAN,
) -> tuple[dict[str, float], dict[str, bool], dict[str, dict[str, list[float]]]]:
    """All metrics for the raw maps of each method on images x: `xai.<method>.<metric>` keys
    (plus `metrics_seconds`, the time they took), flags `xai.<method>.sanity_failed`, and
    the mean deletion/insertion curves per method and for the random order ("random"),
    each over `cfg.metric_steps + 1` equal fractions of the pixels from 0 to 1.
    The random-order baseline is computed once and reported under every method."""
    metrics: dict[str, float] = {}
    flags: dict[str, bool] = {}
    rand = random_order((x.shape[0], *x.shape[-2:]))
    baseline, random_curves = deletion_insertion(model, x, targets, rand, cfg.metric_steps)
    curves = {"random": random_curves}
    random_model = randomized_copy(model)
    for method, raw in maps.items():
        started = time.perf_counter()
        key = f"xai.{method}."
        aucs, curves[method] = deletion_insertion(model, x, targets, raw, cfg.metric_steps)
        for name, value in aucs.items():
            metrics[key + name] = value
            metrics[key + name + "_random"] = baseline[name]
        random_maps = METHODS[method](random_model, x, targets, cfg, mean=mean)
        rho = mean_abs_rho(spearman_per_image(raw.cpu().numpy(), random_maps.cpu().numpy()))
        metrics[key + "sanity_spearman"] = rho
        flags[key + "sanity_failed"] = bool(rho > SANITY_MAX_ABS_RHO)  # NaN -> not flagged
        metrics[key + "infidelity"] = infidelity_score(model, x, targets, raw)
        if method in SENSITIVITY_METHODS:
            metrics[key + "sensitivity_max"] = sensitivity_score(
                model, x, targets, method, cfg, mean
            )
        metrics[key + "metrics_seconds"] = time.perf_counter() - started
    return metrics, flags, curves
