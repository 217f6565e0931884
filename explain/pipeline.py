"""Explanations for one trained run, and for user images: maps, metrics, pictures, files.

The sweep calls `explain.trained.explain_model` after training, which picks the images
and calls `explain_run`; `ablate explain` calls `explain_images`. Both compute the *raw* maps once (batched), save those, and
draw the `postprocess`-ed ones. Methods that do not apply to the model (CAM on a
flatten head) are skipped and the reason is written to metrics.json.

The entry points run with `torch.inference_mode(False)`: a caller inside Lightning's
test loop (inference mode) still gets tensors that autograd can differentiate.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from explain import pictures
from explain.attributions import METHODS, applicable_methods, forward_batch
from explain.config import ExplainConfig
from explain.errors import ExplainConfigError
from explain.feature_maps import eval_mode, feature_maps, top_channels
from explain.methods import MISTAKES_SHOWN
from explain.metrics import faithfulness
from explain.postprocess import CONVENTION, postprocess
from lightning_modules.cifar import CIFAR_MEAN

FEATURE_MAP_IMAGES = 4  # probe images shown in each feature-map grid
FEATURE_MAP_CHANNELS = 12  # most active channels shown per layer
TOP_K = 3  # classes listed in a panel


@dataclass(frozen=True)
class ExplainResult:
    metrics: dict[str, float]  # xai.<method>.<metric>, xai.<method>.seconds, xai.seconds_total
    flags: dict[str, bool]  # xai.<method>.sanity_failed
    files: list[Path]  # everything written under out_dir
    seconds: float
    probe_indices: tuple[int, ...] = ()  # the test indices of the probe set explained


def predict(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Softmax probabilities (N, classes) in eval mode, on x's device."""
    with eval_mode(model), torch.no_grad():
        step = forward_batch(x.device)
        chunks = [model(x[i : i + step]) for i in range(0, len(x), step)]
    return torch.cat(chunks).float().softmax(dim=1)


def _timed_maps(
    model: nn.Module,
    x: torch.Tensor,
    targets: torch.Tensor,
    methods: Sequence[str],
    cfg: ExplainConfig,
    mean: tuple[float, ...],
) -> tuple[dict[str, torch.Tensor], dict[str, float]]:
    maps, seconds = {}, {}
    for method in methods:
        started = time.perf_counter()
        # .cpu() also waits for an accelerator, so the time is the method's own
        maps[method] = METHODS[method](model, x, targets, cfg, mean=mean).float().cpu()
        seconds[method] = time.perf_counter() - started
    return maps, seconds


@torch.inference_mode(False)
def compute_maps(
    model: nn.Module,
    x: torch.Tensor,
    targets: torch.Tensor | None,
    methods: Sequence[str],
    cfg: ExplainConfig,
    mean: tuple[float, ...] = CIFAR_MEAN,
) -> dict[str, torch.Tensor]:
    """Raw maps per method, each (N, H, W) float32 on CPU; targets None = predicted class.

    Raises MethodNotApplicable for a method the model does not support (see
    `applicable_methods` to filter first).
    """
    if targets is None:
        targets = predict(model, x).argmax(dim=1)
    return _timed_maps(model, x, targets.to(x.device).long(), methods, cfg, mean)[0]


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def _top(probs: torch.Tensor, classes: Sequence[str]) -> list[tuple[str, float]]:
    p, c = probs.topk(min(TOP_K, len(probs)))
    return [(classes[int(i)], float(v)) for v, i in zip(p, c, strict=True)]


def _feature_map_files(
    model: nn.Module, x: torch.Tensor, cfg: ExplainConfig, out_dir: Path
) -> list[Path]:
    x = x[:FEATURE_MAP_IMAGES]
    files = []
    images = pictures.to_uint8(x)
    for layer, fmap in feature_maps(model, x, cfg.feature_map_layers).items():
        channels = top_channels(fmap, FEATURE_MAP_CHANNELS)
        chosen = fmap[:, channels]
        scaled = postprocess(chosen.flatten(0, 1), "activation").view_as(chosen).numpy()
        path = out_dir / f"feature_maps_{_safe(layer)}.png"
        files.append(pictures.feature_map_grid(path, images, scaled, layer, channels))
    return files


