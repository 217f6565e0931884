"""Image datasets as uint8 tensors: find the source, decode it once, cache the arrays.

Sources, chosen by `DataConfig.source` and `DataConfig.format` ("auto" detects):

- torchvision: `source` unset (download into `<cache_dir>/torchvision`), or a folder
  holding torchvision's `cifar-10-batches-py`;
- cifar100: a folder holding torchvision's `cifar-100-python/` (or its .tar.gz), read
  offline (fine labels, 100 classes, names from `meta`); `format: cifar100` without a
  source looks in (or downloads into) `<cache_dir>/torchvision`;
- imagefolder: a folder, or a .zip of one, with `train/<class>/*` and `test/<class>/*`
  (PNG or JPEG, any size from 8 px, grey or colour, one size per dataset), at the top
  or one folder down;
- png_csv: PNGs named by index (`0.png`, ...) plus a labels CSV (seed 000's layout).

A dataset is grey (1 channel) when every image is grey, else RGB (3 channels). Its
per-channel mean and std are computed on the train split at decode time and cached with
the arrays; `norm_for_model` says which normalisation the network gets (CIFAR-10's
published constants for CIFAR-10 itself, so its runs keep their numbers).

Decoded arrays are cached under `<cache_dir>/arrays/<key>.pt`; the key hashes the
format and a fingerprint of the content, so a changed source is decoded again.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import pickle
import tempfile
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.error import URLError

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torch import Tensor

from lightning_modules.cifar import CIFAR10_CLASSES, IMAGE_SIDE
from lightning_modules.cifar100 import CIFAR100_ARCHIVE, CIFAR100_FOLDER, read_cifar100
from lightning_modules.config import DataConfig
from lightning_modules.errors import DataError
from lightning_modules.layouts import (
    HOW_TO_POINT,
    IMAGE_SUFFIXES,
    SPLITS,
    TORCHVISION_ARCHIVE,
    TORCHVISION_FOLDER,
    FolderLayout,
    check_sizes,
    check_zip_entries,
    encode_labels,
    image_key,
    imagefolder_layout,
    parse_labels_csv,
)

log = logging.getLogger(__name__)

Format = Literal["torchvision", "cifar100", "imagefolder", "png_csv"]

CACHE_VERSION = (
    2  # bump when the cached payload or a decoder changes meaning (2: any size, mean/std)
)
MIN_SIDE = 8  # pixels: the smallest image height or width accepted
GREY_MODES = frozenset({"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F"})  # PIL modes


@dataclass(frozen=True)
class CifarArrays:
    """The decoded dataset, in memory (the name is historical: any image dataset)."""

    train_x: Tensor  # uint8 (N, C, H, W), C = 1 (grey) or 3 (RGB)
    train_y: Tensor  # int64 (N,), indices into `classes`
    test_x: Tensor  # uint8 (M, C, H, W)
    test_y: Tensor  # int64 (M,)
    classes: tuple[str, ...]
    source: str  # for humans and run metadata, e.g. "CIFAR-10 (JPEG copy) from /x.zip"
    # per channel, [0, 1] units, of the whole train split (computed once at decode time)
    mean: tuple[float, ...] = ()
    std: tuple[float, ...] = ()

    @property
    def shape(self) -> DataShape:
        _, c, h, w = self.train_x.shape
        return DataShape(self.classes, c, h, w)

    @property
    def is_cifar10(self) -> bool:
        """CIFAR-10 itself (any copy): its ten classes in order, 32x32 RGB."""
        return self.classes == CIFAR10_CLASSES and tuple(self.train_x.shape[1:]) == (
            3,
            IMAGE_SIDE,
            IMAGE_SIDE,
        )

    def norm_for_model(self) -> tuple[tuple[float, ...], tuple[float, ...]] | None:
        """The normalisation the network gets: None (= CIFAR-10's published constants,
        `models.normalize_layer`) for CIFAR-10 itself, so its runs keep their numbers;
        else the cached train-split mean and std."""
        if self.is_cifar10 or not self.mean:
            return None
        return self.mean, self.std


@dataclass(frozen=True)
class DataShape:
    """What the network must fit: the classes, channels and image size of a dataset."""

    classes: tuple[str, ...]
    channels: int  # 1 grey, 3 RGB
    height: int  # pixels
    width: int

    @property
    def image_size(self) -> int | tuple[int, int]:
        """As `ModelConfig.image_size` writes it: one int when square, else (H, W)."""
        return self.height if self.height == self.width else (self.height, self.width)

    def describe(self) -> str:
        kind = "grey" if self.channels == 1 else "RGB"
        return f"{len(self.classes)} classes of {self.height}x{self.width} {kind} images"


def model_fields_from_data(
    shape: DataShape, given: Mapping[str, Any], where: str, said: str = "in the space"
) -> dict[str, Any]:
    """The model fields the data decides (`num_classes`, `in_channels`, `image_size`)
    that `given` (what the space sets) leaves out; a given value that contradicts the
    data raises DataError naming both. `where` names the data in the message."""
    from_data: dict[str, Any] = {
        "num_classes": len(shape.classes),
        "in_channels": shape.channels,
        "image_size": shape.image_size,
    }
    out: dict[str, Any] = {}
    for name, value in from_data.items():
        if name not in given:
            out[name] = value
            continue
        set_to = given[name]
        same = _as_size(set_to) == _as_size(value) if name == "image_size" else set_to == value
        if same:
            continue
        shown = f"{shape.height}x{shape.width}" if name == "image_size" else str(value)
        raise DataError(
            f"model.{name} is {set_to!r} {said}, but {where} has {shown} "
            f"({shape.describe()}): remove model.{name} from the space (it then comes "
            f"from the data), or point --data at the data it was meant for."
        )
    return out


def _as_size(value: Any) -> tuple[int, int] | None:
    """An image_size value as (H, W); None when it is not one."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value, value
    if (
        isinstance(value, (list, tuple))
        and len(value) == 2
        and all(isinstance(v, int) for v in value)
    ):
        return int(value[0]), int(value[1])
    return None


