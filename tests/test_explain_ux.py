"""`ablate explain` and `load_run` as a user reaches for them (issue 14, section 5), each
case through the real `ablate` process on one tiny sweep: a GAP-head and a flatten-head
run, one epoch on 64 images of the committed CIFAR slice, explanations off.

- the 12 characters the sweep's table prints are a run id, a shorter unique prefix too;
  an ambiguous prefix names its runs, an unknown one names the store;
- several images after one --image, a shell glob, a folder;
- --class-id by name, a bad name lists the classes;
- --method cam on a flatten head: the reason, exit 2 (or 0 when other methods apply);
- reading from another folder creates nothing and prints only the answer;
- the report's runs table shows the ids; the README's explain commands run as written.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import count
from pathlib import Path

import numpy as np
import pytest
from mlflow.tracking import MlflowClient
from PIL import Image
from readme_commands import section_commands
from store import by_name, the_sweep

ROOT = Path(__file__).resolve().parents[1]
SLICE = ROOT / "tests" / "data" / "cifar10-slice.zip"
TIMEOUT = 300  # s per command: a fresh process imports torch, MLflow and Captum
pytestmark = pytest.mark.e2e

SPACE = """\
experiment: ux
base:
  model: {depth: 2, width: 8}
  data: {limit_train: 64, limit_test: 64}
  train: {max_epochs: 1, batch_size: 32}
  explain: {enabled: false}
grid:
  model.head: [gap, flatten]
seeds: 1
"""
DECOY_PREFIX = "abcd0000"  # two decoy runs share it: an ambiguous prefix


@dataclass(frozen=True)
class Sweep:
    work: Path  # the folder the sweep ran in: its default store ./mlflow.db is here
    gap: str  # full run ids
    flatten: str
    decoys: tuple[str, str]
    images: Path  # a folder: two PNGs of other sizes, one 32x32, and a text file

    @property
    def uri(self) -> str:
        return f"sqlite:///{self.work / 'mlflow.db'}"


def _ablate() -> list[str]:
    script = shutil.which("ablate", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "ablate.cli"]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "ABLATE_DATA")}
    return env | {"MLFLOW_DISABLE_TELEMETRY": "true", "COLUMNS": "200"}


def ablate(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*_ablate(), *args], cwd=cwd, env=_env(), capture_output=True, text=True, timeout=TIMEOUT
    )


def _png(path: Path, width: int, height: int, seed: int) -> Path:
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path)
    return path


def _decoy_runs(uri: str) -> tuple[str, str]:
    """Two runs in another experiment whose ids share DECOY_PREFIX (MLflow draws run ids
    from uuid4, so those are made here for them); the sweep's runs are untouched."""
    client = MlflowClient(uri)
    exp = client.create_experiment("decoys")
    serial = count(1)
    mp = pytest.MonkeyPatch()
    mp.setattr(uuid, "uuid4", lambda: uuid.UUID(DECOY_PREFIX + f"{next(serial):024x}"))
    try:
        ids = [client.create_run(exp, run_name=f"decoy {i}").info.run_id for i in (1, 2)]
    finally:
        mp.undo()
    assert all(i.startswith(DECOY_PREFIX) for i in ids), ids
    return ids[0], ids[1]