@torch.inference_mode(False)
def explain_run(
    model: nn.Module,
    probe_x: torch.Tensor,
    probe_y: torch.Tensor,
    probe_idx: torch.Tensor,
    wrong_x: torch.Tensor,
    wrong_y: torch.Tensor,
    wrong_idx: torch.Tensor,
    classes: Sequence[str],
    cfg: ExplainConfig,
    out_dir: Path,
    mean: tuple[float, ...] = CIFAR_MEAN,
) -> ExplainResult:
    """Everything for one trained run: maps for probe (+ mistakes), metrics on the probe set,
    pictures, maps.npz, metrics.json.

    x tensors are float [0, 1] (N, 3, H, W) on the model's device; maps explain the
    predicted class. The model is used in eval mode and its train/eval flags restored;
    neither it nor the inputs are modified. `xai.<method>.seconds` is the time to map
    the probe and mistake images together (one batch). Whether to call this at all
    (`cfg.enabled`) is the caller's decision.
    """
    started = time.perf_counter()
    if len(probe_x) + len(wrong_x) == 0:
        raise ValueError("explain_run needs at least one probe or misclassified image")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    n_probe = len(probe_x)
    parts = [(probe_x, probe_y, probe_idx)] + (
        [(wrong_x, wrong_y, wrong_idx)] if len(wrong_x) else []
    )
    x = torch.cat([p[0] for p in parts]).detach().clone()
    labels = torch.cat([p[1].reshape(-1) for p in parts]).long().cpu()
    indices = torch.cat([p[2].reshape(-1) for p in parts]).long().cpu()
    mistake = torch.arange(len(x)) >= n_probe

    probs = predict(model, x)
    targets = probs.argmax(dim=1)
    methods, skipped = applicable_methods(model, cfg.methods, cfg)
    maps, seconds = _timed_maps(model, x, targets, methods, cfg, mean)
    metrics = {f"xai.{m}.seconds": s for m, s in seconds.items()}
    flags: dict[str, bool] = {}
    curves: dict[str, dict[str, list[float]]] = {}
    if cfg.metrics and n_probe:
        probe_maps = {m: v[:n_probe] for m, v in maps.items()}
        more, flags, curves = faithfulness(
            model, x[:n_probe], targets[:n_probe], probe_maps, cfg, mean
        )
        metrics.update(more)

    probs, targets = probs.cpu(), targets.cpu()
    images = pictures.to_uint8(x)
    display = {m: postprocess(v, m).numpy() for m, v in maps.items()}
    files: list[Path] = []
    for i in range(len(x)):
        kind = "wrong" if mistake[i] else "probe"
        title = (
            f"{kind} #{int(indices[i])}   true: {classes[int(labels[i])]}   "
            f"explained: {classes[int(targets[i])]}"
        )
        files.append(
            pictures.panel(
                out_dir / "panels" / f"{kind}_{int(indices[i])}.png",
                images[i],
                {m: d[i] for m, d in display.items()},
                _top(probs[i], classes),
                title,
            )
        )
    captions = [
        f"true: {classes[int(y)]}\npred: {classes[int(t)]} {float(p[t]):.2f}"
        for y, t, p in zip(labels, targets, probs, strict=True)
    ]
    if n_probe:
        for m, d in display.items():
            path = out_dir / f"grid_{m}.png"
            files.append(pictures.method_grid(path, images[:n_probe], d[:n_probe], m, captions))
        files += _feature_map_files(model, x[:n_probe], cfg, out_dir)
    if mistake.any():
        shown = MISTAKES_SHOWN if MISTAKES_SHOWN in display else next(iter(display), None)
        files.append(
            pictures.mistakes_gallery(
                out_dir / "mistakes.png",
                images[n_probe:],
                display[shown][n_probe:] if shown else None,
                captions[n_probe:],
                shown or "",
            )
        )

    npz = out_dir / "maps.npz"
    arrays: dict[str, np.ndarray] = {m: v.numpy().astype(np.float32) for m, v in maps.items()}
    arrays |= {
        "images": images,
        "targets": targets.numpy(),
        "labels": labels.numpy(),
        "probs": probs.numpy().astype(np.float32),
        "indices": indices.numpy(),
        "mistake": mistake.numpy(),
    }
    np.savez_compressed(npz, **arrays)  # type: ignore[arg-type]  # numpy stubs type **kwds badly
    files.append(npz)
    metrics["xai.seconds_total"] = time.perf_counter() - started
    summary = {
        "metrics": metrics,
        "flags": flags,
        "curves": curves,  # mean deletion/insertion curves per method and for "random"
        "skipped": skipped,
        "n_probe": n_probe,
        "n_mistakes": len(x) - n_probe,
        "postprocess": {m: CONVENTION[m] for m in maps},
        "classes": list(classes),
        "config": cfg.model_dump(mode="json"),
    }
    path = out_dir / "metrics.json"
    path.write_text(json.dumps(summary, indent=2, sort_keys=True))
    files.append(path)
    seconds_taken = time.perf_counter() - started
    probe_list = tuple(int(i) for i in probe_idx.reshape(-1).tolist())
    return ExplainResult(metrics, flags, files, seconds_taken, probe_list)


@torch.inference_mode(False)
def explain_images(
    model: nn.Module,
    images: torch.Tensor,
    classes: Sequence[str],
    cfg: ExplainConfig,
    out_dir: Path,
    names: Sequence[str],
    target: int | None = None,
    mean: tuple[float, ...] = CIFAR_MEAN,
) -> list[Path]:
    """For `ablate explain`: per image a panel `<name>_panel.png` (original, each method's
    overlay, top-3), an overlay `<name>_<method>.png` and the raw map `<name>_<method>.npy`
    (float32 (H, W)) per method. target None = predicted class. Inapplicable methods are skipped.
    """
    if len(names) != len(images):
        raise ExplainConfigError(f"{len(images)} images but {len(names)} names")
    if target is not None and not 0 <= target < len(classes):
        raise ExplainConfigError(f"target class {target} out of range 0..{len(classes) - 1}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    x = images.detach().clone()
    probs = predict(model, x)
    targets = probs.argmax(dim=1) if target is None else torch.full_like(probs[:, 0], target).long()
    methods, _skipped = applicable_methods(model, cfg.methods, cfg)
    maps = compute_maps(model, x, targets, methods, cfg, mean)
    probs, targets = probs.cpu(), targets.cpu()
    pics = pictures.to_uint8(x)
    display = {m: postprocess(v, m).numpy() for m, v in maps.items()}
    files: list[Path] = []
    for i, name in enumerate(names):
        name = _safe(name)
        cls = classes[int(targets[i])]
        files.append(
            pictures.panel(
                out_dir / f"{name}_panel.png",
                pics[i],
                {m: d[i] for m, d in display.items()},
                _top(probs[i], classes),
                f"{name}   explained: {cls} (p={float(probs[i, targets[i]]):.2f})",
            )
        )
        for m, d in display.items():
            files.append(
                pictures.overlay_image(out_dir / f"{name}_{m}.png", pics[i], d[i], f"{m}: {cls}")
            )
            raw = out_dir / f"{name}_{m}.npy"
            np.save(raw, maps[m][i].numpy().astype(np.float32))
            files.append(raw)
    return files
