"""Which files and labels make up CIFAR-10 in the layouts ablate reads (pure: no I/O).

The image-folder layout (`[nest/]train/<class>/*`, `[nest/]test/<class>/*`) and seed
000's labels CSV are parsed here; `lightning_modules.data` reads and decodes the files.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from lightning_modules.cifar import CIFAR10_CLASSES
from lightning_modules.errors import DataError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
SPLITS = ("train", "test")
TORCHVISION_FOLDER = "cifar-10-batches-py"
TORCHVISION_ARCHIVE = "cifar-10-python.tar.gz"

HOW_TO_POINT = (
    "Point ablate at a local copy with the `--data PATH` flag, the YAML key `data.source`, "
    "or the environment variable ABLATE_DATA. Accepted: a .zip or folder with "
    "train/<class>/ and test/<class>/ image folders "
    "(PNG or JPEG of one size, 8 px or more, grey or RGB, at the top or one "
    "folder down), a folder of PNGs with a labels CSV (or the CSV itself), or a folder "
    f"holding torchvision's {TORCHVISION_FOLDER}/ or {TORCHVISION_ARCHIVE} "
    "(CIFAR-100: cifar-100-python/ or cifar-100-python.tar.gz, with data.format: cifar100)."
)


# caps that refuse a zip bomb (or a wrong file) before anything is decompressed
MAX_IMAGE_BYTES = 16 << 20  # a 32x32 image is a few KB; a 1024x1024 RGB PNG at most 3 MB
MAX_TOTAL_BYTES = 2 << 30  # the PNG copy of CIFAR-10 is about 150 MB


def check_zip_entries(entries: Sequence[tuple[str, int]], where: str) -> None:
    """Refuse a zip whose entry names escape it (absolute, `..`, a drive letter), or whose
    images are too large uncompressed. `entries` are (name, uncompressed size)."""
    for name, _ in entries:
        parts = name.replace("\\", "/").split("/")
        if name.startswith(("/", "\\")) or ".." in parts or name[1:2] == ":":
            raise DataError(
                f"{where}: refused: the entry {name!r} points outside the archive "
                "(an absolute path or '..'). Re-create the zip with relative paths."
            )
    check_sizes([(n, size) for n, size in entries if n.lower().endswith(IMAGE_SUFFIXES)], where)


def check_sizes(entries: Iterable[tuple[str, int]], where: str) -> None:
    """Refuse any image over MAX_IMAGE_BYTES, or images adding up to over MAX_TOTAL_BYTES."""
    total = 0
    for name, size in entries:
        if size > MAX_IMAGE_BYTES:
            raise DataError(
                f"{where}: refused: {name} is {size:,} bytes (uncompressed); an "
                f"image file must be under {MAX_IMAGE_BYTES:,} bytes."
            )
        total += size
    if total > MAX_TOTAL_BYTES:
        raise DataError(
            f"{where}: refused: its images add up to {total:,} bytes (uncompressed), over the "
            f"cap of {MAX_TOTAL_BYTES:,} bytes for an image dataset."
        )


# ---------------------------------------------------------------- image folder


@dataclass(frozen=True)
class FolderLayout:
    """Which files make up each split of an image folder, with their labels."""

    classes: tuple[str, ...]
    train: tuple[tuple[str, int], ...]  # (path inside the source, label)
    test: tuple[tuple[str, int], ...]


def imagefolder_layout(paths: Iterable[str], where: str) -> FolderLayout:
    """Find `[nest/]train/<class>/<file>` and `[nest/]test/<class>/<file>` among `paths`.

    `paths` are posix paths relative to the source; `nest` is empty or one folder, the
    shallowest holding both splits wins. Files sort by name within a class; classes sort
    by name, which gives the standard CIFAR-10 order for the usual names.
    """
    found: dict[str, dict[str, dict[str, list[str]]]] = {}  # nest -> split -> class -> files
    for path in paths:
        parts = path.split("/")
        if any(p.startswith(".") or p == "__MACOSX" for p in parts):
            continue
        if not parts[-1].lower().endswith(IMAGE_SUFFIXES) or len(parts) not in (3, 4):
            continue
        split, cls = parts[-3], parts[-2]
        if split in SPLITS:
            nest = "/".join(parts[:-3])
            found.setdefault(nest, {}).setdefault(split, {}).setdefault(cls, []).append(path)
    nests = sorted(
        (n for n, s in found.items() if set(s) == set(SPLITS)), key=lambda n: (n != "", n)
    )
    if not nests:
        raise DataError(
            f"{where} has no train/<class>/ and test/<class>/ folders of images (looked at the "
            f"top and one folder down). {HOW_TO_POINT}"
        )
    if len(nests) > 1 and nests[0] != "":
        raise DataError(
            f"{where} holds several datasets ({', '.join(nests)}); point data.source at one."
        )
    splits = found[nests[0]]
    classes = tuple(sorted(splits["train"]))
    extra = sorted(set(splits["test"]) - set(classes))
    if extra:
        raise DataError(f"{where}: test classes {extra} have no train folder.")
    index = {c: i for i, c in enumerate(classes)}

    def files(split: str) -> tuple[tuple[str, int], ...]:
        return tuple((f, index[c]) for c in sorted(splits[split]) for f in sorted(splits[split][c]))

    return FolderLayout(classes, files("train"), files("test"))


# ---------------------------------------------------------------- labels CSV


@dataclass(frozen=True)
class LabelRow:
    image: str  # an id ("12") or a file name ("12.png")
    label: str
    split: str | None  # "train", "test", or None when the CSV has no split column


def parse_labels_csv(text: str, where: str) -> list[LabelRow]:
    """Rows of a labels CSV: (image id or file name, label[, split]), header optional.

    The first row is a header when its first cell is neither an integer nor an image name.
    """
    rows = [
        [c.strip() for c in r] for r in csv.reader(io.StringIO(text)) if any(c.strip() for c in r)
    ]
    if rows and not (is_int(rows[0][0]) or rows[0][0].lower().endswith(IMAGE_SUFFIXES)):
        rows = rows[1:]
    if not rows:
        raise DataError(f"{where} has no label rows.")
    out: list[LabelRow] = []
    for line, row in enumerate(rows, start=1):
        if len(row) not in (2, 3):
            raise DataError(
                f"{where}: row {line} has {len(row)} columns; expected 2 (image, label) or 3 "
                "(image, label, split)."
            )
        split = row[2].lower() if len(row) == 3 else None
        if split is not None and split not in SPLITS:
            raise DataError(f"{where}: row {line} has split {row[2]!r}; use train or test.")
        out.append(LabelRow(row[0], row[1], split))
    return out


def encode_labels(
    labels: Sequence[str], where: str = "labels"
) -> tuple[list[int], tuple[str, ...]]:
    """Label strings -> (class indices, class names).

    Names sort alphabetically. Integers keep their numeric order and become `str(i)`,
    except exactly 0..9, which become the CIFAR-10 names (airplane ... truck).
    """
    names = set(labels) - {s for s in labels if is_int(s)}
    known = names & set(CIFAR10_CLASSES)
    if known and names != known:  # CIFAR-10 names with a typo among them
        row = next(i for i, s in enumerate(labels, start=1) if s in names - known)
        raise DataError(
            f"{where}: label row {row} has the unknown class {labels[row - 1]!r}; the other "
            f"labels are CIFAR-10 classes: {', '.join(CIFAR10_CLASSES)}."
        )
    if all(is_int(s) for s in labels):
        values = [int(s) for s in labels]
        distinct = sorted(set(values))
        if distinct == list(range(len(CIFAR10_CLASSES))):
            return values, CIFAR10_CLASSES
        index = {v: i for i, v in enumerate(distinct)}
        return [index[v] for v in values], tuple(str(v) for v in distinct)
    classes = tuple(sorted(set(labels)))
    index_of = {c: i for i, c in enumerate(classes)}
    return [index_of[s] for s in labels], classes


def is_int(s: str) -> bool:
    try:
        int(s)
    except ValueError:
        return False
    return True


def image_key(name: str) -> str:
    """Match "12", "012", "12.png" and "sub/12.png" to the same image."""
    stem = Path(name).stem if name.lower().endswith(IMAGE_SUFFIXES) else name
    return str(int(stem)) if is_int(stem) else stem
