"""`ablate explain RUN_ID`: a logged run's model explained on the user's own images.

Needs only the tracking store: the model and its config come from the run's
checkpoint, so a run trained on another machine works the same. Without
--image, the run's own probe images are used: those stored in its
explain/maps.npz, or, for a run trained with explanations off, the same probe
images picked from the data that `--data` points at.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from ablate.errors import AblateError, ConfigError
from ablate.runtime import console
from ablate.spaces import RunConfig
from ablate.store import Tracker, load_run, schema
from lightning_modules.cifar import CIFAR10_CLASSES, IMAGE_SIDE

SIDE = IMAGE_SIDE  # the networks' input size
MAPS = schema.MAPS


def read_image(path: Path) -> tuple[torch.Tensor, tuple[int, int]]:
    """An image file as float [0,1] (3, 32, 32), resized if needed; and its original size."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            rgb = im.convert("RGB")
    except FileNotFoundError:
        raise AblateError(f"--image {path}: no such file.") from None
    except (UnidentifiedImageError, OSError) as e:
        raise AblateError(f"--image {path}: not an image Pillow can read ({e}).") from None
    size = rgb.size
    if size != (SIDE, SIDE):
        rgb = rgb.resize((SIDE, SIDE), Image.Resampling.BICUBIC)
    arr = np.asarray(rgb, dtype=np.uint8).copy()
    return torch.from_numpy(arr).permute(2, 0, 1).float() / 255, size


def probe_images(
    tracker: Tracker, run_id: str, cfg: RunConfig, data: str | None
) -> tuple[torch.Tensor, list[str]]:
    """The run's probe images: from its explain/maps.npz, else picked from `data`.
    Only a missing maps.npz means "explanations were off"; a store that cannot be
    reached or read raises its own error."""
    if not tracker.has_artifact(run_id, MAPS):
        if data is None:
            raise AblateError(
                f"run {run_id} has no {MAPS} (explanations were off): give "
                "--image PATH, or --data PATH to pick its probe images from the data."
            )
        return probe_images_from_data(cfg, data)
    with tempfile.TemporaryDirectory() as tmp:
        local = tracker.download_artifact(run_id, MAPS, Path(tmp))
        with np.load(local) as npz:
            images = torch.from_numpy(npz["images"]).permute(0, 3, 1, 2).float() / 255
            indices = npz["indices"].tolist() if "indices" in npz else list(range(len(images)))
    return images, [f"test{int(i):05d}" for i in indices]


def probe_images_from_data(cfg: RunConfig, data: str) -> tuple[torch.Tensor, list[str]]:
    """The probe images a sweep would have explained: the same test indices
    (`explain.probe.probe_indices`, seed 0) of the data at `data`."""
    from explain.probe import probe_indices
    from lightning_modules.data import load_cifar10
    from lightning_modules.datamodule import make_splits

    data_cfg = cfg.data.model_copy(update={"source": data})
    splits = make_splits(load_cifar10(data_cfg), data_cfg)  # the test set the run saw
    idx = probe_indices(splits.test_y, cfg.explain.probe_per_class, seed=0)
    return splits.test_x[idx].float() / 255, [f"test{int(i):05d}" for i in idx.tolist()]


def explain_command(
    run_id: str,
    images: Sequence[Path],
    class_id: int | None,
    methods: Sequence[str],
    out: Path,
    data: str | None,
    tracking_uri: str,
) -> list[Path]:
    """Write `<name>_panel.png`, `<name>_<method>.png` and `<name>_<method>.npy` under `out`."""
    from explain.attributions import METHODS
    from explain.pipeline import explain_images

    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ConfigError(
            f"--method {', '.join(unknown)}: unknown; known methods: {', '.join(METHODS)}."
        )
    loaded = [read_image(p) for p in images]  # bad images fail before the model loads
    net, cfg = load_run(run_id, tracking_uri)
    tracker = Tracker(tracking_uri)
    classes = tuple(tracker.load_checkpoint(run_id).get("classes") or CIFAR10_CLASSES)
    if class_id is not None and not 0 <= class_id < len(classes):
        raise ConfigError(
            f"--class-id {class_id}: out of range; the model has {len(classes)} classes: "
            + ", ".join(f"{i}={c}" for i, c in enumerate(classes))
            + "."
        )
    ecfg = cfg.explain.model_copy(update={"methods": tuple(methods)}) if methods else cfg.explain
    if images:
        x = torch.stack([t for t, _ in loaded])
        names = [p.stem for p in images]
        for p, (_, (w, h)) in zip(images, loaded, strict=True):
            if (w, h) != (SIDE, SIDE):
                console.print(
                    f"{p}: resized from {w}x{h} to {SIDE}x{SIDE} (the model's input size)"
                )
    else:
        x, names = probe_images(tracker, run_id, cfg, data)
        console.print(f"no --image given: explaining the run's {len(names)} probe images")
    target = (
        "the predicted class" if class_id is None else f"class {class_id} ({classes[class_id]})"
    )
    files = explain_images(net, x, classes, ecfg, out, names, target=class_id)
    console.print(f"run {run_id}: {len(files)} files for {target} in {out}/")
    for f in files:
        console.print(f"  {f}")
    return files
