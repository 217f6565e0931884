"""Fit one run config (a `RunSpec`) with Lightning, keep the best-val weights, test them."""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.loggers import Logger
from lightning.pytorch.plugins.environments import LightningEnvironment
from torch import nn

from lightning_modules.config import RunSpec, TrainConfig
from lightning_modules.datamodule import CifarDataModule
from lightning_modules.models import build_model, count_params, flops_per_image
from lightning_modules.module import Classifier
from lightning_modules.resume import BestWeights, EpochCheckpoint, ResumeState, Sink


@dataclass(frozen=True)
class TrainResult:
    net: nn.Module  # best-val weights, eval mode, on the training device
    metrics: dict[str, float]  # test_acc, best_val_acc, cost numbers
    confusion: torch.Tensor  # (C, C) int64, rows = true class, on the CPU
    classes: tuple[str, ...]
    best_epoch: int


def gpu_available(t: TrainConfig) -> bool:
    return t.accelerator in ("auto", "gpu", "cuda") and torch.cuda.is_available()


def resolve_precision(t: TrainConfig) -> str:
    """auto: bf16-mixed on a GPU that has bf16, else full fp32."""
    if t.precision != "auto":
        return t.precision
    if gpu_available(t) and torch.cuda.is_bf16_supported():
        return "bf16-mixed"
    return "32-true"


class TrainTimer(Callback):
    """Wall time and images spent in training batches, excluding validation."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.images = 0
        self._t0 = 0.0
        self._validated = False

    def on_train_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        self.images += int(batch[0].shape[0])  # a shape, not a value: no device sync

    def _sync(self, trainer: L.Trainer) -> None:
        if trainer.strategy.root_device.type == "cuda":
            torch.cuda.synchronize()  # once per epoch, for an honest number

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._sync(trainer)
        self._t0 = time.perf_counter()
        self._validated = False

    def on_validation_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.state.fn == "fit":
            self._sync(trainer)
            self.seconds += time.perf_counter() - self._t0
            self._validated = True

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.state.fn == "fit":
            self._t0 = time.perf_counter()

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not self._validated:  # no validation this epoch (none at all, or not this one)
            self._sync(trainer)
            self.seconds += time.perf_counter() - self._t0


def per_class_scores(confusion: torch.Tensor, classes: Sequence[str]) -> dict[str, float]:
    """Precision, recall and F1 per class from a confusion matrix (rows = true)."""
    cm = confusion.double()
    tp = cm.diag()
    precision = tp / cm.sum(0).clamp(min=1)
    recall = tp / cm.sum(1).clamp(min=1)
    f1 = 2 * precision * recall / (precision + recall).clamp(min=1e-12)
    out: dict[str, float] = {}
    for i, name in enumerate(classes):
        out[f"test_precision.{name}"] = float(precision[i])
        out[f"test_recall.{name}"] = float(recall[i])
        out[f"test_f1.{name}"] = float(f1[i])
    return out


def single_process_plugins(devices: int | str) -> list[Any]:
    """One process per run: a plain `LightningEnvironment`, so that neither `SLURM_*`
    variables (inside an sbatch job) nor an `srun` on the PATH make Lightning set up a
    cluster or print its srun hint. Only a run that asks for several devices
    (`train.devices: 4`) gets Lightning's own cluster detection."""
    if (isinstance(devices, int) and devices > 1) or (
        isinstance(devices, str) and devices not in ("auto", "1")
    ):
        return []
    return [LightningEnvironment()]


@dataclass(frozen=True)
class Resume:
    """Where a run keeps its epoch checkpoints, and where it continues from."""

    folder: Path  # the slots are written here
    sink: Sink  # called with each whole checkpoint once its epoch is logged
    start: Path | None = None  # a checkpoint to continue from
    state: ResumeState | None = None  # its epoch and the curves before it
    seconds: list[float] = field(default_factory=list)  # per epoch: checkpoint write + sink


