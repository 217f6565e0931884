"""Attribution maps: one function per method, whole batch per call, Captum where it has the method.

Every method has the signature ``fn(model, x, targets, cfg, *, mean) -> (N, H, W)``:
x is float images in [0, 1] (N, 3, H, W), targets a (N,) long tensor of class
indices on x's device. The result is the *raw* map on x's device (see
`explain.postprocess` for the display convention). The model is switched to eval
mode for the call and restored after; x is never modified (Captum gets a clone).

CAM is only defined when the head is global average pooling directly followed by
the classifier (no hidden layer). Otherwise `cam` raises `MethodNotApplicable`;
`applicable_methods` turns that into a skip with the reason, which is what the
pipeline does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Protocol

import torch
from captum.attr import (
    IntegratedGradients,
    LayerAttribution,
    LayerGradCam,
    NoiseTunnel,
    Saliency,
)
from torch import nn

from explain.config import ExplainConfig
from explain.errors import ExplainConfigError, MethodNotApplicable
from explain.feature_maps import capture_outputs, eval_mode, resolve_module
from explain.methods import NAMES
from lightning_modules.cifar import CIFAR_MEAN

# Images per forward pass when a method or metric expands the batch (IG steps,
# SmoothGrad samples, perturbed copies). On 2 CPU cores IG for 28 images x 32 steps
# of the seed000 CNN took 0.28-0.30 s in chunks of 56-112 images, 0.36 s at 168 and
# 0.64 s at 896 (cache misses); a GPU wants large batches.
CPU_FORWARD_BATCH = 128
ACCELERATOR_FORWARD_BATCH = 1024
NOISE_SEED = 0  # SmoothGrad noise: same noise for every call, so maps are reproducible


class MethodFn(Protocol):
    def __call__(
        self,
        model: nn.Module,
        x: torch.Tensor,
        targets: torch.Tensor,
        cfg: ExplainConfig,
        *,
        mean: tuple[float, ...] = CIFAR_MEAN,
    ) -> torch.Tensor: ...


@contextmanager
def seeded(seed: int, device: torch.device) -> Iterator[None]:
    """Seed torch's RNG for the block and restore the global RNG state after."""
    cuda = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=cuda):
        torch.manual_seed(seed)
        yield


def forward_batch(device: torch.device) -> int:
    """How many images to push through the model at once on this device."""
    return CPU_FORWARD_BATCH if device.type == "cpu" else ACCELERATOR_FORWARD_BATCH


def copies_per_batch(n: int, copies: int, device: torch.device) -> int:
    """Examples per forward pass when each of n inputs is expanded into `copies`
    (IG steps, perturbations): whole multiples of the batch, since Captum needs at
    least n, up to `forward_batch` images."""
    return max(n, min(n * copies, forward_batch(device)))


@contextmanager
def _attributing(model: nn.Module, grad: bool = True) -> Iterator[None]:
    """Eval mode and autograd on, even inside a caller's no_grad or inference_mode
    (Lightning's test loop); create `_fresh` inputs inside this block."""
    with torch.inference_mode(False), torch.set_grad_enabled(grad), eval_mode(model):
        yield


