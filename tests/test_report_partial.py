"""`ablate report` on stores made directly (no training): a sweep that is still running
(it shows what is done, what runs and what is missing, and claims nothing it cannot
support), a tuned sweep whose trials are configurations, not seeds, and a resumed sweep
whose killed point was retried."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from ablate.cli import app
from ablate.report import ReportOptions, build_report
from ablate.report.data.load import CONFUSION
from ablate.report.page import render
from ablate.spaces import build_config, expand, load_space, sweep_id
from ablate.store import Tracker, mask_password, resolve_tracking_uri, schema

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


# --------------------------------------------------------------------------- tuned sweep

TUNED = """\
experiment: tuned
kind: optuna
base:
  model: {depth: 2, width: 8}
params:
  train.lr: {type: float, low: 1.0e-4, high: 1.0e-2, log: true}
  model.head: {type: categorical, choices: [gap, flatten]}
n_trials: 3
metric: best_val_acc
direction: maximize
seed: 0
"""
# trial parameters and results: three different configurations, each on seed 0
TRIALS = (
    ({"train.lr": 0.001, "model.head": "gap"}, 0.40, 10.0),
    ({"train.lr": 0.003, "model.head": "flatten"}, 0.30, 14.0),
    ({"train.lr": 0.0002, "model.head": "gap"}, 0.35, 30.0),
)


def make_tuned_store(tmp_path: Path, uri: str) -> None:
    """Item 5 of issue 15, without training: an Optuna sweep with no scientific factor,
    three trials (three configurations) on one seed, one epoch each."""
    space_file = tmp_path / "tuned.yaml"
    space_file.write_text(TUNED)
    space = load_space(space_file)
    tracker = Tracker(uri)
    parent, _ = tracker.start_parent(
        space.experiment,
        "tuned-sweep",
        "tuned sweep",
        space_file,
        "ablate run tuned.yaml --n-trials 3",
        {"space": str(space_file), "points": 3, "design": space.design()},
    )
    for i, (values, acc, seconds) in enumerate(TRIALS):
        cfg = build_config(space, values, 0)
        run = tracker.start_child(parent, cfg, f"trial={i}", {schema.OPTUNA_TRIAL: str(i)})
        tracker.log_metrics(run, {"val_acc": acc, "train_loss": 2 - acc}, step=0)  # 1 epoch
        tracker.log_metrics(
            run,
            {
                "test_acc": acc,
                "best_val_acc": acc,
                "train_seconds": seconds,
                "params": 1e4 * (i + 1),
            },
        )
        # a 2-class confusion matrix: the page names the best configuration with it
        right = round(acc * 100)
        tracker.log_text(
            run, f"true,cat,dog\ncat,{right},{100 - right}\ndog,{100 - right},{right}\n", CONFUSION
        )
        tracker.end(run, "finished")


def test_tuned_sweep_reports_no_seed_noise_and_no_interval_across_trials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    uri = resolve_tracking_uri(None, {})
    make_tuned_store(tmp_path, uri)
    report, _ = build_report(ReportOptions(tracking_uri=uri, log_to_parent=False))
    # trials are configurations: three of them, named by their parameters, no phantom
    assert sorted(report.config_factors) == [
        "lr=0.0002 head=GAP",
        "lr=0.001 head=GAP",
        "lr=0.003 head=flatten",
    ]
    assert [r.state for r in report.runs] == ["finished"] * 3  # no "missing" point
    # no seed noise, and no interval, from the spread between different configurations
    assert report.noise and all(math.isnan(n.pooled_sd) for n in report.noise)
    for per_config in report.cells.values():
        assert all(iv.n == 1 and iv.lo is None and iv.hi is None for iv in per_config.values())
    assert report.effects == []
    assert not any("seed noise: SD" in f for f in report.findings)
    assert any("different configuration" in w for w in report.warnings)
    html = render(report)
    assert "3 runs over 3 configurations chosen by the tuner × 1 seed" in html
    best = re.search(r"Best configuration by mean test accuracy: <span[^>]*>([^<]*)<", html)
    assert best and best.group(1) == "lr=0.001 head=GAP"
    assert ">all</span>" not in html  # the phantom "all | missing" row
    assert not re.search(r'<span class="factor">(lr|head):\s*</span>', html)  # empty legends
    assert "Tuned, as tried:" in html and "lr 0.0002 to 0.003" in html
    assert "No per-epoch curves" not in html  # one epoch per trial: drawn as points


# --------------------------------------------------------------------------- resumed sweep


def make_resumed_store(tmp_path: Path, uri: str, retried: bool) -> None:
    """A 2-point sweep whose first run was killed (Ctrl-C); with `retried`, a resume then
    finished that point, as `ablate run` does."""
    space_file = tmp_path / "partial.yaml"
    space_file.write_text(SPACE.replace("seeds: 2", "seeds: 1"))
    space = load_space(space_file)
    points = expand(space)
    tracker = Tracker(uri)
    parent, _ = tracker.start_parent(
        space.experiment,
        sweep_id(points),
        "resumed sweep",
        space_file,
        "ablate run partial.yaml",
        {"space": str(space_file), "points": len(points), "design": space.design()},
    )
    killed = tracker.start_child(parent, points[0].config, points[0].label)
    tracker.end(killed, "killed")
    for point in points[int(not retried) :]:
        run = tracker.start_child(parent, point.config, point.label)
        tracker.log_metrics(run, {"test_acc": 0.4, "best_val_acc": 0.41, "train_seconds": 3.0})
        tracker.end(run, "finished")


@pytest.mark.parametrize("retried", [True, False])
def test_a_retried_point_that_finished_is_no_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, retried: bool
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    uri = resolve_tracking_uri(None, {})
    make_resumed_store(tmp_path, uri, retried)
    report, _ = build_report(ReportOptions(tracking_uri=uri, log_to_parent=False))
    assert sorted(r.state for r in report.runs).count("killed") == 1  # history is kept
    failure = [w for w in report.warnings if "failed or were killed" in w]
    if retried:
        assert failure == []
        html = render(report)
        assert "failed or were killed" not in html
        assert "1 failed or killed, then retried and finished: not a failure" in html
    else:  # the point is still not done: that is a failure to retry
        assert failure == [
            "1 run(s) failed or were killed; re-run the sweep's command to retry them."
        ]


@pytest.mark.parametrize(
    ("given", "said"),
    [
        ("test_acc=lots", "--margin test_acc=lots: a margin is a number >= 0"),
        ("test_ac=0.5", "--margin test_ac: this sweep has no response 'test_ac'"),
    ],
)
def test_bad_margin_is_one_line_and_exit_2(store: Path, given: str, said: str) -> None:
    result = CliRunner().invoke(app, ["report", "--margin", given])
    assert result.exit_code == 2, result.output
    assert said in " ".join(result.output.split())
    assert "Traceback" not in result.output
