"""A network of the user's own, by import path (issue 14, section 2).

The test network is tests/fixtures/external/my_nets.py, beside the space external.yaml
(TinyResNet, blocks 1, 2 and a refused 9, x 2 seeds). One sweep through the real CLI on
the committed CIFAR-10 slice is shared by the e2e tests; the bad-input cases and the
contract's pieces are unit tests (they build tiny nets, never train).
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from PIL import Image
from readme_commands import section_commands
from store import the_sweep
from typer.testing import CliRunner

from ablate.cli import app
from ablate.errors import ConfigError
from ablate.spaces import expand, load_space
from explain.attributions import applicable_methods, cam, cam_parts, gradcam
from explain.config import ExplainConfig
from explain.errors import MethodNotApplicable
from lightning_modules.config import ModelConfig
from lightning_modules.errors import InvalidPointError
from lightning_modules.external import (
    ExternalModelError,
    ExternalNet,
    check_net,
    counts,
    point_reason,
)
from lightning_modules.models import build_model, count_params

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "external"
SPACE = FIXTURES / "external.yaml"
SLICE = ROOT / "tests" / "data" / "cifar10-slice.zip"
README_SECTION = "Your own network"


def readme_args(contains: str) -> list[str]:
    """The arguments of the README command of this section that contains `contains`,
    with its paths made absolute (the tests run in their own folders)."""
    (command,) = [c for c in section_commands(README_SECTION) if contains in c]
    words = shlex.split(command)
    assert words[0] == "ablate"
    return [str(ROOT / w) if (ROOT / w).exists() and "/" in w else w for w in words[1:]]


def net_cfg(arch: str, **kw: object) -> ModelConfig:
    return ModelConfig(arch=arch, code_dir=str(FIXTURES), **kw)  # type: ignore[arg-type]


def built(cfg: ModelConfig) -> ExternalNet:
    net = build_model(cfg)
    assert isinstance(net, ExternalNet)
    return net


def user_net(cfg: ModelConfig) -> Any:
    """The user's module inside the wrapper (Any: its layers are the test's to know)."""
    return built(cfg).net


# --------------------------------------------------------------------- one real sweep


@pytest.fixture(scope="module")
def sweep(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    work = tmp_path_factory.mktemp("external")
    mp = pytest.MonkeyPatch()
    mp.chdir(work)
    mp.delenv("MLFLOW_TRACKING_URI", raising=False)
    args = [*readme_args("--data"), "--set", f"data.cache_dir={work / 'cache'}"]
    assert args[:4] == ["run", str(SPACE), "--data", str(SLICE)]
    mp.setattr("sys.argv", ["ablate", *args])
    result = CliRunner().invoke(app, args)
    yield {"work": work, "result": result, "uri": f"sqlite:///{work / 'mlflow.db'}"}
    mp.undo()


@pytest.mark.e2e
def test_two_points_two_seeds_finish_and_the_refused_value_is_skipped(sweep: dict) -> None:
    result = sweep["result"]
    assert result.exit_code == 0, result.output
    _, children = the_sweep(sweep["uri"], "external")
    by_state: dict[str, list] = {}
    for c in children:
        by_state.setdefault(c.data.tags["ablate.state"], []).append(c)
    finished, skipped = by_state["finished"], by_state["skipped"]
    assert len(children) == 6 and len(finished) == 4 and len(skipped) == 2
    assert {(c.data.params["model.args.blocks"], c.data.params["seed"]) for c in finished} == {
        ("1", "0"),
        ("2", "0"),
        ("1", "1"),
        ("2", "1"),
    }
    assert {c.data.params["model.args.blocks"] for c in skipped} == {"9"}
    assert "blocks must be 1 to 3, got 9" in result.output
    # the import path and the args are in the run key: four distinct keys for 2x2 runs
    assert len({c.data.tags["ablate.run_key"] for c in finished}) == 4
    params = {c.data.params["model.args.blocks"]: int(c.data.metrics["params"]) for c in finished}
    assert params == {"1": 1506, "2": 2690}  # 8-wide stem + 1 or 2 basic blocks + fc


@pytest.mark.e2e
def test_the_report_shows_gradcam_in_the_gallery(sweep: dict) -> None:
    assert sweep["result"].exit_code == 0, sweep["result"].output
    html = sweep["work"] / "reports" / "external.html"
    assert html.exists(), sweep["result"].output[-2000:]
    text = html.read_text()
    assert 'id="gallery"' in text
    assert "Grad-CAM" in text and "blocks=2" in text


@pytest.mark.e2e
def test_explain_rebuilds_the_net_in_another_process_and_folder(
    sweep: dict, tmp_path: Path
) -> None:
    """`ablate explain RUN --image x.png` from another folder, in a fresh Python: the
    checkpoint's config names the module and the folder it was found in."""
    _, children = the_sweep(sweep["uri"], "external")
    run = next(c for c in children if c.data.tags["ablate.state"] == "finished")
    Image.new("RGB", (32, 32), (200, 30, 30)).save(tmp_path / "x.png")
    env = {**os.environ, "MLFLOW_TRACKING_URI": sweep["uri"], "MLFLOW_DISABLE_TELEMETRY": "true"}
    env.pop("PYTHONPATH", None)  # my_nets is found through the checkpoint, not the path
    out = subprocess.run(
        [sys.executable, "-m", "ablate.cli", "explain", run.info.run_id, "--image", "x.png",
         "--method", "gradcam", "--method", "cam", "--out", "out"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    written = list((tmp_path / "out").rglob("*.png"))
    assert written, out.stdout


@pytest.mark.e2e
def test_a_checkpoint_whose_module_is_gone_fails_with_one_line(sweep: dict) -> None:
    from ablate.store import Tracker, model_from_checkpoint

    _, children = the_sweep(sweep["uri"], "external")
    run = next(c for c in children if c.data.tags["ablate.state"] == "finished")
    ckpt = Tracker(sweep["uri"]).load_checkpoint(run.info.run_id)
    net, cfg = model_from_checkpoint(ckpt)
    assert isinstance(net, ExternalNet) and cfg.model.arch == "my_nets:TinyResNet"
    ckpt["config"]["model"]["arch"] = "my_gone_nets:TinyResNet"
    with pytest.raises(ExternalModelError) as e:
        model_from_checkpoint(ckpt)
    assert "no module 'my_gone_nets'" in str(e.value) and "\n" not in str(e.value)


# --------------------------------------------------------------------- bad input, CLI


BAD = {
    "no-module": ("nonexistent_nets:Net", {}, None, "no module 'nonexistent_nets'"),
    "import-raises": ("broken_import:Net", {}, None, "broken on purpose"),
    "no-callable": ("my_nets:TinyResNett", {}, None, "did you mean 'TinyResNet'"),
    "callable-raises": ("my_nets:TinyResNet", {"width": 8, "blocks": 7}, None, "blocks must be 1 to 3"),
    "unknown-arg": ("my_nets:TinyResNet", {"width": 8, "blockz": 2}, None, "takes no argument 'blockz' (did you mean 'blocks'?); it takes width, blocks"),
    "wrong-shape": ("my_nets:wrong_shape", {}, None, "returned (2, 11)"),
    "no-cam-layer": ("my_nets:TinyResNet", {"width": 8, "blocks": 1}, "stage.0", "nearest: stages.0"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_is_one_line_exit_2_and_nothing_recorded(case: str, tmp_path: Path) -> None:
    arch, args, cam_layer, expected = BAD[case]
    for name in ("my_nets.py", "broken_import.py"):
        shutil.copy(FIXTURES / name, tmp_path / name)
    model = {"arch": arch, "args": args, **({"cam_layer": cam_layer} if cam_layer else {})}
    import yaml

    space = {"base": {"model": model, "data": {"limit_train": 64}}, "seeds": 1}
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(space))
    mp = pytest.MonkeyPatch()
    mp.chdir(tmp_path)
    mp.delenv("MLFLOW_TRACKING_URI", raising=False)
    cached = {n: sys.modules.pop(n) for n in ["broken_import", "my_nets"] if n in sys.modules}
    try:  # imported from this folder: the copy, not the fixtures' module
        result = CliRunner().invoke(app, ["run", "bad.yaml", "--data", str(SLICE)])
    finally:
        mp.undo()
        sys.modules.pop("my_nets", None)
        sys.modules.update(cached)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), result.output
    assert expected in " ".join(result.output.split()), result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "mlflow.db").exists() and not (tmp_path / "mlruns").exists()


def test_a_cnn_field_on_an_imported_network_is_refused(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text(
        "base:\n  model: {arch: 'my_nets:TinyResNet', args: {width: 8, blocks: 1}, depth: 4}\n"
    )
    with pytest.raises(ConfigError, match=r"depth = 4 does not apply to an imported network"):
        load_space(tmp_path / "s.yaml")


def test_arch_that_is_not_an_import_path_is_refused(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text("base:\n  model: {arch: 'my nets:Tiny Net'}\n")
    with pytest.raises(ConfigError, match=r"model.arch = 'my nets:Tiny Net' is not allowed"):
        load_space(tmp_path / "s.yaml")


def test_dry_run_counts_params_and_flops_and_marks_the_refused_point() -> None:
    args = readme_args("--dry-run")
    assert args == ["run", str(SPACE), "--dry-run"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    assert "MFLOP/img" in out and "1,506" in out and "2,690" in out
    assert "(2 invalid)" in out and "blocks must be 1 to 3, got 9" in out


# --------------------------------------------------------------------- the contract, unit


def test_space_records_the_folder_and_grid_keys_set_args() -> None:
    space = load_space(SPACE)
    points = expand(space)
    assert {p.config.model.args["blocks"] for p in points} == {1, 2, 9}
    assert all(p.config.model.code_dir == str(FIXTURES) for p in points)
    a, b = points[0].config, points[1].config  # blocks 1 and 2, seed 0
    assert a.key() != b.key()
    moved = a.model_copy(update={"model": a.model.model_copy(update={"code_dir": "/elsewhere"})})
    assert moved.key() == a.key()  # where the module was found is not part of the key
    other = a.model_copy(update={"model": a.model.model_copy(update={"arch": "my_nets:Other"})})
    assert other.key() != a.key()


def test_set_overrides_one_arg(tmp_path: Path) -> None:
    space = load_space(SPACE, {"model.args.width": 4})
    assert {p.config.model.args["width"] for p in expand(space)} == {4}
    assert {p.config.model.args["blocks"] for p in expand(space)} == {1, 2, 9}


def test_module_beside_the_space_wins_over_sys_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = (
        "from torch import nn\n"
        "def net(num_classes, in_channels):\n"
        "    return nn.Sequential(nn.Conv2d(in_channels, {w}, 3), nn.AdaptiveAvgPool2d(1),"
        " nn.Flatten(), nn.Linear({w}, num_classes))\n"
    )
    beside, on_path = tmp_path / "beside", tmp_path / "on_path"
    for folder, width in ((beside, 3), (on_path, 5)):
        folder.mkdir()
        (folder / "shadowed_nets_x1.py").write_text(body.format(w=width))
    monkeypatch.syspath_prepend(str(on_path))
    cfg = ModelConfig(arch="shadowed_nets_x1:net", code_dir=str(beside))
    assert user_net(cfg)[0].out_channels == 3
    sys.modules.pop("shadowed_nets_x1", None)
    cfg = ModelConfig(arch="shadowed_nets_x1:net", code_dir=str(tmp_path / "empty"))
    assert user_net(cfg)[0].out_channels == 5  # not beside: found on sys.path
    sys.modules.pop("shadowed_nets_x1", None)


def test_a_file_path_is_taken_from_the_space_folder() -> None:
    cfg = net_cfg("my_nets.py:flat_net")
    net = built(cfg)
    assert net(torch.rand(2, 3, 32, 32)).shape == (2, 10)
    with pytest.raises(ExternalModelError, match=r"no file 'nets/gone.py'"):
        build_model(net_cfg("nets/gone.py:Net"))


@pytest.mark.parametrize(
    ("arch", "args", "message"),
    [
        ("my_nets:TinyResNet", {"width": 8}, "model.args.blocks is missing"),
        ("my_nets:TinyResNet", {"width": 8, "blocks": 1, "depht": 3}, "no argument 'depht'"),
        ("my_nets:flat_net", {"num_classes": 3}, "set model.num_classes instead"),
        ("my_nets:NOT_CALLABLE", {}, "is a int, not a class or function"),
    ],
)
def test_arguments_are_checked_against_the_signature(arch: str, args: dict, message: str) -> None:
    with pytest.raises(ExternalModelError, match=message):
        point_reason(net_cfg(arch, args=args))


def test_a_point_the_net_refuses_has_a_reason_not_an_error() -> None:
    reason = point_reason(net_cfg("my_nets:TinyResNet", args={"width": 8, "blocks": 0}))
    assert (
        reason
        == "my_nets:TinyResNet(width=8, blocks=0) raised ValueError: blocks must be 1 to 3, got 0"
    )
    assert "not an nn.Module" in str(point_reason(net_cfg("my_nets:not_a_module")))
    assert point_reason(net_cfg("my_nets:TinyResNet", args={"width": 8, "blocks": 2})) is None


def test_cam_layer_that_does_not_exist_lists_the_nearest_names() -> None:
    with pytest.raises(InvalidPointError) as e:
        check_net(
            net_cfg("my_nets:TinyResNet", args={"width": 8, "blocks": 2}, cam_layer="stage.1")
        )
    assert "nearest: stages.1, stages.0" in str(e.value)
    reason = point_reason(net_cfg("my_nets:flat_net", cam_layer="3"))
    assert reason is not None and "need a feature map (N, C, h, w)" in reason


def test_default_cam_layer_is_the_block_of_the_last_conv() -> None:
    net = built(net_cfg("my_nets:TinyResNet", args={"width": 8, "blocks": 2}))
    assert net.parts().name == "stages.1" and net.cam_layer is net.net.get_submodule("stages.1")
    flat = built(net_cfg("my_nets:flat_net"))
    assert flat.parts().name == "0"  # the conv's parent is the network itself: the conv


@pytest.mark.parametrize(
    ("arch", "applies"),
    [("my_nets:mean_head", True), ("my_nets:flat_net", False), ("my_nets:hidden_head", False)],
)
def test_cam_applies_only_to_gap_then_one_linear(arch: str, applies: bool) -> None:
    net = build_model(net_cfg(arch))
    keep, skipped = applicable_methods(net, ["gradcam", "cam"], ExplainConfig())
    assert "gradcam" in keep
    if applies:
        assert keep == ["gradcam", "cam"]
        return
    assert "cam" in skipped and "(use gradcam)" in skipped["cam"]
    assert "not the mean of" in skipped["cam"]
    with pytest.raises(MethodNotApplicable):
        cam_parts(net)


def test_cam_equals_gradcam_times_the_map_size_on_an_imported_net() -> None:
    """CAM's identity holds through the wrapper: the GAP check found the real classifier."""
    torch.manual_seed(0)
    net = built(net_cfg("my_nets:TinyResNet", args={"width": 8, "blocks": 2}))
    x, t = torch.rand(3, 3, 32, 32), torch.tensor([0, 4, 9])
    assert net.fc is net.net.get_submodule("fc")
    got, ref = cam(net, x, t, ExplainConfig()), gradcam(net, x, t, ExplainConfig())
    torch.testing.assert_close(got, ref * 16 * 16, rtol=1e-4, atol=1e-4)  # 16x16 map


def test_wrapper_normalises_and_rebuilds_from_its_state_dict() -> None:
    cfg = net_cfg("my_nets:TinyResNet", args={"width": 8, "blocks": 1})
    net = ExternalNet(cfg, ((0.5, 0.5, 0.5), (0.25, 0.25, 0.25)))
    again = built(cfg)
    again.load_state_dict(net.state_dict())  # the data's statistics travel as buffers
    x = torch.rand(2, 3, 32, 32)
    net.eval(), again.eval()
    torch.testing.assert_close(net(x), again(x))
    torch.testing.assert_close(net.normalize(x), (x - 0.5) / 0.25)
    assert count_params(net) == counts(cfg)[0] == 1506


def test_optuna_params_can_tune_an_arg(tmp_path: Path) -> None:
    (tmp_path / "o.yaml").write_text(
        "kind: optuna\n"
        "base:\n"
        f"  model: {{arch: 'my_nets:TinyResNet', args: {{width: 8, blocks: 1}}, code_dir: '{FIXTURES}'}}\n"
        "params:\n"
        "  model.args.blocks: {type: int, low: 1, high: 3}\n"
        "n_trials: 2\n"
    )
    from ablate.spaces import build_config

    space = load_space(tmp_path / "o.yaml")
    cfg = build_config(space, {"model.args.blocks": 3}, 0)
    assert cfg.model.args == {"width": 8, "blocks": 3} and cfg.model.code_dir == str(FIXTURES)
