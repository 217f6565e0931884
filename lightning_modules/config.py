"""The config sections of the bottom floor: model, data, training.

Each is a frozen pydantic model with every default filled in. The top floor
(`ablate.spaces.config.RunConfig`) composes them with the explanation section; code here
takes a `RunSpec`, anything with a seed and these three sections.
"""

from __future__ import annotations

import re
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from lightning_modules.cifar import IMAGE_SIDE


class _Frozen(BaseModel):
    # allow_inf_nan: 'inf', 'nan' and '1e999' are text pydantic would read as numbers
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class ModelConfig(_Frozen):
    """A plain CNN: `depth` conv blocks, then a `gap` or `flatten` head."""

    preset: str | None = None  # label only; presets are expanded at load time
    arch: str = "cnn"  # registry name in lightning_modules.models
    depth: int = Field(2, ge=1, le=8)  # conv blocks
    width: int = Field(32, ge=1, le=1024)  # channels of the first block
    width_growth: float = Field(2.0, ge=1.0, le=4.0)  # channel multiplier per block
    max_width: int = Field(512, ge=1, le=4096)
    convs_per_block: int | tuple[int, ...] = 1
    kernel_size: int = Field(3, ge=1, le=11)
    stride: int = Field(1, ge=1, le=4)  # on the first conv of every block
    batch_norm: bool = True
    # 2x2 max-pool ending every block (max), after each block's first conv (max_early), or none
    pool: Literal["max", "max_early", "none"] = "max"
    dropout: float = Field(0.0, ge=0.0, lt=1.0)  # before the classifier
    head: Literal["gap", "flatten"] = "flatten"
    hidden: int = Field(0, ge=0, le=65536)  # width of an extra FC+ReLU layer in the head; 0 = none
    num_classes: int = Field(10, ge=2, le=1000)  # CIFAR-10 has 10; the data checks it
    in_channels: int = Field(3, ge=1, le=3)  # RGB; normalised with CIFAR's 3 channel means
    image_size: int = Field(IMAGE_SIDE, ge=1, le=1024)  # pixels per side; the data checks it

    @field_validator("convs_per_block")
    @classmethod
    def _positive_convs(cls, v: int | tuple[int, ...]) -> int | tuple[int, ...]:
        values = (v,) if isinstance(v, int) else v
        if not values or any(c < 1 for c in values):
            raise ValueError("every entry must be an integer >= 1")
        return v

    @model_validator(mode="after")
    def _convs_match_depth(self) -> ModelConfig:
        if isinstance(self.convs_per_block, tuple) and len(self.convs_per_block) != self.depth:
            raise ValueError(
                f"convs_per_block has {len(self.convs_per_block)} entries but depth is "
                f"{self.depth}: give one integer, or one entry per block"
            )
        return self

    def block_convs(self) -> tuple[int, ...]:
        if isinstance(self.convs_per_block, int):
            return (self.convs_per_block,) * self.depth
        return self.convs_per_block

    def block_widths(self) -> tuple[int, ...]:
        return tuple(
            min(self.max_width, round(self.width * self.width_growth**i)) for i in range(self.depth)
        )


class DataConfig(_Frozen):
    """Where CIFAR-10 comes from and how it is split and augmented."""

    # None: torchvision download into cache_dir. Else a path: a .zip or folder with
    # train/ and test/ (one folder per class), or a folder of PNGs with a labels CSV.
    source: str | None = None
    format: Literal["auto", "torchvision", "imagefolder", "png_csv"] = "auto"
    cache_dir: str = "~/.cache/ablate"
    val_fraction: float = Field(0.1, ge=0.0, lt=1.0)  # of the train split
    split_seed: int = Field(0, ge=0, le=2**32 - 1)  # same validation set for every run seed
    test_fraction: float = Field(1 / 6, gt=0.0, lt=1.0)  # png_csv only: no official split
    augment: bool = False  # random crop (pad 4) + horizontal flip, per batch on device
    limit_train: int | None = Field(None, ge=1)  # keep the first N train images (after split)
    limit_test: int | None = Field(None, ge=1)


class TrainConfig(_Frozen):
    max_epochs: int = Field(5, ge=1)
    batch_size: int = Field(128, ge=1)
    optimizer: Literal["adam", "adamw", "sgd"] = "adam"
    lr: float = Field(1e-3, gt=0.0)
    momentum: float = Field(0.9, ge=0.0, lt=1.0)  # sgd only
    weight_decay: float = Field(0.0, ge=0.0)  # coupled L2 for adam/sgd, decoupled for adamw
    schedule: Literal["none", "cosine", "onecycle"] = "none"
    label_smoothing: float = Field(0.0, ge=0.0, lt=1.0)
    tta_flip: bool = False  # test on the mean logits of each image and its mirror image
    accelerator: Literal["auto", "cpu", "gpu", "cuda", "mps"] = "auto"
    # Lightning's devices: auto, a count, -1 (all), or GPU indices such as "0,1"
    devices: int | str = "auto"
    # auto: bf16-mixed on a GPU that supports it, else 32-true
    precision: Literal["auto", "32-true", "bf16-mixed", "16-mixed"] = "auto"
    channels_last: bool = True  # faster convs and max-pool on CPU and GPU
    threads: int | None = Field(None, ge=1)  # torch CPU threads; None = torch's default

    @field_validator("devices")
    @classmethod
    def _lightning_devices(cls, v: int | str) -> int | str:
        if isinstance(v, str) and not re.fullmatch(r"auto|-1|\d{1,4}(,\d{1,4})*,?", v):
            raise ValueError("give auto, a count, -1 (all), or device indices such as '0,1'")
        return v


class RunSpec(Protocol):
    """What training reads of a run's config (`ablate.spaces.config.RunConfig` is one)."""

    @property
    def seed(self) -> int: ...
    @property
    def model(self) -> ModelConfig: ...
    @property
    def data(self) -> DataConfig: ...
    @property
    def train(self) -> TrainConfig: ...
    def model_dump(self, *, mode: str = ...) -> dict[str, Any]: ...
