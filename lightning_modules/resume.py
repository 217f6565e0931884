"""Epoch checkpoints that let a killed run continue where it stopped, bit for bit.

Two callbacks:

- `BestWeights` keeps the best-val weights in memory (not in a file of a temporary
  folder), so that they travel inside the epoch checkpoint: a resumed run restores the
  same best epoch and score an uninterrupted one would have.
- `EpochCheckpoint` writes a full Lightning checkpoint (weights, optimiser, scheduler,
  loops, the data order, `BestWeights`) plus every RNG state (Python, NumPy, torch, CUDA)
  at the end of each training epoch, into two alternating slots, so that a kill during a
  write leaves the other slot whole. Once the epoch's metrics are logged (at the next
  epoch's start, or the end of fit), it hands the slot and a small `ResumeState` (the
  epoch, the slot, the curves so far) to its `sink`, e.g. an upload to the tracking store.

`read_resume_state` and `pick_checkpoint` are the reading side: which slot to resume
from. The RNG states are plain tensors and lists, so the checkpoint loads with
`torch.load(weights_only=True)`.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import Callback

SLOTS = ("a", "b")  # checkpoint files, written in turn
STATE_FILE = "state.json"  # which slot holds the newest whole checkpoint, and the curves


@dataclass
class ResumeState:
    """What a resumed run needs besides the checkpoint: how far it got and its curves."""

    epochs_done: int  # finished training epochs (1-based count) in the checkpoint
    slot: str  # "a" or "b": the checkpoint file `<slot>.ckpt` that holds them
    history: dict[str, list[tuple[int, float]]] = field(
        default_factory=dict
    )  # key -> (step, value)

    def by_step(self) -> dict[int, dict[str, float]]:
        """The curves as {step: {key: value}}: one batch of metrics per epoch."""
        out: dict[int, dict[str, float]] = {}
        for key, points in self.history.items():
            for step, value in points:
                out.setdefault(step, {})[key] = value
        return out

    def to_json(self) -> str:
        return json.dumps(
            {"epochs_done": self.epochs_done, "slot": self.slot, "history": self.history}
        )

    @classmethod
    def from_json(cls, text: str) -> ResumeState:
        raw = json.loads(text)
        history = {k: [(int(s), float(v)) for s, v in pts] for k, pts in raw["history"].items()}
        return cls(int(raw["epochs_done"]), str(raw["slot"]), history)


def rng_state() -> dict[str, Any]:
    """Every RNG a training step may draw from, as tensors and plain lists."""
    version, mt, gauss = random.getstate()
    kind, keys, pos, has_gauss, cached = np.random.get_state(legacy=True)  # type: ignore[misc]
    state: dict[str, Any] = {
        "python": [version, list(mt), gauss],
        "numpy": [kind, torch.from_numpy(np.asarray(keys).copy()), pos, has_gauss, cached],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    version, mt, gauss = state["python"]
    random.setstate((int(version), tuple(int(x) for x in mt), gauss))
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state(
        (kind, keys.numpy().astype(np.uint32), int(pos), int(has_gauss), float(cached))
    )
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


class BestWeights(Callback):
    """The weights of the epoch with the best `monitor` (strictly better, as Lightning's
    ModelCheckpoint with mode max), or of the last epoch without validation.

    The copy stays on the training device (no host sync); `score` is None without
    validation; `epoch` is 0-based, as in Lightning's checkpoints.
    """

    def __init__(self, monitor: str | None = "val_acc") -> None:
        self.monitor = monitor
        self.score: float | None = None
        self.epoch = -1
        self.weights: dict[str, torch.Tensor] | None = None

    def _keep(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.epoch = trainer.current_epoch
        self.weights = {k: v.detach().clone() for k, v in pl_module.state_dict().items()}

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.monitor is None or trainer.sanity_checking or trainer.state.fn != "fit":
            return
        value = trainer.callback_metrics.get(self.monitor)
        if value is None:
            return
        current = float(value)  # one host sync per epoch
        if math.isnan(current):  # never better than anything, as in ModelCheckpoint
            current = -math.inf
        if self.score is None or current > self.score:
            self.score = current
            self._keep(trainer, pl_module)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.monitor is None:
            self._keep(trainer, pl_module)

    def state_dict(self) -> dict[str, Any]:
        return {"score": self.score, "epoch": self.epoch, "weights": self.weights}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.score = state_dict["score"]
        self.epoch = int(state_dict["epoch"])
        self.weights = state_dict["weights"]


Sink = Callable[[Path, ResumeState], None]


class EpochCheckpoint(Callback):
    """Checkpoint each finished epoch into `folder/<slot>.ckpt`; hand it to `sink` once
    that epoch's metrics are logged. After a resume, the saved RNG states are put back
    at the start of the first epoch trained again."""

    def __init__(self, folder: Path, sink: Sink, seconds: list[float] | None = None) -> None:
        self.folder = folder
        self.sink = sink
        self.seconds = seconds if seconds is not None else []  # per epoch: writing + sink
        self._turn = 0
        self._pending: tuple[Path, int] | None = None  # written, not yet handed on
        self._rng_to_restore: dict[str, Any] | None = None
        self.history: dict[str, list[tuple[int, float]]] = {}

    # what the checkpoint holds of this callback: the RNG at the end of the epoch, the curves
    def state_dict(self) -> dict[str, Any]:
        return {"rng": rng_state(), "turn": self._turn}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._rng_to_restore = state_dict["rng"]
        self._turn = int(state_dict["turn"])

    def resume_history(self, history: dict[str, list[tuple[int, float]]]) -> None:
        """The curves of the epochs a resumed run does not train again."""
        self.history = {k: list(v) for k, v in history.items()}

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        t0 = time.perf_counter()
        self.folder.mkdir(parents=True, exist_ok=True)
        slot = SLOTS[self._turn % len(SLOTS)]
        self._turn += 1
        path = self.folder / f"{slot}.ckpt"
        trainer.save_checkpoint(path, weights_only=False)
        self._pending = (path, trainer.current_epoch + 1)
        self.seconds.append(time.perf_counter() - t0)

    def _hand_on(self, trainer: L.Trainer) -> None:
        if self._pending is None:
            return
        t0 = time.perf_counter()
        path, done = self._pending
        self._pending = None
        # the metrics Lightning logged for the epoch just finished (val at its validation,
        # train at its end): the same floats the logger sent, stepped by epoch
        for k, v in trainer.logged_metrics.items():
            if k != "epoch":
                self.history.setdefault(k, []).append((done - 1, float(v)))
        self.sink(path, ResumeState(done, path.stem, self.history))
        if self.seconds:
            self.seconds[-1] += time.perf_counter() - t0

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._hand_on(trainer)
        if self._rng_to_restore is not None:  # the first epoch after a resume
            set_rng_state(self._rng_to_restore)
            self._rng_to_restore = None

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._hand_on(trainer)


def read_resume_state(text: str | None) -> ResumeState | None:
    """The state file's content, or None when it is missing or unreadable."""
    if not text:
        return None
    try:
        return ResumeState.from_json(text)
    except (ValueError, KeyError, TypeError):
        return None


def checkpoint_epochs(path: Path) -> int | None:
    """Finished epochs held by a checkpoint file, or None if it does not load whole."""
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
        return int(ckpt["epoch"]) + 1
    except Exception:  # a torn write, a foreign file: not a checkpoint to resume from
        return None
