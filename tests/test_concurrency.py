"""Several `ablate run` started together in one fresh project folder (two terminals,
a script): no traceback, no corrupt store, no point trained twice.

- different sweeps share the new `mlflow.db`: its creation is locked, so MLflow's schema
  migration no longer races ("Online migration expected to match one row");
- the same local grid (no --storage) is claimed by one process; the others say so and
  exit 2 (sharing the work is what --workers and --storage are for).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml
from store import finished_keys, the_sweep

ROOT = Path(__file__).resolve().parents[1]
SLICE = ROOT / "tests" / "data" / "cifar10-slice.zip"

BASE = {
    "model": {"depth": 2, "width": 8},
    "data": {"limit_train": 100, "limit_test": 50},
    "train": {"max_epochs": 1, "batch_size": 50},
    "explain": {"enabled": False},
}


def start(tmp_path: Path, experiment: str, grid: dict[str, list[int]]) -> subprocess.Popen[str]:
    space = tmp_path / f"{experiment}.yaml"
    if not space.exists():
        space.write_text(yaml.safe_dump({"experiment": experiment, "base": BASE, "grid": grid}))
    cmd = [sys.executable, "-m", "ablate.cli", "run", str(space), "--data", str(SLICE)]
    cmd += ["--set", f"data.cache_dir={tmp_path / 'cache'}", "--no-report"]
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(
        cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def finish(procs: list[subprocess.Popen[str]]) -> list[tuple[int, str]]:
    return [(p.wait(timeout=600), p.stdout.read() if p.stdout else "") for p in procs]


def test_two_different_sweeps_started_together_in_a_fresh_folder(tmp_path: Path) -> None:
    procs = [start(tmp_path, name, {"model.stride": [1]}) for name in ("left", "right")]
    results = finish(procs)
    for code, out in results:
        assert code == 0, out
        assert "Traceback" not in out
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    for name in ("left", "right"):
        _, children = the_sweep(uri, name)
        assert set(finished_keys(children).values()) == {1}


def test_three_runs_of_one_grid_train_each_point_once(tmp_path: Path) -> None:
    procs = [start(tmp_path, "same", {"model.stride": [1, 2]}) for _ in range(3)]
    results = finish(procs)
    codes = [code for code, _ in results]
    for code, out in results:
        assert "Traceback" not in out, out
        assert code in (0, 2), out
        if code == 2:
            assert "is already running on this store in another process" in out, out
            assert "--workers N or --storage" in out
    assert codes.count(0) >= 1, results
    _, children = the_sweep(f"sqlite:///{tmp_path / 'mlflow.db'}", "same")
    done = finished_keys(children)
    assert len(done) == 2 and set(done.values()) == {1}, done
    assert len(children) == 2  # no second copy of a point, not even a failed one


def test_a_claim_is_per_store_experiment_and_sweep(tmp_path: Path) -> None:
    """Two experiments with the same points are two sweeps (two parent runs): both may
    run at once; the same one twice may not. (CI once saw 'left' block 'right'.)"""
    import pytest

    from ablate.errors import AblateError
    from ablate.schedulers import SweepOptions
    from ablate.spaces import expand, load_space
    from ablate.sweep.engine import _claim

    spaces = {}
    for name in ("left", "right"):
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump({"experiment": name, "base": BASE}))
        spaces[name] = load_space(path)
    points = {name: expand(sp) for name, sp in spaces.items()}
    opts = SweepOptions(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    taken = pytest.raises(AblateError, match=r"'left' .* is already running")
    with (
        _claim(spaces["left"], opts, points["left"]),
        _claim(spaces["right"], opts, points["right"]),
        taken,
    ):
        _claim(spaces["left"], opts, points["left"]).__enter__()  # the same sweep a second time
    other_store = SweepOptions(tracking_uri=f"sqlite:///{tmp_path / 'other.db'}")
    with (
        _claim(spaces["left"], opts, points["left"]),
        _claim(spaces["left"], other_store, points["left"]),
    ):
        pass


def test_the_probe_set_is_written_once_per_sweep(tmp_path: Path) -> None:
    """Every run of a sweep explains the same test images: the first one records them on
    the parent, the others leave the file alone (racing workers would write the same)."""
    from mlflow.tracking import MlflowClient

    from ablate.store import Tracker, schema

    tracker = Tracker(f"sqlite:///{tmp_path / 'mlflow.db'}")
    parent, _ = tracker.start_parent("e", "sid", "e sweep", None, "ablate run", {})
    payload = {"test_indices": [3, 1, 4], "per_class": 1}
    assert not tracker.has_artifact(parent, schema.PROBE_JSON)
    assert tracker.log_parent_json_once(parent, schema.PROBE_JSON, payload)
    assert not tracker.log_parent_json_once(parent, schema.PROBE_JSON, {"test_indices": []})
    assert tracker.has_artifact(parent, schema.PROBE_JSON)
    local = MlflowClient(tracker.uri).download_artifacts(parent, schema.PROBE_JSON, str(tmp_path))
    assert yaml.safe_load(Path(local).read_text()) == payload
