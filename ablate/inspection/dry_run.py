"""Tables that need no training: `ablate run --dry-run` and `ablate models`.

The dry run counts parameters by arithmetic (`lightning_modules.shapes`), so it
imports neither torch nor Lightning; `ablate models` builds each preset once. A space
with an imported network (`model.arch: module:callable`) is the exception: each distinct
config is built once on the meta device to count its parameters and FLOPs, and once on
the CPU with one dummy batch, as `ablate run` checks it (`lightning_modules.external`).
"""

from __future__ import annotations

from collections.abc import Sequence

from ablate.runtime import console, table
from ablate.spaces import ModelConfig, Point, Space, sweep_id
from lightning_modules.config import is_external


def print_points(space: Space, points: Sequence[Point]) -> None:
    """Every expanded point with its run key; invalid points marked with the reason."""
    from lightning_modules.shapes import invalid_reason

    keys = sorted(space.grid)
    external = any(is_external(p.config.model.arch) for p in points)
    rows = []
    invalid: list[str] = []
    for p in points:
        if is_external(p.config.model.arch):
            from lightning_modules.external import counts, point_reason

            reason = point_reason(p.config.model)
            n, flops = counts(p.config.model) if reason is None else (0, 0)
            sizes = ["-", "-"] if reason else [f"{n:,}", f"{flops / 1e6:.2f}"]
        else:
            reason = invalid_reason(p.config.model)
            sizes = ["-" if reason else f"{_params(p.config.model):,}"]
            sizes += ["-"] if external else []  # FLOPs by arithmetic: not for built-ins yet
        if reason is not None:
            invalid.append(f"  #{p.index + 1} {p.label}: {reason}")
        status = "INVALID" if reason else "ok"
        rows.append(
            [p.index + 1, *(p.values[k] for k in keys), p.seed, *sizes, p.config.key(), status]
        )
    table(
        f"{space.experiment}: {len(points)} runs ({len(invalid)} invalid) from {space.path}, "
        f"sweep {sweep_id(list(points), space.until)}",
        [
            "#",
            *(k.split(".")[-1] for k in keys),
            "seed",
            "params",
            *(["MFLOP/img"] if external else []),
            "run key",
            "status",
        ],
        rows,
    )
    if invalid:
        console.print("Invalid points (recorded as skipped when the sweep runs):")
        for line in invalid:
            console.print(line, soft_wrap=True)


def _params(cfg: ModelConfig) -> int:
    """By arithmetic; another architecture than the CNN is built (torch) and counted."""
    from lightning_modules.shapes import param_count

    n = param_count(cfg)
    if n is None:
        from lightning_modules.models import build_model, count_params

        n = count_params(build_model(cfg))
    return n


def print_presets() -> None:
    from lightning_modules.models import build_model, count_params, flops_per_image
    from lightning_modules.presets import ALIASES, PRESETS

    old_names = {name: old for old, name in ALIASES.items()}  # renamed presets only
    rows = []
    for name, preset in PRESETS.items():  # as defined: by family, then depth
        cfg = ModelConfig(preset=name, **preset.fields)
        net = build_model(cfg)
        rows.append(
            [
                name,
                old_names.get(name, ""),
                preset.note,
                f"{count_params(net):,}",
                f"{flops_per_image(net, cfg) / 1e6:.1f}",
                ", ".join(f"{k}={v}" for k, v in preset.fields.items()),
            ]
        )
    table(
        "Model presets (model.preset in a space)",
        ["preset", "old name", "network", "params", "MFLOP/img", "fields"],
        rows,
    )
    console.print(
        "Any field can be overridden next to the preset, e.g. {preset: keras_cnn, kernel_size: 4}."
        " The old names still work and give the same run keys."
    )
