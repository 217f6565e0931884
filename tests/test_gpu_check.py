"""benchmarks/gpu_check.py: its CPU smoke mode runs end to end and reports what it checks;
`--device cuda` without a GPU fails with one line; the host-sync accounting and the
verdicts, driven by hand (no GPU is needed to check the counting)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
SMOKE_BUDGET_S = 600  # measured here: 166 s with --worker-counts 2 at load average 7 on 2 cores


def gpu_check_command(*args: str, hide_gpus: bool = False) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"}
    if hide_gpus:
        env["CUDA_VISIBLE_DEVICES"] = ""  # torch then sees no GPU, on any machine
    return subprocess.run(
        [sys.executable, "-m", "benchmarks.gpu_check", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=SMOKE_BUDGET_S,
    )


@pytest.fixture
def gpu_check(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    monkeypatch.syspath_prepend(str(ROOT))  # benchmarks/ is not an installed package
    import benchmarks.gpu_check as module

    yield module


@pytest.mark.e2e
def test_cpu_smoke_prints_the_table_and_says_what_it_skipped() -> None:
    results_before = (ROOT / "benchmarks" / "RESULTS.md").read_text()
    t0 = time.perf_counter()
    done = gpu_check_command("--device", "cpu", "--smoke", "--worker-counts", "2")
    seconds = time.perf_counter() - t0
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    assert "Traceback" not in done.stderr, done.stderr
    assert "skipped on the CPU: the host-sync check" in out
    assert "GPU: none used (--device cpu)" in out
    header = next(line for line in out.splitlines() if line.startswith("| check |"))
    for column in ("img/s total", "img/s per worker", "peak GPU MiB per worker", "precision"):
        assert column in header
    rows = {line.split(" | ")[0].lstrip("| "): line for line in out.splitlines()[1:]}
    for preset in ("keras_cnn", "fast"):
        row = rows[f"{preset}, 1 epoch"]
        assert "32-true (float32)" in row, row  # what the Trainer used, and the conv output
        convs = re.search(r"\| (\d+)/(\d+), yes \|", row)
        assert convs and convs[1] == convs[2] != "0", row  # every conv weight channels_last
        assert row.count("skipped (CPU)") == 2, row  # GPU memory and host syncs
    sweep = rows["keras_cnn sweep, 2 runs"]
    cells = [c.strip() for c in sweep.strip("| ").split(" | ")]
    assert cells[1] == "2" and cells[2] == f"{2 * 256:,}", cells  # workers, training images
    assert float(cells[4].replace(",", "")) > 0 and float(cells[5].replace(",", "")) > 0
    assert "all checks passed" in out
    # a smoke run is never appended to the results
    assert "## GPU check (cpu, smoke)" not in (ROOT / "benchmarks" / "RESULTS.md").read_text()
    assert (ROOT / "benchmarks" / "RESULTS.md").read_text().count("## GPU check (cpu") == (
        results_before.count("## GPU check (cpu")
    )
    assert seconds < SMOKE_BUDGET_S


@pytest.mark.e2e  # a subprocess that imports Lightning: seconds, not milliseconds
def test_cuda_without_a_gpu_is_one_line_and_exit_2() -> None:
    done = gpu_check_command("--device", "cuda", hide_gpus=True)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.startswith("error: --device cuda, but torch"), done.stderr
    assert "--device cpu --smoke" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and done.stdout == ""


def _sync() -> None:
    warnings.warn(
        "called a synchronizing CUDA operation (Triggered internally at x.cpp:1)", stacklevel=2
    )


def _drive(probe: object, syncs_per_step: list[int], before: int = 0, after: int = 0) -> None:
    """One epoch's hooks in Lightning's order, with sync warnings where a GPU would give them."""
    batch = (torch.zeros(2, 3, 4, 4).contiguous(memory_format=torch.channels_last), None)
    p: object = probe
    p.on_train_epoch_start(None, None)  # type: ignore[attr-defined]
    for _ in range(before):  # e.g. the epoch's shuffle order copied to the device
        _sync()
    for i, n in enumerate(syncs_per_step):
        p.on_train_batch_start(None, None, batch, i)  # type: ignore[attr-defined]
        for _ in range(n):
            _sync()
        p.on_train_batch_end(None, None, None, batch, i)  # type: ignore[attr-defined]
    for _ in range(after):  # e.g. the timer's torch.cuda.synchronize() at the epoch's end
        _sync()
    p.on_train_epoch_end(None, None)  # type: ignore[attr-defined]


@pytest.mark.unit
def test_syncs_are_counted_per_step_and_epoch_edges_are_not_steps(gpu_check: ModuleType) -> None:
    with warnings.catch_warnings(record=True) as log:
        warnings.simplefilter("always")
        probe = gpu_check.Probe(log, watch_syncs=False)
        _drive(probe, [1, 0, 2, 0], before=1, after=1)
        warnings.warn("an unrelated warning", stacklevel=1)  # not a sync
        _drive(probe, [0, 0, 0, 0])
    assert probe.step_syncs == [1, 0, 2, 0, 0, 0, 0, 0]
    assert probe.syncs_total == 5
    assert probe.batch_channels_last is True


def _result(gpu_check: ModuleType, syncs_per_step: list[int]) -> object:
    with warnings.catch_warnings(record=True) as log:
        warnings.simplefilter("always")
        probe = gpu_check.Probe(log, watch_syncs=False)
        _drive(probe, syncs_per_step, after=1)
    probe.precision, probe.conv_dtype, probe.conv_weights = "bf16-mixed", torch.bfloat16, (2, 2)
    return gpu_check.PresetResult(
        preset="keras_cnn",
        train_images=1000,
        wall_s=1.0,
        images_per_second=1e4,
        peak_mib=100.0,
        resolved_precision="bf16-mixed",
        probe=probe,
    )


@pytest.mark.unit
def test_a_sync_in_every_step_fails_and_a_few_do_not(gpu_check: ModuleType) -> None:
    every = gpu_check.preset_failures(_result(gpu_check, [1] * 20), "cuda")
    assert len(every) == 1 and "20 of 20 training steps synchronised" in every[0]
    # the divergence watch's look every 50 steps, and the epoch's own syncs, pass
    assert gpu_check.preset_failures(_result(gpu_check, [1] + [0] * 49), "cuda") == []


@pytest.mark.unit
def test_precision_or_layout_not_as_configured_fails(gpu_check: ModuleType) -> None:
    r = _result(gpu_check, [0] * 5)
    r.probe.conv_dtype = torch.float32  # type: ignore[attr-defined]  # autocast did not apply
    r.probe.conv_weights = (1, 2)  # type: ignore[attr-defined]
    failures = gpu_check.preset_failures(r, "cuda")
    assert any("conv outputs were torch.float32, expected torch.bfloat16" in f for f in failures)
    assert any("1 of 2 conv weights" in f for f in failures)


FAKE_NVIDIA_SMI = """#!/bin/sh
case "$1" in
  --query-compute-apps=*) cat "$(dirname "$0")/apps.csv" ;;
  --query-gpu=memory.used) cat "$(dirname "$0")/used.csv" ;;
