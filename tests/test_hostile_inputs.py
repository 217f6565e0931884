"""Hostile and broken inputs, the way a user (or someone trying to break it) gives them.

Every case runs the real command (`ablate run`, `explain`, `report`, `status`) from an
empty project folder and checks the promise of the Reliability table in the README:
exit code 2, one message naming the file, key or value and what is allowed, no
traceback, and nothing written to the project folder (no `mlflow.db`, no `mlruns/`).
"""

from __future__ import annotations

import contextlib
import io
import os
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image
from typer.testing import CliRunner

import lightning_modules.layouts as layouts
from ablate.cli import app

pytestmark = pytest.mark.e2e  # every case runs the real command from an empty project

ROOT = Path(__file__).resolve().parents[1]
SLICE = ROOT / "tests" / "data" / "cifar10-slice.zip"

BASE = {
    "model": {"depth": 2, "width": 8},
    "data": {"limit_train": 100, "limit_test": 50},
    "train": {"max_epochs": 1, "batch_size": 50},
    "explain": {"enabled": False},
}


class Project:
    """An empty project folder (the cwd) and a folder of inputs beside it."""

    def __init__(self, tmp_path: Path) -> None:
        self.work = tmp_path / "work"
        self.inputs = tmp_path / "inputs"
        self.cache = tmp_path / "cache"
        for d in (self.work, self.inputs):
            d.mkdir()

    def space(self, text: str | bytes, name: str = "space.yaml") -> Path:
        path = self.inputs / name
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text)
        return path

    def space_doc(self, **changes: object) -> Path:
        doc: dict[str, object] = {"experiment": "hostile", "base": BASE, **changes}
        return self.space(yaml.safe_dump(doc))

    def run(self, *args: str) -> tuple[int, str]:
        result = CliRunner().invoke(app, list(args))
        return result.exit_code, result.output

    def run_space(self, space: Path, *extra: str, data: Path = SLICE) -> tuple[int, str]:
        return self.run(
            "run", str(space), "--data", str(data), "--set", f"data.cache_dir={self.cache}", *extra
        )


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    p = Project(tmp_path)
    monkeypatch.chdir(p.work)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("ABLATE_DATA", raising=False)
    return p


def refused(project: Project, result: tuple[int, str], *needles: str) -> None:
    code, out = result
    assert code == 2, out
    assert "Traceback" not in out, out
    for needle in needles:
        assert needle in out, f"{needle!r} not in:\n{out}"
    assert sorted(os.listdir(project.work)) == [], "something was written to the project"


# ------------------------------------------------------------------ the search space


SPACES: dict[str, tuple[str | bytes, tuple[str, ...]]] = {
    "malformed-yaml": ("grid:\n  model.stride: [1, 2\n", ("not valid YAML", "line 3", "column")),
    "tab-indent": ("base:\n\tmodel: {}\n", ("not valid YAML", "line 2")),
    "list-at-top": ("- 1\n- 2\n", ("mapping",)),
    "empty-file": ("", ("empty",)),
    "not-utf8": (b"grid:\n  model.stride: [\xff\xfe]\n", ("UTF-8",)),
    "python-tag": ("experiment: !!python/object/apply:os.system ['echo pwned']\n", ("YAML",)),
    "unknown-top-key": ("gird:\n  model.stride: [1, 2]\n", ("gird", "grid")),
    "unknown-grid-key": (
        "grid:\n  model.strde: [1, 2]\n",
        ("grid.model.strde", "Did you mean 'stride'"),
    ),
    "wrong-type": ("base:\n  model: {width: wide}\n", ("model.width", "'wide'")),
    "empty-list": ("grid:\n  model.stride: []\n", ("model.stride", "empty")),
    "duplicate-values": ("grid:\n  model.stride: [1, 2, 1]\n", ("model.stride", "twice")),
    "zero-seeds": ("seeds: 0\ngrid:\n  model.stride: [1]\n", ("seeds",)),
    "negative-seeds": ("seeds: -3\ngrid:\n  model.stride: [1]\n", ("seeds",)),
    "zero-epochs": ("base:\n  train: {max_epochs: 0}\n", ("max_epochs", "0")),
    "huge-width": ("base:\n  model: {width: 100000000}\n", ("model.width", "1024")),
    "unknown-preset": ("base:\n  model: {preset: resnet50}\n", ("resnet50", "keras_cnn")),
    "unknown-method": (
        "base:\n  explain: {methods: [gradcam_pp]}\n",
        ("gradcam_pp", "saliency"),
    ),
    "alias-bomb": (
        "grid:\n  model.stride: [&a [1, 1, 1, 1, 1, 1, 1, 1, 1],\n"
        "    &b [*a, *a, *a, *a, *a, *a, *a, *a, *a], &c [*b, *b, *b, *b, *b, *b, *b, *b, *b],\n"
        "    &d [*c, *c, *c, *c, *c, *c, *c, *c, *c], &e [*d, *d, *d, *d, *d, *d, *d, *d, *d],\n"
        "    &f [*e, *e, *e, *e, *e, *e, *e, *e, *e], &g [*f, *f, *f, *f, *f, *f, *f, *f, *f],\n"
        "    &h [*g, *g, *g, *g, *g, *g, *g, *g, *g], [*h, *h, *h, *h, *h, *h, *h, *h, *h]]\n",
        ("model.stride",),
    ),
    "lone-point-0x0": (
        "base:\n  model: {depth: 5, stride: 3, kernel_size: 3}\n",
        ("no point of this space can be built", "below 1x1"),
    ),
    "optuna-zero-trials": (
        "kind: optuna\nparams:\n  train.lr: {type: float, low: 0.001, high: 0.1}\nn_trials: 0\n",
        ("n_trials",),
    ),
    "optuna-low-above-high": (
        "kind: optuna\nparams:\n  train.lr: {type: float, low: 0.1, high: 0.001}\n",
        ("train.lr", "low"),
    ),
}


