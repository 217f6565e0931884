"""The CIFAR ResNets of He et al. 2016 (section 4.2) and their plain twins.

Table 6's parameter counts by arithmetic (torch-free) and from the built modules, shapes,
option A's parameter-free shortcuts, the layer Grad-CAM and CAM use, and the refusal of
fields that do not apply to an arch, through the real CLI.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from ablate.cli import app
from ablate.spaces import expand, load_space
from explain.attributions import cam, cam_parts, gradcam, gradcam_layer
from explain.config import ExplainConfig
from lightning_modules.config import ModelConfig
from lightning_modules.models import SameConv2d, build_model, count_params
from lightning_modules.presets import PRESETS, RESNET_DEPTHS, TABLE6_PARAMS_M
from lightning_modules.resnet import BasicBlock, ResNet, Shortcut
from lightning_modules.shapes import param_count, resnet_sizes

ROOT = Path(__file__).resolve().parents[1]
RESIDUAL_YAML = ROOT / "search_spaces" / "residual.yaml"
PAPER = {f"{kind}{d}": TABLE6_PARAMS_M[d] for d in RESNET_DEPTHS for kind in ("resnet", "plain")}
PAPER = {name: m for name, m in PAPER.items() if name in PRESETS}


def preset(name: str, **over: object) -> ModelConfig:
    return ModelConfig(preset=name, **{**PRESETS[name].fields, **over})


def two_digits(n: int) -> float:
    """A count in millions, to the paper's 2 significant digits (1.7M, 0.27M)."""
    return float(f"{n / 1e6:.2g}")


def test_the_presets_cover_the_paper() -> None:
    assert {"resnet20", "resnet32", "resnet44", "resnet56", "resnet110"} <= set(PAPER)
    assert {"plain20", "plain32", "plain44", "plain56"} <= set(PAPER)
    assert PRESETS["plain56"].fields["residual"] is False
    assert PRESETS["resnet56"].fields["residual"] is True


@pytest.mark.parametrize("name", sorted(PAPER))
def test_table6_param_counts_by_arithmetic(name: str) -> None:
    n = param_count(preset(name))
    assert n is not None and two_digits(n) == PAPER[name], n


@pytest.mark.parametrize("name", sorted(PAPER))
def test_table6_param_counts_by_module(name: str) -> None:
    cfg = preset(name)
    net = build_model(cfg)
    assert isinstance(net, ResNet)
    assert count_params(net) == param_count(cfg)
    assert two_digits(count_params(net)) == PAPER[name]


def test_exact_counts() -> None:
    """The exact counts behind Table 6's rounded ones (BN weight and bias per conv, no conv
    bias, 64x10 + 10 in the classifier)."""
    got = {d: param_count(preset(f"resnet{d}")) for d in (20, 32, 44, 56, 110)}
    assert got == {20: 269_722, 32: 464_154, 44: 658_586, 56: 853_018, 110: 1_727_962}


VARIANTS = [
    dict(depth=8),
    dict(depth=8, stride=2),
    dict(depth=8, stride=3, kernel_size=5),
    dict(depth=8, kernel_size=4, head="flatten"),
    dict(depth=14, width=8, batch_norm=False, dropout=0.5),
    dict(depth=8, residual=False, head="flatten", stride=4),
    dict(depth=8, image_size=(24, 40), num_classes=5),
]


@pytest.mark.parametrize("over", VARIANTS, ids=lambda v: ",".join(f"{k}={v[k]}" for k in v))
def test_factors_apply_and_the_arithmetic_follows(over: dict) -> None:
    cfg = ModelConfig(arch="resnet", **over)
    net = build_model(cfg).eval()
    assert isinstance(net, ResNet)
    h, w = cfg.image_hw()
    x = torch.rand(2, cfg.in_channels, h, w)
    assert net(x).shape == (2, cfg.num_classes)
    assert count_params(net) == param_count(cfg)
    sizes = [tuple(net.features[: i + 1](net.normalize(x)).shape[-2:]) for i in range(4)]
    assert sizes == resnet_sizes(cfg)
    chans = [m.out_channels for m in net.modules() if isinstance(m, SameConv2d)]
    assert chans[0] == cfg.width and chans[-1] == 4 * cfg.width
    stem = next(m for m in net.features.modules() if isinstance(m, SameConv2d))
    assert stem.stride == (cfg.stride, cfg.stride) and stem.kernel_size[0] == cfg.kernel_size
    strides = [m.stride[0] for m in net.modules() if isinstance(m, SameConv2d)][1:]
    assert strides.count(2) == 2  # the first conv of stages 2 and 3
    assert all(not m.inplace for m in net.modules() if isinstance(m, torch.nn.ReLU))


def test_arch_resnet_alone_is_resnet20() -> None:
    cfg = ModelConfig(arch="resnet")
    assert (cfg.depth, cfg.width, cfg.head, cfg.residual) == (20, 16, "gap", True)
    assert param_count(cfg) == param_count(preset("resnet20"))


def test_plain_twin_has_no_shortcut_same_params_other_forward() -> None:
    res, plain = build_model(preset("resnet20")), build_model(preset("plain20"))
    assert not any(isinstance(m, Shortcut) for m in plain.modules())
    blocks = [m for m in res.modules() if isinstance(m, BasicBlock)]
    assert len(blocks) == 9 and all(isinstance(b.shortcut, Shortcut) for b in blocks)
    assert count_params(res) == count_params(plain)
    plain.load_state_dict(res.state_dict())  # the very same weights: only the forward differs
    x = torch.rand(4, 3, 32, 32)
    with torch.no_grad():
        assert not torch.allclose(res.eval()(x), plain.eval()(x))


