"""Stores made before the redesign (issue 8) resume with nothing re-run.

`fixtures/store_v0/` is a real store made by the code before the change, and
`fixtures/run_keys_v0.json` the run keys that code gave every shipped space.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
import yaml
from store import state, the_sweep
from typer.testing import CliRunner

from ablate.cli import app
from ablate.schedulers.optuna_search import space_hash
from ablate.spaces import expand, load_space, sweep_id

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
SLICE = ROOT / "tests" / "data" / "cifar10-slice.zip"
MADE_IN = "/tmp/ablate-store-v0"  # where the store was made: MLflow keeps absolute paths
KEYS_V0 = json.loads((FIXTURES / "run_keys_v0.json").read_text())


@pytest.mark.parametrize("space", sorted(KEYS_V0))
def test_run_keys_and_sweep_ids_are_unchanged(space: str) -> None:
    sp = load_space(ROOT / space)
    points = expand(sp)
    before = KEYS_V0[space]
    assert {p.label: p.config.key() for p in points} == before["points"]
    assert sweep_id(points) == before["sweep_id"]
    if sp.kind == "optuna":
        assert space_hash(sp) == before["space_hash"]


def copy_store(dst: Path) -> None:
    shutil.copytree(FIXTURES / "store_v0" / "mlruns", dst / "mlruns")
    shutil.copy(FIXTURES / "store_v0" / "mlflow.db", dst / "mlflow.db")
    with sqlite3.connect(dst / "mlflow.db") as db:
        db.execute(
            "UPDATE experiments SET artifact_location = replace(artifact_location, ?, ?)",
            (MADE_IN, str(dst)),
        )
        db.execute(
            "UPDATE runs SET artifact_uri = replace(artifact_uri, ?, ?)", (MADE_IN, str(dst))
        )


@pytest.mark.parametrize("names", ["old", "new"])
def test_a_store_from_before_resumes_with_nothing_rerun(
    names: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy_store(tmp_path)
    doc = yaml.safe_load((FIXTURES / "store_v0" / "space.yaml").read_text())
    if names == "new":  # the same space written with the presets' new names
        doc["grid"]["model.preset"] = ["keras_cnn", "gap_cnn"]
    space = tmp_path / "space.yaml"
    space.write_text(yaml.safe_dump(doc))
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    parent_before, children_before = the_sweep(uri, "store_v0")
    monkeypatch.chdir(tmp_path)
    args = ["run", str(space), "--data", str(SLICE), "--tracking-uri", uri]
    result = CliRunner().invoke(app, [*args, "--set", f"data.cache_dir={tmp_path / 'cache'}"])
    assert result.exit_code == 0, result.output
    assert result.output.count("finished earlier") == 4, result.output
    assert "epoch 1/1" not in result.output  # nothing trained
    parent, children = the_sweep(uri, "store_v0")
    assert parent.info.run_id == parent_before.info.run_id
    assert parent.info.status == "FINISHED"
    assert {c.info.run_id for c in children} == {c.info.run_id for c in children_before}
    assert sorted(state(c) for c in children) == ["finished", "finished", "skipped", "skipped"]
    # the stored keys are the keys the new code computes for the same points
    assert {c.data.tags["ablate.run_key"] for c in children} == set(
        KEYS_V0["tests/fixtures/store_v0/space.yaml"]["points"].values()
    )
