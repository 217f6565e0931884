"""`ablate report` on a sweep that is still running, made directly in a store (no
training): it shows what is done, what runs and what is missing, and claims nothing
it cannot support."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from ablate.cli import app
from ablate.spaces import expand, load_space, sweep_id
from ablate.store import Tracker, mask_password, resolve_tracking_uri

SPACE = """\
experiment: partial <b>&
base:
  model: {depth: 2, width: 8}
grid:
  model.stride: [1, 2]
seeds: 2
"""


def make_store(tmp_path: Path, uri: str) -> None:
    """One finished run, one running, two design points not started."""
    space_file = tmp_path / "partial.yaml"
    space_file.write_text(SPACE)
    space = load_space(space_file)
    points = expand(space)
    tracker = Tracker(uri)
    parent, _ = tracker.start_parent(
        space.experiment,
        sweep_id(points),
        "partial sweep",
        space_file,
        "ablate run partial.yaml",
        {"space": str(space_file), "points": len(points), "design": space.design()},
    )
    done = tracker.start_child(parent, points[0].config, points[0].label)
    for epoch, acc in enumerate((0.3, 0.4, 0.45)):
        tracker.log_metrics(done, {"val_acc": acc, "train_loss": 2 - acc}, step=epoch)
    tracker.log_metrics(done, {"test_acc": 0.44, "best_val_acc": 0.45, "train_seconds": 3.0})
    tracker.end(done, "finished")
    tracker.start_child(parent, points[1].config, points[1].label)  # still RUNNING


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    make_store(tmp_path, resolve_tracking_uri(None, {}))
    return tmp_path


def test_running_sweep_shows_done_running_and_missing(store: Path) -> None:
    result = CliRunner().invoke(app, ["report", "--ui-url", "http://127.0.0.1:5000"])
    assert result.exit_code == 0, result.output
    html = next((store / "reports").glob("*.html")).read_text()
    assert "1 run(s) still running" in html
    assert "2 design point(s) have no run yet" in html
    runs = pd.read_csv(next((store / "reports").glob("*.runs.csv")))
    assert sorted(runs["state"]) == ["finished", "missing", "missing", "running"]
    # one finished run per level at most: nothing to compare, so no verdict is claimed
    assert "better" not in result.output and "worse" not in result.output
    # user strings are escaped; runs link to the UI
    assert "partial <b>&" not in html and "partial &lt;b&gt;&amp;" in html
    assert re.search(r'href="http://127\.0\.0\.1:5000/#/experiments/\d+/runs/[0-9a-f]+"', html)


@pytest.mark.parametrize(
    ("uri", "shown"),
    [
        ("postgresql://ablate:secret@db/ablate", "postgresql://ablate:***@db/ablate"),
        ("http://user:pw@host:5000", "http://user:***@host:5000"),
        ("http://host:5000", "http://host:5000"),
        ("sqlite:////tmp/mlflow.db", "sqlite:////tmp/mlflow.db"),
    ],
)
def test_passwords_are_masked(uri: str, shown: str) -> None:
    assert mask_password(uri) == shown


@pytest.mark.servers
def test_report_from_a_tracking_server(
    mlflow_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Everything is read through MLflow: a sweep recorded on a server reports from here."""
    monkeypatch.chdir(tmp_path)
    make_store(tmp_path, mlflow_server)
    out = tmp_path / "remote.html"
    result = CliRunner().invoke(
        app, ["report", "partial <b>&", "--tracking-uri", mlflow_server, "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "1 run(s) still running" in out.read_text()
    assert not (tmp_path / "mlflow.db").exists()  # nothing read from, or made, locally
