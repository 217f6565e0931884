"""Data layer: sources, cache, splits, batch augmentation, batching, the DataModule."""

from __future__ import annotations

import io
import pickle
import zipfile
from pathlib import Path
from typing import Any
from urllib.error import URLError

import lightning as L
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from lightning.pytorch.callbacks import ModelCheckpoint
from PIL import Image
from torch import nn

import lightning_modules.data as data_mod
import lightning_modules.datamodule as dm_mod
from lightning_modules.augment import augment_batch, crop_flip, random_crop_flip_params, to_float
from lightning_modules.config import DataConfig
from lightning_modules.data import load_cifar10, split_train_val
from lightning_modules.datamodule import CifarDataModule, TensorBatches, channel_stats
from lightning_modules.errors import DataError
from lightning_modules.layouts import CIFAR10_CLASSES, encode_labels, parse_labels_csv

SLICE = Path(__file__).parent / "data" / "cifar10-slice.zip"
CLASSES = ("cat", "airplane", "dog")  # deliberately unsorted: the loader sorts them


# ---------------------------------------------------------------- fixtures


def _pixels(n: int, seed: int, size: tuple[int, int] = (32, 32)) -> np.ndarray:
    """n random RGB images, uint8 (n, H, W, 3)."""
    return np.random.default_rng(seed).integers(0, 256, (n, *size, 3), dtype=np.uint8)


def _encode(img: np.ndarray, fmt: str) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format=fmt, **({"quality": 95} if fmt == "JPEG" else {}))
    return buf.getvalue()


def _imagefolder_files(
    per_split: dict[str, int], jpeg_every: int = 0
) -> tuple[dict[str, bytes], dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]]:
    """{relative path: bytes} for train/<class>/* and test/<class>/*, plus the expected
    (NHWC pixels, labels, is_jpeg) per split in loader order: sorted classes, sorted names.
    Every `jpeg_every`-th file is a JPEG (flat colour, so it decodes almost exactly)."""
    files: dict[str, bytes] = {}
    expected: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    for s, (split, n) in enumerate(per_split.items()):
        xs, ys, jpegs = [], [], []
        for label, cls in enumerate(sorted(CLASSES)):
            imgs = _pixels(n, seed=100 * s + label)
            for i, img in enumerate(imgs):
                jpeg = bool(jpeg_every) and i % jpeg_every == 0
                if jpeg:
                    img = np.broadcast_to(img[:1, :1], img.shape).copy()
                name = f"{split}/{cls}/{i:04d}." + ("JPG" if jpeg else "png")
                files[name] = _encode(img, "JPEG" if jpeg else "PNG")
                xs.append(img)
                ys.append(label)
                jpegs.append(jpeg)
        expected[split] = (np.stack(xs), np.array(ys), np.array(jpegs))
    return files, expected


def _write_folder(root: Path, files: dict[str, bytes]) -> None:
    for rel, blob in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(blob)


