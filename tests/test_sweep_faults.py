"""A sweep survives its bad points: invalid ones are skipped, crashing ones fail
alone, Ctrl-C keeps what finished. Runs on the committed CIFAR-10 slice."""

from __future__ import annotations

import errno
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from mlflow.tracking import MlflowClient
from store import by_name, the_sweep
from typer.testing import CliRunner

import lightning_modules.train as train_mod
from ablate.cli import app

ROOT = Path(__file__).resolve().parents[1]
SLICE = ROOT / "tests" / "data" / "cifar10-slice.zip"
pytestmark = pytest.mark.e2e


def sweep(tmp_path: Path, grid: dict[str, list[Any]]) -> tuple[int, str, MlflowClient]:
    doc = {
        "experiment": "faults",
        "base": {
            "model": {"depth": 2, "width": 8, "stride": 1},
            "data": {"limit_train": 200, "limit_test": 50},
            "train": {"max_epochs": 1, "batch_size": 50},
            "explain": {"enabled": False},
        },
        "grid": grid,
    }
    space = tmp_path / "faults.yaml"
    space.write_text(yaml.safe_dump(doc))
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    args = ["run", str(space), "--data", str(SLICE), "--tracking-uri", uri]
    result = CliRunner().invoke(app, [*args, "--set", f"data.cache_dir={tmp_path / 'cache'}"])
    return result.exit_code, result.output, MlflowClient(uri)


def children(client: MlflowClient) -> dict[str, Any]:
    return by_name(the_sweep(client, "faults")[1])


def parent(client: MlflowClient) -> Any:
    return the_sweep(client, "faults")[0]


def test_invalid_point_is_recorded_as_skipped_and_the_sweep_goes_on(tmp_path: Path) -> None:
    code, out, client = sweep(tmp_path, {"model.depth": [2, 6]})  # 6 blocks: 32px runs out
    assert code == 0, out
    runs = children(client)
    skipped = runs["depth=6 seed=0"]
    assert skipped.data.tags["ablate.state"] == "skipped" and skipped.info.status == "FINISHED"
    assert "below 1x1" in skipped.data.tags["ablate.skip_reason"]
    assert "block 6" in skipped.data.tags["ablate.skip_reason"]
    assert runs["depth=2 seed=0"].data.tags["ablate.state"] == "finished"
    assert parent(client).info.status == "FINISHED"


def test_a_crashing_point_fails_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = train_mod.fit_and_test

    def flaky(cfg: Any, *args: Any, **kwargs: Any) -> Any:
        if cfg.model.stride == 2:
            raise RuntimeError("simulated crash in training")
        return real(cfg, *args, **kwargs)

    monkeypatch.setattr(train_mod, "fit_and_test", flaky)
    code, out, client = sweep(tmp_path, {"model.stride": [1, 2, 3]})
    assert code == 1, out  # not every point finished
    assert "Traceback" not in out
    runs = children(client)
    bad = runs["stride=2 seed=0"]
    assert bad.info.status == "FAILED" and bad.data.tags["ablate.state"] == "failed"
    assert "simulated crash" in bad.data.tags["ablate.fail_reason"]
    local = client.download_artifacts(bad.info.run_id, "error.txt", str(tmp_path))
    assert "RuntimeError: simulated crash" in Path(local).read_text()
    for ok in ("stride=1 seed=0", "stride=3 seed=0"):
        assert runs[ok].data.tags["ablate.state"] == "finished"
    # the same command again retries only the failed point
    monkeypatch.setattr(train_mod, "fit_and_test", real)
    code, out, client = sweep(tmp_path, {"model.stride": [1, 2, 3]})
    assert code == 0, out
    assert out.count("finished earlier") == 2


