"""A preemption signal stops training even where its KeyboardInterrupt was lost.

The signal handler (`ablate.runtime.signals`) raises KeyboardInterrupt wherever the
main thread happens to be; if that is inside a weakref callback or a `__del__`, Python
prints "Exception ignored in ..." and carries on, and the run would train on. This
callback looks once per step (a Python flag, no device sync) and raises again.
"""

from __future__ import annotations

from typing import Any

import lightning as L
from lightning.pytorch.callbacks import Callback

from ablate.runtime import preempted_by


class StopOnSignal(Callback):
    @staticmethod
    def _stop_if_signalled() -> None:
        if preempted_by() is not None:
            raise KeyboardInterrupt

    def on_train_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        self._stop_if_signalled()

    def on_validation_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        self._stop_if_signalled()
