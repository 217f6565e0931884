"""Explanations: maps per second, batched against one image at a time, against
pytorch-grad-cam, and `ablate explain` on 100 images.

    python -m benchmarks.explain_speed [--images 64] [--repeats 3] [--no-append]
        [--data ../shared/data/cifar10-jpeg.zip] [--skip-cli]

1. Each method of `explain.attributions` on seed 000's network (keras_cnn) for
   `--images` test images: one batched call against a loop of one-image calls,
   interleaved, median of the repeats.
2. Grad-CAM: ours against `pytorch_grad_cam.GradCAM` (the `bench` extra: pip install
   -e '.[bench]') on the same model, layer, images and target classes.
3. `ablate explain RUN --image ...` on 100 images with two methods, as a fresh process:
   a tiny run is trained into a temporary store first. The command's own profile
   (cProfile, top entries by cumulative time) says where the time goes.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from benchmarks.common import DEFAULT_DATA, interleaved, markdown_table, median, report
from explain.attributions import METHODS, applicable_methods
from explain.config import ExplainConfig
from lightning_modules.config import DataConfig, ModelConfig
from lightning_modules.data import load_cifar10
from lightning_modules.models import build_model
from lightning_modules.presets import find_preset

ROOT = Path(__file__).resolve().parents[1]


def network(name: str) -> torch.nn.Module:
    preset = find_preset(name)
    assert preset is not None
    torch.manual_seed(0)
    return build_model(ModelConfig(**preset.fields)).eval()


def methods_table(x: torch.Tensor, repeats: int) -> list[list[str]]:
    cfg = ExplainConfig()
    rows = []
    for net_name in ("keras_cnn", "gap_cnn"):
        net = network(net_name)
        targets = net(x).argmax(1)
        methods, _ = applicable_methods(net, list(METHODS), cfg)
        for m in methods:
            fn = METHODS[m]

            def batched(fn=fn, net=net, targets=targets) -> None:  # type: ignore[no-untyped-def]
                fn(net, x, targets, cfg)

            def one_by_one(fn=fn, net=net, targets=targets) -> None:  # type: ignore[no-untyped-def]
                for i in range(len(x)):
                    fn(net, x[i : i + 1], targets[i : i + 1], cfg)

            t = interleaved([("batched", batched), ("loop", one_by_one)], repeats)
            b, lp = median(t["batched"]), median(t["loop"])
            rows.append(
                [net_name, m, f"{len(x) / b:,.0f}", f"{len(x) / lp:,.0f}", f"{lp / b:.1f}x"]
            )
            print(rows[-1], flush=True)
    return rows


def gradcam_table(x: torch.Tensor, repeats: int) -> list[list[str]]:
    try:
        from pytorch_grad_cam import GradCAM
        from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
    except ImportError:
        return [["pytorch-grad-cam not installed (pip install -e '.[bench]')", "", "", ""]]
    from explain.attributions import gradcam, gradcam_layer

    cfg = ExplainConfig()
    net = network("keras_cnn")
    targets = net(x).argmax(1)
    layer = gradcam_layer(net, cfg)
    theirs = GradCAM(model=net, target_layers=[layer])
    wanted = [ClassifierOutputTarget(int(t)) for t in targets]
    ours_map = gradcam(net, x, targets, cfg)
    their_map = torch.from_numpy(theirs(input_tensor=x, targets=wanted))
    # both upsample to 32x32 and keep positive evidence; compare the normalised maps
    a = ours_map / ours_map.flatten(1).amax(1).clamp_min(1e-12)[:, None, None]
    b = their_map / their_map.flatten(1).amax(1).clamp_min(1e-12)[:, None, None]
    corr = float(np.corrcoef(a.flatten().numpy(), b.flatten().numpy())[0, 1])
    t = interleaved(
        [
            ("ours", lambda: gradcam(net, x, targets, cfg)),
            ("pytorch-grad-cam", lambda: theirs(input_tensor=x, targets=wanted)),
        ],
        repeats,
    )
    o, p = median(t["ours"]), median(t["pytorch-grad-cam"])
    return [[f"{len(x) / o:,.0f}", f"{len(x) / p:,.0f}", f"{p / o:.1f}x", f"{corr:.3f}"]]


def cli_table(data: str, work: Path) -> tuple[list[list[str]], str]:
    """Train a tiny run, then time `ablate explain` on 100 images in a fresh process."""
    import yaml
    from mlflow.tracking import MlflowClient

    space = work / "tiny.yaml"
    doc = {
        "experiment": "tiny",
        "base": {
            "model": {"preset": "keras_cnn"},
            "data": {"limit_train": 1000, "limit_test": 200},
            "train": {"max_epochs": 1},
            "explain": {"enabled": False},
        },
    }
    space.write_text(yaml.safe_dump(doc))
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"}
    uri = f"sqlite:///{work / 'mlflow.db'}"
    base = [sys.executable, "-m", "ablate.cli"]
    subprocess.run(
        [*base, "run", str(space), "--data", data, "--tracking-uri", uri, "--no-report"],
        cwd=work, env=env, check=True, capture_output=True,
    )  # fmt: skip
    runs = MlflowClient(uri).search_runs(
        [MlflowClient(uri).get_experiment_by_name("tiny").experiment_id],
        "tags.`ablate.state` = 'finished'",
    )
    rid = runs[0].info.run_id
    arrays = load_cifar10(DataConfig(source=data))
    images = []
    for i in range(100):
        path = work / "images" / f"img{i:03d}.png"
        path.parent.mkdir(exist_ok=True)
        Image.fromarray(arrays.test_x[i].permute(1, 2, 0).numpy()).save(path)
        images.append(str(path))
    args = ["explain", rid, "--tracking-uri", uri, "--method", "saliency", "--method", "gradcam"]
    args += [a for p in images for a in ("--image", p)]
    rows = []
    for i in range(2):
        t0 = time.perf_counter()
        subprocess.run([*base, *args, "--out", str(work / f"out{i}")], cwd=work, env=env,
                       check=True, capture_output=True)  # fmt: skip
        rows.append(
            [
                "ablate explain, 100 images, 2 methods (fresh process)",
                f"{time.perf_counter() - t0:.1f} s",
            ]
        )
    # where the time goes, in this process
    from typer.testing import CliRunner

    from ablate.cli import app

    prof = cProfile.Profile()
    prof.enable()
    CliRunner().invoke(app, [*args, "--out", str(work / "outp")])
    prof.disable()
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(25)
    return rows, out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=DEFAULT_DATA)
    parser.add_argument("--images", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-cli", action="store_true")
    parser.add_argument("--no-append", action="store_true")
    args = parser.parse_args()
    arrays = load_cifar10(DataConfig(source=args.data))
    x = arrays.test_x[: args.images].float() / 255
    rows = methods_table(x, args.repeats)
    table = markdown_table(
        ["network", "method", "maps/s batched", "maps/s one at a time", "batched is faster by"],
        rows,
    )
    gc_rows = gradcam_table(x, args.repeats)
    table += "\n\nGrad-CAM, same model, layer, images and targets:\n\n" + markdown_table(
        ["ours maps/s", "pytorch-grad-cam maps/s", "ours faster by", "map correlation"], gc_rows
    )
    profile = ""
    if not args.skip_cli:
        with tempfile.TemporaryDirectory() as tmp:
            cli_rows, profile = cli_table(args.data, Path(tmp))
        table += "\n\n" + markdown_table(["command", "wall"], cli_rows)
    report(
        "Explanation speed",
        table,
        notes=f"{args.images} CIFAR-10 test images; untrained networks (speed does not "
        f"depend on the weights); median of {args.repeats} interleaved repeats.",
        append=not args.no_append,
    )
    if profile:
        print(profile)


if __name__ == "__main__":
    main()