@dataclass(frozen=True)
class DataSource:
    """A resolved source: what `load_cifar10` will read, and how."""

    format: Format
    path: Path  # torchvision root folder, imagefolder zip/folder, or the labels CSV
    images: Path | None = None  # png_csv: the folder holding the PNGs


# ---------------------------------------------------------------- public entry points


def load_cifar10(cfg: DataConfig) -> CifarArrays:
    """Load the configured dataset (CIFAR-10, CIFAR-100 or any image folder), decoding on
    the first call only; later calls read the cached arrays."""
    source = resolve_source(cfg)
    cache_file = Path(cfg.cache_dir).expanduser() / "arrays" / f"{cache_key(source, cfg)}.pt"
    payload = read_cache(cache_file)
    if payload is None:
        log.info("decoding %s (once; cached at %s)", source.path, cache_file)
        payload = _decode(source, cfg)
        write_cache(cache_file, payload)
    return CifarArrays(
        train_x=payload["train_x"],
        train_y=payload["train_y"],
        test_x=payload["test_x"],
        test_y=payload["test_y"],
        classes=tuple(payload["classes"]),
        source=_describe(source, payload["encoding"], tuple(payload["classes"])),
        mean=tuple(float(v) for v in payload["mean"]),
        std=tuple(float(v) for v in payload["std"]),
    )


def split_train_val(n: int, val_fraction: float, seed: int) -> tuple[Tensor, Tensor]:
    """Shuffled (train, val) index tensors over range(n); the same for the same seed.

    round(n * val_fraction) go to val, capped so that train keeps at least one index.
    """
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    n_val = min(round(n * val_fraction), max(n - 1, 0))
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    return perm[n_val:], perm[:n_val]


# ---------------------------------------------------------------- finding the source


def resolve_source(cfg: DataConfig) -> DataSource:
    """Turn `cfg.source` / `cfg.format` into a concrete format and path, or raise DataError."""
    if cfg.source is None:
        if cfg.format == "cifar100":
            return DataSource(
                "cifar100", Path(cfg.cache_dir).expanduser().resolve() / "torchvision"
            )
        if cfg.format not in ("auto", "torchvision"):
            raise DataError(
                f"data.format is {cfg.format!r} but no data.source is set. {HOW_TO_POINT}"
            )
        return DataSource("torchvision", Path(cfg.cache_dir).expanduser().resolve() / "torchvision")
    path = Path(cfg.source).expanduser().resolve()
    if not path.exists():
        raise DataError(
            f"The data source {path} does not exist. {HOW_TO_POINT} Leave it unset to "
            "download CIFAR-10 with torchvision."
        )
    fmt: Format = _detect_format(path) if cfg.format == "auto" else cfg.format
    if fmt in ("torchvision", "cifar100"):
        return DataSource(fmt, path.parent if path.is_file() else path)
    if fmt == "imagefolder":
        if path.is_file() and not zipfile.is_zipfile(path):
            raise DataError(f"{path} is not a zip file. {HOW_TO_POINT}")
        return DataSource("imagefolder", path)
    if path.is_file() and path.suffix.lower() != ".csv":
        raise DataError(f"data.format is png_csv but {path} is not a .csv file. {HOW_TO_POINT}")
    labels = path if path.is_file() else _find_labels_csv(path)
    return DataSource("png_csv", labels, images=_find_image_folder(labels.parent))