def _write_zip(path: Path, files: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w") as zf:
        for rel, blob in files.items():
            zf.writestr(rel, blob)


def _nchw(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(x).permute(0, 3, 1, 2)


@pytest.fixture
def small_folder(tmp_path: Path) -> Path:
    """An image folder of PNGs: 3 classes, 8 train and 4 test images each."""
    files, _ = _imagefolder_files({"train": 8, "test": 4})
    _write_folder(tmp_path / "imgs", files)
    return tmp_path / "imgs"


# ---------------------------------------------------------------- imagefolder


@pytest.mark.parametrize("container", ["folder", "zip"])
@pytest.mark.parametrize("nest", ["", "cifar10/"])
def test_imagefolder_loads_pixels_labels_and_sorted_classes(
    tmp_path: Path, container: str, nest: str
) -> None:
    files, expected = _imagefolder_files({"train": 5, "test": 3}, jpeg_every=4)
    files = {nest + rel: blob for rel, blob in files.items()}
    files["README.txt"] = b"not an image"
    if container == "zip":
        source = tmp_path / "data.zip"
        _write_zip(source, files)
    else:
        source = tmp_path / "data"
        _write_folder(source, files)

    a = load_cifar10(DataConfig(source=str(source), cache_dir=str(tmp_path / "cache")))

    assert a.classes == ("airplane", "cat", "dog")
    for split, x, y in (("train", a.train_x, a.train_y), ("test", a.test_x, a.test_y)):
        want_x, want_y, is_jpeg = expected[split]
        assert x.dtype == torch.uint8 and x.shape == (len(want_y), 3, 32, 32)
        assert y.dtype == torch.int64 and y.tolist() == want_y.tolist()
        # PNGs are lossless; the flat-colour JPEGs come back within a few levels
        diff = (x.int() - _nchw(want_x).int()).abs()
        assert is_jpeg.any() and diff[torch.from_numpy(is_jpeg)].amax().item() <= 4
        assert diff[torch.from_numpy(~is_jpeg)].amax().item() == 0
    assert "PNG" in a.source and "JPEG" in a.source and str(source) in a.source

    again = load_cifar10(DataConfig(source=str(source), cache_dir=str(tmp_path / "cache2")))
    assert torch.equal(again.train_x, a.train_x) and torch.equal(again.test_y, a.test_y)


def test_imagefolder_png_pixels_are_exact(tmp_path: Path) -> None:
    files, expected = _imagefolder_files({"train": 3, "test": 2})
    _write_folder(tmp_path / "d", files)
    a = load_cifar10(DataConfig(source=str(tmp_path / "d"), cache_dir=str(tmp_path / "c")))
    assert torch.equal(a.train_x, _nchw(expected["train"][0]))
    assert torch.equal(a.test_x, _nchw(expected["test"][0]))


def test_wrong_image_size_names_the_file(tmp_path: Path) -> None:
    files, _ = _imagefolder_files({"train": 2, "test": 2})
    files["train/dog/0001.png"] = _encode(_pixels(1, 0, size=(32, 33))[0], "PNG")
    _write_zip(tmp_path / "d.zip", files)
    with pytest.raises(DataError, match=r"train/dog/0001\.png is 33x32"):
        load_cifar10(DataConfig(source=str(tmp_path / "d.zip"), cache_dir=str(tmp_path / "c")))


def test_missing_path_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "cifar.zip"
    with pytest.raises(DataError) as err:
        load_cifar10(DataConfig(source=str(missing), cache_dir=str(tmp_path)))
    msg = str(err.value)
    assert str(missing) in msg and "does not exist" in msg
    assert "--data" in msg and "data.source" in msg and "ABLATE_DATA" in msg


def test_unrecognised_folder_is_a_data_error(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="neither train/"):
        load_cifar10(DataConfig(source=str(tmp_path / "empty"), cache_dir=str(tmp_path)))


# ---------------------------------------------------------------- png_csv


@pytest.mark.parametrize("header", [True, False])
@pytest.mark.parametrize("labels", ["names", "ints"])
@pytest.mark.parametrize("split_column", [True, False])
def test_png_csv_layout(tmp_path: Path, header: bool, labels: str, split_column: bool) -> None:
    # seed 000's layout: cifar10Labels.csv next to cifar10/cifar10/<i>.png
    n = 30
    imgs = _pixels(n, seed=7)
    png_dir = tmp_path / "cifar10" / "cifar10"
    png_dir.mkdir(parents=True)
    for i, img in enumerate(imgs):
        (png_dir / f"{i}.png").write_bytes(_encode(img, "PNG"))
    (tmp_path / "training_history.png").write_bytes(_encode(imgs[0], "PNG"))  # a stray image
    (tmp_path / "out.csv").write_text("id,prediction\n0,cat\n")  # predictions, not labels
    label_of = [i % 10 for i in range(n)]
    is_test = [i % 5 == 0 for i in range(n)]
    lines = ["id,label,split" if split_column else "id,label"] if header else []
    for i in range(n):
        label = CIFAR10_CLASSES[label_of[i]] if labels == "names" else str(label_of[i])
        row = [f"{i}.png" if i % 2 else str(i), label]
        lines.append(",".join(row + (["test" if is_test[i] else "train"] if split_column else [])))
    (tmp_path / "cifar10Labels.csv").write_text("\n".join(lines) + "\n")

    cfg = DataConfig(source=str(tmp_path), cache_dir=str(tmp_path / "cache"), split_seed=3)
    a = load_cifar10(cfg)

    assert a.classes == CIFAR10_CLASSES  # names sort to the standard order; ints 0-9 map to it
    all_x = _nchw(imgs)
    if split_column:
        train_idx = [i for i in range(n) if not is_test[i]]
        test_idx = [i for i in range(n) if is_test[i]]
    else:
        assert len(a.test_y) == round(n / 6)  # DataConfig.test_fraction default
        # recover which rows went where from the pixels (random images are distinct)
        rows = {bytes(all_x[i].flatten().tolist()): i for i in range(n)}
        train_idx = [rows[bytes(x.flatten().tolist())] for x in a.train_x]
        test_idx = [rows[bytes(x.flatten().tolist())] for x in a.test_x]
        assert sorted(train_idx + test_idx) == list(range(n))
        assert train_idx == sorted(train_idx)  # CSV order within each split
    assert torch.equal(a.train_x, all_x[train_idx]) and torch.equal(a.test_x, all_x[test_idx])
    assert a.train_y.tolist() == [label_of[i] for i in train_idx]
    assert a.test_y.tolist() == [label_of[i] for i in test_idx]

    by_csv = load_cifar10(cfg.model_copy(update={"source": str(tmp_path / "cifar10Labels.csv")}))
    assert torch.equal(by_csv.test_x, a.test_x)


def test_png_csv_split_is_seeded(tmp_path: Path) -> None:
    for i, img in enumerate(_pixels(60, seed=1)):
        (tmp_path / f"{i}.png").write_bytes(_encode(img, "PNG"))
    (tmp_path / "labels.csv").write_text("".join(f"{i},{i % 3}\n" for i in range(60)))

    def test_x(seed: int) -> torch.Tensor:
        cfg = DataConfig(source=str(tmp_path), cache_dir=str(tmp_path / "c"), split_seed=seed)
        a = load_cifar10(cfg)
        assert a.classes == ("0", "1", "2")
        return a.test_x

    assert torch.equal(test_x(0), test_x(0))
    assert not torch.equal(test_x(0), test_x(1))


def test_png_csv_missing_image_is_named(tmp_path: Path) -> None:
    (tmp_path / "0.png").write_bytes(_encode(_pixels(1, 0)[0], "PNG"))
    (tmp_path / "labels.csv").write_text("0,cat\n1,dog\n")
    with pytest.raises(DataError, match="'1'"):
        load_cifar10(DataConfig(source=str(tmp_path), cache_dir=str(tmp_path / "c")))


def test_parse_labels_csv_header_and_split() -> None:
    rows = parse_labels_csv("image,label,split\n3.png, frog ,TEST\n\n4,cat,train\n", "x.csv")
    assert [(r.image, r.label, r.split) for r in rows] == [
        ("3.png", "frog", "test"),
        ("4", "cat", "train"),
    ]
    with pytest.raises(DataError, match="row 1 has split 'val'"):
        parse_labels_csv("0,cat,val\n", "x.csv")
    with pytest.raises(DataError, match="4 columns"):
        parse_labels_csv("0,cat,train,extra\n", "x.csv")


def test_encode_labels() -> None:
    assert encode_labels(["dog", "cat", "dog"]) == ([1, 0, 1], ("cat", "dog"))
    assert encode_labels(["10", "2", "10"]) == ([1, 0, 1], ("2", "10"))  # numeric order
    y, classes = encode_labels([str(i) for i in (9, 0, 1, 2, 3, 4, 5, 6, 7, 8)])
    assert classes == CIFAR10_CLASSES and y[0] == 9


# ---------------------------------------------------------------- torchvision


def _fake_torchvision(root: Path, per_batch: int = 4) -> tuple[np.ndarray, list[int]]:
    """torchvision's cifar-10-batches-py layout with tiny pickled batches."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    all_rows, all_labels = [], []
    for name in names:
        rows = rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8)  # CHW-flattened
        labels = rng.integers(0, 10, per_batch).tolist()
        with (folder / name).open("wb") as f:
            pickle.dump({"data": rows, "labels": labels}, f)
        all_rows.append(rows)
        all_labels += labels
    with (folder / "batches.meta").open("wb") as f:
        pickle.dump({"label_names": list(CIFAR10_CLASSES)}, f)
    return np.concatenate(all_rows), all_labels


def _skip_md5(monkeypatch: pytest.MonkeyPatch) -> None:
    import torchvision.datasets.cifar as tv_cifar

    monkeypatch.setattr(tv_cifar.CIFAR10, "_check_integrity", lambda self: True)
    monkeypatch.setattr(tv_cifar, "check_integrity", lambda *a, **k: True)  # batches.meta


def test_torchvision_source_from_cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rows, labels = _fake_torchvision(tmp_path / "torchvision")
    _skip_md5(monkeypatch)
    a = load_cifar10(DataConfig(cache_dir=str(tmp_path)))
    assert a.train_x.shape == (20, 3, 32, 32) and a.test_x.shape == (4, 3, 32, 32)
    assert torch.equal(a.train_x.reshape(20, -1), torch.from_numpy(rows[:20]))
    assert a.train_y.tolist() == labels[:20] and a.test_y.tolist() == labels[20:]
    assert a.classes == CIFAR10_CLASSES and "torchvision" in a.source


def test_torchvision_folder_is_detected(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_torchvision(tmp_path / "mine")
    _skip_md5(monkeypatch)
    a = load_cifar10(DataConfig(source=str(tmp_path / "mine"), cache_dir=str(tmp_path / "c")))
    assert len(a.train_y) == 20 and str(tmp_path / "mine") in a.source


@pytest.mark.parametrize("error", [URLError("no network"), OSError(101, "Network unreachable")])
def test_offline_download_says_how_to_point_at_a_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: OSError
) -> None:
    import torchvision.datasets.cifar as tv_cifar

    def offline(*args: Any, **kwargs: Any) -> None:
        raise error

    monkeypatch.setattr(tv_cifar, "download_and_extract_archive", offline)
    with pytest.raises(DataError) as err:
        load_cifar10(DataConfig(cache_dir=str(tmp_path)))
    msg = str(err.value)
    assert "\n" not in msg  # one paragraph
    for needle in ("--data", "data.source", "ABLATE_DATA", "cs.toronto.edu", ".zip", "CSV"):
        assert needle in msg


# ---------------------------------------------------------------- cache


def test_second_load_hits_the_cache(small_folder: Path, tmp_path: Path, monkeypatch) -> None:
    cfg = DataConfig(source=str(small_folder), cache_dir=str(tmp_path / "cache"))
    first = load_cifar10(cfg)
    assert len(list((tmp_path / "cache" / "arrays").glob("*.pt"))) == 1

    def no_decoding(*args: Any, **kwargs: Any) -> torch.Tensor:
        raise AssertionError("decoded again instead of reading the cache")

    monkeypatch.setattr(data_mod, "decode_images", no_decoding)
    second = load_cifar10(cfg)
    for name in ("train_x", "train_y", "test_x", "test_y"):
        assert torch.equal(getattr(first, name), getattr(second, name))
    assert second.classes == first.classes and second.source == first.source


def test_changed_content_is_decoded_again(small_folder: Path, tmp_path: Path) -> None:
    cfg = DataConfig(source=str(small_folder), cache_dir=str(tmp_path / "cache"))
    before = load_cifar10(cfg)
    (small_folder / "train" / "cat" / "0000.png").write_bytes(_encode(_pixels(1, 99)[0], "PNG"))
    after = load_cifar10(cfg)
    assert not torch.equal(before.train_x, after.train_x)
    assert len(list((tmp_path / "cache" / "arrays").glob("*.pt"))) == 2


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty"])
def test_corrupted_cache_is_rebuilt(small_folder: Path, tmp_path: Path, damage: str) -> None:
    cfg = DataConfig(source=str(small_folder), cache_dir=str(tmp_path / "cache"))
    good = load_cifar10(cfg)
    (cache_file,) = (tmp_path / "cache" / "arrays").glob("*.pt")
    blob = cache_file.read_bytes()
    cache_file.write_bytes(
        {"garbage": b"not a torch file" * 64, "truncated": blob[: len(blob) // 2], "empty": b""}[
            damage
        ]
    )
    rebuilt = load_cifar10(cfg)
    assert torch.equal(rebuilt.train_x, good.train_x)
    assert data_mod.read_cache(cache_file) is not None  # the file was rewritten whole
    assert list(cache_file.parent.iterdir()) == [cache_file]  # no temp files left behind


# ---------------------------------------------------------------- split_train_val


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(0, 3000),
    fraction=st.floats(0.0, 0.95),
    seed=st.integers(0, 2**31),
)
def test_split_train_val_partitions_deterministically(n: int, fraction: float, seed: int) -> None:
    train, val = split_train_val(n, fraction, seed)
    assert train.dtype == val.dtype == torch.int64
    assert sorted(torch.cat([train, val]).tolist()) == list(range(n))  # disjoint and covering
    assert len(val) == min(round(n * fraction), max(n - 1, 0))
    assert n == 0 or len(train) >= 1
    again = split_train_val(n, fraction, seed)
    assert torch.equal(train, again[0]) and torch.equal(val, again[1])


def test_split_train_val_depends_on_seed() -> None:
    assert not torch.equal(split_train_val(1000, 0.1, 0)[1], split_train_val(1000, 0.1, 1)[1])
    with pytest.raises(ValueError):
        split_train_val(10, 1.0, 0)


# ---------------------------------------------------------------- augmentation


def _ramp_batch(n: int = 16, dtype: torch.dtype = torch.uint8) -> torch.Tensor:
    """Images with distinct, nonzero pixels, so any shift or flip shows."""
    x = torch.arange(1, 3 * 32 * 32 + 1).reshape(1, 3, 32, 32) % 250 + 1
    return (x + torch.arange(n).reshape(n, 1, 1, 1)).to(dtype)


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
def test_augment_batch_keeps_shape_dtype_and_shifts_or_flips(dtype: torch.dtype) -> None:
    x = _ramp_batch(64, dtype)
    out = augment_batch(x, torch.Generator().manual_seed(0))
    assert out.shape == x.shape and out.dtype == dtype and out.device == x.device
    dy, dx, flip = random_crop_flip_params(64, generator=torch.Generator().manual_seed(0))
    assert torch.equal(out, crop_flip(x, dy, dx, flip))  # the same draws, in the same order
    assert 0 < flip.sum() < 64 and len(set(dy.tolist())) > 1 and len(set(dx.tolist())) > 1
    assert min(dy.min(), dx.min()) >= 0 and max(dy.max(), dx.max()) <= 8
    unchanged = (out == x).flatten(1).all(1)
    assert torch.equal(unchanged, (dy == 4) & (dx == 4) & ~flip)
    assert torch.equal(out, augment_batch(x, torch.Generator().manual_seed(0)))


def test_crop_of_padded_image_is_a_shifted_copy() -> None:
    x = _ramp_batch(3)
    dy = torch.tensor([4, 0, 8])
    dx = torch.tensor([4, 2, 8])
    out = crop_flip(x, dy, dx, torch.tensor([False, False, True]))
    assert torch.equal(out[0], x[0])  # offset 4 = no shift
    # corner (0, 2): content moves down 4 and right 2; zeros fill the top rows / left cols
    want = torch.zeros_like(x[1])
    want[:, 4:, 2:] = x[1, :, :-4, :-2]
    assert torch.equal(out[1], want)
    # corner (8, 8), then mirrored: content moves up-left 4, then flips left-right
    shifted = torch.zeros_like(x[2])
    shifted[:, :-4, :-4] = x[2, :, 4:, 4:]
    assert torch.equal(out[2], shifted.flip(2))


def test_to_float() -> None:
    x = torch.tensor([0, 128, 255], dtype=torch.uint8)
    assert torch.equal(to_float(x), torch.tensor([0.0, 128 / 255, 1.0]))
    f = torch.rand(3)
    assert to_float(f) is f
    with pytest.raises(TypeError):
        to_float(torch.tensor([1], dtype=torch.int32))


# ---------------------------------------------------------------- batching


def test_tensor_batches_cover_every_index_once_per_epoch() -> None:
    x = torch.arange(23).reshape(23, 1).to(torch.uint8)
    y = torch.arange(23)
    batches = TensorBatches(x, y, batch_size=5, shuffle=True, seed=4)
    assert len(batches) == 5
    orders = []
    for _ in range(3):
        seen = [b for _, b in batches]
        assert [len(b) for b in seen] == [5, 5, 5, 5, 3]
        order = torch.cat(seen)
        assert sorted(order.tolist()) == list(range(23))
        orders.append(order)
    assert not torch.equal(orders[0], orders[1]) and not torch.equal(orders[1], orders[2])
    replay = TensorBatches(x, y, batch_size=5, shuffle=True, seed=4)
    assert torch.equal(torch.cat([b for _, b in replay]), orders[0])
    replay.set_epoch(2)
    assert torch.equal(torch.cat([b for _, b in replay]), orders[2])
    other_seed = TensorBatches(x, y, batch_size=5, shuffle=True, seed=5)
    assert not torch.equal(torch.cat([b for _, b in other_seed]), orders[0])


def test_tensor_batches_without_shuffle_and_drop_last() -> None:
    x, y = torch.zeros(10, 2), torch.arange(10)
    plain = TensorBatches(x, y, batch_size=4)
    assert torch.cat([b for _, b in plain]).tolist() == list(range(10))
    dropped = TensorBatches(x, y, batch_size=4, shuffle=True, drop_last=True)
    assert len(dropped) == 2 and [len(b) for _, b in dropped] == [4, 4]


def test_channel_stats_matches_float_computation() -> None:
    x = torch.from_numpy(_pixels(20, 3)).permute(0, 3, 1, 2)
    mean, std = channel_stats(x)
    f = x.double() / 255
    assert mean == pytest.approx(f.mean((0, 2, 3)).tolist(), abs=1e-12)
    assert std == pytest.approx(f.std((0, 2, 3), unbiased=False).tolist(), abs=1e-12)


# ---------------------------------------------------------------- DataModule


def test_datamodule_splits_limits_and_does_not_reload(
    small_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[DataConfig] = []
    real_load = dm_mod.load_cifar10

    def counting_load(cfg: DataConfig) -> data_mod.CifarArrays:
        calls.append(cfg)
        return real_load(cfg)

    monkeypatch.setattr(dm_mod, "load_cifar10", counting_load)
    cfg = DataConfig(
        source=str(small_folder),
        cache_dir=str(tmp_path / "c"),
        val_fraction=0.25,
        limit_train=10,
        limit_test=6,
    )
    dm = CifarDataModule(cfg, batch_size=4, seed=0)
    dm.prepare_data()
    dm.setup("fit")
    dm.prepare_data()
    dm.setup("test")
    assert len(calls) == 1
    assert dm.classes == ("airplane", "cat", "dog")
    assert len(dm.train_y) == 10 and len(dm.val_y) == 6 and len(dm.test_y) == 6
    assert dm.test_x.dtype == torch.uint8 and dm.test_x.shape == (6, 3, 32, 32)
    assert len(set(dm.test_y.tolist())) > 1  # a seeded subset, not the first class only
    full = load_cifar10(cfg)
    train_idx, val_idx = split_train_val(24, 0.25, cfg.split_seed)
    assert torch.equal(dm.train_x, full.train_x[train_idx[:10]])
    assert torch.equal(dm.val_x, full.train_x[val_idx])
    assert dm.mean == pytest.approx(channel_stats(full.train_x[train_idx])[0])
    assert all(0.0 < m < 1.0 for m in dm.mean) and all(0.0 < s < 1.0 for s in dm.std)
    assert len(dm.train_dataloader()) == 3 and len(dm.test_dataloader()) == 2


def test_datamodule_without_validation(small_folder: Path, tmp_path: Path) -> None:
    cfg = DataConfig(source=str(small_folder), cache_dir=str(tmp_path), val_fraction=0.0)
    dm = CifarDataModule(cfg, batch_size=4, seed=0)
    dm.setup("fit")
    assert len(dm.train_y) == 24 and len(dm.val_y) == 0 and len(dm.val_dataloader()) == 0
    with pytest.raises(RuntimeError, match="setup"):
        CifarDataModule(cfg, batch_size=4, seed=0).test_x  # noqa: B018


class _Toy(L.LightningModule):
    """A linear classifier that records the labels of the first batch of every epoch."""

    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(3 * 32 * 32, 3)
        self.first_labels: list[torch.Tensor] = []

    def on_after_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        x, y = batch
        x = to_float(x)
        return (augment_batch(x) if self.training else x), y

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        x, y = batch
        if batch_idx == 0:
            self.first_labels.append(y.clone())
        return F.cross_entropy(self.lin(x.flatten(1)), y)

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        x, y = batch
        self.log("val_loss", F.cross_entropy(self.lin(x.flatten(1)), y))

    def test_step(self, batch: Any, batch_idx: int) -> None:
        x, y = batch
        self.log("test_acc", (self.lin(x.flatten(1)).argmax(1) == y).float().mean())

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=0.01)


def _trainer(tmp_path: Path, epochs: int, **kwargs: Any) -> L.Trainer:
    return L.Trainer(
        max_epochs=epochs,
        accelerator="cpu",
        devices=1,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=tmp_path,
        **kwargs,
    )


# Lightning notes that the module's on_after_batch_transfer is used (as intended)
_HOOK_NOTE = "ignore:You have overridden `on_after_batch_transfer`"


@pytest.mark.e2e
@pytest.mark.filterwarnings(_HOOK_NOTE)
def test_trainer_fit_and_test_with_the_datamodule(small_folder: Path, tmp_path: Path) -> None:
    cfg = DataConfig(source=str(small_folder), cache_dir=str(tmp_path / "c"), val_fraction=0.25)
    dm = CifarDataModule(cfg, batch_size=4, seed=1)
    model = _Toy()
    trainer = _trainer(tmp_path, epochs=2, enable_checkpointing=False)
    trainer.fit(model, datamodule=dm)
    assert trainer.global_step == 2 * 5  # 18 train images in batches of 4
    assert "val_loss" in trainer.callback_metrics
    assert dm.state_dict() == {"next_epoch": 2}  # Lightning's probing iter() used no epoch
    # each epoch's order is the loader's own, seeded by (seed, epoch)
    loader = dm.train_dataloader()
    for epoch, labels in enumerate(model.first_labels):
        assert torch.equal(labels, dm.train_y[loader.order(epoch)[:4]])
    assert not torch.equal(loader.order(0), loader.order(1))
    trainer.test(model, datamodule=dm, verbose=False)
    assert "test_acc" in trainer.callback_metrics


@pytest.mark.e2e
@pytest.mark.filterwarnings(_HOOK_NOTE)
@pytest.mark.filterwarnings("ignore:Checkpoint directory .* exists and is not empty")
def test_resumed_fit_continues_the_shuffle_sequence(small_folder: Path, tmp_path: Path) -> None:
    cfg = DataConfig(source=str(small_folder), cache_dir=str(tmp_path / "c"), val_fraction=0.25)
    saver = ModelCheckpoint(dirpath=tmp_path / "ckpt")
    _trainer(tmp_path, epochs=1, callbacks=[saver]).fit(
        _Toy(), datamodule=CifarDataModule(cfg, batch_size=4, seed=1)
    )

    dm = CifarDataModule(cfg, batch_size=4, seed=1)
    model = _Toy()
    resumed = _trainer(tmp_path, epochs=2, callbacks=[ModelCheckpoint(dirpath=tmp_path / "ckpt")])
    resumed.fit(model, datamodule=dm, ckpt_path=saver.best_model_path)
    assert len(model.first_labels) == 1  # only epoch 1 ran
    assert torch.equal(model.first_labels[0], dm.train_y[dm.train_dataloader().order(1)[:4]])


# ---------------------------------------------------------------- the committed real slice


def test_committed_slice_loads(tmp_path: Path) -> None:
    a = load_cifar10(DataConfig(source=str(SLICE), cache_dir=str(tmp_path)))
    assert a.train_x.shape == (1000, 3, 32, 32) and a.test_x.shape == (300, 3, 32, 32)
    assert a.classes == CIFAR10_CLASSES
    assert a.train_y.bincount().tolist() == [100] * 10
    assert a.test_y.bincount().tolist() == [30] * 10
    assert "JPEG copy" in a.source
    mean = a.train_x.double().mean((0, 2, 3)) / 255
    assert torch.allclose(mean, torch.tensor([0.49, 0.48, 0.45], dtype=torch.float64), atol=0.05)


@pytest.mark.parametrize("val_fraction", [0.0, 0.25])
def test_train_timer_counts_training_with_and_without_a_validation_split(
    small_folder: Path, tmp_path: Path, val_fraction: float
) -> None:
    """With no validation split (fast.yaml) the timer used to count nothing: 0 s,
    5e14 img/s."""
    from ablate.spaces import RunConfig
    from lightning_modules.config import ModelConfig, TrainConfig
    from lightning_modules.train import fit_and_test

    cfg = RunConfig(
        model=ModelConfig(depth=1, width=4),
        data=DataConfig(
            source=str(small_folder), cache_dir=str(tmp_path / "c"), val_fraction=val_fraction
        ),
        train=TrainConfig(max_epochs=2, batch_size=4),
    )
    result = fit_and_test(cfg, tmp_path / "w")
    seconds = result.metrics["train_seconds"]
    assert 0 < seconds < 60
    train_images = 18 if val_fraction else 24  # 24 train images, a quarter held out
    assert result.metrics["train_images_per_second"] == pytest.approx(2 * train_images / seconds)
