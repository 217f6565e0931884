"""`ablate explain RUN`: a logged run's model explained on the user's own images.

Needs only the tracking store: the model, its config and its class names come from the
run's checkpoint, so a run trained on another machine works the same. RUN is the whole
run id or any unique prefix of it (the sweep's table prints 12 characters). Images are
files, shell globs or folders (a folder's images, sorted by name), resized to the run's
input size and channels; without any, the run's own probe images are used: those stored
in its explain/maps.npz, or, for a run trained with explanations off, the same probe
images picked from the data that `--data` points at. Reading creates no store.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ablate.errors import AblateError, ConfigError
from ablate.runtime import console
from ablate.store import Tracker, schema

if TYPE_CHECKING:  # torch loads only once the run is found: a bad request is answered fast
    import torch
    from PIL import Image as PILImage

    from ablate.spaces import RunConfig

MAPS = schema.MAPS
# what a folder given to --image contributes (any case); other files in it are ignored
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")


def image_files(paths: Sequence[Path]) -> list[Path]:
    """The image files that --image names: a file as given, a folder as its images
    (IMAGE_SUFFIXES, not recursive, sorted by name), in the order given."""
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            inside = sorted(
                (f for f in p.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES and f.is_file()),
                key=lambda f: f.name,
            )
            if not inside:
                raise AblateError(
                    f"--image {p}: the folder holds no image ({', '.join(IMAGE_SUFFIXES)})."
                )
            out += inside
        else:
            out.append(p)
    return out


def open_image(path: Path) -> PILImage.Image:
    """An image file, decoded (so a bad file fails before the model loads)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            im.load()
            return im.copy()
    except FileNotFoundError:
        raise AblateError(f"--image {path}: no such file.") from None
    except (UnidentifiedImageError, OSError) as e:
        raise AblateError(f"--image {path}: not an image Pillow can read ({e}).") from None


def model_input_size(cfg: RunConfig) -> tuple[int, int]:
    """(height, width) in pixels that the run's network takes."""
    size: Any = cfg.model.image_size
    return (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))


def to_input(im: PILImage.Image, size: tuple[int, int], channels: int) -> torch.Tensor:
    """A decoded image as float [0, 1] (channels, H, W): grey or RGB as the network takes
    it, resized (bicubic) to `size` = (H, W) when it differs."""
    import numpy as np
    import torch
    from PIL import Image

    pic = im.convert("L" if channels == 1 else "RGB")
    if pic.size != (size[1], size[0]):
        pic = pic.resize((size[1], size[0]), Image.Resampling.BICUBIC)
    arr = np.asarray(pic, dtype=np.uint8).copy()
    arr = arr[:, :, None] if arr.ndim == 2 else arr
    return torch.from_numpy(arr).permute(2, 0, 1).float() / 255


def output_names(files: Sequence[Path]) -> list[str]:
    """A name per image for its output files: the file's stem, or folder_stem where two
    images share a stem (imgs/a/0.png and imgs/b/0.png), numbered if even that repeats."""
    stems = Counter(f.stem for f in files)
    names = [f.stem if stems[f.stem] == 1 else f"{f.parent.name}_{f.stem}" for f in files]
    counts, seen = Counter(names), Counter[str]()
    out = []
    for n in names:
        seen[n] += 1
        out.append(n if counts[n] == 1 else f"{n}_{seen[n]}")
    return out


def target_class(given: str | None, classes: Sequence[str]) -> int | None:
    """--class-id as an index (0-based) or a class name (any case); None = predicted."""
    if given is None:
        return None
    text = given.strip()
    listed = ", ".join(f"{i}={c}" for i, c in enumerate(classes))
    if text.lstrip("-").isdigit():
        index = int(text)
        if not 0 <= index < len(classes):
            raise ConfigError(
                f"--class-id {given}: out of range; the model has {len(classes)} classes: {listed}."
            )
        return index
    by_name = {c.lower(): i for i, c in enumerate(classes)}
    if text.lower() not in by_name:
        raise ConfigError(
            f"--class-id {given!r}: not one of the run's classes; give a name or an index: "
            f"{listed}."
        )
    return by_name[text.lower()]