def _detect_format(path: Path) -> Format:
    if path.is_file():
        name = path.name.lower()
        if name.endswith(".zip"):
            return "imagefolder"
        if name.endswith(".csv"):
            return "png_csv"
        if name == TORCHVISION_ARCHIVE:
            return "torchvision"
        if name == CIFAR100_ARCHIVE:
            return "cifar100"
        raise DataError(f"Cannot tell the data format of the file {path}. {HOW_TO_POINT}")
    if (path / TORCHVISION_FOLDER).is_dir() or (path / TORCHVISION_ARCHIVE).is_file():
        return "torchvision"
    if (path / CIFAR100_FOLDER).is_dir() or (path / CIFAR100_ARCHIVE).is_file():
        return "cifar100"
    candidates = [path, *sorted(p for p in path.iterdir() if p.is_dir())]
    if any((p / "train").is_dir() and (p / "test").is_dir() for p in candidates):
        return "imagefolder"
    if any(path.glob("*.csv")):
        return "png_csv"
    raise DataError(
        f"The folder {path} has neither train/ and test/ folders (at the top or one level "
        f"down) nor a labels CSV nor {TORCHVISION_FOLDER}/. {HOW_TO_POINT}"
    )


def _find_labels_csv(folder: Path) -> Path:
    found = sorted(folder.glob("*.csv"))
    # seed 000's project folder also holds out.csv (predictions): prefer a name with "label"
    labelled = [p for p in found if "label" in p.name.lower()]
    if len(labelled) == 1:
        return labelled[0]
    if len(found) == 1:
        return found[0]
    if not found:
        raise DataError(f"No labels CSV (*.csv) in {folder}. {HOW_TO_POINT}")
    names = ", ".join(p.name for p in found)
    raise DataError(
        f"Several CSV files in {folder} ({names}) and none is clearly the labels file: "
        "point data.source (or --data, or ABLATE_DATA) at the CSV itself."
    )


def _find_image_folder(base: Path, max_depth: int = 2) -> Path:
    """The folder at most `max_depth` below `base` that holds the most image files."""
    counts = Counter(str(Path(rel).parent) for rel, _, _ in scan_images(base, max_depth + 1))
    if not counts:
        raise DataError(f"No PNG or JPEG files in {base} or up to two folders below it.")
    (best, n_best), *rest = counts.most_common(2)
    if rest and rest[0][1] == n_best:
        raise DataError(
            f"Two folders under {base} hold {n_best} images each ({best}, {rest[0][0]}): "
            "cannot tell which one the labels CSV refers to."
        )
    return base / best


def scan_images(root: Path, max_depth: int) -> list[tuple[str, int, int]]:
    """Sorted (relative posix path, size in bytes, mtime in ns) of the image files under `root`.

    Looks at most `max_depth` path components deep (a file directly in root is depth 1) and
    skips hidden entries and macOS `__MACOSX` folders.
    """
    found: list[tuple[str, int, int]] = []
    stack: list[tuple[Path, str, int]] = [(root, "", 1)]
    while stack:
        folder, prefix, depth = stack.pop()
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.name.startswith(".") or entry.name == "__MACOSX":
                    continue
                rel = prefix + entry.name
                if entry.is_dir():
                    if depth < max_depth:
                        stack.append((Path(entry.path), rel + "/", depth + 1))
                elif entry.name.lower().endswith(IMAGE_SUFFIXES):
                    st = entry.stat()
                    found.append((rel, st.st_size, st.st_mtime_ns))
    return sorted(found)


