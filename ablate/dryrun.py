"""Tables that need no training: `ablate run --dry-run` and `ablate models`."""

from __future__ import annotations

from collections.abc import Sequence

from ablate.console import console, table
from ablate.spaces import Point, Space, sweep_id


def print_points(space: Space, points: Sequence[Point]) -> None:
    """Every expanded point with its run key; invalid points marked with the reason."""
    from lightning_modules.models import build_model, count_params, invalid_reason

    keys = sorted(space.grid)
    rows = []
    invalid: list[str] = []
    for p in points:
        reason = invalid_reason(p.config.model)
        if reason is not None:
            invalid.append(f"  #{p.index + 1} {p.label}: {reason}")
        params = "-" if reason else f"{count_params(build_model(p.config.model)):,}"
        status = "INVALID" if reason else "ok"
        rows.append(
            [p.index + 1, *(p.values[k] for k in keys), p.seed, params, p.config.key(), status]
        )
    table(
        f"{space.experiment}: {len(points)} runs ({len(invalid)} invalid) from {space.path}, "
        f"sweep {sweep_id(list(points))}",
        ["#", *(k.split(".")[-1] for k in keys), "seed", "params", "run key", "status"],
        rows,
    )
    if invalid:
        console.print("Invalid points (recorded as skipped when the sweep runs):")
        for line in invalid:
            console.print(line, soft_wrap=True)


def print_presets() -> None:
    from ablate.config import ModelConfig
    from lightning_modules.models import (
        PRESET_NOTES,
        PRESETS,
        build_model,
        count_params,
        flops_per_image,
    )

    rows = []
    for name, fields in sorted(PRESETS.items()):
        cfg = ModelConfig(preset=name, **fields)
        net = build_model(cfg)
        rows.append(
            [
                name,
                PRESET_NOTES.get(name, ""),
                f"{count_params(net):,}",
                f"{flops_per_image(net, cfg) / 1e6:.1f}",
                ", ".join(f"{k}={v}" for k, v in fields.items()),
            ]
        )
    table(
        "Model presets (model.preset in a space)",
        ["preset", "network", "params", "MFLOP/img", "fields"],
        rows,
    )
    console.print(
        "Any field can be overridden next to the preset, e.g. {preset: seed000, kernel_size: 4}."
    )
