"""Fit a space's network to its data: `model.num_classes`, `model.in_channels` and
`model.image_size` come from the data wherever the space does not set them.

A value the space sets (in `base`, on the command line, or as a grid factor) that the
data contradicts is refused, naming both. CIFAR-10 gives 10, 3 and 32, the fields'
defaults, so the run keys of CIFAR-10 spaces do not change.
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from typing import Any

from ablate.errors import DataError
from ablate.spaces.blocks import Space, resolve
from ablate.spaces.config import DataConfig, ModelConfig

DATA_FIELDS = ("num_classes", "in_channels", "image_size")  # model fields the data decides


def data_configs(space: Space) -> list[DataConfig]:
    """Every distinct data section of the space's points (one, unless the grid varies
    `data.*` keys)."""
    keys = sorted(k for k in space.grid if k.startswith("data."))
    out: list[DataConfig] = []
    for combo in itertools.product(*(space.grid[k] for k in keys)):
        block = {
            **space.base.get("data", {}),
            **{k[5:]: v for k, v in zip(keys, combo, strict=True)},
        }
        cfg = DataConfig.model_validate(block)
        if cfg not in out:
            out.append(cfg)
    return out


def fit_to_data(space: Space) -> Space:
    """The space with the data's classes, channels and image size filled into `base.model`
    where it sets none of its own. Loads each data source (decoded once, then cached);
    raises DataError when a set value contradicts the data, or when the grid's data
    values give data of different shapes that the space leaves to the data."""
    from lightning_modules.data import load_cifar10, model_fields_from_data

    model = dict(space.base.get("model", {}))
    in_grid = {k[6:]: v for k, v in space.grid.items() if k.startswith("model.")}
    fill: dict[str, Any] | None = None
    for data in data_configs(space):
        arrays = load_cifar10(data)
        where = f"the data {data.source or arrays.source}"
        given = {k: model[k] for k in DATA_FIELDS if k in model}
        for name in DATA_FIELDS:
            for value in in_grid.get(name, []):  # each grid value must fit too
                model_fields_from_data(arrays.shape, {**given, name: value}, where)
        given |= {k: in_grid[k][0] for k in DATA_FIELDS if k in in_grid}
        got = model_fields_from_data(arrays.shape, given, where)
        if fill is not None and got != fill:
            raise DataError(
                f"{space.path}: the grid's data.* values give data of different shapes "
                f"({fill} and {got}); set model.{', model.'.join(got)} in the space, or sweep "
                "one dataset per space."
            )
        fill = got
    # a value equal to the field's default stays unsaid: CIFAR-10's 10 classes, 3 channels
    # and 32 px leave the space as it was, so its run keys and sweep id do not change
    defaults = {k: ModelConfig.model_fields[k].default for k in DATA_FIELDS}
    fill = {k: v for k, v in (fill or {}).items() if k not in model and v != defaults[k]}
    if not fill:
        return space
    base = {**space.base, "model": {**model, **fill}}
    resolve(space.path, base, "")
    return replace(space, base=base)