# ---------------------------------------------------------------- cache


def cache_key(source: DataSource, cfg: DataConfig) -> str:
    """Hash of everything that decides the decoded arrays (format and content)."""
    parts = [f"v{CACHE_VERSION}", source.format, fingerprint(source)]
    if source.format == "png_csv":  # the train/test hold-out is decided at decode time
        parts += [repr(cfg.test_fraction), str(cfg.split_seed)]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]


def fingerprint(source: DataSource) -> str:
    """A content fingerprint: file bytes for a zip or CSV, names/sizes/mtimes for folders."""
    if source.format == "torchvision":
        return f"torchvision-cifar10:{source.path}"
    if source.format == "cifar100":
        folder, archive = source.path / CIFAR100_FOLDER, source.path / CIFAR100_ARCHIVE
        if folder.is_dir():
            return "cifar100:" + fingerprint_listing(
                (f"{p.name}", p.stat().st_size, p.stat().st_mtime_ns)
                for p in folder.iterdir()
                if p.is_file()
            )
        if archive.is_file():
            return "cifar100:" + _file_sha256(archive)
        return f"cifar100:{source.path}"  # not there yet: torchvision downloads it
    if source.path.is_file():
        digest = _file_sha256(source.path)
        if source.images is None:
            return digest
        return digest + fingerprint_listing(scan_images(source.images, 1))
    return fingerprint_listing(scan_images(source.path, 4))  # [nest/]split/class/file


def fingerprint_listing(entries: Iterable[tuple[str, int, int]]) -> str:
    """sha256 over sorted (relative path, size, mtime_ns) triples."""
    h = hashlib.sha256()
    for rel, size, mtime_ns in sorted(entries):
        h.update(f"{rel}\0{size}\0{mtime_ns}\n".encode())
    return h.hexdigest()


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def read_cache(path: Path) -> dict[str, Any] | None:
    """The cached payload, or None when absent or unreadable (it is then rebuilt)."""
    if not path.is_file():
        return None
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
        _check_payload(payload)
    except (OSError, RuntimeError, EOFError, pickle.UnpicklingError, KeyError, ValueError,
            TypeError) as err:  # fmt: skip
        log.warning("ignoring unreadable cache file %s (%s: %s)", path, type(err).__name__, err)
        return None
    return dict(payload)


def write_cache(path: Path, payload: dict[str, Any]) -> None:
    """Save atomically (temp file + rename): concurrent runs never see a partial file."""
    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.stem, suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            torch.save(payload, f)
        os.replace(tmp, path)
    except OSError as err:  # a read-only cache only costs a re-decode next time
        log.warning("could not write the data cache %s: %s", path, err)
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)


def _check_payload(payload: Any) -> None:
    if not isinstance(payload, dict) or payload.get("version") != CACHE_VERSION:
        raise ValueError("not a data cache of this version")
    shapes = set()
    for split in SPLITS:
        x, y = payload[f"{split}_x"], payload[f"{split}_y"]
        if x.dtype != torch.uint8 or x.dim() != 4 or x.shape[1] not in (1, 3):
            raise ValueError(f"{split}_x has dtype {x.dtype} and shape {tuple(x.shape)}")
        if min(x.shape[2:]) < MIN_SIDE:
            raise ValueError(f"{split}_x has images of {tuple(x.shape[2:])} pixels")
        if y.dtype != torch.int64 or y.shape != (x.shape[0],):
            raise ValueError(f"{split}_y does not match {split}_x")
        shapes.add(tuple(x.shape[1:]))
    if len(shapes) != 1:
        raise ValueError(f"train and test images differ in shape: {sorted(shapes)}")
    if not all(isinstance(c, str) for c in payload["classes"]):
        raise ValueError("classes are not strings")
    channels = payload["train_x"].shape[1]
    for name in ("mean", "std"):
        stats = payload[name]
        if not isinstance(stats, list) or len(stats) != channels:
            raise ValueError(f"{name} is not one number per channel")
    if not isinstance(payload["encoding"], str):
        raise ValueError("encoding is not a string")


def _describe(source: DataSource, encoding: str, classes: tuple[str, ...] = CIFAR10_CLASSES) -> str:
    if source.format == "torchvision":
        return f"CIFAR-10 (torchvision python batches) from {source.path}"
    if source.format == "cifar100":
        return f"CIFAR-100 (torchvision python pickles) from {source.path}"
    if classes == CIFAR10_CLASSES:
        return f"CIFAR-10 ({encoding} copy) from {source.path}"
    return f"{len(classes)}-class image data ({encoding}) from {source.path}"


