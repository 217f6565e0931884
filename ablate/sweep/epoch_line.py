"""One terminal line per training epoch: a Lightning callback (imported only to train)."""

from __future__ import annotations

import time

import lightning as L
from lightning.pytorch.callbacks import Callback

from ablate.runtime import console, fmt_seconds


class EpochLine(Callback):
    """One line per epoch; reads the epoch's metrics once at its end (one host sync per epoch)."""

    def __init__(self) -> None:
        self._t0 = 0.0

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._t0 = time.perf_counter()

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        m = trainer.callback_metrics
        parts = [f"epoch {trainer.current_epoch + 1}/{trainer.max_epochs}"]
        for key in ("train_loss", "train_acc", "val_loss", "val_acc"):
            if key in m:
                parts.append(f"{key} {float(m[key]):.4f}")
        parts.append(fmt_seconds(time.perf_counter() - self._t0))
        console.print("    " + "  ".join(parts), style="dim")