@pytest.mark.parametrize("size", [31, 32, 33])
@pytest.mark.parametrize("kernel", [3, 5])
def test_option_a_shortcut_is_the_strided_conv_centre_padded_with_zeros(
    size: int, kernel: int
) -> None:
    """The identity of a downsampling block picks, for each output pixel, the input pixel
    at the centre of that pixel's conv window, and pads the new channels with zeros."""
    x = torch.randn(2, 4, size, size)
    centre = SameConv2d(4, 4, kernel, 2, bias=False)
    with torch.no_grad():
        centre.weight.zero_()
        for c in range(4):
            centre.weight[c, c, kernel // 2, kernel // 2] = 1.0
        want = centre(x)
    got = Shortcut(4, 8, kernel, 2)(x)
    assert got.shape == (2, 8, *want.shape[-2:])
    assert torch.equal(got[:, :4], want)
    assert not got[:, 4:].any()


def test_gradcam_and_cam_use_the_last_stage_output() -> None:
    net = build_model(ModelConfig(arch="resnet", depth=8)).eval()
    assert isinstance(net, ResNet)
    cfg = ExplainConfig()
    assert net.cam_layer is net.features[-1] is net.features[3]
    assert gradcam_layer(net, cfg) is net.features[3]
    layer, fc = cam_parts(net)
    assert layer is net.features[3] and fc is net.fc
    x, targets = torch.rand(3, 3, 32, 32), torch.tensor([0, 1, 2])
    g, c = gradcam(net, x, targets, cfg), cam(net, x, targets, cfg)
    assert g.shape == c.shape == (3, 32, 32)
    # CAM equals the raw Grad-CAM map times h*w of the layer (8x8 here) on a GAP head
    torch.testing.assert_close(c, g * 64, rtol=1e-4, atol=1e-5)


# --------------------------------------------------------------------- the real CLI


def dry_run(tmp_path: Path, model: str, grid: str = "") -> tuple[int, str]:
    space = tmp_path / "space.yaml"
    space.write_text(f"base:\n  model: {model}\n" + (f"grid:\n  {grid}\n" if grid else ""))
    result = CliRunner().invoke(app, ["run", str(space), "--dry-run"])
    return result.exit_code, result.output


@pytest.mark.parametrize(
    "model,grid,needles",
    [
        ("{preset: resnet20, pool: none}", "", ["base.model.pool", "'none'", "arch resnet"]),
        ("{arch: resnet, hidden: 64}", "", ["base.model.hidden = 64", "arch resnet"]),
        ("{arch: resnet, width_growth: 3}", "", ["width_growth", "doubles"]),
        ("{arch: resnet, convs_per_block: 2}", "", ["convs_per_block", "2 convs"]),
        ("{arch: resnet, max_width: 64}", "", ["max_width"]),
        ("{residual: false}", "", ["base.model.residual = false", "resnet only"]),
        ("{arch: resnet}", "model.depth: [20, 21]", ["model.depth = 21", "6n+2", "20, 26"]),
        ("{depth: 9}", "", ["base.model.depth = 9", "1 to 8"]),
    ],
)
def test_fields_that_do_not_apply_are_refused(
    tmp_path: Path, model: str, grid: str, needles: list[str]
) -> None:
    code, out = dry_run(tmp_path, model, grid)
    assert code == 2, out
    assert out.strip().startswith("error:") and "Traceback" not in out
    assert len(out.strip().splitlines()) <= 3  # one message (the terminal may wrap it)
    for needle in needles:
        assert needle in " ".join(out.split()), out


def test_defaults_of_other_archs_pass(tmp_path: Path) -> None:
    """A saved config carries every field at its default: a resnet's pool: max and a
    cnn's residual: true are not 'set', so rebuilding a run's config works."""
    full = ModelConfig.model_validate(preset("plain20").model_dump(mode="json"))
    assert full == preset("plain20")
    code, out = dry_run(tmp_path, "{arch: resnet, pool: max, residual: false}")
    assert code == 0, out
    code, out = dry_run(tmp_path, "{depth: 3, residual: true}")
    assert code == 0, out


def test_residual_yaml_is_the_papers_comparison() -> None:
    space = load_space(RESIDUAL_YAML)
    points = expand(space)
    cells = {(p.config.model.depth, p.config.model.residual) for p in points}
    assert cells == {(20, True), (20, False), (56, True), (56, False)}
    assert len(space.seeds) >= 2
    assert {p.config.model.arch for p in points} == {"resnet"}


@pytest.mark.e2e  # a new Python process: what `ablate run --dry-run` imports
def test_dry_run_of_resnets_imports_no_torch() -> None:
    code = (
        "import sys\n"
        "from ablate.cli import app\n"
        "try:\n"
        f"    app(['run', {str(RESIDUAL_YAML)!r}, '--dry-run'])\n"
        "except SystemExit as e:\n"
        "    assert not e.code, e.code\n"
        "print(sorted(m for m in ('torch', 'lightning') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert "853,018" in out.stdout and "269,722" in out.stdout  # counted by arithmetic
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stdout[-500:]


def test_readme_commands_are_these(monkeypatch: pytest.MonkeyPatch) -> None:
    """The README's residual commands, as written; the sweep itself as a dry run (it trains
    for minutes), which checks the file, the flags and every point."""
    from readme_commands import section_commands

    run, report = section_commands("Residual networks")
    assert run == "ablate run search_spaces/residual.yaml --data ../shared/data/cifar10-jpeg.zip"
    assert report == "ablate report"
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(app, [*run.split()[1:], "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "16 runs (0 invalid)" in result.output