def channel_stats(x: Tensor) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and (population) std of uint8 images (N, C, H, W), in [0, 1] units.

    Exact, from a 256-bin histogram per channel: no float copy of the whole set.
    """
    if x.dtype != torch.uint8:
        raise TypeError(f"expected uint8 images, got {x.dtype}")
    levels = torch.arange(256, dtype=torch.float64) / 255
    means, stds = [], []
    for c in range(x.shape[1]):
        hist = torch.bincount(x[:, c].flatten(), minlength=256).cpu().to(torch.float64)
        p = hist / hist.sum()
        mean = float((p * levels).sum())
        means.append(mean)
        stds.append(float((p * (levels - mean) ** 2).sum().sqrt()))
    return tuple(means), tuple(stds)


# ---------------------------------------------------------------- memory


def available_memory() -> int | None:
    """Bytes of memory free for new data (Linux MemAvailable), or None when unknown.
    A seam: tests replace it to fake a small machine."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024  # the file counts kB
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, AttributeError):
        return None


def check_memory(n: int, channels: int, height: int, width: int, where: str) -> None:
    """Refuse, before decoding, data whose uint8 arrays would not fit in free memory.

    Setting up a run holds the decoded arrays and the train/val/test copies made from
    them at once: twice the arrays' size is needed.
    """
    size = n * channels * height * width  # bytes as uint8
    free = available_memory()
    if free is not None and 2 * size > free:
        raise DataError(
            f"{where}: refused: {n:,} images of {height}x{width}x{channels} are "
            f"{_gib(size)} as uint8 and need {_gib(2 * size)} of memory (the arrays and their "
            f"train/val/test copies), but only {_gib(free)} is free. Use fewer or smaller "
            "images, or a machine with more memory."
        )


def _gib(n: int) -> str:
    return f"{n / 2**30:.2f} GiB"


# ---------------------------------------------------------------- decoding


@dataclass
class SizeRule:
    """One size per dataset: the first image decoded sets it, every other must match."""

    first: str = ""  # the name of the image that set the size
    size: tuple[int, int] | None = None  # (width, height), as PIL gives it

    def check(self, name: str, size: tuple[int, int]) -> None:
        w, h = size
        if self.size is None:
            if min(w, h) < MIN_SIDE:
                raise DataError(
                    f"{name} is {w}x{h} pixels; images must be at least "
                    f"{MIN_SIDE}x{MIN_SIDE} (width and height)."
                )
            self.first, self.size = name, size
        elif size != self.size:
            fw, fh = self.size
            raise DataError(
                f"{name} is {w}x{h} pixels but {self.first} is {fw}x{fh}: every image of a "
                "dataset must have one size. Resize them to one size first."
            )


def peek_image(blob: bytes, name: str) -> tuple[int, int, int]:
    """(channels, height, width) of an encoded image, from its header only."""
    try:
        with Image.open(io.BytesIO(blob)) as im:
            w, h = im.size
            return (1 if im.mode in GREY_MODES else 3), h, w
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError) as err:
        raise DataError(f"{name} could not be decoded as an image: {err}") from err


def decode_images(
    blobs: Iterable[bytes], names: Sequence[str], rule: SizeRule | None = None
) -> Tensor:
    """Decode encoded images (PNG, JPEG, ...) to a uint8 (N, C, H, W) tensor.

    C is 1 when every image is grey, else 3 (grey images are repeated to RGB). Every
    image must have the size `rule` holds (the first image's when it holds none; pass
    one rule for all splits of a dataset). `names` (one per blob) serve error messages;
    an image of another size, under MIN_SIDE pixels, or that cannot be decoded raises
    DataError naming it.
    """
    rule = rule if rule is not None else SizeRule()
    out: np.ndarray | None = None  # NHW (grey so far) or NHWC, as PIL gives pixels
    for i, (blob, name) in enumerate(zip(blobs, names, strict=True)):
        try:
            with Image.open(io.BytesIO(blob)) as im:
                rule.check(name, im.size)
                arr = np.asarray(im.convert("L" if im.mode in GREY_MODES else "RGB"))
        except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError) as err:
            raise DataError(f"{name} could not be decoded as an image: {err}") from err
        if out is None:
            out = np.empty((len(names), *arr.shape), dtype=np.uint8)
        elif arr.ndim == 3 and out.ndim == 3:  # the first colour image: the set becomes RGB
            out = np.repeat(out[..., None], 3, axis=-1)
        out[i] = arr if arr.ndim == out.ndim - 1 else arr[..., None]  # grey into RGB: repeated
    if out is None:
        w, h = rule.size or (IMAGE_SIDE, IMAGE_SIDE)
        return torch.empty((0, 3, h, w), dtype=torch.uint8)
    x = torch.from_numpy(out)
    return x[:, None].contiguous() if x.dim() == 3 else x.permute(0, 3, 1, 2).contiguous()