def chosen_methods(net: torch.nn.Module, asked: Sequence[str], cfg: RunConfig) -> list[str]:
    """The methods to draw. One asked for that does not apply to the run's network (CAM on
    a flatten head) says why, as the report does; when none of those asked applies it is
    the user's request that is wrong: ConfigError (exit 2). Without --method, the run's
    own methods, the inapplicable ones named and skipped."""
    from explain.attributions import applicable_methods

    keep, skipped = applicable_methods(net, asked or cfg.explain.methods, cfg.explain)
    if asked and not keep:
        raise ConfigError(
            "; ".join(
                f"--method {m}: does not apply to this run ({why})" for m, why in skipped.items()
            )
            + "."
        )
    for m, why in skipped.items():
        console.print(f"{m}: n/a for this run, skipped ({why})")
    return keep


def probe_images(
    tracker: Tracker, run_id: str, cfg: RunConfig, data: str | None
) -> tuple[torch.Tensor, list[str]]:
    """The run's probe images: from its explain/maps.npz, else picked from `data`.
    Only a missing maps.npz means "explanations were off"; a store that cannot be
    reached or read raises its own error."""
    import numpy as np
    import torch

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
    class_id: str | int | None,
    methods: Sequence[str],
    out: Path,
    data: str | None,
    tracking_uri: str,
) -> list[Path]:
    """Write `<name>_panel.png`, `<name>_<method>.png` and `<name>_<method>.npy` under `out`.

    run_id: the whole id or a unique prefix; images: files or folders; class_id: an index
    or a class name (None: the predicted class). The store is only read. What the user
    got wrong (a method, an image, the run id, the store) is found before torch loads."""
    from explain.methods import NAMES

    unknown = [m for m in methods if m not in NAMES]
    if unknown:
        raise ConfigError(
            f"--method {', '.join(unknown)}: unknown; known methods: {', '.join(NAMES)}."
        )
    files_in = image_files(images)
    decoded = [open_image(p) for p in files_in]
    tracker = Tracker.reading(tracking_uri)
    full = tracker.find_run_id(run_id)
    return _explain_run(tracker, full, files_in, decoded, class_id, methods, out, data)


def _explain_run(
    tracker: Tracker,
    run_id: str,
    files_in: Sequence[Path],
    decoded: Sequence[PILImage.Image],
    class_id: str | int | None,
    methods: Sequence[str],
    out: Path,
    data: str | None,
) -> list[Path]:
    import torch

    from ablate.store import model_from_checkpoint, run_checkpoint
    from explain.pipeline import explain_images
    from lightning_modules.cifar import CIFAR10_CLASSES, CIFAR_MEAN

    _, ckpt = run_checkpoint(run_id, tracker.uri)
    net, cfg = model_from_checkpoint(ckpt)
    classes = tuple(ckpt.get("classes") or CIFAR10_CLASSES)
    target = target_class(None if class_id is None else str(class_id), classes)
    if files_in:
        size, channels = model_input_size(cfg), cfg.model.in_channels
        x = torch.stack([to_input(im, size, channels) for im in decoded])
        names = output_names(files_in)
        for p, im in zip(files_in, decoded, strict=True):
            if im.size != (size[1], size[0]):
                console.print(
                    f"{p}: resized from {im.size[0]}x{im.size[1]} to {size[1]}x{size[0]} "
                    "(the model's input size)"
                )
    else:
        x, names = probe_images(tracker, run_id, cfg, data)
        console.print(f"no --image given: explaining the run's {len(names)} probe images")
    chosen = chosen_methods(net, methods, cfg)
    ecfg = cfg.explain.model_copy(update={"methods": tuple(chosen)})
    what = "the predicted class" if target is None else f"class {target} ({classes[target]})"
    # the "mean" baseline of Integrated Gradients: the run's own training-set mean, which
    # its first layer carries (one value per channel: grey runs have one)
    norm = getattr(net, "normalize", None)
    mean = getattr(norm, "mean", None)
    files = explain_images(
        net,
        x,
        classes,
        ecfg,
        out,
        names,
        target=target,
        mean=tuple(float(v) for v in mean.flatten()) if mean is not None else CIFAR_MEAN,
    )
    console.print(f"run {run_id}: {len(files)} files for {what} in {out}/")
    for f in files:
        console.print(f"  {f}")
    return files
