"""How long `ablate report` takes on a sweep the size of full.yaml (108 runs), and how
big the page is.

    python -m benchmarks.report_build            # 108 runs, like search_spaces/full.yaml
    python -m benchmarks.report_build --quick    # the 3 x 3 of strides.yaml --seeds 3

Training 108 real runs takes hours here, so the store is made, not trained: one real
tiny run (search_spaces/smoke.yaml on the committed CIFAR-10 slice) gives the artifacts
every run has (config, confusion matrix, explanations with maps.npz, curves), and each
point of the space gets a child run carrying a copy of them with jittered accuracies,
exactly where `ablate run` puts them. Invalid points are recorded as skipped, as a real
sweep records them. What is timed is the command a user types, `ablate report`, from a
fresh process, against this local store; the numbers printed are measured, the
accuracies in the page are not (they are synthetic).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SLICE = ROOT / "tests" / "data" / "cifar10-slice.zip"
RESULTS = ROOT / "benchmarks" / "RESULTS.md"


def _template_run(work: Path, env: dict[str, str]) -> Path:
    """One real tiny run; returns its artifact folder."""
    cmd = [sys.executable, "-m", "ablate.cli", "run", str(ROOT / "search_spaces" / "smoke.yaml")]
    cmd += ["--data", str(SLICE), "--set", "model.stride=1", "--no-report"]
    cmd += ["--set", f"data.cache_dir={work / 'cache'}"]
    subprocess.run(cmd, cwd=work, env=env, check=True, stdout=subprocess.DEVNULL)
    found = sorted(work.glob("mlruns/*/*/artifacts/explain/maps.npz"))
    return found[0].parents[1]


def _fake_store(work: Path, space: Path, seeds: int, artifacts: Path) -> int:
    """A sweep of `space` with `seeds` seeds whose children carry copies of `artifacts`."""
    from ablate.runtime import describe
    from ablate.spaces import expand, load_space, sweep_id
    from ablate.store import Tracker, resolve_tracking_uri
    from lightning_modules.models import invalid_reason

    os.chdir(work)
    sp = load_space(space, {"seeds": seeds})
    points = expand(sp)
    tracker = Tracker(resolve_tracking_uri(None, {}))
    summary = {"space": str(space), "points": len(points), "design": sp.design()}
    parent, _ = tracker.start_parent(
        sp.experiment, sweep_id(points), f"{sp.experiment} sweep", space, "benchmark", summary
    )
    rng = random.Random(0)
    files = [p for p in artifacts.rglob("*") if p.is_file() and "checkpoint" not in p.parts]
    for p in points:
        label = f"{p.label}"
        reason = invalid_reason(p.config.model)
        if reason is not None:
            tracker.skip(parent, p.config, label, reason)
            continue
        rid = tracker.start_child(parent, p.config, label, {"ablate.hardware": describe()})
        acc = 0.55 + 0.05 * p.config.model.depth - 0.04 * p.config.model.stride
        for epoch in range(5):
            tracker.log_metrics(
                rid,
                {
                    "train_loss": 2.0 - 0.25 * epoch + rng.gauss(0, 0.02),
                    "val_loss": 2.0 - 0.2 * epoch + rng.gauss(0, 0.03),
                    "train_acc": acc * (0.6 + 0.1 * epoch),
                    "val_acc": acc * (0.6 + 0.08 * epoch) + rng.gauss(0, 0.01),
                },
                step=epoch,
            )
        tracker.log_metrics(
            rid,
            {
                "test_acc": acc + rng.gauss(0, 0.01),
                "best_val_acc": acc + rng.gauss(0, 0.01),
                "train_seconds": 20.0 * p.config.model.width / 32 / p.config.model.stride**2,
                "params": 20000.0 * p.config.model.depth,
                "flops_per_image": 1e6 * p.config.model.width / p.config.model.stride**2,
                **{
                    f"xai.{m}.{k}": rng.uniform(0.2, 0.6)
                    for m in ("saliency", "smoothgrad", "integrated_gradients", "gradcam")
                    for k in (
                        "deletion_auc",
                        "deletion_auc_random",
                        "insertion_auc",
                        "insertion_auc_random",
                        "sanity_spearman",
                    )
                },
            },
        )
        for f in files:
            rel = f.parent.relative_to(artifacts).as_posix()
            tracker.log_file(rid, f, "" if rel == "." else rel)
        tracker.end(rid, "finished")
    tracker.end(parent, "finished")
    return len(points)


def _cpu() -> str:
    from ablate.runtime import describe

    return describe()


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--quick", action="store_true", help="strides.yaml x 3 seeds (9 runs)")
    ap.add_argument("--repeats", type=int, default=3, help="report builds to time (median)")
    args = ap.parse_args()
    space = ROOT / "search_spaces" / ("strides.yaml" if args.quick else "full.yaml")
    seeds = 3
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"}
    env.pop("MLFLOW_TRACKING_URI", None)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "template").mkdir()
        template = _template_run(work / "template", env)
        store = work / "store"
        store.mkdir()
        shutil.copy(space, store / space.name)
        n = _fake_store(store, store / space.name, seeds, template)
        times, size = [], 0
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            cmd = [sys.executable, "-m", "ablate.cli", "report", "--out", "r.html"]
            subprocess.run(cmd, cwd=store, env=env, check=True, stdout=subprocess.DEVNULL)
            times.append(time.perf_counter() - t0)
            size = (store / "r.html").stat().st_size
        status_times = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            cmd = [sys.executable, "-m", "ablate.cli", "status", space.name, "--seeds", "3"]
            out = subprocess.run(cmd, cwd=store, env=env, check=True, capture_output=True)
            status_times.append(time.perf_counter() - t0)
        assert b"no sweep recorded" not in out.stdout, out.stdout  # it found the sweep
    status_times.sort()
    times.sort()
    median = times[len(times) // 2]
    command = "python -m benchmarks.report_build" + (" --quick" if args.quick else "")
    table = "\n".join(
        [
            f"### `ablate report` build time ({dt.date.today()}, `{command}`)",
            "",
            f"Machine: {_cpu()}; Python {platform.python_version()}; local sqlite store.",
            "",
            "| space | runs | `ablate report` wall (median of "
            f"{args.repeats}, whole command) | all repeats | page size |",
            "|---|---|---|---|---|",
            f"| {space.name} x {seeds} seeds | {n} | {median:.1f} s | "
            + ", ".join(f"{t:.1f}" for t in times)
            + f" s | {size / 1e6:.2f} MB |",
            "",
            f"`ablate status {space.name} --seeds 3` on the same store, whole command: "
            f"{status_times[len(status_times) // 2]:.1f} s (median of {args.repeats}).",
            "",
        ]
    )
    print(table)
    with RESULTS.open("a") as f:
        f.write("\n" + table)


if __name__ == "__main__":
    main()
