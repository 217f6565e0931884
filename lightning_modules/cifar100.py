"""CIFAR-100 from torchvision's own files, read offline (no torchvision needed to read).

The layout torchvision downloads: `cifar-100-python/` holding the pickles `train`,
`test` and `meta`, or the archive `cifar-100-python.tar.gz` that holds that folder
(read in place, never extracted). Each split pickle is a dict with `data`, uint8
(N, 3072) in channel-major order (1024 red, 1024 green, 1024 blue values per image),
and `fine_labels`; `meta` has `fine_label_names`. The pickles are Python 2 ones, so
their keys may be bytes. They are read with an unpickler that builds only plain
containers and numpy arrays: a pickle that names any other code is refused.
"""

from __future__ import annotations

import io
import pickle
import tarfile
from pathlib import Path
from typing import Any

import numpy as np

from lightning_modules.errors import DataError

CIFAR100_FOLDER = "cifar-100-python"
CIFAR100_ARCHIVE = "cifar-100-python.tar.gz"
SIDE = 32  # pixels; every CIFAR-100 image is 32x32 RGB
MAX_MEMBER_BYTES = 400 << 20  # the real train pickle is about 155 MB

# the only globals a CIFAR pickle needs: numpy's array reconstruction (numpy 1 and 2 names)
_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy._core.numeric", "_frombuffer"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),
}


class _ArraysOnly(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(f"refused to load {module}.{name}")
        return super().find_class(module, name)


def _load(blob: bytes, where: str) -> dict[str, Any]:
    try:
        obj = _ArraysOnly(io.BytesIO(blob), encoding="latin1").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as err:
        raise DataError(f"{where} is not a CIFAR-100 pickle ({err}).") from err
    if not isinstance(obj, dict):
        raise DataError(f"{where} is not a CIFAR-100 pickle (a {type(obj).__name__}, not a dict).")
    return {k.decode("latin1") if isinstance(k, bytes) else str(k): v for k, v in obj.items()}


def _field(d: dict[str, Any], name: str, where: str) -> Any:
    if name not in d:
        raise DataError(f"{where} has no {name!r} entry; keys: {', '.join(sorted(d))}.")
    return d[name]


def _read_members(root: Path) -> tuple[dict[str, bytes], str]:
    """{'train', 'test', 'meta': bytes} from the folder, else from the archive."""
    folder = root / CIFAR100_FOLDER
    names = ("train", "test", "meta")
    if folder.is_dir():
        missing = [n for n in names if not (folder / n).is_file()]
        if missing:
            raise DataError(f"{folder} lacks {', '.join(missing)} (torchvision's layout).")
        return {n: (folder / n).read_bytes() for n in names}, str(folder)
    archive = root / CIFAR100_ARCHIVE
    out: dict[str, bytes] = {}
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for n in names:
                try:
                    info = tar.getmember(f"{CIFAR100_FOLDER}/{n}")
                except KeyError:
                    raise DataError(
                        f"{archive} has no {CIFAR100_FOLDER}/{n} (torchvision's layout)."
                    ) from None
                if not info.isfile() or info.size > MAX_MEMBER_BYTES:
                    raise DataError(f"{archive}: {info.name} is not a plain file of a sane size.")
                f = tar.extractfile(info)
                assert f is not None  # a regular file
                out[n] = f.read()
    except (tarfile.TarError, OSError, EOFError) as err:
        raise DataError(f"{archive} is not a readable .tar.gz ({err}).") from err
    return out, str(archive)


def read_cifar100(
    root: Path,
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray], list[str]]:
    """((train_x, train_y), (test_x, test_y), fine class names) from `root`.

    x: uint8 (N, 3, 32, 32); y: int64 (N,) fine labels, indices into the names.
    """
    blobs, where = _read_members(root)
    meta = _load(blobs["meta"], f"{where}/meta")
    classes = [str(c) for c in _field(meta, "fine_label_names", f"{where}/meta")]
    if len(classes) < 2:
        raise DataError(f"{where}/meta names {len(classes)} fine classes; expected 100.")

    def split(name: str) -> tuple[np.ndarray, np.ndarray]:
        at = f"{where}/{name}"
        d = _load(blobs[name], at)
        data = np.asarray(_field(d, "data", at))
        labels = np.asarray(_field(d, "fine_labels", at), dtype=np.int64)
        if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * SIDE * SIDE:
            raise DataError(
                f"{at}: data is {data.dtype} {data.shape}; expected uint8 (N, {3 * SIDE * SIDE})."
            )
        if labels.shape != (len(data),) or (
            len(labels) and not 0 <= labels.min() <= labels.max() < len(classes)
        ):
            raise DataError(
                f"{at}: fine_labels do not match the data or the {len(classes)} classes."
            )
        return np.ascontiguousarray(data.reshape(-1, 3, SIDE, SIDE)), labels

    return split("train"), split("test"), classes
