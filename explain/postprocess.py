"""The one place that turns raw maps into displayable [0, 1] maps.

Libraries disagree about ReLU and scaling (Captum's `LayerGradCam` leaves ReLU
off, pytorch-grad-cam applies it), so every picture in this package goes
through `postprocess`, and nothing else rescales or rectifies a map.
"""

from __future__ import annotations

import torch

from explain.methods import METHODS

# method -> what `postprocess` does before the per-image division by the max.
# "relu": clamp negatives to 0 (evidence against the class is not shown).
# "abs": magnitude (sign is dropped; the map is already >= 0 for gradient methods).
CONVENTION: dict[str, str] = {
    **{m.name: m.sign for m in METHODS},  # each method's own, from the registry
    "activation": "relu",  # feature maps of a layer, (N*C, h, w)
}


def postprocess(maps: torch.Tensor, method: str) -> torch.Tensor:
    """Map raw maps (N, H, W) to display maps in [0, 1]; a new tensor, input untouched.

    Convention (the only one in this package):

    - ``gradcam``, ``cam``: ReLU, then divide by the per-image max.
    - ``saliency``, ``smoothgrad``: raw maps are already |gradient| (max over
      channels); abs is a no-op, then divide by the per-image max.
    - ``integrated_gradients``: raw maps are the signed sum over colour channels;
      display uses abs, then divide by the per-image max.
    - ``activation`` (feature maps, one map per channel): ReLU, divide by the per-map max.

    A map whose max is 0 (e.g. Grad-CAM with no positive evidence) stays all 0
    rather than becoming NaN. Raw maps, not these, are what get saved to .npz.
    """
    try:
        rule = CONVENTION[method]
    except KeyError:
        raise ValueError(f"unknown method {method!r}; known: {', '.join(CONVENTION)}") from None
    if maps.dim() != 3:
        raise ValueError(f"expected maps of shape (N, H, W), got {tuple(maps.shape)}")
    out = maps.detach().float()
    out = out.clamp(min=0) if rule == "relu" else out.abs()
    peak = out.amax(dim=(1, 2), keepdim=True)
    # an all-zero map divides by 1, not 0
    return out / torch.where(peak > 0, peak, torch.ones_like(peak))