@pytest.mark.parametrize("case", sorted(SPACES))
def test_a_bad_search_space_is_refused_before_anything_is_written(
    project: Project, case: str
) -> None:
    text, needles = SPACES[case]
    space = project.space(text)
    refused(project, project.run_space(space), *needles)


@pytest.mark.parametrize(
    "option,needles",
    [
        (["--set", "model.width"], ("model.width", "KEY=VALUE")),
        (["--set", "model.head=dense"], ("model.head", "'dense'", "'gap'")),
        (["--set", "nosuch.key=1"], ("nosuch.key",)),
        (["--max-epochs", "0"], ("max-epochs",)),
        (["--seeds", "0"], ("seeds",)),
    ],
    ids=["set-without-equals", "set-bad-literal", "set-unknown-key", "zero-epochs", "zero-seeds"],
)
def test_a_bad_command_line_option_is_refused(
    project: Project, option: list[str], needles: tuple[str, ...]
) -> None:
    space = project.space_doc(grid={"model.stride": [1, 2]})
    code, out = project.run_space(space, *option)
    assert code == 2, out
    assert "Traceback" not in out
    for needle in needles:
        assert needle in out, out
    assert sorted(os.listdir(project.work)) == []


# ------------------------------------------------------------------ data sources


def png(size: tuple[int, int] = (32, 32), mode: str = "RGB") -> bytes:
    buf = io.BytesIO()
    pixels = np.random.default_rng(0).integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    Image.fromarray(pixels).convert(mode).save(buf, format="PNG")
    return buf.getvalue()


def blank_png(size: tuple[int, int], mode: str) -> bytes:
    """A valid PNG of one colour: its header alone carries the size (a 20000x20000
    bilevel image encodes in seconds and 50 KB, where random pixels take a minute)."""
    buf = io.BytesIO()
    Image.new(mode, size).save(buf, format="PNG")
    return buf.getvalue()


