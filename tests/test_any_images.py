"""Any image folder (issue 14, section 3): any size from 8 px, any class count from 2,
grey or RGB; the network fits the data; CIFAR-100 read offline from its own files.

Datasets are made in the tests. One tiny sweep on a 3-class grey 48x40 (height x
width) zip runs through the real CLI once (module fixture) and is read back: it trains,
explains and reports. The README's data commands run as written on a 4-class RGB
64x64 zip and a fake CIFAR-100 download, leaving classes, channels and size to the data.
"""

from __future__ import annotations

import base64
import io
import pickle
import re
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import yaml
from mlflow.tracking import MlflowClient
from PIL import Image
from store import sweep_runs, the_sweep
from typer.testing import CliRunner

import lightning_modules.data as data_mod
from ablate.cli import app
from lightning_modules.augment import augment_batch, crop_flip
from lightning_modules.config import DataConfig, ModelConfig
from lightning_modules.data import DataShape, load_cifar10, model_fields_from_data
from lightning_modules.errors import DataError
from lightning_modules.models import build_model, count_params, flops_per_image
from lightning_modules.shapes import feature_hw, invalid_reason, param_count

ROOT = Path(__file__).resolve().parents[1]
SLICE = ROOT / "tests" / "data" / "cifar10-slice.zip"
GREY = ("circle", "cross", "empty")  # 3 classes: not 10
H, W = 48, 40  # pixels, height x width: not square, not 32


# ---------------------------------------------------------------- made-in-test data


