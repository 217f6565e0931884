"""One real end-to-end sweep: `ablate run search_spaces/smoke.yaml` on 1,300 real
CIFAR-10 images (JPEG copy) committed under tests/data, read back from MLflow.

Accuracy threshold: the test split of the slice has 300 images, 30 per class.
Chance is 10%; with n=300 the binomial standard deviation at p=0.1 is 1.7
points, so 20% is ~6 standard deviations above chance. Both smoke runs reach
29-31% on this machine (3 epochs on 900 images), leaving a margin of ~9 points.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from mlflow.entities import Run
from mlflow.tracking import MlflowClient
from store import the_sweep
from typer.testing import CliRunner

from ablate.cli import app
from explain.metrics import SANITY_MAX_ABS_RHO

ROOT = Path(__file__).resolve().parents[1]
SLICE = ROOT / "tests" / "data" / "cifar10-slice.zip"
CHANCE_MARGIN_ACC = 0.20
pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def sweep(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    work = tmp_path_factory.mktemp("e2e")
    mp = pytest.MonkeyPatch()
    mp.chdir(work)
    args = [
        "run",
        str(ROOT / "search_spaces" / "smoke.yaml"),
        "--data",
        str(SLICE),
        "--set",
        f"data.cache_dir={work / 'cache'}",
    ]
    mp.setattr("sys.argv", ["ablate", *args])  # as the shell would set it
    mp.delenv("MLFLOW_TRACKING_URI", raising=False)  # the default store, and a clean slate
    result = CliRunner().invoke(app, args)
    client = MlflowClient(f"sqlite:///{work / 'mlflow.db'}")
    yield {"work": work, "result": result, "client": client, "args": args}
    mp.undo()


def runs(client: MlflowClient) -> tuple[Run, list[Run]]:
    return the_sweep(client, "smoke")


def test_sweep_exits_zero_and_prints_table(sweep: dict) -> None:
    result = sweep["result"]
    assert result.exit_code == 0, result.output
    assert "point 2 of 2" in result.output and "Sweep results" in result.output


def test_default_store_is_in_the_working_folder(sweep: dict) -> None:
    work = sweep["work"]
    assert (work / "mlflow.db").exists()
    assert any((work / "mlruns").rglob("model.pt"))


def test_parent_and_children_with_params_metrics_artifacts(sweep: dict) -> None:
    client = sweep["client"]
    parent, children = runs(client)
    assert parent.info.status == "FINISHED"
    assert "smoke.yaml" in parent.data.tags["ablate.command"]
    assert len(children) == 2
    assert {c.data.params["model.stride"] for c in children} == {"1", "2"}
    for c in children:
        assert c.info.status == "FINISHED" and c.data.tags["ablate.state"] == "finished"
        m = c.data.metrics
        assert m["test_acc"] >= CHANCE_MARGIN_ACC, m["test_acc"]
        for k in (
            "best_val_acc",
            "params",
            "flops_per_image",
            "train_seconds",
            "train_images_per_second",
        ):
            assert k in m
        assert m["params"] == 5466
        for k in ("test_precision.cat", "test_recall.cat", "test_f1.cat"):
            assert 0.0 <= m[k] <= 1.0
        # per-epoch curves, stepped by epoch
        for key in ("train_loss", "train_acc", "val_loss", "val_acc"):
            history = client.get_metric_history(c.info.run_id, key)
            assert sorted(h.step for h in history) == [0, 1, 2], key
        files = {f.path for f in client.list_artifacts(c.info.run_id)}
        assert {"config.yaml", "checkpoint", "confusion"} <= files
        cm = {f.path for f in client.list_artifacts(c.info.run_id, "confusion")}
        assert cm == {"confusion/confusion_matrix.png", "confusion/confusion_matrix.csv"}


def test_load_run_rebuilds_the_model(sweep: dict) -> None:
    from ablate import load_run
    from lightning_modules.data import load_cifar10

    client = sweep["client"]
    _, children = runs(client)
    child = next(c for c in children if c.data.params["model.stride"] == "1")
    net, cfg = load_run(child.info.run_id, tracking_uri="sqlite:///mlflow.db")
    assert cfg.model.stride == 1 and cfg.key() == child.data.tags["ablate.run_key"]
    arrays = load_cifar10(cfg.data)
    x = arrays.test_x[: cfg.data.limit_test].float() / 255
    y = arrays.test_y[: cfg.data.limit_test]
    with torch.no_grad():
        acc = (net(x).argmax(1) == y).float().mean().item()
    assert acc == pytest.approx(child.data.metrics["test_acc"], abs=1e-6)


def test_rerun_skips_finished_points(sweep: dict) -> None:
    client = sweep["client"]
    result = CliRunner().invoke(app, sweep["args"])
    assert result.exit_code == 0, result.output
    assert result.output.count("finished earlier") == 2
    _, children = runs(client)
    assert len(children) == 2  # nothing retrained


def test_explanations_attached_to_every_run(sweep: dict) -> None:
    client = sweep["client"]
    _, children = runs(client)
    for c in children:
        rid = c.info.run_id
        files = {f.path for f in client.list_artifacts(rid, "explain")}
        for name in (
            "maps.npz",
            "metrics.json",
            "grid_gradcam.png",
            "grid_saliency.png",
            "mistakes.png",
        ):
            assert f"explain/{name}" in files, files
        panels = client.list_artifacts(rid, "explain/panels")
        assert len(panels) >= 10  # probe: 1 per class, plus the mistakes
        m = c.data.metrics
        for method in ("saliency", "smoothgrad", "integrated_gradients", "gradcam", "cam"):
            for k in (
                "deletion_auc",
                "insertion_auc",
                "deletion_auc_random",
                "sanity_spearman",
                "infidelity",
            ):
                assert f"xai.{method}.{k}" in m, (method, k)
        assert m["xai.seconds_total"] > 0
        # the tag names exactly the methods whose sanity rho is above the threshold
        flagged = {
            method
            for method in ("saliency", "smoothgrad", "integrated_gradients", "gradcam", "cam")
            if m[f"xai.{method}.sanity_spearman"] > SANITY_MAX_ABS_RHO
        }
        tag = c.data.tags["ablate.xai_flags"]
        named = set() if tag == "none" else set(tag.split(","))
        assert named == {f"xai.{x}.sanity_failed" for x in flagged}, (tag, flagged)


def test_explain_command_on_a_user_image(sweep: dict, tmp_path: Path) -> None:
    import numpy as np
    from PIL import Image

    client = sweep["client"]
    _, children = runs(client)
    rid = children[0].info.run_id
    image = tmp_path / "sample.png"
    Image.fromarray((np.random.default_rng(0).random((40, 56, 3)) * 255).astype("uint8")).save(
        image
    )
    out = tmp_path / "out"
    args = [
        "explain",
        rid,
        "--image",
        str(image),
        "--class-id",
        "3",
        "--method",
        "gradcam",
        "--out",
        str(out),
    ]
    args += ["--tracking-uri", f"sqlite:///{sweep['work'] / 'mlflow.db'}"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "resized from 56x40 to 32x32" in result.output
    overlay = Image.open(out / "sample_gradcam.png")
    assert overlay.format == "PNG"
    raw = np.load(out / "sample_gradcam.npy")
    assert raw.shape == (32, 32) and np.isfinite(raw).all()
    assert (out / "sample_panel.png").exists()


def test_a_sweep_leaves_no_tracking_uri_in_the_environment(sweep: dict) -> None:
    # Lightning's MLFlowLogger would set it via mlflow.set_tracking_uri, steering every
    # later sweep in the same process (a notebook, a test session) to this store.
    import os

    assert os.environ.get("MLFLOW_TRACKING_URI") is None


def test_status_counts_the_finished_sweep(sweep: dict) -> None:
    args = ["status", str(ROOT / "search_spaces" / "smoke.yaml"), "--data", str(SLICE)]
    args += ["--tracking-uri", f"sqlite:///{sweep['work'] / 'mlflow.db'}"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    lines = [ln for ln in result.output.splitlines() if ln.count("│") >= 7]
    cells = [c.strip() for c in lines[-1].split("│")[1:-1]]
    # done running failed pruned skipped pending of
    assert cells == ["2", "0", "0", "0", "0", "0", "2"], result.output
    assert "best so far: stride=" in result.output
    assert "workers seen recently: none" in result.output