def same_channels(*xs: Tensor) -> tuple[Tensor, ...]:
    """Grey splits repeated to RGB when another split of the dataset has colour."""
    channels = max(x.shape[1] for x in xs)
    return tuple(
        x.expand(-1, channels, -1, -1).contiguous() if x.shape[1] < channels else x for x in xs
    )


def _encoding(names: Iterable[str]) -> str:
    kinds = {"JPEG" if n.lower().endswith((".jpg", ".jpeg")) else "PNG" for n in names}
    return "/".join(sorted(kinds))


def _payload(
    train: tuple[Tensor, Tensor],
    test: tuple[Tensor, Tensor],
    classes: Sequence[str],
    encoding: str,
) -> dict[str, Any]:
    """What the cache holds: the arrays, the classes, and the train split's per-channel
    mean and std in [0, 1] units (computed here, once)."""
    train_x, test_x = same_channels(train[0], test[0])
    mean, std = channel_stats(train_x) if len(train_x) else ((0.0,) * train_x.shape[1],) * 2
    return {
        "version": CACHE_VERSION,
        "train_x": train_x,
        "train_y": train[1],
        "test_x": test_x,
        "test_y": test[1],
        "classes": list(classes),
        "encoding": encoding,
        "mean": list(mean),
        "std": list(std),
    }


def _decode(source: DataSource, cfg: DataConfig) -> dict[str, Any]:
    if source.format == "torchvision":
        return _decode_torchvision(source.path)
    if source.format == "cifar100":
        return _decode_cifar100(source.path)
    if source.format == "imagefolder":
        return _decode_imagefolder(source.path)
    assert source.images is not None
    return _decode_png_csv(source.path, source.images, cfg.test_fraction, cfg.split_seed)


def _decode_cifar100(root: Path) -> dict[str, Any]:
    if not (root / CIFAR100_FOLDER).is_dir() and not (root / CIFAR100_ARCHIVE).is_file():
        _download_cifar100(root)
    check_memory(60_000, 3, IMAGE_SIDE, IMAGE_SIDE, str(root))
    (train_x, train_y), (test_x, test_y), classes = read_cifar100(root)
    as_x = lambda a: torch.from_numpy(a)  # noqa: E731
    return _payload(
        (as_x(train_x), torch.from_numpy(train_y)),
        (as_x(test_x), torch.from_numpy(test_y)),
        classes,
        "official",
    )


def _download_cifar100(root: Path) -> None:
    from torchvision.datasets import CIFAR100  # slow to import; only a download needs it

    try:
        CIFAR100(root=str(root), train=True, download=True)
    except (URLError, OSError, RuntimeError) as err:
        raise DataError(
            f"No {CIFAR100_FOLDER}/ or {CIFAR100_ARCHIVE} in {root}, and torchvision could not "
            f"download it from {CIFAR100.url} ({type(err).__name__}: {err}). {HOW_TO_POINT}"
        ) from err


def _decode_torchvision(root: Path) -> dict[str, Any]:
    from torchvision.datasets import CIFAR10  # imported here: slow, and only this path needs it

    try:
        train = CIFAR10(root=str(root), train=True, download=True)
        test = CIFAR10(root=str(root), train=False, download=True)
    except (URLError, OSError, RuntimeError) as err:
        raise DataError(
            f"Could not get CIFAR-10 with torchvision: tried {CIFAR10.url} into {root} "
            f"({type(err).__name__}: {err}). {HOW_TO_POINT}"
        ) from err

    def arrays(ds: Any) -> tuple[Tensor, Tensor]:
        x = torch.from_numpy(np.ascontiguousarray(ds.data)).permute(0, 3, 1, 2).contiguous()
        return x, torch.as_tensor(ds.targets, dtype=torch.int64)

    return _payload(arrays(train), arrays(test), list(train.classes), "official")