def zip_of(path: Path, entries: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return path


def folder_entries(classes: int = 2, extra: dict[str, bytes] | None = None) -> dict[str, bytes]:
    entries = {f"{split}/c{c}/{i}.png": png() for split in ("train", "test") for c in range(classes)
               for i in range(2)}  # fmt: skip
    return {**entries, **(extra or {})}


def one_extra(p: Project, name: str, data: bytes) -> Path:
    """A valid two-class image folder zip, plus one hostile entry."""
    return zip_of(p.inputs / "data.zip", folder_entries(extra={name: data}))


def make_truncated(p: Project) -> Path:
    whole = SLICE.read_bytes()
    path = p.inputs / "truncated.zip"
    path.write_bytes(whole[: len(whole) // 2])
    return path


def make_damaged(p: Project) -> Path:
    """Central directory intact, one member's bytes overwritten: found while decoding."""
    path = zip_of(p.inputs / "damaged.zip", folder_entries())
    data = bytearray(path.read_bytes())
    data[60:400] = b"\0" * 340
    path.write_bytes(bytes(data))
    return path


DATA: dict[str, tuple[Callable[[Project], Path], tuple[str, ...]]] = {
    "missing-path": (lambda p: p.inputs / "nowhere" / "cifar.zip", ("does not exist", "--data")),
    "not-a-zip": (
        lambda p: (p.inputs / "fake.zip").write_text("hello") and p.inputs / "fake.zip",
        ("is not a zip file",),
    ),
    "truncated-zip": (make_truncated, ("zip",)),
    "damaged-member": (make_damaged, ("damaged.zip",)),
    "no-train-test": (
        lambda p: zip_of(p.inputs / "flat.zip", {"cat/0.png": png(), "dog/0.png": png()}),
        ("no train/<class>/ and test/<class>/",),
    ),
    "dot-dot-entry": (
        lambda p: zip_of(p.inputs / "evil.zip", folder_entries(extra={"../../evil.png": png()})),
        ("refused", "'../../evil.png'", "outside the archive"),
    ),
    "absolute-entry": (
        lambda p: zip_of(p.inputs / "abs.zip", folder_entries(extra={"/etc/evil.png": png()})),
        ("refused", "'/etc/evil.png'"),
    ),
    "bomb-entry": (
        lambda p: one_extra(p, "train/c0/x.png", bytes(32 << 20)),
        ("refused", "train/c0/x.png", "33,554,432 bytes"),
    ),
    "wrong-size": (
        lambda p: one_extra(p, "train/c0/x.png", png((64, 48))),
        ("train/c0/x.png is 64x48 pixels", "32x32"),
    ),
    "not-an-image": (
        lambda p: zip_of(p.inputs / "junk.zip", folder_entries(extra={"test/c1/x.png": b"junk"})),
        ("test/c1/x.png could not be decoded",),
    ),
    "pixel-bomb-header": (
        lambda p: one_extra(p, "test/c1/x.png", blank_png((20000, 20000), "1")),
        ("test/c1/x.png", "decompression bomb"),  # PIL's guard, not the size rule
    ),
    # any count from 2 up comes from the data (tests/test_any_images.py); one is no classifier
    "one-class": (
        lambda p: zip_of(p.inputs / "one.zip", folder_entries(classes=1)),
        ("a classifier needs at least 2 classes",),
    ),
}


@pytest.mark.parametrize("case", sorted(DATA))
def test_a_bad_data_source_is_refused_before_anything_is_written(
    project: Project, case: str
) -> None:
    make, needles = DATA[case]
    space = project.space_doc(grid={"model.stride": [1, 2]})
    refused(project, project.run_space(space, data=make(project)), *needles)


def test_the_zip_size_cap_counts_every_image(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(layouts, "MAX_TOTAL_BYTES", 10_000)  # the real cap is 2 GiB
    data = zip_of(project.inputs / "many.zip", folder_entries(classes=3))
    space = project.space_doc()
    refused(project, project.run_space(space, data=data), "refused", "over the cap of 10,000")


def csv_folder(p: Project, labels: list[str], missing: bool = False) -> Path:
    folder = p.inputs / "pngs"
    (folder / "images").mkdir(parents=True)
    for i in range(len(labels) - int(missing)):
        (folder / "images" / f"{i}.png").write_bytes(png())
    rows = [f"{i},{label}" for i, label in enumerate(labels)]
    (folder / "labels.csv").write_text("id,label\n" + "\n".join(rows) + "\n")
    return folder


def test_a_labels_csv_with_a_misspelt_class_is_refused(project: Project) -> None:
    data = csv_folder(project, ["cat", "dog", "airplan", "truck"] * 3)
    space = project.space_doc()
    refused(
        project, project.run_space(space, data=data), "labels.csv", "row 3", "'airplan'", "truck"
    )


def test_a_labels_csv_naming_missing_images_is_refused(project: Project) -> None:
    data = csv_folder(project, ["cat", "dog"] * 6, missing=True)
    space = project.space_doc()
    refused(project, project.run_space(space, data=data), "labels.csv", "'11'", "not in")


# ------------------------------------------------------------------ tracking stores


def test_a_tracking_server_that_does_not_answer_is_refused_after_bounded_retries(
    project: Project,
) -> None:
    space = project.space_doc()
    refused(
        project,
        project.run_space(space, "--tracking-uri", "http://ablate:secret@127.0.0.1:9"),
        "cannot reach the tracking server",
        "http://ablate:***@127.0.0.1:9",
        "tried 3 times",
    )


@pytest.mark.parametrize("where", ["under-a-file", "read-only-filesystem", "a-folder"])
def test_an_unwritable_store_is_refused(project: Project, where: str) -> None:
    if where == "under-a-file":
        (project.inputs / "plain.txt").write_text("")
        db = project.inputs / "plain.txt" / "mlflow.db"
    elif where == "read-only-filesystem":
        db = Path("/sys/ablate-test/mlflow.db")  # read-only even for root
    else:
        db = project.inputs
    space = project.space_doc()
    refused(
        project,
        project.run_space(space, "--tracking-uri", f"sqlite:///{db}"),
        "tracking store",
        str(db),
    )


def test_status_and_report_create_no_store(project: Project) -> None:
    code, out = project.run("status", str(project.space_doc()))
    assert code == 0 and "no sweep recorded yet" in out, out
    assert os.listdir(project.work) == []
    refused(project, project.run("report"), "no tracking store")


# ------------------------------------------------------------------ explain and report


def store_with_a_skipped_run(project: Project) -> tuple[str, str]:
    """A store holding one sweep whose only run was skipped: no checkpoint, no finished run."""
    from ablate.spaces import RunConfig
    from ablate.store import RunState, Tracker

    store = project.inputs / "store"
    store.mkdir()
    uri = f"sqlite:///{store / 'mlflow.db'}"
    with contextlib.chdir(store):  # MLflow puts artifacts in ./mlruns
        tracker = Tracker(uri)
        parent, _ = tracker.start_parent(
            "lonely", "sid0", name="lonely sweep", space_file=None, command="ablate run", summary={}
        )
        rid = tracker.skip(parent, RunConfig(), "stride=3", "the feature map is 0x0")
        tracker.end(parent, RunState.FINISHED)
    return uri, rid


def test_explain_on_unknown_run_and_on_run_without_checkpoint(project: Project) -> None:
    uri, rid = store_with_a_skipped_run(project)
    refused(project, project.run("explain", "0" * 32, "--tracking-uri", uri), "no run")
    refused(project, project.run("explain", rid, "--tracking-uri", uri), rid, "checkpoint")


def test_explain_on_an_image_that_is_not_one(project: Project) -> None:
    uri, rid = store_with_a_skipped_run(project)
    bad = project.inputs / "photo.png"
    bad.write_text("not a picture")
    refused(
        project,
        project.run("explain", rid, "--image", str(bad), "--tracking-uri", uri),
        "photo.png",
    )


def test_report_on_an_experiment_with_no_finished_run(project: Project) -> None:
    uri, _ = store_with_a_skipped_run(project)
    refused(project, project.run("report", "lonely", "--tracking-uri", uri), "no finished run")
    refused(project, project.run("report", "nosuch", "--tracking-uri", uri), "lonely")


def test_images_in_another_mode_are_converted_to_rgb_not_refused(tmp_path: Path) -> None:
    """Grey, RGBA and palette PNGs load as RGB (the README says so); a wrong size is refused."""
    from lightning_modules.config import DataConfig
    from lightning_modules.data import load_cifar10

    modes = {"L": png(mode="L"), "RGBA": png(mode="RGBA"), "P": png(mode="P")}
    entries = {
        f"{split}/c0/{m}.png": data for split in ("train", "test") for m, data in modes.items()
    }
    entries.update({f"{split}/c1/x.png": png() for split in ("train", "test")})
    source = zip_of(tmp_path / "modes.zip", entries)
    arrays = load_cifar10(DataConfig(source=str(source), cache_dir=str(tmp_path / "cache")))
    assert arrays.train_x.shape == (4, 3, 32, 32)
    for i, m in enumerate(sorted(modes)):  # files sort by name within a class: L, P, RGBA
        expected = np.asarray(Image.open(io.BytesIO(modes[m])).convert("RGB"))
        assert np.array_equal(arrays.train_x[i].permute(1, 2, 0).numpy(), expected), m
