"""Scoped access to a model's internals: eval mode, forward hooks, layer outputs.

Everything that changes a model's state (train/eval flags, hooks) does so in a
context manager that restores it, even when the body raises.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn

from explain.errors import ExplainConfigError


@contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Put every submodule in eval mode (BatchNorm, dropout) and restore each one's flag after."""
    flags = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield model
    finally:
        for m, was_training in flags:
            m.training = was_training


@contextmanager
def capture_outputs(modules: Mapping[str, nn.Module]) -> Iterator[dict[str, torch.Tensor]]:
    """Record the output of each module on every forward; hooks are removed on exit.

    Yields a dict name -> last output (not detached: CAM and tests may need the graph).
    """
    store: dict[str, torch.Tensor] = {}
    handles = []

    def saver(name: str) -> Any:
        def hook(_module: nn.Module, _inputs: Any, output: Any) -> None:
            if not isinstance(output, torch.Tensor):
                raise TypeError(f"layer {name!r} returned {type(output).__name__}, not a tensor")
            store[name] = output

        return hook

    try:
        for name, module in modules.items():
            handles.append(module.register_forward_hook(saver(name)))
        yield store
    finally:
        for handle in handles:
            handle.remove()


def resolve_module(model: nn.Module, name: str) -> nn.Module:
    """`model.get_submodule(name)`, with an ExplainConfigError that lists valid names."""
    try:
        return model.get_submodule(name)
    except AttributeError:
        names = [n for n, _ in model.named_modules() if n]
        shown = ", ".join(names[:20]) + (" ..." if len(names) > 20 else "")
        raise ExplainConfigError(
            f"no layer named {name!r} in {type(model).__name__}; known: {shown}"
        ) from None


def default_layers(model: nn.Module) -> list[str]:
    """Output of every block of `model.features`; else every Conv2d, for other models."""
    features = getattr(model, "features", None)
    if isinstance(features, nn.Sequential):
        return [f"features.{i}" for i in range(len(features))]
    return [n for n, m in model.named_modules() if isinstance(m, nn.Conv2d)]


def feature_maps(
    model: nn.Module, x: torch.Tensor, layers: Sequence[str] = ()
) -> dict[str, torch.Tensor]:
    """Outputs (N, C, h, w) of the named layers (default: `default_layers`) for images x, on CPU."""
    names = list(layers) or default_layers(model)
    modules = {name: resolve_module(model, name) for name in names}
    with eval_mode(model), torch.no_grad(), capture_outputs(modules) as store:
        model(x)
    out = {}
    for name in names:
        fmap = store[name].detach().float()
        if fmap.dim() != 4:
            raise ExplainConfigError(
                f"layer {name!r} outputs shape {tuple(fmap.shape)}; feature maps need (N, C, h, w)"
            )
        out[name] = fmap.cpu()
    return out


def top_channels(fmap: torch.Tensor, k: int) -> list[int]:
    """Indices of the k channels of (N, C, h, w) with the largest mean activation, descending."""
    means = fmap.detach().float().mean(dim=(0, 2, 3))
    return torch.argsort(means, descending=True, stable=True)[:k].tolist()
