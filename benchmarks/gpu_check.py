"""GPU check: what one GPU gives a sweep, and whether training wastes it. A few minutes.

    python -m benchmarks.gpu_check [--data ../shared/data/cifar10-jpeg.zip]
        [--limit-train N] [--worker-counts 1 2 4 8] [--sweep-epochs 1] [--no-append]
    python -m benchmarks.gpu_check --device cpu --smoke    # CI: the same path, tiny, on the CPU

1. Trains the `keras_cnn` and `fast` presets for one epoch each, in this process, through
   `lightning_modules.train.fit_and_test` (what a sweep runs), with a probe callback
   that records the precision Lightning used and the dtype of the first conv's output,
   whether the conv weights and the batches are channels_last, and every host sync
   inside the training steps (`torch.cuda.set_sync_debug_mode("warn")`). Peak GPU
   memory is `torch.cuda.max_memory_allocated` over fit and test.
2. Runs the same sweep (`keras_cnn`, one run per seed, as many seeds as the largest
   worker count) with `ablate run --workers N` for N = 1, 2, 4, 8, each in a fresh
   folder: real `ablate run` subprocesses, all workers sharing the one GPU. Images/s
   per worker is the median over workers of training images / training seconds (from
   each run's `train_images_per_second` and `train_seconds` in MLflow); images/s total
   is every run's training images over the wall time of the whole command (process
   start, data loading and testing included). ablate does not log GPU memory, so the
   peak per worker is sampled from `nvidia-smi --query-compute-apps` every 0.5 s
   (CUDA context included, so it is larger than `max_memory_allocated`).

Prints one table, with the machine (CPU, GPU, torch, CUDA, driver), and appends it to
benchmarks/RESULTS.md (not with --smoke or --no-append).

Exit codes: 0 all checks passed; 1 a check failed (a host sync in most training steps;
bf16-mixed or channels_last configured but not used; a sweep that did not finish every
run), with a FAIL line per failure; 2 `--device cuda` where torch sees no GPU.
With `--device cpu` the CUDA-only checks (host syncs, GPU memory, bf16) are skipped,
and the output says so.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import lightning as L
import torch
import yaml
from lightning.pytorch.callbacks import Callback
from torch import nn

from benchmarks.common import DEFAULT_DATA, ROOT, markdown_table, report

SLICE = ROOT / "tests" / "data" / "cifar10-slice.zip"  # 1,000 train + 300 test real images
PRESETS = ("keras_cnn", "fast")
SWEEP_PRESET = "keras_cnn"
EXPERIMENT = "gpu_check"
# What torch.cuda.set_sync_debug_mode("warn") says (c10/cuda/CUDAFunctions.cpp).
SYNC_MESSAGE = "called a synchronizing CUDA operation"
# A step "syncs" when a sync warning falls between its on_train_batch_start and the next
# one's. One per step is the failure looked for; ablate's divergence watch looks at the
# device every 50 steps (lightning_modules.module.DIVERGENCE_CHECK_STEPS) and the timer
# once per epoch, outside the steps, so an honest run stays far below this fraction.
MAX_SYNCED_STEP_FRACTION = 0.5
NVIDIA_SMI_PERIOD_S = 0.5
SWEEP_TIMEOUT_S = 600  # per `ablate run`: a hung worker fails the check instead of the session


@dataclass(frozen=True)
class Budget:
    data: str
    limit_train: int | None  # None: the whole train part (45,000 of CIFAR-10)
    limit_test: int | None
    batch_size: int
    sweep_epochs: int
    worker_counts: tuple[int, ...]


# ------------------------------------------------------------------ the probe callback


def is_channels_last(t: torch.Tensor) -> bool:
    """4-d and laid out NHWC. (Degenerate shapes, e.g. 1x1 kernels on one channel, count
    as both layouts; the networks checked here have none.)"""
    return t.dim() == 4 and t.is_contiguous(memory_format=torch.channels_last)


class Probe(Callback):
    """What training really used, and host syncs per training step.

    Sync warnings are read from `log`, the list of a `warnings.catch_warnings(record=True)`
    around the fit; `watch_syncs` turns torch's sync debug mode on for the training
    part of each epoch (from its start to validation or its end). A step's window
    runs from its on_train_batch_start to the next one's (the last: to its end).
    """

    def __init__(self, log: list[warnings.WarningMessage], watch_syncs: bool) -> None:
        self.caught = log
        self.watch_syncs = watch_syncs
        self.precision = ""  # as the Trainer resolved it, e.g. "bf16-mixed"
        self.conv_dtype: torch.dtype | None = None  # first conv's output, first step
        self.conv_weights = (0, 0)  # (channels_last, all) 4-d conv weights
        self.batch_channels_last: bool | None = None  # the first training batch
        self.step_syncs: list[int] = []  # host syncs per training step
        self.syncs_total = 0  # in the watched windows, steps and epoch edges
        self._seen = 0  # entries of `log` already counted
        self._step_open: int | None = None  # syncs_total when the open step began
        self._step_end = 0  # syncs_total at the last on_train_batch_end
        self._hook: Any = None

    def _count(self) -> int:
        for w in self.caught[self._seen :]:
            if SYNC_MESSAGE in str(w.message):
                self.syncs_total += 1
        self._seen = len(self.caught)
        return self.syncs_total

    def _close_step(self, at: int) -> None:
        if self._step_open is not None:
            self.step_syncs.append(at - self._step_open)
            self._step_open = None

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.precision = str(trainer.precision)
        convs = [m for m in pl_module.modules() if isinstance(m, nn.Conv2d)]
        self.conv_weights = (sum(is_channels_last(m.weight) for m in convs), len(convs))
        if convs:
            self._hook = convs[0].register_forward_hook(self._conv_output)

    def _conv_output(self, module: nn.Module, args: Any, output: torch.Tensor) -> None:
        if self.conv_dtype is None and module.training:
            self.conv_dtype = output.dtype  # metadata only: no sync

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._count()  # what came before this epoch's training is not ours
        self._watch(True)

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        if self.batch_channels_last is None:
            self.batch_channels_last = is_channels_last(batch[0])
        now = self._count()
        self._close_step(now)
        self._step_open = now

    def on_train_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        self._step_end = self._count()

    def _end_training_part(self) -> None:
        self._count()
        self._close_step(self._step_end)
        self._watch(False)

    def on_validation_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.state.fn == "fit":
            self._end_training_part()

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._end_training_part()

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._watch(False)
        if self._hook is not None:
            self._hook.remove()

    def _watch(self, on: bool) -> None:
        if self.watch_syncs:
            torch.cuda.set_sync_debug_mode("warn" if on else "default")


# ----------------------------------------------------------- 1. one epoch in-process


def sync_detector_sees_a_sync() -> bool:
    """A deliberate host sync (`.item()` of a CUDA tensor) in the debug mode: is it
    reported as a Python warning that SYNC_MESSAGE matches? If not, the check is blind."""
    with warnings.catch_warnings(record=True) as log:
        warnings.filterwarnings("always", message=f".*{SYNC_MESSAGE}.*")
        torch.cuda.set_sync_debug_mode("warn")
        try:
            torch.ones(1, device="cuda").sum().item()
        finally:
            torch.cuda.set_sync_debug_mode("default")
    return any(SYNC_MESSAGE in str(w.message) for w in log)


@dataclass
class PresetResult:
    preset: str
    train_images: int
    wall_s: float  # fit and test, data set-up included
    images_per_second: float
    peak_mib: float | None  # torch.cuda.max_memory_allocated; None on the CPU
    resolved_precision: str  # resolve_precision(cfg.train)
    probe: Probe  # after the fit
    other_warnings: list[str] = field(default_factory=list)

    @property
    def steps(self) -> int:
        return len(self.probe.step_syncs)

    @property
    def synced_steps(self) -> int:
        return sum(1 for n in self.probe.step_syncs if n > 0)


def train_preset(preset: str, budget: Budget, device: str, cache: Path) -> PresetResult:
    """One epoch of `preset` through fit_and_test, probed."""
    from ablate.spaces import RunConfig
    from lightning_modules.config import DataConfig, ModelConfig, TrainConfig
    from lightning_modules.presets import find_preset
    from lightning_modules.train import fit_and_test, resolve_precision

    found = find_preset(preset)
    assert found is not None, preset
    cfg = RunConfig(
        model=ModelConfig(preset=preset, **found.fields),
        data=DataConfig(
            source=budget.data,
            cache_dir=str(cache),
            augment=True,
            limit_train=budget.limit_train,
            limit_test=budget.limit_test,
        ),
        train=TrainConfig(
            max_epochs=1,
            batch_size=budget.batch_size,
            accelerator="gpu" if device == "cuda" else "cpu",
        ),
        seed=0,
    )
    cuda = device == "cuda"
    with warnings.catch_warnings(record=True) as log:
        warnings.filterwarnings("always", message=f".*{SYNC_MESSAGE}.*")
        probe = Probe(log, watch_syncs=cuda)
        if cuda:
            torch.cuda.reset_peak_memory_stats()
        t0 = time.perf_counter()
        try:
            with tempfile.TemporaryDirectory() as tmp:
                result = fit_and_test(cfg, Path(tmp), callbacks=[probe])
        finally:
            if cuda:
                torch.cuda.set_sync_debug_mode("default")
    others = sorted({str(w.message) for w in log if SYNC_MESSAGE not in str(w.message)})
    wall = time.perf_counter() - t0
    seconds = result.metrics["train_seconds"]
    return PresetResult(
        preset=preset,
        train_images=round(result.metrics["train_images_per_second"] * seconds),
        wall_s=wall,
        images_per_second=result.metrics["train_images_per_second"],
        peak_mib=torch.cuda.max_memory_allocated() / 2**20 if cuda else None,
        resolved_precision=resolve_precision(cfg.train),
        probe=probe,
        other_warnings=others,
    )


def preset_failures(r: PresetResult, device: str) -> list[str]:
    """What the probe saw against what the config asked for."""
    p = r.probe
    out = []
    if device == "cuda" and r.steps and r.synced_steps > MAX_SYNCED_STEP_FRACTION * r.steps:
        out.append(
            f"{r.preset}: {r.synced_steps} of {r.steps} training steps synchronised with "
            f"the host ({sum(p.step_syncs)} syncs, torch.cuda.set_sync_debug_mode('warn')): "
            "a host sync per step stalls the GPU; once per epoch is the budget"
        )
    if p.precision != r.resolved_precision:
        out.append(f"{r.preset}: resolved precision {r.resolved_precision}, trained {p.precision}")
    want = {"bf16-mixed": torch.bfloat16, "16-mixed": torch.float16}.get(
        r.resolved_precision, torch.float32
    )
    if p.conv_dtype != want:
        out.append(f"{r.preset}: conv outputs were {p.conv_dtype}, expected {want}")
    used, convs = p.conv_weights
    if convs == 0 or used != convs or not p.batch_channels_last:  # TrainConfig default: on
        out.append(
            f"{r.preset}: channels_last is on, but {used} of {convs} conv weights and "
            f"{'a' if p.batch_channels_last else 'no'} channels_last batch"
        )
    if r.steps == 0:
        out.append(f"{r.preset}: the probe saw no training step")
    return out


# ------------------------------------------------------------- 2. workers on one GPU


class GpuMemorySampler:
    """Peak GPU memory per process (MiB), sampled with nvidia-smi in a thread.

    `per_pid` is empty where nvidia-smi lists no processes (inside some containers its
    PIDs are hidden); `peak_used` / `baseline` are the whole GPU's memory.used then.
    """

    def __init__(self) -> None:
        self.exe = shutil.which("nvidia-smi")
        self.per_pid: dict[int, float] = {}
        # processes on the GPU before the sweep (this one, others'): not workers
        self.before = {pid for pid, _ in self._apps()} if self.exe else set()
        self.baseline = self._used() if self.exe else 0.0
        self.peak_used = self.baseline
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _query(self, what: str) -> list[list[str]]:
        """nvidia-smi's CSV rows; none when it fails or hangs (a sample is then missed)."""
        assert self.exe is not None
        try:
            out = subprocess.run(
                [self.exe, f"--query-{what}", "--format=csv,noheader,nounits"],
                capture_output=True,
                text=True,
                timeout=10,
            )
        except (OSError, subprocess.TimeoutExpired):
            return []
        rows = [line.split(",") for line in out.stdout.splitlines() if line.strip()]
        return [[c.strip() for c in row] for row in rows]

    def _used(self) -> float:
        """memory.used of every GPU, MiB ("[N/A]" counts as 0)."""
        rows = self._query("gpu=memory.used")
        return sum(float(r[0]) for r in rows if _is_number(r[0]))

    def _apps(self) -> list[tuple[int, float]]:
        """(pid, MiB) of each compute process; rows nvidia-smi cannot fill are left out."""
        rows = self._query("compute-apps=pid,used_memory")
        return [
            (int(r[0]), float(r[1]))
            for r in rows
            if len(r) == 2 and r[0].isdigit() and _is_number(r[1])
        ]

    def _loop(self) -> None:
        while not self._stop.wait(NVIDIA_SMI_PERIOD_S):
            for pid, mib in self._apps():
                if pid not in self.before:
                    self.per_pid[pid] = max(self.per_pid.get(pid, 0.0), mib)
            self.peak_used = max(self.peak_used, self._used())

    def __enter__(self) -> GpuMemorySampler:
        if self.exe:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=15)

    def per_worker(self, workers: int) -> str:
        """The heaviest worker's peak, or the GPU's rise shared out when PIDs are hidden."""
        if not self.exe:
            return "n/a (no nvidia-smi)"
        peaks = list(self.per_pid.values())
        if peaks:
            return f"{max(peaks):,.0f} (max of {len(peaks)} processes)"
        rise = self.peak_used - self.baseline
        return f"~{rise / workers:,.0f} (GPU total rise / {workers}; no PIDs listed)"