# ---------------------------------------------------------------- imagefolder


def _decode_imagefolder(path: Path) -> dict[str, Any]:
    if path.is_file():
        try:
            with zipfile.ZipFile(path) as zf:
                infos = [info for info in zf.infolist() if not info.is_dir()]
                check_zip_entries([(i.filename, i.file_size) for i in infos], str(path))
                names = [i.filename for i in infos]
                return _decode_layout(imagefolder_layout(names, str(path)), zf.read, f"{path}:")
        except (zipfile.BadZipFile, EOFError, zlib.error) as err:
            raise DataError(f"{path} is a damaged zip file ({err}). {HOW_TO_POINT}") from err
    entries = scan_images(path, 4)
    check_sizes([(rel, size) for rel, size, _ in entries], str(path))
    layout = imagefolder_layout([rel for rel, _, _ in entries], str(path))
    return _decode_layout(layout, lambda rel: (path / rel).read_bytes(), f"{path}/")


def _decode_layout(
    layout: FolderLayout, read: Callable[[str], bytes], label: str
) -> dict[str, Any]:
    if len(layout.classes) < 2:
        raise DataError(
            f"{label.rstrip(':/')} has {len(layout.classes)} class folder under train/ "
            f"({', '.join(layout.classes)}); a classifier needs at least 2 classes."
        )
    first = (layout.train + layout.test)[0][0]
    c, h, w = peek_image(read(first), label + first)
    check_memory(len(layout.train) + len(layout.test), c, h, w, label.rstrip(":/"))
    rule = SizeRule()  # one size for both splits

    def split(items: Sequence[tuple[str, int]]) -> tuple[Tensor, Tensor]:
        names = [name for name, _ in items]
        x = decode_images((read(n) for n in names), [label + n for n in names], rule)
        return x, torch.tensor([y for _, y in items], dtype=torch.int64)

    encoding = _encoding(name for name, _ in layout.train + layout.test)
    return _payload(split(layout.train), split(layout.test), layout.classes, encoding)


# ---------------------------------------------------------------- png_csv


def _decode_png_csv(
    labels_csv: Path, images: Path, test_fraction: float, split_seed: int
) -> dict[str, Any]:
    rows = parse_labels_csv(labels_csv.read_text(encoding="utf-8-sig"), str(labels_csv))
    files = {image_key(rel): rel for rel, _, _ in scan_images(images, 1)}
    missing = [r.image for r in rows if image_key(r.image) not in files]
    if missing:
        raise DataError(
            f"{labels_csv} names {len(missing)} images that are not in {images}, "
            f"e.g. {missing[0]!r}."
        )
    names = [files[image_key(r.image)] for r in rows]
    y_list, classes = encode_labels([r.label for r in rows], str(labels_csv))
    if len(classes) < 2:
        raise DataError(
            f"{labels_csv}: every row has the label {classes[0]!r}; a classifier needs at "
            "least 2 classes."
        )
    c, h, w = peek_image((images / names[0]).read_bytes(), str(images / names[0]))
    check_memory(len(names), c, h, w, str(labels_csv))
    x = decode_images(((images / n).read_bytes() for n in names), [str(images / n) for n in names])
    y = torch.tensor(y_list, dtype=torch.int64)
    if any(r.split is None for r in rows):
        if any(r.split is not None for r in rows):
            raise DataError(f"{labels_csv}: some rows have a split column and some do not.")
        train_idx, test_idx = split_train_val(len(rows), test_fraction, split_seed)
        train_idx, test_idx = train_idx.sort().values, test_idx.sort().values  # keep CSV order
    else:
        is_test = torch.tensor([r.split == "test" for r in rows])
        train_idx, test_idx = (~is_test).nonzero().flatten(), is_test.nonzero().flatten()
    if len(train_idx) == 0 or len(test_idx) == 0:
        raise DataError(f"{labels_csv}: the train or the test split is empty.")
    return _payload(
        (x[train_idx], y[train_idx]), (x[test_idx], y[test_idx]), classes, _encoding(names)
    )
