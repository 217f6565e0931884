"""Security basics, checked on the source and on crafted inputs: safe YAML, weights-only
checkpoints, no shell strings, passwords never shown. (Zip traversal and size caps:
tests/test_hostile_inputs.py; escaping in the report: tests/test_report_partial.py.)"""

from __future__ import annotations

import ast
import contextlib
import io
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
from mlflow.tracking import MlflowClient
from PIL import Image
from typer.testing import CliRunner

from ablate.cli import app
from ablate.spaces import RunConfig
from ablate.store import CHECKPOINT, Tracker, mask_password, schema

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("ablate", "lightning_modules", "explain", "benchmarks")


def calls() -> list[tuple[Path, ast.Call]]:
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Call):
                    found.append((path.relative_to(ROOT), node))
    return found


def name_of(call: ast.Call) -> str:
    return ast.unparse(call.func)


def keyword(call: ast.Call, name: str) -> str | None:
    return next((ast.unparse(k.value) for k in call.keywords if k.arg == name), None)


def test_yaml_is_only_read_with_safe_load() -> None:
    unsafe = [
        f"{p}:{c.lineno} {name_of(c)}"
        for p, c in calls()
        if name_of(c) in ("yaml.load", "yaml.unsafe_load", "yaml.full_load", "yaml.load_all")
    ]
    assert unsafe == []
    assert any(name_of(c) == "yaml.safe_load" for _, c in calls())


def test_every_torch_load_is_weights_only() -> None:
    loads = [(p, c) for p, c in calls() if name_of(c) == "torch.load"]
    assert loads, "no torch.load found: the scan is broken"
    bad = [f"{p}:{c.lineno}" for p, c in loads if keyword(c, "weights_only") != "True"]
    assert bad == []


def test_no_shell_strings() -> None:
    bad = [
        f"{p}:{c.lineno} {name_of(c)}"
        for p, c in calls()
        if keyword(c, "shell") not in (None, "False")
        or name_of(c) in ("os.system", "os.popen", "subprocess.getoutput")
    ]
    assert bad == []


def test_no_zip_is_extracted_to_disk() -> None:
    """Zips are read member by member in memory (names checked), never extracted."""
    bad = [
        f"{p}:{c.lineno}" for p, c in calls() if name_of(c).endswith((".extractall", ".extract"))
    ]
    assert bad == []


class Payload:
    """What a crafted checkpoint would run on a plain torch.load / pickle.load."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (f"touch {self.marker}",))


def test_a_checkpoint_carrying_a_pickle_payload_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "PWNED"
    store = tmp_path / "store"
    store.mkdir()
    uri = f"sqlite:///{store / 'mlflow.db'}"
    evil = tmp_path / "model.pt"
    evil.write_bytes(pickle.dumps({"config": {}, "state_dict": Payload(marker)}))
    with contextlib.chdir(store):
        tracker = Tracker(uri)
        exp = tracker.experiment_id("evil")
        client = MlflowClient(uri)
        rid = client.create_run(exp).info.run_id
        client.log_artifact(rid, str(evil), str(Path(CHECKPOINT).parent))
    image = tmp_path / "cat.png"
    buf = io.BytesIO()
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(buf, format="PNG")
    image.write_bytes(buf.getvalue())
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["explain", rid, "--image", str(image), "--tracking-uri", uri])
    assert result.exit_code == 2, result.output
    assert "refused to load checkpoint/model.pt" in result.output
    assert "Traceback" not in result.output
    assert not marker.exists(), "the payload ran"


@pytest.mark.parametrize(
    "text,shown",
    [
        (
            "ablate run s.yaml --storage postgresql://ablate:hunter2@db:5432/optuna",
            "ablate run s.yaml --storage postgresql://ablate:***@db:5432/optuna",
        ),
        ("--tracking-uri http://u:p%40ss@host:5000 x", "--tracking-uri http://u:***@host:5000 x"),
        ("sqlite:///mlflow.db and http://host:5000", "sqlite:///mlflow.db and http://host:5000"),
    ],
)
def test_passwords_are_masked_anywhere_in_a_text(text: str, shown: str) -> None:
    assert mask_password(text) == shown


def test_the_command_tag_of_a_sweep_never_holds_a_password(tmp_path: Path) -> None:
    with contextlib.chdir(tmp_path):
        tracker = Tracker(f"sqlite:///{tmp_path / 'mlflow.db'}")
        parent, _ = tracker.start_parent(
            "secret",
            "sid",
            name="s",
            space_file=None,
            command="ablate run s.yaml --storage postgresql://ablate:hunter2@db/optuna",
            summary={"points": 1},
        )
        run = MlflowClient(tracker.uri).get_run(parent)
        tracker.skip(parent, RunConfig(), "p", "reason")
    assert "hunter2" not in str(run.data.tags)
    assert "postgresql://ablate:***@db/optuna" in run.data.tags[schema.COMMAND]