def _is_number(text: str) -> bool:
    return text.replace(".", "", 1).isdigit()


@dataclass(frozen=True)
class SweepResult:
    workers: int
    runs: int
    wall_s: float
    train_images: int
    total_images_per_second: float  # all training images / wall time of the command
    per_worker_images_per_second: float  # median over workers of images / training seconds
    gpu_mib_per_worker: str


def sweep_space(budget: Budget) -> dict[str, Any]:
    return {
        "experiment": EXPERIMENT,
        "base": {
            "model": {"preset": SWEEP_PRESET},
            "data": {
                "augment": True,
                "limit_train": budget.limit_train,
                "limit_test": budget.limit_test,
            },
            "train": {"max_epochs": budget.sweep_epochs, "batch_size": budget.batch_size},
            "explain": {"enabled": False},
        },
    }


def run_sweep(workers: int, runs: int, budget: Budget, device: str, cache: Path) -> SweepResult:
    """`ablate run --workers N` over `runs` seeds in a fresh folder; read back from MLflow."""
    from ablate.store import Tracker

    with tempfile.TemporaryDirectory() as tmp:
        space = Path(tmp) / "space.yaml"
        space.write_text(yaml.safe_dump(sweep_space(budget)))
        cmd = [sys.executable, "-m", "ablate.cli", "run", str(space), "--data", budget.data]
        cmd += ["--accelerator", "gpu" if device == "cuda" else "cpu", "--seeds", str(runs)]
        cmd += ["--set", f"data.cache_dir={cache}", "--workers", str(workers), "--no-report"]
        log = Path(tmp) / "ablate-run.log"
        sampler = GpuMemorySampler() if device == "cuda" else None
        t0 = time.perf_counter()
        with log.open("w") as out, sampler or contextlib.nullcontext():
            code = _run(cmd, tmp, out)
        wall = time.perf_counter() - t0
        if code != 0:
            tail = "\n".join(log.read_text().splitlines()[-30:])
            raise CheckFailed(f"ablate run --workers {workers} exited {code}:\n{tail}")
        tracker = Tracker(f"sqlite:///{Path(tmp) / 'mlflow.db'}")
        sweeps = tracker.sweeps(EXPERIMENT)
        children = tracker.children(sweeps[0].run_id) if sweeps else []
    done = [c for c in children if c.settles and "train_seconds" in c.metrics]
    if len(done) != runs:
        raise CheckFailed(f"--workers {workers}: {len(done)} of {runs} runs finished")
    per_worker: dict[str, list[float]] = {}  # worker id -> [images, training seconds]
    for c in done:
        seconds = c.metrics["train_seconds"]
        acc = per_worker.setdefault(c.worker, [0.0, 0.0])
        acc[0] += c.metrics["train_images_per_second"] * seconds
        acc[1] += seconds
    images = sum(i for i, _ in per_worker.values())
    return SweepResult(
        workers=workers,
        runs=runs,
        wall_s=wall,
        train_images=round(images),
        total_images_per_second=images / wall,
        per_worker_images_per_second=statistics.median(
            i / max(s, 1e-9) for i, s in per_worker.values()
        ),
        gpu_mib_per_worker=sampler.per_worker(workers) if sampler else "skipped (CPU)",
    )


