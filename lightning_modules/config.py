"""The config sections of the bottom floor: model, data, training.

Each is a frozen pydantic model with every default filled in. The top floor
(`ablate.spaces.config.RunConfig`) composes them with the explanation section; code here
takes a `RunSpec`, anything with a seed and these three sections.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, Protocol

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from lightning_modules.cifar import IMAGE_SIDE

Side = Annotated[int, Field(ge=1, le=4096)]  # pixels


class _Frozen(BaseModel):
    # allow_inf_nan: 'inf', 'nan' and '1e999' are text pydantic would read as numbers
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


CNN_MAX_DEPTH = 8  # conv blocks
RESNET_MAX_DEPTH = 1202  # layers: He et al.'s deepest CIFAR net (n = 200)
# what `arch: resnet` means where the space says nothing: the paper's ResNet-20
RESNET_DEFAULTS: dict[str, Any] = {"depth": 20, "width": 16, "head": "gap"}
# cnn fields a resnet has no use for, and why (said when one is set away from its default)
RESNET_NOT_APPLICABLE = {
    "pool": "its only pooling is the GAP head; stages 2 and 3 downsample by stride 2",
    "convs_per_block": "every basic block has 2 convs",
    "width_growth": "each stage doubles the filters of the one before",
    "max_width": "the widths are width, 2x and 4x width",
    "hidden": "the head is one linear layer after the pooling",
}


# arch "module:callable" or "path/to/file.py:callable" (lightning_modules.external)
_IMPORT_PATH = re.compile(r"(?:[\w.]+|[^:]+\.py):[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*")
# the ModelConfig fields that apply to an imported network; every other is a built-in's
EXTERNAL_FIELDS = frozenset(
    {"preset", "arch", "args", "cam_layer", "code_dir", "num_classes", "in_channels", "image_size"}
)


def is_external(arch: str) -> bool:
    """Whether `arch` names a network by import path rather than by registry name."""
    return ":" in arch


class ModelConfig(_Frozen):
    """A network: `arch: cnn` (default) is `depth` conv blocks, then a `gap` or `flatten`
    head; `arch: resnet` is He et al.'s CIFAR ResNet (lightning_modules.resnet), where
    `depth` counts layers (6n+2), `width` is the filters of stage 1 and `stride` is the
    stem's. Fields that do not apply to the chosen arch must keep their defaults."""

    preset: str | None = None  # label only; presets are expanded at load time
    arch: str = "cnn"  # registry name in lightning_modules.models
    # cnn: conv blocks (1-8); resnet: weighted layers, 6n+2 (n blocks per stage; default 20)
    depth: int = Field(2, ge=1, le=RESNET_MAX_DEPTH)
    width: int = Field(32, ge=1, le=1024)  # channels of the first block
    width_growth: float = Field(2.0, ge=1.0, le=4.0)  # channel multiplier per block
    max_width: int = Field(512, ge=1, le=4096)
    convs_per_block: int | tuple[int, ...] = 1
    kernel_size: int = Field(3, ge=1, le=11)
    stride: int = Field(1, ge=1, le=4)  # on the first conv of every block
    batch_norm: bool = True
    residual: bool = True  # resnet only: false removes every shortcut (He et al.'s plain net)
    # 2x2 max-pool ending every block (max), after each block's first conv (max_early), or none
    pool: Literal["max", "max_early", "none"] = "max"
    dropout: float = Field(0.0, ge=0.0, lt=1.0)  # before the classifier
    head: Literal["gap", "flatten"] = "flatten"
    hidden: int = Field(0, ge=0, le=65536)  # width of an extra FC+ReLU layer in the head; 0 = none
    # num_classes, in_channels and image_size come from the data unless the space sets
    # them (ablate.spaces.blocks.fit_to_data); a set value the data contradicts is refused
    num_classes: int = Field(10, ge=2, le=100_000)  # CIFAR-10 has 10
    in_channels: int = Field(3, ge=1, le=3)  # 3 RGB, 1 grey
    # pixels: one int for square images, or [height, width]; a square pair becomes one int
    image_size: Side | tuple[Side, Side] = IMAGE_SIDE

    @field_validator("image_size", mode="after")
    @classmethod
    def _square_as_int(cls, v: int | tuple[int, int]) -> int | tuple[int, int]:
        return v[0] if isinstance(v, tuple) and v[0] == v[1] else v

    def image_hw(self) -> tuple[int, int]:
        """(height, width) of the input images in pixels."""
        s = self.image_size
        return (s, s) if isinstance(s, int) else s

    # an imported network (arch "module:callable"): its keyword arguments, the dotted name
    # (inside it) of the layer Grad-CAM and CAM use, and the folder searched for the module
    # before sys.path (set at load time to the space file's folder; not part of the run key)
    args: dict[str, Any] = Field(default_factory=dict)
    cam_layer: str | None = Field(None, pattern=r"^[A-Za-z_0-9]+(\.[A-Za-z_0-9]+)*$")
    code_dir: str | None = None

    @field_validator("arch")
    @classmethod
    def _arch_form(cls, v: str) -> str:
        """A registry name (checked when built), or an import path 'module:callable'."""
        if is_external(v) and not _IMPORT_PATH.fullmatch(v):
            raise PydanticCustomError(
                "arch_form",
                "give a registry name (see `ablate models`), 'module:callable' or "
                "'path/to/file.py:callable' (e.g. my_nets:TinyResNet)",
            )
        return v

    @model_validator(mode="before")
    @classmethod
    def _external_takes_no_cnn_fields(cls, data: Any) -> Any:
        """An imported network gets its settings from `args`: a built-in arch's field
        (depth, width, stride, ...) set away from its default would silently do nothing."""
        if not (isinstance(data, dict) and is_external(str(data.get("arch", "")))):
            return data
        for name, value in data.items():
            field = cls.model_fields.get(str(name))
            default = None if field is None else field.get_default(call_default_factory=True)
            if name in EXTERNAL_FIELDS or field is None or value == default:
                continue
            raise PydanticCustomError(
                "reason",
                f"{name} = {value!r} does not apply to an imported network (arch "
                f"{data['arch']!r}): pass the network's own settings as model.args.<name>; "
                f"the fields that apply are {', '.join(sorted(EXTERNAL_FIELDS))}",
            )
        return data

    @field_validator("convs_per_block")
    @classmethod
    def _positive_convs(cls, v: int | tuple[int, ...]) -> int | tuple[int, ...]:
        values = (v,) if isinstance(v, int) else v
        if not values or any(c < 1 for c in values):
            raise ValueError("every entry must be an integer >= 1")
        return v

    @model_validator(mode="before")
    @classmethod
    def _arch_defaults(cls, data: Any) -> Any:
        """A resnet without depth, width or head is the paper's ResNet-20: 16 filters in
        stage 1 and a GAP head (the cnn's defaults, 2 blocks, 32 and flatten, are not)."""
        if isinstance(data, dict) and data.get("arch") == "resnet":
            return {**RESNET_DEFAULTS, **data}
        return data

    @field_validator("depth")
    @classmethod
    def _depth_fits_arch(cls, v: int, info: ValidationInfo) -> int:
        arch = info.data.get("arch")
        if arch == "cnn" and v > CNN_MAX_DEPTH:
            raise PydanticCustomError(
                "arch_depth", f"a cnn has 1 to {CNN_MAX_DEPTH} conv blocks (depth counts blocks)"
            )
        if arch == "resnet" and (v < 8 or (v - 2) % 6):
            raise PydanticCustomError(
                "arch_depth",
                "a resnet has 6n+2 layers (n blocks in each of 3 stages): depth is one of "
                "8, 14, 20, 26, 32, 38, 44, 50, 56, ..., 110, ..., " + str(RESNET_MAX_DEPTH),
            )
        return v

    @field_validator(*RESNET_NOT_APPLICABLE, "residual")
    @classmethod
    def _applies_to_arch(cls, v: Any, info: ValidationInfo) -> Any:
        """Refuse a field set away from its default where the arch has no use for it."""
        name, arch = str(info.field_name), info.data.get("arch")
        if v == cls.model_fields[name].default:
            return v
        if arch == "resnet" and name in RESNET_NOT_APPLICABLE:
            raise PydanticCustomError(
                "not_applicable",
                f"{name} does not apply to arch resnet ({RESNET_NOT_APPLICABLE[name]}); "
                "remove it, or use arch cnn",
            )
        if arch == "cnn" and name == "residual":
            raise PydanticCustomError(
                "not_applicable",
                "residual applies to arch resnet only (a cnn has no shortcuts); remove it",
            )
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
    # cifar100: torchvision's cifar-100-python/ (or its .tar.gz) in `source`, or in
    # <cache_dir>/torchvision when no source is set
    format: Literal["auto", "torchvision", "cifar100", "imagefolder", "png_csv"] = "auto"
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
