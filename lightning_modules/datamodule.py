"""The LightningDataModule: an image dataset held in memory as uint8, batched by tensor
indexing (CIFAR-10, CIFAR-100, or any image folder: grey or RGB, any one size).

The whole dataset (about 180 MB as uint8 for CIFAR-10) moves to the training device once in `setup`,
so a batch is one `index_select` on the device: no workers, no PIL, no collation, no
host-device copy per step. Conversion to float and augmentation happen per batch in the
LightningModule's `on_after_batch_transfer` (see `lightning_modules.augment`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import lightning as L
import torch
from torch import Tensor

from lightning_modules.augment import augment_batch, crop_flip, to_float
from lightning_modules.config import DataConfig, ModelConfig
from lightning_modules.data import (
    CifarArrays,
    DataShape,
    channel_stats,
    load_cifar10,
    model_fields_from_data,
    split_train_val,
)

__all__ = [
    "CifarDataModule",
    "TensorBatches",
    "augment_batch",
    "channel_stats",
    "crop_flip",
    "epoch_seed",
    "to_float",
]


def epoch_seed(seed: int, epoch: int) -> int:
    """Seed of the shuffle of `epoch`: a hash, so runs with seeds s and s+1 share no epochs."""
    digest = hashlib.sha256(f"ablate-shuffle:{seed}:{epoch}".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1  # 63 bits: manual_seed's safe range


class TensorBatches:
    """A minimal DataLoader over in-memory tensors: yields `(x[idx], y[idx])` batches.

    With `shuffle`, each pass (epoch) uses a new permutation from a CPU generator seeded
    by `epoch_seed(seed, epoch)`; the permutation goes to the data's device once per
    epoch, so no step syncs with the host. `epoch` advances by one per pass that is
    started (first batch drawn). Any sized iterable is a valid Lightning dataloader.
    """

    def __init__(
        self,
        x: Tensor,
        y: Tensor,
        batch_size: int,
        shuffle: bool = False,
        seed: int = 0,
        drop_last: bool = False,
        epoch: int = 0,
    ) -> None:
        if len(x) != len(y):
            raise ValueError(f"x has {len(x)} rows but y has {len(y)}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.x, self.y = x, y
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.drop_last = drop_last
        self.epoch = epoch  # the epoch whose order the next pass uses

    def __len__(self) -> int:
        n, b = len(self.x), self.batch_size
        return n // b if self.drop_last else -(-n // b)

    def set_epoch(self, epoch: int) -> None:
        """Make the next pass use `epoch`'s order (as on a resumed run)."""
        self.epoch = epoch

    def order(self, epoch: int) -> Tensor:
        """The index order of `epoch` on the CPU (identity without shuffle)."""
        n = len(self.x)
        if not self.shuffle:
            return torch.arange(n)
        return torch.randperm(
            n, generator=torch.Generator().manual_seed(epoch_seed(self.seed, epoch))
        )

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        return self._shuffled() if self.shuffle else self._slices()

    def _stop(self) -> int:
        n = len(self.x)
        return n - n % self.batch_size if self.drop_last else n

    def _slices(self) -> Iterator[tuple[Tensor, Tensor]]:
        for i in range(0, self._stop(), self.batch_size):
            yield self.x[i : i + self.batch_size], self.y[i : i + self.batch_size]

    def _shuffled(self) -> Iterator[tuple[Tensor, Tensor]]:
        # A generator: this body runs at the first next(), so an iter() that is never
        # consumed (Lightning makes one to check the loader is iterable) uses up no epoch.
        order = self.order(self.epoch).to(self.x.device)
        self.epoch += 1
        for i in range(0, self._stop(), self.batch_size):
            idx = order[i : i + self.batch_size]
            yield self.x.index_select(0, idx), self.y.index_select(0, idx)


@dataclass(frozen=True)
class _Splits:
    train_x: Tensor
    train_y: Tensor
    val_x: Tensor
    val_y: Tensor
    test_x: Tensor
    test_y: Tensor
    mean: tuple[float, ...]  # per channel, [0, 1] units, of the train part before limit_train
    std: tuple[float, ...]

    def to(self, device: torch.device) -> _Splits:
        if self.train_x.device == device:
            return self
        return replace(
            self,
            train_x=self.train_x.to(device),
            train_y=self.train_y.to(device),
            val_x=self.val_x.to(device),
            val_y=self.val_y.to(device),
            test_x=self.test_x.to(device),
            test_y=self.test_y.to(device),
        )


def make_splits(arrays: CifarArrays, cfg: DataConfig) -> _Splits:
    """Train/val from the train set (`split_seed`), then `limit_train` and `limit_test`.

    `limit_train` keeps the first N of the shuffled train part; `limit_test` keeps a
    `split_seed`-seeded random N of the test set in dataset order, so a small test set
    still covers every class (image folders list the test set class by class).
    """
    train_idx, val_idx = split_train_val(len(arrays.train_y), cfg.val_fraction, cfg.split_seed)
    # stats before limit_train: the model's normalisation does not move with the subset size
    mean, std = channel_stats(arrays.train_x[train_idx])
    if cfg.limit_train is not None:
        train_idx = train_idx[: cfg.limit_train]
    test_idx = torch.arange(len(arrays.test_y))
    if cfg.limit_test is not None and cfg.limit_test < len(test_idx):
        g = torch.Generator().manual_seed(cfg.split_seed)
        test_idx = torch.randperm(len(test_idx), generator=g)[: cfg.limit_test].sort().values
    return _Splits(
        train_x=arrays.train_x[train_idx],
        train_y=arrays.train_y[train_idx],
        val_x=arrays.train_x[val_idx],
        val_y=arrays.train_y[val_idx],
        test_x=arrays.test_x[test_idx],
        test_y=arrays.test_y[test_idx],
        mean=mean,
        std=std,
    )