def _run(cmd: list[str], cwd: str, out: IO[str]) -> int:
    """The command's exit code; 124 when it outlives SWEEP_TIMEOUT_S."""
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", "PYTHONUNBUFFERED": "1"}
    try:
        done = subprocess.run(
            cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=SWEEP_TIMEOUT_S
        )
    except subprocess.TimeoutExpired:
        return 124
    return done.returncode


class CheckFailed(Exception):
    """A check that did not pass; main prints it as a FAIL line and exits 1."""


# ------------------------------------------------------------------------------ main


def gpu_line(device: str) -> str:
    """GPU name, memory, capability, torch, CUDA, cuDNN and driver versions."""
    cuda = f"torch {torch.__version__}, CUDA {torch.version.cuda}"
    if device != "cuda":
        return f"GPU: none used (--device cpu); {cuda}"
    props = torch.cuda.get_device_properties(0)
    driver = "?"
    if exe := shutil.which("nvidia-smi"):
        q = [exe, "--query-gpu=driver_version", "--format=csv,noheader"]
        driver = subprocess.run(q, capture_output=True, text=True, timeout=10).stdout.strip()
    return (
        f"GPU: {props.name}, {props.total_memory / 2**30:.0f} GiB, compute capability "
        f"{props.major}.{props.minor}, {torch.cuda.device_count()} visible; {cuda}, "
        f"cuDNN {torch.backends.cudnn.version()}, driver {driver.splitlines()[0] if driver else '?'}"
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--device", choices=("cuda", "cpu"), default="cuda")
    ap.add_argument(
        "--smoke",
        action="store_true",
        help="tiny budget on tests/data (256 train images, workers 1 2): checks the script runs",
    )
    ap.add_argument("--data", default=None, help=f"CIFAR-10 source (default {DEFAULT_DATA})")
    ap.add_argument("--limit-train", type=int, default=None, help="train images; default all")
    ap.add_argument("--limit-test", type=int, default=None, help="test images; default all")
    ap.add_argument("--batch-size", type=int, default=None, help="default 128 (64 with --smoke)")
    ap.add_argument("--sweep-epochs", type=int, default=1, help="epochs per run of the sweeps")
    ap.add_argument("--worker-counts", type=int, nargs="+", default=None, help="default 1 2 4 8")
    ap.add_argument("--no-append", action="store_true", help="do not append to RESULTS.md")
    return ap.parse_args(argv)


def budget_of(args: argparse.Namespace) -> Budget:
    if args.smoke:
        return Budget(
            data=args.data or str(SLICE),
            limit_train=args.limit_train or 256,
            limit_test=args.limit_test or 100,
            batch_size=args.batch_size or 64,
            sweep_epochs=args.sweep_epochs,
            worker_counts=tuple(args.worker_counts or (1, 2)),
        )
    return Budget(
        data=args.data or DEFAULT_DATA,
        limit_train=args.limit_train,
        limit_test=args.limit_test,
        batch_size=args.batch_size or 128,
        sweep_epochs=args.sweep_epochs,
        worker_counts=tuple(args.worker_counts or (1, 2, 4, 8)),
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        print(
            f"error: --device cuda, but torch {torch.__version__} (CUDA {torch.version.cuda}) "
            "sees no GPU: run this on a GPU machine, or use --device cpu --smoke",
            file=sys.stderr,
        )
        return 2
    budget = budget_of(args)
    if not Path(budget.data).exists():
        print(f"error: --data {budget.data}: no such file or folder", file=sys.stderr)
        return 2
    started = time.perf_counter()
    import lightning  # noqa: F401  (imported first: it resets its loggers to INFO)

    from ablate.runtime import quiet_libraries
    from ablate.spaces import DataConfig
    from lightning_modules.data import load_cifar10

    quiet_libraries()  # Lightning's banners
    cuda = args.device == "cuda"
    print(gpu_line(args.device), flush=True)
    if not cuda:
        print(
            "skipped on the CPU: the host-sync check (torch.cuda.set_sync_debug_mode), GPU "
            "memory (torch.cuda.max_memory_allocated, nvidia-smi) and bf16-mixed (fp32 here)",
            flush=True,
        )
    failures: list[str] = []
    rows: list[list[object]] = []
    if cuda and not sync_detector_sees_a_sync():
        failures.append(
            "the host-sync check is blind: a deliberate .item() under "
            "torch.cuda.set_sync_debug_mode('warn') gave no warning matching "
            f"{SYNC_MESSAGE!r}"
        )
    with tempfile.TemporaryDirectory() as cache_dir:
        cache = Path(cache_dir)
        source = load_cifar10(DataConfig(source=budget.data, cache_dir=str(cache))).source
        for preset in PRESETS:
            r = train_preset(preset, budget, args.device, cache)
            failures += preset_failures(r, args.device)
            rows.append(preset_row(r, cuda))
            print(" | ".join(str(c) for c in rows[-1]), flush=True)
            for w in r.other_warnings:
                print(f"  warning during {preset}: {w}", flush=True)
        if cuda:
            torch.cuda.empty_cache()  # this process's cached blocks would blur the sampling
        runs = max(budget.worker_counts)
        for n in budget.worker_counts:
            try:
                s = run_sweep(n, runs, budget, args.device, cache)
            except CheckFailed as exc:
                failures.append(str(exc))
                continue
            rows.append(sweep_row(s))
            print(" | ".join(str(c) for c in rows[-1]), flush=True)
    header = [
        "check",
        "workers",
        "train images",
        "wall s",
        "img/s total",
        "img/s per worker",
        "peak GPU MiB per worker",
        "precision (conv output)",
        "channels_last (weights, batch)",
        "steps with a host sync",
    ]
    verdict = "all checks passed" if not failures else f"{len(failures)} check(s) FAILED"
    report(
        f"GPU check ({args.device}{', smoke' if args.smoke else ''})",
        markdown_table(header, rows),
        notes=(
            f"{gpu_line(args.device)}\n\nData: {source}; limit_train {budget.limit_train or 'none'}, "
            f"limit_test {budget.limit_test or 'none'}, batch {budget.batch_size}, augment on. "
            f"Preset rows: one epoch in-process (fit_and_test), img/s over training batches, "
            f"memory = torch.cuda.max_memory_allocated. Worker rows: `ablate run --workers N`, "
            f"{SWEEP_PRESET}, {runs} runs of {budget.sweep_epochs} epoch(s); img/s total = "
            f"training images / wall time of the command; per worker = median of images / "
            f"training seconds; memory sampled with nvidia-smi (CUDA context included). "
            f"Took {time.perf_counter() - started:.0f} s; {verdict}."
        ),
        append=not (args.smoke or args.no_append),
    )
    for f in failures:
        print(f"FAIL: {f}", file=sys.stderr)
    return 1 if failures else 0


def preset_row(r: PresetResult, cuda: bool) -> list[object]:
    p = r.probe
    dtype = str(p.conv_dtype).removeprefix("torch.")
    used, convs = p.conv_weights
    syncs = (
        f"{r.synced_steps} of {r.steps} ({p.syncs_total} syncs in all)" if cuda else "skipped (CPU)"
    )
    return [
        f"{r.preset}, 1 epoch",
        1,
        f"{r.train_images:,}",
        f"{r.wall_s:.1f}",
        f"{r.images_per_second:,.0f}",
        f"{r.images_per_second:,.0f}",
        f"{r.peak_mib:,.0f}" if r.peak_mib is not None else "skipped (CPU)",
        f"{p.precision} ({dtype})",
        f"{used}/{convs}, {'yes' if p.batch_channels_last else 'no'}",
        syncs,
    ]


def sweep_row(s: SweepResult) -> list[object]:
    return [
        f"{SWEEP_PRESET} sweep, {s.runs} runs",
        s.workers,
        f"{s.train_images:,}",
        f"{s.wall_s:.1f}",
        f"{s.total_images_per_second:,.0f}",
        f"{s.per_worker_images_per_second:,.0f}",
        s.gpu_mib_per_worker,
        "-",
        "-",
        "-",
    ]


if __name__ == "__main__":
    sys.exit(main())