@contextmanager
def no_srun_hint() -> Iterator[None]:
    """Lightning 2.6 asks `SLURMEnvironment.detect()` in every `fit` and `test` without
    a checkpoint path (its checkpoint connector), whatever the plugins, and warns with
    its srun hint wherever `srun` is on the PATH: not ours to show, we train one process."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The `srun` command is available")
        yield


def fit_and_test(
    cfg: RunSpec,
    workdir: Path,
    logger: Logger | None = None,
    callbacks: Sequence[Callback] = (),
    datamodule: CifarDataModule | None = None,
    resume: Resume | None = None,
) -> TrainResult:
    """Train `cfg`, restore the best-val weights, test them on the test split.

    With `resume`, every finished epoch is checkpointed (see `lightning_modules.resume`),
    and a run given `resume.start` continues from it exactly as if it had never stopped.
    """
    t = cfg.train
    if t.threads:
        torch.set_num_threads(t.threads)
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    dm = datamodule or CifarDataModule(cfg.data, batch_size=t.batch_size, seed=cfg.seed)
    dm.setup("fit")  # the data first: the net takes its normalisation, and must fit it
    dm.check_model(cfg.model)
    net = build_model(cfg.model, dm.norm)
    if t.channels_last:
        net = net.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    module = Classifier(net, cfg)
    has_val = cfg.data.val_fraction > 0
    best = BestWeights(monitor="val_acc" if has_val else None)
    saving: list[Callback] = [best]
    if resume is not None:
        epochs = EpochCheckpoint(resume.folder, resume.sink, resume.seconds)
        if resume.state is not None:
            epochs.resume_history(resume.state.history)
        saving.append(epochs)
    timer = TrainTimer()
    trainer = L.Trainer(
        accelerator="cuda" if t.accelerator == "gpu" else t.accelerator,
        devices=t.devices,
        precision=resolve_precision(t),  # type: ignore[arg-type]
        max_epochs=t.max_epochs,
        logger=logger if logger is not None else False,
        callbacks=[*saving, timer, *callbacks],
        enable_progress_bar=False,
        enable_model_summary=False,
        log_every_n_steps=1,
        num_sanity_val_steps=0,
        limit_val_batches=None if has_val else 0,  # no split: no validation, no warning
        default_root_dir=workdir,
        plugins=single_process_plugins(t.devices),
    )
    # Subnormal floats (below 1.2e-38) are handled in microcode on x86 CPUs, several
    # times slower: a run whose logits drift far apart (huge but finite loss) fills its
    # backward pass with them. Flushed to zero while training (benchmarks/denormals.py).
    flushed = torch.set_flush_denormal(True)
    try:
        start = resume.start if resume is not None else None
        with no_srun_hint():
            trainer.fit(module, datamodule=dm, ckpt_path=start, weights_only=True)
    finally:
        if flushed:
            torch.set_flush_denormal(False)
    if best.weights is not None:  # the best-val weights (the last epoch's without validation)
        module.load_state_dict(best.weights)
    best_epoch = best.epoch
    with no_srun_hint():
        trainer.test(module, datamodule=dm, verbose=False)
    assert module.confusion is not None
    test = {k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith("test_")}
    metrics: dict[str, Any] = {
        **test,
        **per_class_scores(module.confusion, dm.classes),
        "best_val_acc": best.score if best.score is not None else float("nan"),
        "best_epoch": best_epoch,
        "params": count_params(net),
        "flops_per_image": flops_per_image(net, cfg.model),
        "train_seconds": timer.seconds,
        "train_images_per_second": timer.images / max(timer.seconds, 1e-9),
    }
    net.eval()
    return TrainResult(
        net=net,
        metrics={k: float(v) for k, v in metrics.items()},
        confusion=module.confusion.to(torch.int64),
        classes=tuple(dm.classes),
        best_epoch=best_epoch,
    )