esac
"""


@pytest.fixture
def fake_nvidia_smi(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    exe = tmp_path / "nvidia-smi"
    exe.write_text(FAKE_NVIDIA_SMI)
    exe.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    return tmp_path


def _sample(gpu_check: ModuleType, folder: Path, apps: str, used: str) -> object:
    """A sampler started while nvidia-smi says `apps`/`used`; workers then appear."""
    sampler = gpu_check.GpuMemorySampler()
    (folder / "apps.csv").write_text(apps)
    (folder / "used.csv").write_text(used)
    with sampler:
        time.sleep(0.5)
    return sampler


@pytest.mark.unit
def test_memory_per_worker_from_nvidia_smi(
    gpu_check: ModuleType, fake_nvidia_smi: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gpu_check, "NVIDIA_SMI_PERIOD_S", 0.05)
    (fake_nvidia_smi / "apps.csv").write_text("111, 4000\n")  # this process, before the sweep
    (fake_nvidia_smi / "used.csv").write_text("4000\n")
    sampler = _sample(gpu_check, fake_nvidia_smi, "111, 9000\n222, 700\n333, 900\n", "14000\n")
    assert sampler.per_worker(2) == "900 (max of 2 processes)"  # type: ignore[attr-defined]


@pytest.mark.unit
def test_memory_per_worker_where_nvidia_smi_hides_pids(
    gpu_check: ModuleType, fake_nvidia_smi: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gpu_check, "NVIDIA_SMI_PERIOD_S", 0.05)
    (fake_nvidia_smi / "apps.csv").write_text("")
    (fake_nvidia_smi / "used.csv").write_text("1000\n")
    sampler = _sample(gpu_check, fake_nvidia_smi, "[N/A], [N/A]\n", "3000\n")
    assert sampler.per_worker(2) == "~1,000 (GPU total rise / 2; no PIDs listed)"  # type: ignore[attr-defined]