class CifarDataModule(L.LightningDataModule):
    """A dataset from `load_cifar10`, split with a seeded generator, served as uint8 batches.

    After `setup`: `classes`, `source`, `shape` (classes, channels, height, width),
    `norm` (the network's normalisation: None = CIFAR-10's constants, else the cached
    train-split mean and std), `mean`/`std` (per channel, [0, 1] units, of the train part
    before `limit_train`: the explanations' baseline), and `train_*`, `val_*`, `test_*`
    uint8 / int64 tensors, on the trainer's root device when a trainer is attached.
    """

    def __init__(self, cfg: DataConfig, batch_size: int, seed: int) -> None:
        super().__init__()
        self.cfg = cfg
        self.batch_size = batch_size
        self.seed = seed  # the run seed: shuffling order; the val split uses cfg.split_seed
        self._arrays: CifarArrays | None = None
        self._splits: _Splits | None = None
        self._train_batches: TensorBatches | None = None
        self._next_epoch = 0  # restored from a checkpoint by load_state_dict
        self.classes: tuple[str, ...] = ()
        self.source = ""
        self.mean: tuple[float, ...] = ()
        self.std: tuple[float, ...] = ()
        self.norm: tuple[tuple[float, ...], tuple[float, ...]] | None = None
        self.shape: DataShape | None = None

    def prepare_data(self) -> None:
        # Decodes and fills the cache once; Lightning calls this before every fit/test.
        if self._splits is None:
            self._load()

    def setup(self, stage: str | None = None) -> None:
        if self._splits is None:
            arrays = self._load()
            self._splits = make_splits(arrays, self.cfg)
            self.classes, self.source = arrays.classes, arrays.source
            self.mean, self.std = self._splits.mean, self._splits.std
            self.norm, self.shape = arrays.norm_for_model(), arrays.shape
            self._arrays = None  # the splits hold copies; free the full set
        if self.trainer is not None:
            self._splits = self._splits.to(self.trainer.strategy.root_device)

    def check_model(self, model: ModelConfig) -> None:
        """Raise DataError when `model` cannot take this data (after `setup`): fewer
        outputs than classes, other channels, another image size. A sweep fits the space
        to the data before (`ablate.spaces.fit_to_data`, which also refuses extra
        outputs); this guards a config built by hand."""
        if self.shape is None:
            raise RuntimeError("CifarDataModule: call setup() first")
        given = {"in_channels": model.in_channels, "image_size": model.image_size}
        if model.num_classes < len(self.shape.classes):
            given["num_classes"] = model.num_classes
        model_fields_from_data(self.shape, given, self.source or "the data", "in the run's config")

    def _load(self) -> CifarArrays:
        if self._arrays is None:
            self._arrays = load_cifar10(self.cfg)
        return self._arrays

    @property
    def splits(self) -> _Splits:
        if self._splits is None:
            raise RuntimeError("CifarDataModule: call setup() first")
        return self._splits

    @property
    def train_x(self) -> Tensor:
        return self.splits.train_x

    @property
    def train_y(self) -> Tensor:
        return self.splits.train_y

    @property
    def val_x(self) -> Tensor:
        return self.splits.val_x

    @property
    def val_y(self) -> Tensor:
        return self.splits.val_y

    @property
    def test_x(self) -> Tensor:
        return self.splits.test_x

    @property
    def test_y(self) -> Tensor:
        return self.splits.test_y

    def train_dataloader(self) -> TensorBatches:
        s = self.splits
        self._train_batches = TensorBatches(
            s.train_x, s.train_y, self.batch_size, shuffle=True, seed=self.seed, epoch=self._epoch()
        )
        return self._train_batches

    def val_dataloader(self) -> TensorBatches:
        # empty when val_fraction is 0: Lightning then skips validation (with a warning that
        # the Trainer's limit_val_batches=0 silences)
        return TensorBatches(self.splits.val_x, self.splits.val_y, self.batch_size)

    def test_dataloader(self) -> TensorBatches:
        return TensorBatches(self.splits.test_x, self.splits.test_y, self.batch_size)

    def _epoch(self) -> int:
        """The epoch whose shuffle the next training pass uses."""
        return self._train_batches.epoch if self._train_batches else self._next_epoch

    def state_dict(self) -> dict[str, Any]:
        """Saved in Lightning checkpoints: a resumed run continues the shuffle sequence."""
        return {"next_epoch": self._epoch()}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._next_epoch = int(state_dict.get("next_epoch", 0))
        if self._train_batches is not None:
            self._train_batches.set_epoch(self._next_epoch)
