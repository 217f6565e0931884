"""Training speed of our PyTorch path against the stacks the seed scripts used.

    python -m benchmarks.seed_stacks [--quick] [--repeats 3] [--no-append]
        [--data ../shared/data/cifar10-jpeg.zip] [--seeds-python .venv-seeds/bin/python]
        [--stacks keras flax] [--threads N] [--limit-train N]

Run it with the project's venv (`.venv/bin/python -m benchmarks.seed_stacks`). TensorFlow,
Keras, JAX, Flax and optax must never enter the project's install, so they live in a
separate, git-ignored venv that this script starts as subprocesses:

    python3 -m venv .venv-seeds
    .venv-seeds/bin/pip install -r benchmarks/requirements-seeds.txt

What is compared, on the same CPU, in one run:

- seed 000 (Keras): Conv32(relu, L2 1e-3)-BN-MaxPool, Conv64(relu, L2 1e-3)-BN-MaxPool,
  flatten, Dense 10 softmax; "same" padding; Adam 1e-3, categorical cross-entropy on
  one-hot labels, `metrics=["accuracy"]`, `model.fit(shuffle=True)` with Keras' defaults
  (`jit_compile="auto"`, which turns XLA off on a CPU-only machine; the notes show the
  value used). Against ours, preset `keras_cnn` (Conv-BN-ReLU-Pool x2, flatten, fc), Adam
  1e-3 with the same L2 on the conv kernels only (coupled weight decay 2 x 1e-3, because
  Keras adds 1e-3 * sum(w^2) to the loss). At batch 32 (the seed's) and at batch 128.
  Full mode: all 45,000 training images (`--limit-train`), `--epochs` 5 as the seed, and
  accuracy on the official 10,000 test images after training.
- seed 003 (JAX/Flax linen + optax): 2x Conv64, 2x Conv128, 3x Conv256 (each conv-BN-ReLU,
  "SAME"), max-pool after each block, global average pool, Dense 512-ReLU-Dropout 0.5,
  Dense 10; Adam 1e-3 (optax), softmax cross-entropy on integer labels, batch 128, one
  `jax.jit` train step. Against ours, preset `vgg`, Adam 1e-3, batch 128. Speed only, on
  `--seed003-images` 2,560 images for `--seed003-epochs` 3.

Not as in the seeds: no validation split and no checkpoint callback (seed 000 held out 20%
and saved the best epoch); ours are the project's networks, so conv-BN-ReLU rather than
seed 000's conv-ReLU-BN, no conv bias before BN, torch's BatchNorm momentum and epsilon,
and a mean/std normalisation inside. The work per image is the same to within a few
percent; the accuracies are of each side's own recipe.

Both sides get the same images: the official train split less the project's validation
tenth (`split_train_val(n, 0.1, seed 0)`, not Keras' `validation_split`, which would take
the last images before shuffling), no augmentation (neither seed augments), no validation
pass, pixels scaled to [0, 1] (our networks also normalise by mean/std inside). Ours is a
plain loop as in `benchmarks/train_throughput.py` (fp32, channels_last, a fresh
`randperm` per epoch, forward, loss, backward, step), on the CPU.

Speed: every run trains its epochs in one go and times each epoch; the first epoch is the
warm-up and is left out for every stack alike (tracing and XLA compilation for Keras and
JAX, first-call allocations and oneDNN primitive creation for torch; the partial last
batch is compiled there too). images/s = images of the timed epochs / their seconds.
Keras' epochs are timed by a callback (on_epoch_begin/end, after the epoch's logs are
read back), JAX's end with `block_until_ready`. So `--quick` (a few hundred images,
warm-up + 1 timed epoch, 1 repeat, no accuracy) only checks that everything runs.

Interleaved A B A B: each repeat runs ours b32, Keras b32, ours b128, Keras b128, ours
VGG, Flax VGG; the table gives medians over the repeats and the ratio ours/theirs
(above 1: ours is faster). Every repeat r seeds both sides with r.

Threads: torch uses `torch.get_num_threads()` (or `--threads`). TensorFlow gets
`tf.config.threading` intra-op = that number and inter-op = 1 (ops one at a time, each on
N threads, as in torch's eager loop). XLA:CPU in JAX has no flag for a thread count: it
sizes its pool by the CPUs the process may run on, so the Flax worker restricts its CPU
affinity to N CPUs when N is less than what it may use (nothing is changed when they are
equal) and, for N = 1, sets XLA_FLAGS=--xla_cpu_multi_thread_eigen=false.

The subprocesses get the data as .npy files in a temporary folder (uint8 NHWC images,
int64 labels) and print one JSON line with their measurements. This file therefore
imports only the standard library and numpy at the top: torch and the project are
imported by our side, TensorFlow and JAX by the workers.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from benchmarks.common import DEFAULT_DATA, ROOT, markdown_table, median, report

if TYPE_CHECKING:
    import torch

DEFAULT_SEEDS_PYTHON = ".venv-seeds/bin/python"
RESULT_PREFIX = "SEED_STACKS_RESULT "  # the worker's JSON line starts with this

LR = 1e-3  # Adam, both seeds
KERAS_L2 = 1e-3  # seed 000's kernel_regularizer=l2(1e-3) on both convs (search_spaces/strides.yaml)
VGG_DROPOUT = 0.5  # seed 003's head dropout (preset "vgg")
SEED000_BATCHES = (32, 128)  # the seed's own batch, and ours
SEED003_BATCH = 128
PRESETS = {"seed000": "keras_cnn", "seed003": "vgg"}  # our build of each seed's network
NUM_CLASSES = 10
EVAL_BATCH = 1000  # test-set inference only; not timed


@dataclass
class Measurement:
    """One training run of one stack; what a worker prints as JSON."""

    stack: str  # "torch", "keras" or "flax"
    network: str  # "seed000" or "seed003"
    batch: int
    images: int  # training images per epoch
    epoch_seconds: list[float]  # every epoch, the warm-up first
    test_accuracy: float | None = None
    versions: dict[str, str] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)  # threads, XLA, ...

    @property
    def images_per_second(self) -> float:
        timed = self.epoch_seconds[1:]  # the first epoch is the warm-up
        return self.images * len(timed) / sum(timed)


@dataclass(frozen=True)
class Job:
    """One training run: what to train, how long, on how many images."""

    stack: str  # "torch", "keras" or "flax"
    network: str  # "seed000" or "seed003"
    batch: int
    epochs: int  # the warm-up epoch included
    images: int  # the first `images` of the shared training images
    seed: int
    accuracy: bool = False  # evaluate on the test set after training


def plan_jobs(args: argparse.Namespace, n_train: int) -> list[Job]:
    """Ours, theirs, ours, theirs, ... for every repeat, in the order they run."""
    n000 = min(n_train, 512 if args.quick else args.limit_train or n_train)
    n003 = min(n_train, 256 if args.quick else args.seed003_images)
    e000 = 2 if args.quick else args.epochs
    e003 = 2 if args.quick else args.seed003_epochs
    jobs = []
    for r in range(args.repeats):
        if "keras" in args.stacks:
            for b in SEED000_BATCHES:
                jobs += [
                    Job(stack, "seed000", b, e000, n000, r, accuracy=not args.quick)
                    for stack in ("torch", "keras")
                ]
        if "flax" in args.stacks:
            jobs += [
                Job(stack, "seed003", SEED003_BATCH, e003, n003, r) for stack in ("torch", "flax")
            ]
    return jobs


# ---------------------------------------------------------------- our side (main venv)


def torch_run(
    job: Job, x: torch.Tensor, y: torch.Tensor, test: tuple[torch.Tensor, torch.Tensor]
) -> Measurement:
    """The project's network in a plain loop, as `train_throughput.plain_images_per_second`
    (without its augmentation, which neither seed had), timing every epoch."""
    import torch
    import torch.nn.functional as F

    from lightning_modules.augment import to_float
    from lightning_modules.config import ModelConfig
    from lightning_modules.models import build_model
    from lightning_modules.presets import find_preset

    preset = find_preset(PRESETS[job.network])
    assert preset is not None, job.network
    x, y, batch = x[: job.images], y[: job.images], job.batch
    torch.manual_seed(job.seed)
    net = build_model(ModelConfig(**preset.fields)).to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    l2 = KERAS_L2 if job.network == "seed000" else 0.0
    conv_weights = [m.weight for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
    others = [p for p in net.parameters() if all(p is not w for w in conv_weights)]
    opt = torch.optim.Adam(
        [
            # d/dw of Keras' l2 * sum(w^2) is 2 * l2 * w: coupled decay of 2 * l2
            {"params": conv_weights, "weight_decay": 2 * l2},
            {"params": others, "weight_decay": 0.0},
        ],
        lr=LR,
    )
    net.train()
    seconds = []
    for epoch in range(job.epochs):
        t0 = time.perf_counter()
        shuffle = torch.Generator().manual_seed(job.seed * 1000 + epoch)
        order = torch.randperm(len(x), generator=shuffle)
        for i in range(0, len(x), batch):
            idx = order[i : i + batch]
            xb = to_float(x.index_select(0, idx)).contiguous(memory_format=torch.channels_last)
            loss = F.cross_entropy(net(xb), y.index_select(0, idx))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        seconds.append(time.perf_counter() - t0)
    accuracy = None
    if job.accuracy:
        net.eval()
        correct = 0
        with torch.no_grad():
            for i in range(0, len(test[0]), EVAL_BATCH):
                xb = to_float(test[0][i : i + EVAL_BATCH]).contiguous(
                    memory_format=torch.channels_last
                )
                correct += int((net(xb).argmax(1) == test[1][i : i + EVAL_BATCH]).sum())
        accuracy = correct / len(test[0])
    return Measurement(
        stack="torch",
        network=job.network,
        batch=batch,
        images=len(x),
        epoch_seconds=seconds,
        test_accuracy=accuracy,
        versions={"torch": torch.__version__},
        settings={"threads": torch.get_num_threads(), "memory_format": "channels_last"},
    )


def worker_run(job: Job, python: str, arrays: Path, threads: int) -> Measurement:
    """Run `job` in a worker in the seeds venv; its RESULT_PREFIX line is the measurement."""
    cmd = [python, "-m", "benchmarks.seed_stacks", "worker", json.dumps(asdict(job))]
    cmd += ["--arrays", str(arrays), "--threads", str(threads)]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "JAX_PLATFORMS": "cpu"}
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(RESULT_PREFIX)]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(
            f"{shlex.join(cmd)} exited {proc.returncode} without a result:\n"
            f"{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
        )
    return Measurement(**json.loads(lines[-1][len(RESULT_PREFIX) :]))


# ---------------------------------------------------------------- the workers (seeds venv)


def load_arrays(folder: Path, job: Job) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The parent's .npy files as the seeds prepare them: float32 NHWC in [0, 1], int labels.

    Train is cut to the job's first `images`; test is empty unless the job wants accuracy.
    """
    x = np.load(folder / "train_x.npy")[: job.images].astype(np.float32) / 255.0
    y = np.load(folder / "train_y.npy")[: job.images]
    if not job.accuracy:
        return x, y, x[:0], y[:0]
    tx = np.load(folder / "test_x.npy").astype(np.float32) / 255.0
    return x, y, tx, np.load(folder / "test_y.npy")