@pytest.fixture(scope="module")
def sweep(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sweep]:
    work = tmp_path_factory.mktemp("ux")
    (work / "space.yaml").write_text(SPACE)
    done = ablate(
        work, "run", "space.yaml", "--data", str(SLICE), "--set", f"data.cache_dir={work / 'cache'}"
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    _, children = the_sweep(f"sqlite:///{work / 'mlflow.db'}", "ux")
    runs = {name.split()[0]: r.info.run_id for name, r in by_name(children).items()}
    # the ids the sweep's summary table printed: 12 characters each
    assert runs["head=gap"][:12] in done.stdout and runs["head=flatten"][:12] in done.stdout
    images = work / "imgs"
    images.mkdir()
    _png(images / "b_wide.png", 56, 40, 1)
    _png(images / "a_small.png", 32, 32, 2)
    _png(images / "c_tall.png", 24, 48, 3)
    (images / "notes.txt").write_text("not an image")
    _png(work / "sample.png", 40, 40, 4)
    yield Sweep(
        work,
        runs["head=gap"],
        runs["head=flatten"],
        _decoy_runs(f"sqlite:///{work / 'mlflow.db'}"),
        images,
    )


def _written(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()} if folder.exists() else set()


# ----------------------------------------------------------------------------- run ids


def test_12_characters_and_several_images_after_one_image_option(
    sweep: Sweep, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    done = ablate(sweep.work, "explain", sweep.gap[:12], "--image", "imgs/b_wide.png",
                  "imgs/c_tall.png", "--image", "sample.png", "--method", "saliency",
                  "--out", str(out))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"run {sweep.gap}: 9 files" in done.stdout  # the whole id, found from 12
    assert _written(out) == {
        f"{n}_{kind}" for n in ("b_wide", "c_tall", "sample")
        for kind in ("panel.png", "saliency.png", "saliency.npy")
    }  # fmt: skip
    assert "imgs/b_wide.png: resized from 56x40 to 32x32" in done.stdout
    assert "imgs/c_tall.png: resized from 24x48 to 32x32" in done.stdout
    assert np.load(out / "c_tall_saliency.npy").shape == (32, 32)


def test_an_ambiguous_prefix_names_the_candidates(sweep: Sweep, tmp_path: Path) -> None:
    done = ablate(sweep.work, "explain", DECOY_PREFIX, "--image", "sample.png",
                  "--out", str(tmp_path / "out"))  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    err = " ".join(done.stderr.split())
    assert f"run id '{DECOY_PREFIX}' is ambiguous" in err, err
    for i, rid in enumerate(sweep.decoys, 1):  # they share 31 characters: shown whole
        assert f"{rid} (decoy {i})" in err, err
    assert "Give more of the id" in err and "Traceback" not in done.stderr
    assert not (tmp_path / "out").exists()


def test_an_unknown_or_too_short_prefix_is_refused(sweep: Sweep) -> None:
    ids = (sweep.gap, sweep.flatten, *sweep.decoys)
    absent = next(
        p for p in (f"{i:04x}" * 3 for i in range(65536)) if not any(r.startswith(p) for r in ids)
    )
    done = ablate(sweep.work, "explain", absent, "--image", "sample.png")
    assert done.returncode == 2
    err = " ".join(done.stderr.split())
    assert f"no run '{absent}' in the tracking store {sweep.uri}: no run id starts with it" in err
    short = ablate(sweep.work, "explain", sweep.gap[:3], "--image", "sample.png")
    assert short.returncode == 2 and "give at least 4 of its characters" in short.stderr


# ------------------------------------------------- a glob, a folder, a class name: the README


def _path() -> str:
    return f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"


def _listed(stdout: str) -> list[str]:
    """The file names an explain run lists, in its order."""
    return [Path(ln.strip()).name for ln in stdout.splitlines() if ln.startswith("  ")]


def test_the_readme_commands_a_glob_a_class_name_and_a_folder(sweep: Sweep) -> None:
    """The README's explain commands as written (through bash, so `imgs/*.png` is the
    shell's glob), RUN_ID being the 12 characters the sweep's table printed."""
    commands = [c for c in section_commands("Explanations") if c.startswith("ablate explain ")]
    glob = [c for c in commands if "--image imgs/*.png" in c and "--class-id automobile" in c]
    folder = [c for c in commands if "--image imgs/ " in c]
    assert len(glob) == 1 and len(folder) == 1, commands
    seen = {}
    for cmd in commands:
        line = cmd.replace("RUN_ID", sweep.gap[:12])
        done = subprocess.run(["bash", "-c", line], cwd=sweep.work, env=_env() | {"PATH": _path()},
                              capture_output=True, text=True, timeout=TIMEOUT)  # fmt: skip
        assert done.returncode == 0, (cmd, done.stderr)
        assert f"run {sweep.gap}:" in done.stdout, (cmd, done.stdout)
        seen[cmd] = done.stdout
    globbed = seen[glob[0]]
    assert "files for class 1 (automobile)" in globbed
    assert {n.rsplit("_", 1)[0] for n in _listed(globbed)} == {"a_small", "b_wide", "c_tall"}
    panels = [n for n in _listed(seen[folder[0]]) if n.endswith("_panel.png")]
    # the folder's images, sorted by name; notes.txt is not an image and is left out
    assert panels == ["a_small_panel.png", "b_wide_panel.png", "c_tall_panel.png"]


def test_a_bad_class_name_lists_the_classes_and_an_empty_folder_is_refused(
    sweep: Sweep, tmp_path: Path
) -> None:
    bad = ablate(sweep.work, "explain", sweep.gap[:12], "--image", "sample.png",
                 "--class-id", "plane", "--out", str(tmp_path / "out"))  # fmt: skip
    assert bad.returncode == 2
    err = " ".join(bad.stderr.split())
    assert "--class-id 'plane': not one of the run's classes" in err
    assert "0=airplane, 1=automobile" in err and "9=truck" in err
    empty = tmp_path / "empty"
    empty.mkdir()
    refused = ablate(sweep.work, "explain", sweep.gap[:8], "--image", str(empty))
    assert refused.returncode == 2 and "the folder holds no image (.png" in refused.stderr
    assert not (tmp_path / "out").exists()


# ----------------------------------------------------------------------------- methods


def test_cam_alone_on_a_flatten_head_is_refused_with_the_reason(
    sweep: Sweep, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    done = ablate(sweep.work, "explain", sweep.flatten[:6], "--image", "sample.png",
                  "--method", "cam", "--out", str(out))  # fmt: skip  # a shorter prefix too
    assert done.returncode == 2, done.stdout
    err = " ".join(done.stderr.split())
    assert "--method cam: does not apply to this run" in err
    assert "global average pooling" in err and "Flatten -> Linear" in err  # the report's reason
    assert not out.exists()


# ----------------------------------------------------------------------------- reading only


def test_from_another_folder_explain_creates_nothing_and_cam_says_why(
    sweep: Sweep, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    image = str(sweep.work / "sample.png")
    done = ablate(elsewhere, "explain", sweep.gap[:12], "--image", image)
    assert done.returncode == 2 and done.stdout == ""
    assert " ".join(done.stderr.split()).startswith(
        f"error: no tracking store at {elsewhere / 'mlflow.db'}:"
    ), done.stderr
    assert _written(elsewhere) == set()  # no empty mlflow.db, no mlruns
    # the store named: CAM on the flatten head says why, gradcam is drawn, exit 0, and
    # the only thing written here is the output asked for
    found = ablate(elsewhere, "explain", sweep.flatten[:12], "--image", image, "--method",
                   "cam", "--method", "gradcam", "--tracking-uri", sweep.uri)  # fmt: skip
    assert found.returncode == 0, found.stderr
    assert "cam: n/a for this run, skipped (cam needs global average pooling" in found.stdout
    assert _written(elsewhere) == {"explanations"}
    assert _written(elsewhere / "explanations") == {
        "sample_panel.png", "sample_gradcam.png", "sample_gradcam.npy"
    }  # fmt: skip


LOAD = """\
import sys
from ablate import load_run
try:
    net, cfg = load_run(*sys.argv[1:])
except Exception as e:
    print(type(e).__name__, str(e))
else:
    print(cfg.model.head, type(net).__name__)
"""


def _load_run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", LOAD, *args], cwd=cwd, env=_env(),
                          capture_output=True, text=True, timeout=TIMEOUT)  # fmt: skip


def test_load_run_prints_only_the_answer_and_creates_nothing(sweep: Sweep, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = _load_run(elsewhere, sweep.flatten[:12], sweep.uri)  # a prefix, the store named
    assert (done.stdout, done.stderr) == ("flatten CNN\n", "")  # no MLflow bar or log line
    missing = _load_run(elsewhere, sweep.flatten[:12])  # the default store: not here
    assert missing.stderr == ""
    assert missing.stdout == f"StoreError no tracking store at {elsewhere / 'mlflow.db'}: " + (
        "give the store of the sweep with --tracking-uri (load_run: tracking_uri=) or "
        "MLFLOW_TRACKING_URI.\n"
    )
    assert _written(elsewhere) == set()


# ----------------------------------------------------------------------------- report


def test_the_report_runs_table_shows_the_run_ids(sweep: Sweep, tmp_path: Path) -> None:
    page = tmp_path / "r.html"
    done = ablate(sweep.work, "report", "ux", "--out", str(page))
    assert done.returncode == 0, done.stderr
    html = page.read_text()
    assert '<button type="button">run id</button>' in html
    for rid in (sweep.gap, sweep.flatten):
        assert f'title="{rid}" class="text">{rid[:12]}<' in html