def test_a_diverging_point_stops_at_its_first_nan_and_fails_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The issue's case: lr 1e6, plain SGD, no batch norm. The loss is NaN within a few
    steps; the run used to train every epoch on NaN, then crash converting NaN. Now it
    stops there, is failed with where it diverged, and the sweep goes on."""
    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    args = ["run", str(ROOT / "search_spaces" / "smoke.yaml"), "--data", str(SLICE)]
    args += ["--tracking-uri", uri, "--set", f"data.cache_dir={tmp_path / 'cache'}"]
    for kv in ("train.lr=1e6", "train.optimizer=sgd", "model.batch_norm=false"):
        args += ["--set", kv]
    result = CliRunner().invoke(app, [*args, "--set", "explain.enabled=false"])
    assert result.exit_code == 1, result.output  # not every point finished
    assert "Traceback" not in result.output and "point 2 of 2" in result.output
    kids = the_sweep(MlflowClient(uri), "smoke")[1]
    assert len(kids) == 2
    for bad in kids:
        assert bad.info.status == "FAILED" and bad.data.tags["ablate.state"] == "failed"
        reason = bad.data.tags["ablate.fail_reason"]
        assert re.fullmatch(
            r"TrainingDiverged: diverged at epoch 1, step \d+ \(loss (nan|inf|-inf)\)", reason
        ), reason
        assert "train_acc" not in bad.data.metrics  # stopped inside the first epoch


def test_ctrl_c_kills_the_current_run_and_keeps_the_finished_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = train_mod.fit_and_test

    def interrupted(cfg: Any, *args: Any, **kwargs: Any) -> Any:
        if cfg.model.stride == 2:
            raise KeyboardInterrupt
        return real(cfg, *args, **kwargs)

    monkeypatch.setattr(train_mod, "fit_and_test", interrupted)
    code, out, client = sweep(tmp_path, {"model.stride": [1, 2, 3]})
    assert code == 130, out
    assert "run the same command again to resume" in out
    runs = children(client)
    assert runs["stride=1 seed=0"].data.tags["ablate.state"] == "finished"
    assert runs["stride=2 seed=0"].info.status == "KILLED"
    assert "stride=3 seed=0" not in runs
    assert parent(client).info.status == "KILLED"


def test_explain_data_picks_the_probe_images_of_a_run_trained_without_explanations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, client = sweep(tmp_path, {"model.stride": [1]})
    assert code == 0, out
    rid = children(client)["stride=1 seed=0"].info.run_id
    monkeypatch.delenv("ABLATE_DATA", raising=False)
    base = [
        "explain",
        rid,
        "--method",
        "saliency",
        "--tracking-uri",
        f"sqlite:///{tmp_path}/mlflow.db",
    ]
    no_data = CliRunner().invoke(app, [*base, "--out", str(tmp_path / "none")])
    assert no_data.exit_code == 2 and "--data PATH" in no_data.output, no_data.output
    out_dir = tmp_path / "probe"
    result = CliRunner().invoke(app, [*base, "--data", str(SLICE), "--out", str(out_dir)])
    assert result.exit_code == 0, result.output
    # probe_per_class defaults to 2: the same 20 test images a sweep with explanations explains
    assert len(list(out_dir.glob("test*_saliency.npy"))) == 20


def test_disk_full_while_writing_artifacts_fails_that_run_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The checkpoint of the second point hits ENOSPC (a patched writer: no tmpfs here)."""
    from ablate.store import Tracker

    real = Tracker.log_checkpoint
    calls = []

    def full_on_second(self: Tracker, *args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, "No space left on device", "mlruns/1/x/checkpoint")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Tracker, "log_checkpoint", full_on_second)
    code, out, client = sweep(tmp_path, {"model.stride": [1, 2, 3]})
    assert code == 1, out
    assert "Traceback" not in out
    runs = children(client)
    full = runs["stride=2 seed=0"]
    assert full.info.status == "FAILED"
    assert full.data.tags["ablate.fail_reason"].startswith("disk full while writing mlruns/")
    for ok in ("stride=1 seed=0", "stride=3 seed=0"):
        assert runs[ok].data.tags["ablate.state"] == "finished"
        assert client.list_artifacts(runs[ok].info.run_id, "checkpoint")