def keras_worker(job: Job, arrays: Path, threads: int) -> Measurement:
    """Seed 000's network, compile and fit, with Keras' defaults."""
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    import keras
    from keras import layers, regularizers

    keras.utils.set_random_seed(job.seed)
    x, y, test_x, test_y = load_arrays(arrays, job)

    def conv(filters: int) -> layers.Layer:
        l2 = regularizers.l2(KERAS_L2)
        return layers.Conv2D(filters, 3, padding="same", activation="relu", kernel_regularizer=l2)

    model = keras.Sequential(
        [
            keras.Input((32, 32, 3)),
            conv(32),
            layers.BatchNormalization(),
            layers.MaxPool2D(2),
            conv(64),
            layers.BatchNormalization(),
            layers.MaxPool2D(2),
            layers.Flatten(),
            layers.Dense(NUM_CLASSES, activation="softmax"),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(LR), loss="categorical_crossentropy", metrics=["accuracy"]
    )

    class EpochTimer(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.seconds: list[float] = []
            self.t0 = 0.0

        def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            self.t0 = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            _ = [float(v) for v in (logs or {}).values()]  # read back: the epoch's work is done
            self.seconds.append(time.perf_counter() - self.t0)

    timer = EpochTimer()
    one_hot = keras.utils.to_categorical  # the seed trains on one-hot labels
    model.fit(
        x,
        one_hot(y, NUM_CLASSES),
        batch_size=job.batch,
        epochs=job.epochs,
        shuffle=True,
        verbose=0,
        callbacks=[timer],
    )
    accuracy = None
    if job.accuracy:
        scores = model.evaluate(
            test_x, one_hot(test_y, NUM_CLASSES), batch_size=EVAL_BATCH, verbose=0, return_dict=True
        )
        accuracy = float(scores["accuracy"])
    return Measurement(
        stack="keras",
        network=job.network,
        batch=job.batch,
        images=len(x),
        epoch_seconds=timer.seconds,
        test_accuracy=accuracy,
        versions={"tensorflow": tf.__version__, "keras": keras.__version__},
        settings={
            "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
            "inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads(),
            "jit_compile": bool(model.jit_compile),
        },
    )


def limit_cpus(threads: int) -> dict[str, Any]:
    """Make XLA:CPU use `threads` threads; call before jax is imported."""
    allowed = sorted(os.sched_getaffinity(0))
    settings: dict[str, Any] = {"cpus_allowed": len(allowed)}
    if threads < len(allowed):
        os.sched_setaffinity(0, allowed[:threads])  # XLA sizes its pool by the affinity mask
        settings["affinity"] = allowed[:threads]
    if threads == 1:
        flags = os.environ.get("XLA_FLAGS", "")
        os.environ["XLA_FLAGS"] = f"{flags} --xla_cpu_multi_thread_eigen=false".strip()
    settings["XLA_FLAGS"] = os.environ.get("XLA_FLAGS", "")
    return settings


def flax_worker(job: Job, arrays: Path, threads: int) -> Measurement:
    """Seed 003's network and a jitted train step, in Flax linen with optax."""
    settings = limit_cpus(threads)
    import flax
    import flax.linen as nn
    import jax
    import jax.numpy as jnp
    import jaxlib
    import optax

    class VGG(nn.Module):
        @nn.compact
        def __call__(self, x: jax.Array, train: bool) -> jax.Array:
            for features, convs in ((64, 2), (128, 2), (256, 3)):
                for _ in range(convs):
                    x = nn.Conv(features, (3, 3), padding="SAME")(x)
                    x = nn.relu(nn.BatchNorm(use_running_average=not train)(x))
                x = nn.max_pool(x, (2, 2), strides=(2, 2))
            x = jnp.mean(x, axis=(1, 2))  # global average pool
            x = nn.relu(nn.Dense(512)(x))
            x = nn.Dropout(VGG_DROPOUT, deterministic=not train)(x)
            return nn.Dense(NUM_CLASSES)(x)

    x, y, _, _ = load_arrays(arrays, job)
    model = VGG()
    init_key, dropout_key = jax.random.split(jax.random.PRNGKey(job.seed))
    variables = model.init(init_key, jnp.zeros((1, 32, 32, 3)), train=False)
    params, batch_stats = variables["params"], variables["batch_stats"]
    tx = optax.adam(LR)
    opt_state = tx.init(params)

    @jax.jit
    def train_step(
        params: Any, batch_stats: Any, opt_state: Any, xb: jax.Array, yb: jax.Array, key: Any
    ) -> tuple[Any, Any, Any, jax.Array]:
        def loss_fn(p: Any) -> tuple[jax.Array, Any]:
            logits, updates = model.apply(
                {"params": p, "batch_stats": batch_stats},
                xb,
                train=True,
                rngs={"dropout": key},
                mutable=["batch_stats"],
            )
            return optax.softmax_cross_entropy_with_integer_labels(logits, yb).mean(), updates

        (loss, updates), grads = jax.value_and_grad(loss_fn, has_aux=True)(params)
        steps, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, steps), updates["batch_stats"], opt_state, loss

    rng = np.random.default_rng(job.seed)
    seconds = []
    for _ in range(job.epochs):
        t0 = time.perf_counter()
        order = rng.permutation(len(x))
        for i in range(0, len(x), job.batch):
            idx = order[i : i + job.batch]
            dropout_key, step_key = jax.random.split(dropout_key)
            params, batch_stats, opt_state, _ = train_step(
                params, batch_stats, opt_state, x[idx], y[idx], step_key
            )
        jax.block_until_ready((params, batch_stats, opt_state))  # dispatch is asynchronous
        seconds.append(time.perf_counter() - t0)
    return Measurement(
        stack="flax",
        network=job.network,
        batch=job.batch,
        images=len(x),
        epoch_seconds=seconds,
        versions={
            "jax": jax.__version__,
            "jaxlib": jaxlib.__version__,
            "flax": flax.__version__,
            "optax": optax.__version__,
        },
        settings=settings,
    )


def worker_main(argv: Sequence[str]) -> None:
    """`worker JOB_JSON --arrays DIR --threads N`: run one job, print one result line."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.seed_stacks worker")
    parser.add_argument("job", type=lambda s: Job(**json.loads(s)))
    parser.add_argument("--arrays", type=Path, required=True)
    parser.add_argument("--threads", type=int, required=True)
    a = parser.parse_args(argv)
    workers = {"keras": keras_worker, "flax": flax_worker}
    m = workers[a.job.stack](a.job, a.arrays, a.threads)
    m.versions["numpy"] = np.__version__
    print(RESULT_PREFIX + json.dumps(asdict(m)), flush=True)


# ---------------------------------------------------------------- orchestration


def run_jobs(args: argparse.Namespace) -> tuple[list[Measurement], str]:
    """Load the data, run every job in order; the measurements and the data's description."""
    import torch

    from lightning_modules.config import DataConfig
    from lightning_modules.data import load_cifar10, split_train_val

    if args.threads:
        torch.set_num_threads(args.threads)
    data = load_cifar10(DataConfig(source=args.data))
    train_idx, _ = split_train_val(len(data.train_x), 0.1, 0)  # the project's split, seed 0
    jobs = plan_jobs(args, len(train_idx))
    keep = train_idx[: max(j.images for j in jobs)]
    x, y = data.train_x[keep].contiguous(), data.train_y[keep].contiguous()
    test = (data.test_x, data.test_y)
    results = []
    with tempfile.TemporaryDirectory(prefix="seed_stacks_") as tmp:
        folder = Path(tmp)
        np.save(folder / "train_x.npy", x.permute(0, 2, 3, 1).numpy())  # NHWC, as Keras/Flax
        np.save(folder / "train_y.npy", y.numpy())
        if any(j.accuracy for j in jobs):
            np.save(folder / "test_x.npy", data.test_x.permute(0, 2, 3, 1).numpy())
            np.save(folder / "test_y.npy", data.test_y.numpy())
        for job in jobs:
            if job.stack == "torch":
                m = torch_run(job, x, y, test)
            else:
                m = worker_run(job, args.seeds_python, folder, torch.get_num_threads())
            acc = "" if m.test_accuracy is None else f", test acc {m.test_accuracy:.4f}"
            print(
                f"seed {job.seed}: {m.stack} {m.network} b{m.batch}: "
                f"{m.images_per_second:,.0f} img/s{acc}",
                flush=True,
            )
            results.append(m)
    return results, data.source


def _accuracy(ms: Sequence[Measurement]) -> str:
    accs = [m.test_accuracy for m in ms if m.test_accuracy is not None]
    if not accs:
        return "-"
    if len(accs) == 1:
        return f"{accs[0]:.4f}"
    return f"{median(accs):.4f} ({min(accs):.4f}-{max(accs):.4f})"


def summarise(results: Sequence[Measurement]) -> list[list[object]]:
    """One row per (network, batch): medians of ours and theirs, their ratio, accuracies."""
    groups: dict[tuple[str, str, int], list[Measurement]] = {}
    for m in results:
        groups.setdefault((m.stack, m.network, m.batch), []).append(m)

    def speed(key: tuple[str, str, int]) -> float:
        return median([m.images_per_second for m in groups[key]])

    rows: list[list[object]] = []
    for (stack, network, batch), theirs in groups.items():
        if stack == "torch":
            continue
        ours_key = ("torch", network, batch)
        a, b = speed(ours_key), speed((stack, network, batch))
        timed = len(theirs[0].epoch_seconds) - 1
        rows.append(
            [
                "seed 000 CNN" if network == "seed000" else "seed 003 VGG",
                batch,
                f"{theirs[0].images:,} x {timed}",
                f"{a:,.0f}",
                f"{stack} {b:,.0f}",
                f"{a / b:.2f}x",
                _accuracy(groups[ours_key]),
                _accuracy(theirs),
            ]
        )
    ours128, keras32 = ("torch", "seed000", 128), ("keras", "seed000", 32)
    if ours128 in groups and keras32 in groups:  # our usual batch against the seed's as run
        a, b = speed(ours128), speed(keras32)
        row = ["seed 000 CNN", "ours 128, keras 32", "", f"{a:,.0f}", f"keras {b:,.0f}"]
        rows.append([*row, f"{a / b:.2f}x", "", ""])
    return rows


def main(argv: Sequence[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["worker"]:
        worker_main(argv[1:])
        return
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--data", default=DEFAULT_DATA)
    parser.add_argument(
        "--seeds-python", default=DEFAULT_SEEDS_PYTHON, help="the seeds venv's python"
    )
    parser.add_argument("--stacks", nargs="+", choices=["keras", "flax"], default=["keras", "flax"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=5, help="seed 000 runs, warm-up included")
    parser.add_argument("--limit-train", type=int, default=None, help="seed 000 train images")
    parser.add_argument("--seed003-images", type=int, default=2560, help="VGG train images")
    parser.add_argument("--seed003-epochs", type=int, default=3, help="VGG, warm-up included")
    parser.add_argument("--threads", type=int, default=None, help="default: torch's")
    parser.add_argument("--quick", action="store_true", help="smoke test: tiny data, 1 repeat")
    parser.add_argument("--no-append", action="store_true")
    args = parser.parse_args(argv)
    if args.quick:
        args.repeats = 1
    if min(args.epochs, args.seed003_epochs) < 2:
        parser.error("--epochs and --seed003-epochs must be at least 2: the first is the warm-up")
    args.seeds_python = str(ROOT / args.seeds_python)  # an absolute path stays as it is
    if not Path(args.seeds_python).exists():
        parser.error(
            f"{args.seeds_python} not found: create the seeds venv with `python3 -m venv "
            ".venv-seeds && .venv-seeds/bin/pip install -r benchmarks/requirements-seeds.txt`"
        )
    if os.getloadavg()[0] > 0.5:
        print(
            f"warning: load average {os.getloadavg()[0]:.1f}: other work is running. torch's "
            "OpenMP threads slow down far more than TensorFlow's or XLA's when a core is "
            "taken (10x seen here), so the ratios will not hold on a quiet machine.",
            file=sys.stderr,
        )
    results, source = run_jobs(args)
    versions: dict[str, str] = {}
    settings: dict[str, dict[str, Any]] = {}
    for m in results:
        versions.update(m.versions)
        settings.setdefault(m.stack, m.settings)
    epochs = next((len(m.epoch_seconds) for m in results if m.network == "seed000"), 0)
    header = ["network", "batch", "images x timed epochs", "ours (torch) img/s"]
    header += ["theirs img/s", "ours/theirs", "ours test acc", "theirs test acc"]
    notes = (
        f"Data: {source}; the project's 90% train split, no augmentation, no validation. "
        f"Median of {args.repeats} interleaved repeats (ours, theirs, ours, ...); the first "
        "epoch of every run is a warm-up, left out of images/s. "
        + (
            "`--quick`: a smoke test, the numbers mean nothing. "
            if args.quick
            else f"Test accuracy: the official test set after {epochs} epochs, median "
            f"(min-max) over the repeats (seeds 0..{args.repeats - 1}). "
        )
        + "Versions: "
        + ", ".join(f"{k} {v}" for k, v in sorted(versions.items()))
        + ". Settings: "
        + "; ".join(f"{k} {json.dumps(v)}" for k, v in settings.items())
        + "."
    )
    report(
        "Seed stacks: our PyTorch loop vs Keras/TensorFlow (seed 000) and JAX/Flax (seed 003)",
        markdown_table(header, summarise(results)),
        notes=notes,
        append=not args.no_append,
    )


if __name__ == "__main__":
    main()
