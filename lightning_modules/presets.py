"""Named networks, as plain `ModelConfig` fields with a note: one registry, no torch.

Each preset keeps the name it had before it got a descriptive one (`legacy_name`):
YAML written with the old name still loads, and run keys hash the old name, so a
tracking store made before the rename resumes with nothing re-run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Preset:
    name: str
    note: str  # what the network is, for `ablate models`
    fields: Mapping[str, Any]  # ModelConfig fields; fields given next to the preset win
    legacy_name: str  # the seed script's name, kept as an alias and inside run keys


# He et al. 2016, Table 6: the CIFAR-10 nets and their parameter counts, in millions
RESNET_DEPTHS = (20, 32, 44, 56, 110)
TABLE6_PARAMS_M = {20: 0.27, 32: 0.46, 44: 0.66, 56: 0.85, 110: 1.7}


def _resnet(depth: int, residual: bool) -> Preset:
    """ResNet-`depth` of He et al. section 4.2, or its plain twin (no shortcuts)."""
    n = (depth - 2) // 6
    note = (
        f"He et al. ResNet-{depth} (CIFAR): 3 stages x {n} basic blocks, 16-32-64 filters, "
        f"option-A shortcuts, GAP head; Table 6: {TABLE6_PARAMS_M[depth]}M params"
        if residual
        else f"plain twin of resnet{depth}: the same layers without shortcuts (He et al. Fig. 6)"
    )
    name = f"resnet{depth}" if residual else f"plain{depth}"
    fields = dict(arch="resnet", depth=depth, width=16, kernel_size=3, head="gap")
    return Preset(name, note, {**fields, "batch_norm": True, "residual": residual}, name)


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            "keras_cnn",
            "Keras CNN: Conv32-BN-Pool, Conv64-BN-Pool, flatten, Dense 10",
            dict(
                depth=2, width=32, convs_per_block=1, kernel_size=3, head="flatten", batch_norm=True
            ),
            legacy_name="seed000",
        ),
        Preset(
            "gap_cnn",
            "small interpretable CNN: 3 blocks of 2x(3x3 conv-BN-ReLU), GAP head (CAM)",
            dict(depth=3, width=32, convs_per_block=2, kernel_size=3, head="gap", batch_norm=True),
            legacy_name="seed001",
        ),
        Preset(
            "vgg",
            "Flax VGG-like: 2x64, 2x128, 3x256, GAP, FC512, dropout 0.5",
            dict(
                depth=3,
                width=64,
                convs_per_block=(2, 2, 3),
                kernel_size=3,
                head="gap",
                hidden=512,
                dropout=0.5,
                batch_norm=True,
            ),
            legacy_name="seed003",
        ),
        Preset(
            "fast",
            "airbench-style for a CPU budget: 3 blocks of 2x(3x3 conv-BN-ReLU) with the "
            "max-pool after each block's first conv, widths 32-64-128, GAP head",
            dict(
                depth=3,
                width=32,
                width_growth=2.0,
                convs_per_block=2,
                kernel_size=3,
                pool="max_early",
                head="gap",
                batch_norm=True,
            ),
            legacy_name="fast",
        ),
        *(_resnet(depth, True) for depth in RESNET_DEPTHS),
        *(_resnet(depth, False) for depth in RESNET_DEPTHS if depth <= 56),  # Figure 6's
    )
}
ALIASES: dict[str, str] = {
    p.legacy_name: p.name for p in PRESETS.values() if p.legacy_name != p.name
}


def find_preset(name: str) -> Preset | None:
    """A preset by its name or its old name; None when there is none."""
    return PRESETS.get(ALIASES.get(name, name))


def preset_key_name(name: str) -> str:
    """The name a run key hashes: the old one, so that keys did not change with the rename."""
    preset = find_preset(name)
    return preset.legacy_name if preset is not None else name