def test_out_of_gpu_memory_names_the_batch_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No GPU here: the handler is exercised by raising torch's own OutOfMemoryError."""
    import torch

    def oom(cfg: Any, *args: Any, **kwargs: Any) -> Any:
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(train_mod, "fit_and_test", oom)
    code, out, client = sweep(tmp_path, {"model.stride": [1, 2]})
    assert code == 1, out
    assert "Traceback" not in out
    for run in children(client).values():
        reason = run.data.tags["ablate.fail_reason"]
        assert reason.startswith("out of GPU memory at train.batch_size=50: try ")
        assert "--set train.batch_size=25" in reason and "Tried to allocate 2.00 GiB" in reason


def test_a_non_finite_validation_loss_fails_the_run_with_its_epoch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch

    from lightning_modules.module import Classifier

    real = Classifier._loss

    def inf_when_validating(self: Classifier, logits: Any, y: Any) -> Any:
        loss = real(self, logits, y)
        return loss if self.training else loss * torch.inf

    monkeypatch.setattr(Classifier, "_loss", inf_when_validating)
    code, out, client = sweep(tmp_path, {"model.stride": [2]})
    assert code == 1, out
    run = children(client)["stride=2 seed=0"]
    assert run.data.tags["ablate.fail_reason"] == (
        "TrainingDiverged: diverged at epoch 1: validation loss inf"
    )


def test_a_run_handle_ends_each_state_with_its_reason(tmp_path: Path) -> None:
    """The one place a run is finished, failed (reason, traceback), killed, pruned or skipped."""
    from ablate.spaces import RunConfig
    from ablate.store import RunState, Tracker, schema

    tracker = Tracker(f"sqlite:///{tmp_path / 'mlflow.db'}")
    parent, _ = tracker.start_parent("e", "sid", "e sweep", None, "ablate run", {})
    runs = {
        name: tracker.start_run(parent, RunConfig(seed=i), name) for i, name in enumerate("abcde")
    }
    runs["a"].finish()
    runs["b"].fail("boom", "Traceback: boom")
    runs["c"].kill("interrupted (Ctrl-C)")
    runs["d"].prune("Trial was pruned at epoch 1.")
    runs["e"].skip("the feature map is 0x0")
    client = MlflowClient(tracker.uri)
    got = {n: client.get_run(r.run_id) for n, r in runs.items()}
    assert {n: (r.info.status, r.data.tags[schema.STATE]) for n, r in got.items()} == {
        "a": ("FINISHED", RunState.FINISHED),
        "b": ("FAILED", RunState.FAILED),
        "c": ("KILLED", RunState.KILLED),
        "d": ("FINISHED", RunState.PRUNED),
        "e": ("FINISHED", RunState.SKIPPED),
    }
    assert got["b"].data.tags[schema.FAIL_REASON] == "boom"
    error = client.download_artifacts(runs["b"].run_id, schema.ERROR_TXT, str(tmp_path))
    assert Path(error).read_text() == "Traceback: boom"
    assert got["c"].data.tags[schema.FAIL_REASON] == "interrupted (Ctrl-C)"
    assert got["d"].data.tags[schema.PRUNED] == "Trial was pruned at epoch 1."
    assert got["e"].data.tags[schema.SKIP_REASON] == "the feature map is 0x0"


def test_the_engine_leaves_its_schedulers_exceptions_to_them() -> None:
    """Pruning is Optuna's: the generic loop does not import it (`Scheduler.classify`)."""
    import ast

    engine = Path(__file__).resolve().parents[1] / "ablate" / "sweep" / "engine.py"
    tree = ast.parse(engine.read_text())
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {
        (node.module or "").split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
    }
    assert "optuna" not in imported