def _fresh(
    x: torch.Tensor | tuple[torch.Tensor, ...], targets: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Copies Captum may use in autograd: x requiring grad (metrics pass a 1-tuple), and
    targets (an inference-mode tensor cannot be saved for backward)."""
    if isinstance(x, tuple):
        (x,) = x
    return x.detach().clone().requires_grad_(True), targets.detach().clone()


def gradcam_layer(model: nn.Module, cfg: ExplainConfig) -> nn.Module:
    """cfg.gradcam_layer if set, else `model.cam_layer`, else the last Conv2d."""
    if cfg.gradcam_layer:
        return resolve_module(model, cfg.gradcam_layer)
    layer = getattr(model, "cam_layer", None)
    if isinstance(layer, nn.Module):
        return layer
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    if not convs:
        raise MethodNotApplicable(f"{type(model).__name__} has no Conv2d layer for Grad-CAM")
    return convs[-1]


def cam_parts(model: nn.Module) -> tuple[nn.Module, nn.Linear]:
    """(layer feeding the GAP, classifier) when the head is GAP -> [Flatten/Dropout] -> Linear.

    Raises MethodNotApplicable for a flatten head, a hidden FC layer, or another model.
    """
    reason = getattr(model, "cam_not_applicable", None)  # an imported network says why
    if isinstance(reason, str):
        raise MethodNotApplicable(reason)
    layer, head, fc = (getattr(model, a, None) for a in ("cam_layer", "head", "fc"))
    if not (
        isinstance(layer, nn.Module)
        and isinstance(head, nn.Sequential)
        and isinstance(fc, nn.Linear)
    ):
        raise MethodNotApplicable(
            "cam needs a model with cam_layer, head and fc (the CNN of lightning_modules.models)"
        )
    passthrough = (nn.Flatten, nn.Dropout, nn.Identity)  # dropout is identity in eval mode
    gaps = [m for m in head if isinstance(m, nn.AdaptiveAvgPool2d) and m.output_size in (1, (1, 1))]
    others = [m for m in head if not isinstance(m, (nn.AdaptiveAvgPool2d, *passthrough))]
    if len(gaps) != 1 or others:
        kinds = " -> ".join(type(m).__name__ for m in head)
        raise MethodNotApplicable(
            f"cam needs global average pooling directly followed by the classifier; "
            f"this head is {kinds} -> Linear (use gradcam)"
        )
    return layer, fc


def saliency(
    model: nn.Module,
    x: torch.Tensor,
    targets: torch.Tensor,
    cfg: ExplainConfig,
    *,
    mean: tuple[float, ...] = CIFAR_MEAN,
) -> torch.Tensor:
    """|d logit_target / d pixel|, max over colour channels (Simonyan et al. 2014)."""
    with _attributing(model):
        x, targets = _fresh(x, targets)
        attr = Saliency(model).attribute(x, target=targets, abs=True)
    return attr.amax(dim=1).detach()


def smoothgrad(
    model: nn.Module,
    x: torch.Tensor,
    targets: torch.Tensor,
    cfg: ExplainConfig,
    *,
    mean: tuple[float, ...] = CIFAR_MEAN,
) -> torch.Tensor:
    """Mean |gradient| over `cfg.smoothgrad_samples` noisy copies, max over channels.

    Noise is N(0, cfg.smoothgrad_sigma^2) in [0, 1] pixel units, not clipped to
    [0, 1], seeded with NOISE_SEED (global RNG restored after).
    """
    with _attributing(model):
        x, targets = _fresh(x, targets)
        # noisy copies per Captum call: the batch times this stays <= forward_batch
        per_call = max(1, min(cfg.smoothgrad_samples, forward_batch(x.device) // x.shape[0]))
        with seeded(NOISE_SEED, x.device):
            attr = NoiseTunnel(Saliency(model)).attribute(  # nt_type: Captum's default, SmoothGrad
                x,
                nt_samples=cfg.smoothgrad_samples,
                nt_samples_batch_size=per_call,
                stdevs=cfg.smoothgrad_sigma,  # Captum's default 1.0 is huge for [0, 1] inputs
                target=targets,
                abs=True,
            )
    return attr.amax(dim=1).detach()


def integrated_gradients(
    model: nn.Module,
    x: torch.Tensor,
    targets: torch.Tensor,
    cfg: ExplainConfig,
    *,
    mean: tuple[float, ...] = CIFAR_MEAN,
) -> torch.Tensor:
    """IG from a black (zeros) or dataset-mean baseline, summed over channels (signed)."""
    with _attributing(model):
        x, targets = _fresh(x, targets)
        if cfg.ig_baseline == "black":
            baseline = torch.zeros_like(x)
        else:
            rgb = torch.tensor(mean, dtype=x.dtype, device=x.device)
            baseline = rgb.view(1, -1, 1, 1).expand_as(x)
        attr = IntegratedGradients(model).attribute(
            x,
            baselines=baseline,
            target=targets,
            n_steps=cfg.ig_steps,
            internal_batch_size=copies_per_batch(x.shape[0], cfg.ig_steps, x.device),
        )
    return attr.sum(dim=1).detach()


def gradcam(
    model: nn.Module,
    x: torch.Tensor,
    targets: torch.Tensor,
    cfg: ExplainConfig,
    *,
    mean: tuple[float, ...] = CIFAR_MEAN,
) -> torch.Tensor:
    """Captum LayerGradCam on `gradcam_layer`, signed (no ReLU here), bilinear to image size."""
    layer = gradcam_layer(model, cfg)
    with _attributing(model):
        x, targets = _fresh(x, targets)
        attr = LayerGradCam(model, layer).attribute(x, target=targets, relu_attributions=False)
        up = LayerAttribution.interpolate(attr, tuple(x.shape[-2:]), interpolate_mode="bilinear")
    return up[:, 0].detach()


def cam(
    model: nn.Module,
    x: torch.Tensor,
    targets: torch.Tensor,
    cfg: ExplainConfig,
    *,
    mean: tuple[float, ...] = CIFAR_MEAN,
) -> torch.Tensor:
    """CAM_c = sum_k w_ck A_k on the cam_layer output (Zhou et al. 2016), bilinear to image size.

    Only for GAP-then-linear heads (else MethodNotApplicable). Ignores cfg.gradcam_layer:
    CAM is defined on the layer that feeds the pooling. Equals the raw Grad-CAM map
    times h*w (the cam_layer's spatial size), before any ReLU.
    """
    layer, fc = cam_parts(model)
    with _attributing(model, grad=False), capture_outputs({"feeding": layer}) as store:
        x, targets = _fresh(x, targets)
        model(x)
        acts = store["feeding"]  # (N, K, h, w): the layer that feeds the pooling
        weights = fc.weight[targets]  # (N, K): class row of the classifier per image
        maps = torch.einsum("nk,nkhw->nhw", weights, acts)
        up = LayerAttribution.interpolate(
            maps[:, None], tuple(x.shape[-2:]), interpolate_mode="bilinear"
        )
    return up[:, 0]


# each registry method's function has the method's name; in the registry's order
_FUNCTIONS: dict[str, MethodFn] = {
    f.__name__: f for f in (saliency, smoothgrad, integrated_gradients, gradcam, cam)
}
METHODS: dict[str, MethodFn] = {name: _FUNCTIONS[name] for name in NAMES}

# method -> what raises MethodNotApplicable when the model does not support it
_APPLIES: dict[str, Callable[[nn.Module, ExplainConfig], object]] = {
    cam.__name__: lambda model, cfg: cam_parts(model),
    gradcam.__name__: gradcam_layer,
}


def applicable_methods(
    model: nn.Module, methods: Sequence[str], cfg: ExplainConfig
) -> tuple[list[str], dict[str, str]]:
    """Split requested methods into those that apply to this model and skipped -> reason."""
    keep, skipped = [], {}
    for name in methods:
        if name not in METHODS:
            raise ExplainConfigError(f"unknown method {name!r}; known: {', '.join(METHODS)}")
        try:
            if name in _APPLIES:
                _APPLIES[name](model, cfg)
        except MethodNotApplicable as e:
            skipped[name] = str(e)
            continue
        keep.append(name)
    return keep, skipped