def _png(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def _picture(label: int, rng: np.random.Generator, h: int, w: int, rgb: bool) -> np.ndarray:
    """A learnable image: class k has a bright band at rows k/n of the height, plus noise."""
    img = rng.integers(0, 40, (h, w), dtype=np.uint8)
    top = (label * h) // 4
    img[top : top + h // 4] += 150
    if rgb:
        return np.stack([img, np.roll(img, label + 1, axis=1), img // 2], axis=-1)
    return img


def make_zip(
    path: Path,
    classes: tuple[str, ...],
    h: int,
    w: int,
    rgb: bool = False,
    per_class: tuple[int, int] = (12, 4),
    odd: dict[str, bytes] | None = None,
) -> Path:
    """An ImageFolder zip `data/train/<class>/*.png`, `data/test/<class>/*.png`;
    `odd` adds or replaces entries."""
    rng = np.random.default_rng(0)
    files = {}
    for split, n in zip(("train", "test"), per_class, strict=True):
        for k, cls in enumerate(classes):
            for i in range(n):
                files[f"data/{split}/{cls}/{i:03d}.png"] = _png(_picture(k, rng, h, w, rgb))
    files |= odd or {}
    with zipfile.ZipFile(path, "w") as zf:
        for name, blob in files.items():
            zf.writestr(name, blob)
    return path


def _load(path: Path, tmp: Path, **kw: Any) -> data_mod.CifarArrays:
    return load_cifar10(DataConfig(source=str(path), cache_dir=str(tmp / "cache"), **kw))


# ---------------------------------------------------------------- decoding


@pytest.mark.unit
def test_grey_rectangular_zip_decodes_with_its_own_shape_and_cached_stats(tmp_path: Path) -> None:
    z = make_zip(tmp_path / "g.zip", GREY, H, W)
    a = _load(z, tmp_path)
    assert a.train_x.shape == (36, 1, H, W) and a.test_x.shape == (12, 1, H, W)
    assert a.classes == tuple(sorted(GREY))
    assert a.shape == DataShape(tuple(sorted(GREY)), 1, H, W)
    pixels = a.train_x.double() / 255
    assert a.mean == pytest.approx([float(pixels.mean())], abs=1e-9)
    assert a.std == pytest.approx([float(pixels.std(unbiased=False))], abs=1e-9)
    assert a.norm_for_model() == (a.mean, a.std)  # not CIFAR-10: its own statistics
    # computed once: the cached payload carries them, a second load decodes nothing
    cached = list((tmp_path / "cache" / "arrays").glob("*.pt"))
    assert len(cached) == 1 and torch.load(cached[0], weights_only=True)["mean"] == list(a.mean)


@pytest.mark.unit
def test_cifar10_keeps_its_published_normalisation(tmp_path: Path) -> None:
    a = _load(SLICE, tmp_path)
    assert a.is_cifar10 and a.norm_for_model() is None  # = CIFAR_MEAN / CIFAR_STD in the net
    assert len(a.mean) == 3  # still computed and cached


@pytest.mark.unit
def test_one_colour_image_makes_the_dataset_rgb(tmp_path: Path) -> None:
    colour = _png(np.full((H, W, 3), (200, 10, 10), dtype=np.uint8))
    z = make_zip(tmp_path / "m.zip", GREY, H, W, odd={"data/test/cross/999.png": colour})
    a = _load(z, tmp_path)
    assert a.train_x.shape[1] == 3 and a.test_x.shape[1] == 3
    grey = a.train_x[0]
    assert torch.equal(grey[0], grey[1]) and torch.equal(grey[0], grey[2])  # repeated


@pytest.mark.unit
def test_mixed_sizes_are_refused_naming_two_files_and_sizes(tmp_path: Path) -> None:
    wide = _png(np.zeros((H, W + 1), dtype=np.uint8))
    z = make_zip(tmp_path / "x.zip", GREY, H, W, odd={"data/train/cross/005.png": wide})
    with pytest.raises(DataError) as err:
        _load(z, tmp_path)
    msg = str(err.value)
    assert "data/train/cross/005.png is 41x48" in msg
    assert "data/train/circle/000.png is 40x48" in msg and "one size" in msg


@pytest.mark.unit
def test_images_under_8_pixels_are_refused(tmp_path: Path) -> None:
    z = make_zip(tmp_path / "s.zip", GREY, 7, 12)
    with pytest.raises(DataError, match=r"data/train/circle/000\.png is 12x7 pixels.*at least 8x8"):
        _load(z, tmp_path)


@pytest.mark.unit
def test_a_single_class_is_refused(tmp_path: Path) -> None:
    z = make_zip(tmp_path / "one.zip", ("only",), H, W)
    with pytest.raises(DataError, match=r"1 class folder .*only.*at least 2 classes"):
        _load(z, tmp_path)


@pytest.mark.unit
def test_data_too_big_for_memory_is_refused_up_front(tmp_path: Path, monkeypatch) -> None:
    z = make_zip(tmp_path / "g.zip", GREY, H, W)
    decoded: list[int] = []
    real = data_mod.decode_images

    def counting(*a: Any) -> torch.Tensor:
        decoded.append(1)
        return real(*a)

    monkeypatch.setattr(data_mod, "decode_images", counting)
    monkeypatch.setattr(data_mod, "available_memory", lambda: 100_000)  # a 100 kB machine
    with pytest.raises(DataError) as err:
        _load(z, tmp_path)
    msg = str(err.value)
    # 48 images of 48x40x1 = 92,160 bytes; twice that is needed
    assert "48 images of 48x40x1" in msg and "0.00 GiB as uint8" in msg
    assert "only 0.00 GiB is free" in msg and "need 0.00 GiB" in msg
    assert decoded == []  # refused before any image was decoded
    monkeypatch.setattr(data_mod, "available_memory", lambda: 200_000)
    assert _load(z, tmp_path).train_x.shape[0] == 36  # 184,320 bytes fit in 200 kB


@pytest.mark.unit
def test_memory_message_names_sizes_in_gib(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setattr(data_mod, "available_memory", lambda: 2 * 2**30)
    with pytest.raises(DataError, match=r"1.79 GiB as uint8 and need 3.58 GiB.*only 2.00 GiB"):
        data_mod.check_memory(50_000, 3, 160, 80, "big.zip")


# ---------------------------------------------------------------- the model fits the data


@pytest.mark.unit
def test_model_fields_come_from_the_data_unless_given() -> None:
    shape = DataShape(GREY, 1, H, W)
    assert model_fields_from_data(shape, {}, "d") == {
        "num_classes": 3,
        "in_channels": 1,
        "image_size": (H, W),
    }
    assert model_fields_from_data(shape, {"num_classes": 3, "image_size": [H, W]}, "d") == {
        "in_channels": 1
    }
    with pytest.raises(DataError) as err:
        model_fields_from_data(shape, {"num_classes": 10}, "the data g.zip")
    msg = str(err.value)
    assert "model.num_classes is 10 in the space" in msg and "g.zip has 3" in msg
    with pytest.raises(DataError, match=r"model.image_size is 32 .* has 48x40"):
        model_fields_from_data(shape, {"image_size": 32}, "d")
    square = DataShape(GREY, 3, 64, 64)
    assert model_fields_from_data(square, {}, "d")["image_size"] == 64  # one int when square


@pytest.mark.unit
def test_fit_to_data_fills_the_space_and_keeps_cifar10_keys(tmp_path: Path) -> None:
    from ablate.spaces import expand, load_space
    from ablate.spaces.data_fit import fit_to_data

    smoke = ROOT / "search_spaces" / "smoke.yaml"
    on = {"data.source": str(SLICE), "data.cache_dir": str(tmp_path / "c")}
    space = load_space(smoke, on)
    fitted = fit_to_data(space)
    assert [p.config.key() for p in expand(fitted)] == [p.config.key() for p in expand(space)]

    z = make_zip(tmp_path / "g.zip", GREY, H, W)
    grey = fit_to_data(load_space(smoke, {**on, "data.source": str(z)}))
    m = expand(grey)[0].config.model
    assert (m.num_classes, m.in_channels, m.image_size) == (3, 1, (H, W))
    with pytest.raises(DataError, match=r"model.in_channels is 3 in the space.*has 1"):
        fit_to_data(load_space(smoke, {**on, "data.source": str(z), "model.in_channels": 3}))


@pytest.mark.unit
@pytest.mark.parametrize("head", ["flatten", "gap"])
def test_rectangular_grey_cnn_builds_counts_and_runs(head: str) -> None:
    cfg = ModelConfig(depth=2, width=8, head=head, num_classes=3, in_channels=1, image_size=[H, W])
    net = build_model(cfg, ((0.4,), (0.2,)))
    assert feature_hw(cfg)[-1] == (12, 10)
    assert count_params(net) == param_count(cfg)
    assert net(torch.rand(2, 1, H, W)).shape == (2, 3)
    assert flops_per_image(net, cfg) > 0
    assert ModelConfig(image_size=[32, 32]).image_size == 32  # a square pair is one int
    tiny = ModelConfig(depth=4, stride=2, image_size=[64, 8])
    assert "the feature map is 8x1 before the max-pool of block 2" in (invalid_reason(tiny) or "")
    assert "image 64x8px" in (invalid_reason(tiny) or "")


@pytest.mark.unit
def test_checkpoint_of_a_grey_2_class_48x40_run_rebuilds(tmp_path: Path) -> None:
    from ablate.spaces import RunConfig
    from ablate.store.loading import model_from_checkpoint

    cfg = RunConfig(
        model=ModelConfig(depth=2, width=8, num_classes=2, in_channels=1, image_size=[H, W])
    )
    net = build_model(cfg.model, ((0.3,), (0.15,))).eval()
    ckpt = {
        "config": cfg.model_dump(mode="json"),
        "state_dict": net.state_dict(),
        "classes": ["a", "b"],
    }
    back, got = model_from_checkpoint(ckpt)
    assert got.model.image_hw() == (H, W) and got.model.in_channels == 1
    assert back.state_dict()["normalize.mean"].item() == pytest.approx(0.3)  # buffers back
    x = torch.rand(3, 1, H, W)
    assert torch.allclose(back(x), net(x))


@pytest.mark.unit
def test_crop_and_flip_work_on_any_size() -> None:
    x = torch.arange(2 * 1 * H * W, dtype=torch.float32).reshape(2, 1, H, W)
    same = crop_flip(x, torch.tensor([4, 4]), torch.tensor([4, 4]), torch.tensor([False, True]))
    assert torch.equal(same[0], x[0]) and torch.equal(same[1], x[1].flip(-1))
    shifted = crop_flip(x, torch.tensor([0, 8]), torch.tensor([8, 0]), torch.tensor([False, False]))
    assert torch.equal(shifted[0, :, 4:, : W - 4], x[0, :, : H - 4, 4:])  # down 4, left 4
    assert torch.equal(shifted[1, :, : H - 4, 4:], x[1, :, 4:, : W - 4])
    out = augment_batch(torch.randint(0, 255, (5, 3, 20, 64), dtype=torch.uint8))
    assert out.shape == (5, 3, 20, 64) and out.dtype == torch.uint8


# ---------------------------------------------------------------- pictures, tables


@pytest.mark.unit
def test_pictures_fit_large_and_rectangular_images(tmp_path: Path) -> None:
    from explain import pictures

    for h, w in ((200, 120), (H, W), (8, 8)):
        img = np.random.default_rng(0).integers(0, 255, (h, w, 3), dtype=np.uint8)
        m = np.random.default_rng(1).random((h, w))
        path = pictures.panel(tmp_path / f"p{h}.png", img, {"saliency": m}, [("a", 0.9)], "t")
        with Image.open(path) as im:
            assert im.height < 200  # a cell holds the picture whatever its size


@pytest.mark.unit
def test_gallery_shows_images_at_a_whole_multiple_of_their_native_size() -> None:
    from ablate.report.page.gallery import image_box

    box = image_box(_png(np.zeros((H, W), dtype=np.uint8)))
    assert box == {"native": "40x48 px", "width": 80, "height": 96, "scale": 2}
    assert image_box(_png(np.zeros((32, 32, 3), dtype=np.uint8)))["width"] == 64
    assert image_box(_png(np.zeros((100, 64, 3), dtype=np.uint8)))["scale"] == 1


@pytest.mark.unit
def test_confusion_matrix_of_100_classes(tmp_path: Path) -> None:
    from ablate.sweep.confusion import confusion_csv, confusion_png

    names = [f"c{i}" for i in range(100)]
    cm = torch.eye(100, dtype=torch.int64) * 3
    with Image.open(confusion_png(cm, names, tmp_path / "cm.png")) as im:
        assert im.width > 640  # larger than the 10-class figure
    rows = confusion_csv(cm, names, tmp_path / "cm.csv").read_text().splitlines()
    assert len(rows) == 101 and rows[1].startswith("c0,3,0")


# ---------------------------------------------------------------- CIFAR-100 offline


def _cifar100_pickles(n_train: int = 6, n_test: int = 4) -> dict[str, bytes]:
    """Tiny stand-ins in torchvision's exact layout: split dicts with data (N, 3072)
    uint8 and fine_labels, and meta with fine_label_names; bytes keys, as the Python 2
    originals have."""
    rng = np.random.default_rng(0)
    names = [f"fine{i:02d}" for i in range(100)]

    def split(n: int, offset: int) -> bytes:
        labels = [(offset + 37 * i) % 100 for i in range(n)]
        d = {
            b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
            b"fine_labels": labels,
            b"coarse_labels": [lab // 5 for lab in labels],
            b"filenames": [f"{i}.png".encode() for i in range(n)],
        }
        return pickle.dumps(d, protocol=2)

    meta = {b"fine_label_names": names, b"coarse_label_names": [f"c{i}" for i in range(20)]}
    return {"train": split(n_train, 0), "test": split(n_test, 5), "meta": pickle.dumps(meta, 2)}


def _cifar100_tarball(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    path = root / "cifar-100-python.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for name, blob in _cifar100_pickles().items():
            info = tarfile.TarInfo(f"cifar-100-python/{name}")
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
    return path


@pytest.mark.unit
def test_cifar100_tarball_loads_offline_with_fine_labels(tmp_path: Path) -> None:
    _cifar100_tarball(tmp_path / "tv")
    want = pickle.loads(_cifar100_pickles()["train"])
    for source in (tmp_path / "tv", tmp_path / "tv" / "cifar-100-python.tar.gz"):
        a = load_cifar10(DataConfig(source=str(source), cache_dir=str(tmp_path / "c")))
        assert len(a.classes) == 100 and a.classes[:2] == ("fine00", "fine01")
        assert a.train_x.shape == (6, 3, 32, 32) and a.test_x.shape == (4, 3, 32, 32)
        assert a.train_y.tolist() == want[b"fine_labels"]
        assert torch.equal(a.train_x[1], torch.from_numpy(want[b"data"][1].reshape(3, 32, 32)))
        assert a.source.startswith("CIFAR-100") and a.norm_for_model() is not None
    # the extracted folder, found from the cache's torchvision folder with format: cifar100
    folder = tmp_path / "c" / "torchvision" / "cifar-100-python"
    folder.mkdir(parents=True)
    for name, blob in _cifar100_pickles().items():
        (folder / name).write_bytes(blob)
    a = load_cifar10(DataConfig(format="cifar100", cache_dir=str(tmp_path / "c")))
    assert a.shape.classes[99] == "fine99" and a.test_y.tolist() == [5, 42, 79, 16]


@pytest.mark.unit
def test_cifar100_pickle_naming_other_code_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    blobs = _cifar100_pickles()
    blobs["meta"] = pickle.dumps({"fine_label_names": __import__("os").getcwd})  # a callable
    for name, blob in blobs.items():
        (folder / name).write_bytes(blob)
    with pytest.raises(DataError, match=r"meta is not a CIFAR-100 pickle \(refused to load"):
        load_cifar10(DataConfig(source=str(tmp_path), cache_dir=str(tmp_path / "c")))


# ---------------------------------------------------------------- through the real CLI

SPACE: dict[str, Any] = {
    "experiment": "anyimg",
    "base": {
        # set here, as the data has them: the sweep also checks they agree
        "model": {"depth": 2, "width": 8, "head": "flatten"},
        "data": {"val_fraction": 0.25, "augment": True},
        "train": {"max_epochs": 1, "batch_size": 9, "lr": 0.003},
        "explain": {
            "probe_per_class": 1,
            "misclassified": 2,
            "smoothgrad_samples": 2,
            "ig_steps": 4,
            "metric_steps": 4,
        },
    },
    "grid": {"model.kernel_size": [3, 5]},
    "seeds": 1,
}


def _run(work: Path, space: dict[str, Any], data: Path, *extra: str) -> Any:
    path = work / f"{space['experiment']}.yaml"
    path.write_text(yaml.safe_dump(space))
    args = ["run", str(path), "--data", str(data), "--set", f"data.cache_dir={work / 'cache'}"]
    args += ["--tracking-uri", f"sqlite:///{work / 'mlflow.db'}", *extra]
    return CliRunner().invoke(app, args)


@pytest.fixture(scope="module")
def grey_sweep(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    work = tmp_path_factory.mktemp("anyimg")
    mp = pytest.MonkeyPatch()
    mp.chdir(work)
    mp.delenv("MLFLOW_TRACKING_URI", raising=False)
    data = make_zip(work / "grey.zip", GREY, H, W)
    space = {**SPACE, "base": {**SPACE["base"], "model": {**SPACE["base"]["model"]}}}
    space["base"]["model"] |= {"num_classes": 3, "in_channels": 1, "image_size": [H, W]}
    result = _run(work, space, data, "--no-report")  # `ablate report` is tested on its own
    client = MlflowClient(f"sqlite:///{work / 'mlflow.db'}")
    yield {"work": work, "result": result, "client": client, "data": data}
    mp.undo()


@pytest.mark.e2e
def test_grey_sweep_trains_and_records_the_data_shape(grey_sweep: dict[str, Any]) -> None:
    result = grey_sweep["result"]
    assert result.exit_code == 0, result.output
    _, children = the_sweep(grey_sweep["client"], "anyimg")
    assert len(children) == 2
    for c in children:
        assert c.info.status == "FINISHED", c.data.tags
        p, m = c.data.params, c.data.metrics
        assert (p["model.num_classes"], p["model.in_channels"]) == ("3", "1")
        assert p["model.image_size"] in ("[48, 40]", "(48, 40)")
        assert 0.0 <= m["test_acc"] <= 1.0
        assert {f"test_recall.{k}" for k in GREY} <= set(m)  # per-class: the data's classes


@pytest.mark.e2e
def test_grey_sweep_explains_at_the_native_size(grey_sweep: dict[str, Any], tmp_path: Path) -> None:
    client = grey_sweep["client"]
    _, children = the_sweep(client, "anyimg")
    rid = children[0].info.run_id
    local = client.download_artifacts(rid, "explain/maps.npz", str(tmp_path))
    with np.load(local) as npz:
        assert npz["images"].shape[1:] == (H, W, 3)  # drawn as RGB, at 48x40
        assert npz["saliency"].shape[1:] == (H, W)
        assert len(npz["probs"][0]) == 3
        probe = npz["indices"][~npz["mistake"]]
        assert len(probe) == 3  # one per class
    cm = client.download_artifacts(rid, "confusion/confusion_matrix.csv", str(tmp_path))
    assert Path(cm).read_text().splitlines()[0] == "true\\predicted," + ",".join(sorted(GREY))


@pytest.mark.e2e
def test_explain_a_user_image_on_the_grey_run(grey_sweep: dict[str, Any], tmp_path: Path) -> None:
    _, children = the_sweep(grey_sweep["client"], "anyimg")
    rid = children[0].info.run_id
    image = tmp_path / "photo.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (30, 70, 3), dtype=np.uint8)).save(
        image
    )
    out = tmp_path / "out"
    args = ["explain", rid, "--image", str(image), "--method", "saliency", "--out", str(out)]
    args += ["--tracking-uri", f"sqlite:///{grey_sweep['work'] / 'mlflow.db'}"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert np.load(out / "photo_saliency.npy").shape == (H, W)  # resized to the run's size


@pytest.mark.e2e
def test_report_gallery_holds_the_native_size(grey_sweep: dict[str, Any]) -> None:
    work = grey_sweep["work"]
    args = ["report", "anyimg", "--tracking-uri", f"sqlite:///{work / 'mlflow.db'}"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    html = next(work.rglob("*.html")).read_text()
    gallery = html[html.index('id="gallery"') :]
    uri = re.search(r'src="data:image/png;base64,([^"]+)"', gallery)
    assert uri is not None
    with Image.open(io.BytesIO(base64.b64decode(uri.group(1)))) as im:
        assert im.size == (W, H)  # the probe image at its own 40x48 pixels
    for name in GREY:
        assert name in html  # the per-class tables and the confusion matrix name them


@pytest.mark.e2e
def test_space_value_contradicting_the_data_is_refused(grey_sweep: dict[str, Any]) -> None:
    work = grey_sweep["work"]
    space = {**SPACE, "experiment": "contradicts"}
    space["base"] = {**SPACE["base"], "model": {"num_classes": 10, "in_channels": 1}}
    result = _run(work, space, grey_sweep["data"], "--set", f"model.image_size=[{H}, {W}]")
    assert result.exit_code == 2, result.output
    assert "model.num_classes is 10" in result.output and "has 3" in result.output
    assert "Traceback" not in result.output


def _data_section_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = re.search(r"^### Data sources\n(.*?)(?=^##)", text, re.S | re.M)
    assert section, "README has no Data sources section"
    blocks = re.findall(r"```bash\n(.*?)```", section.group(1), re.S)
    return [ln.strip() for b in blocks for ln in b.splitlines() if ln.strip()]


@pytest.mark.e2e
def test_readme_data_commands_run_as_written(tmp_path: Path, monkeypatch) -> None:
    """The Data sources commands, run as written in a folder holding what they name: a
    made-up image zip and a fake CIFAR-100 download."""
    commands = _data_section_commands()
    assert commands == [
        "ablate run search_spaces/smoke.yaml --data my_images.zip",
        "ablate run search_spaces/smoke.yaml --data cifar100/",
    ]
    (tmp_path / "search_spaces").mkdir()
    (tmp_path / "search_spaces" / "smoke.yaml").write_text(
        (ROOT / "search_spaces" / "smoke.yaml").read_text()
    )
    make_zip(
        tmp_path / "my_images.zip", ("ant", "bee", "cat", "dog"), 64, 64, rgb=True, per_class=(8, 2)
    )
    _cifar100_tarball(tmp_path / "cifar100")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))  # the default cache_dir, ~/.cache/ablate
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("ABLATE_DATA", raising=False)
    for command in commands:
        argv = command.split()[1:]
        monkeypatch.setattr("sys.argv", ["ablate", *argv])
        result = CliRunner().invoke(app, argv)
        assert result.exit_code == 0, (command, result.output)
        assert "Report:" in result.output, result.output
    parents, children = sweep_runs(f"sqlite:///{tmp_path / 'mlflow.db'}", "smoke")
    assert len(parents) == 2  # two datasets: two sweeps, their run keys differ
    # nothing in smoke.yaml says what the network takes: the data does
    shapes = {
        tuple(c.data.params[f"model.{k}"] for k in ("num_classes", "in_channels", "image_size"))
        for c in children
    }
    assert shapes == {("4", "3", "64"), ("100", "3", "32")}, shapes


@pytest.mark.unit
def test_probe_set_follows_the_classes_and_caps_many_of_them() -> None:
    from explain.probe import MAX_PROBE_CLASSES, probe_indices

    three = torch.tensor([0, 1, 2] * 5)
    assert sorted(three[probe_indices(three, 2, seed=0)].tolist()) == [0, 0, 1, 1, 2, 2]
    hundred = torch.arange(100).repeat(3)
    idx = probe_indices(hundred, 2, seed=0)
    probed = hundred[idx]
    assert len(idx) == 2 * MAX_PROBE_CLASSES and len(set(probed.tolist())) == MAX_PROBE_CLASSES
    assert torch.equal(idx, probe_indices(hundred, 2, seed=0))  # the same in every run
