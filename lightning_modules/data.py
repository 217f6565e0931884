"""CIFAR-10 as uint8 tensors: find the source, decode it once, cache the arrays.

Sources, chosen by `DataConfig.source` and `DataConfig.format` ("auto" detects):

- torchvision: `source` unset (download into `<cache_dir>/torchvision`), or a folder
  holding torchvision's `cifar-10-batches-py`;
- imagefolder: a folder, or a .zip of one, with `train/<class>/*` and `test/<class>/*`
  (PNG or JPEG, 32x32), at the top or one folder down;
- png_csv: PNGs named by index (`0.png`, ...) plus a labels CSV (seed 000's layout).

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
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.error import URLError

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torch import Tensor

from lightning_modules.cifar import IMAGE_SIDE
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

Format = Literal["torchvision", "imagefolder", "png_csv"]

CACHE_VERSION = 1  # bump when the cached payload or a decoder changes meaning


@dataclass(frozen=True)
class CifarArrays:
    """The decoded dataset, in memory."""

    train_x: Tensor  # uint8 (N, 3, 32, 32)
    train_y: Tensor  # int64 (N,), indices into `classes`
    test_x: Tensor  # uint8 (M, 3, 32, 32)
    test_y: Tensor  # int64 (M,)
    classes: tuple[str, ...]
    source: str  # for humans and run metadata, e.g. "CIFAR-10 (JPEG copy) from /x.zip"


@dataclass(frozen=True)
class DataSource:
    """A resolved source: what `load_cifar10` will read, and how."""

    format: Format
    path: Path  # torchvision root folder, imagefolder zip/folder, or the labels CSV
    images: Path | None = None  # png_csv: the folder holding the PNGs


# ---------------------------------------------------------------- public entry points


def load_cifar10(cfg: DataConfig) -> CifarArrays:
    """Load CIFAR-10 from the configured source, decoding on the first call only."""
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
        source=_describe(source, payload["encoding"]),
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
    if fmt == "torchvision":
        return DataSource("torchvision", path.parent if path.is_file() else path)
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
        raise DataError(f"Cannot tell the data format of the file {path}. {HOW_TO_POINT}")
    if (path / TORCHVISION_FOLDER).is_dir() or (path / TORCHVISION_ARCHIVE).is_file():
        return "torchvision"
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
    for split in SPLITS:
        x, y = payload[f"{split}_x"], payload[f"{split}_y"]
        if x.dtype != torch.uint8 or x.shape[1:] != (3, IMAGE_SIDE, IMAGE_SIDE):
            raise ValueError(f"{split}_x has dtype {x.dtype} and shape {tuple(x.shape)}")
        if y.dtype != torch.int64 or y.shape != (x.shape[0],):
            raise ValueError(f"{split}_y does not match {split}_x")
    if not all(isinstance(c, str) for c in payload["classes"]):
        raise ValueError("classes are not strings")
    if not isinstance(payload["encoding"], str):
        raise ValueError("encoding is not a string")


def _describe(source: DataSource, encoding: str) -> str:
    if source.format == "torchvision":
        return f"CIFAR-10 (torchvision python batches) from {source.path}"
    return f"CIFAR-10 ({encoding} copy) from {source.path}"


# ---------------------------------------------------------------- decoding


def decode_images(blobs: Iterable[bytes], names: Sequence[str]) -> Tensor:
    """Decode encoded images (PNG, JPEG, ...) to a uint8 (N, 3, 32, 32) RGB tensor.

    `names` (one per blob) only serve error messages; any image that is not 32x32 or
    cannot be decoded raises DataError naming it.
    """
    out = np.empty((len(names), IMAGE_SIDE, IMAGE_SIDE, 3), dtype=np.uint8)  # NHWC, as PIL
    for i, (blob, name) in enumerate(zip(blobs, names, strict=True)):
        try:
            with Image.open(io.BytesIO(blob)) as im:
                if im.size != (IMAGE_SIDE, IMAGE_SIDE):
                    w, h = im.size
                    raise DataError(
                        f"{name} is {w}x{h} pixels; every image must be {IMAGE_SIDE}x{IMAGE_SIDE}."
                    )
                out[i] = np.asarray(im.convert("RGB"))
        except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError) as err:
            raise DataError(f"{name} could not be decoded as an image: {err}") from err
    return torch.from_numpy(out).permute(0, 3, 1, 2).contiguous()


def _encoding(names: Iterable[str]) -> str:
    kinds = {"JPEG" if n.lower().endswith((".jpg", ".jpeg")) else "PNG" for n in names}
    return "/".join(sorted(kinds))


def _payload(
    train: tuple[Tensor, Tensor],
    test: tuple[Tensor, Tensor],
    classes: Sequence[str],
    encoding: str,
) -> dict[str, Any]:
    return {
        "version": CACHE_VERSION,
        "train_x": train[0],
        "train_y": train[1],
        "test_x": test[0],
        "test_y": test[1],
        "classes": list(classes),
        "encoding": encoding,
    }


def _decode(source: DataSource, cfg: DataConfig) -> dict[str, Any]:
    if source.format == "torchvision":
        return _decode_torchvision(source.path)
    if source.format == "imagefolder":
        return _decode_imagefolder(source.path)
    assert source.images is not None
    return _decode_png_csv(source.path, source.images, cfg.test_fraction, cfg.split_seed)


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
    def split(items: Sequence[tuple[str, int]]) -> tuple[Tensor, Tensor]:
        names = [name for name, _ in items]
        x = decode_images((read(n) for n in names), [label + n for n in names])
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
    x = decode_images(((images / n).read_bytes() for n in names), [str(images / n) for n in names])
    y_list, classes = encode_labels([r.label for r in rows], str(labels_csv))
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
