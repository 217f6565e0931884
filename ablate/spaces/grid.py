"""Search spaces: load and validate a YAML file, expand it into RunConfigs.

A grid space:

    experiment: strides
    base: {model: {...}, data: {...}, train: {...}, explain: {...}}
    grid: {model.stride: [1, 2, 3]}
    seeds: 3            # a count (0, 1, 2) or a list of seeds, or
                        # {min: 2, max: 12, until: settled}: seed blocks until settled
    margins: {test_acc: 0.5}   # equivalence margins per response (display units)

Every problem is a `ConfigError` naming the file, the key path, the value and
what is allowed, before anything runs. `kind: optuna` spaces are read by
`ablate.spaces.tuning`; both use the blocks in `ablate.spaces.blocks`.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ablate.errors import ConfigError
from ablate.spaces.blocks import (
    GRID_KEYS,
    SeedRule,
    Space,
    apply_overrides,
    experiment_name,
    parse_grid,
    parse_margins,
    parse_seed_plan,
    put,
    read_yaml,
    resolve,
    unknown_key,
    validate_base,
    validate_grid_values,
)
from ablate.spaces.config import RunConfig
from ablate.spaces.limits import check_run_names, check_runs, check_text
from ablate.spaces.strict_yaml import load_text

__all__ = [
    "Point",
    "SeedRule",
    "Space",
    "apply_overrides",
    "build_config",
    "expand",
    "load_space",
    "parse_override",
    "sweep_id",
]


@dataclass(frozen=True)
class Point:
    """One run of a sweep: grid values + seed -> a resolved config."""

    index: int
    values: dict[str, Any]  # the grid's dotted keys and this point's values
    seed: int
    config: RunConfig

    @property
    def label(self) -> str:
        parts = [f"{k.split('.')[-1]}={v}" for k, v in self.values.items()]
        return " ".join([*parts, f"seed={self.seed}"])


def parse_override(text: str) -> tuple[str, Any]:
    """'train.lr=0.01' -> ('train.lr', 0.01); the value is parsed as YAML."""
    if "=" not in text:
        raise ConfigError(f"--set {text!r}: expected KEY=VALUE, e.g. --set train.lr=0.01.")
    key, raw = text.split("=", 1)
    key = key.strip()
    check_text("--set", "the key", key)
    try:  # the value is YAML, with a space file's checks (no .nan, repeated keys, aliases)
        value = load_text(raw, f"--set {key}") if raw.strip() else raw
    except yaml.YAMLError:
        value = raw
    return key, value


def load_space(path: str | Path, overrides: Mapping[str, Any] | None = None) -> Space:
    """Read, validate and apply command-line overrides ({dotted key: value})."""
    p = Path(path)
    doc = read_yaml(p)
    name = str(p)
    kind = doc.get("kind", "grid")
    if kind != "grid":
        from ablate.spaces import tuning as optuna_spaces  # kind-specific keys and validation

        return optuna_spaces.load(name, doc, overrides or {})
    for key in doc:
        if key not in GRID_KEYS:
            raise unknown_key(name, "", str(key), list(GRID_KEYS))
    experiment = experiment_name(p, doc)
    base = validate_base(name, doc.get("base"))
    grid = parse_grid(name, doc.get("grid"), "grid")
    seeds, until = parse_seed_plan(name, doc.get("seeds"))
    space = Space(
        path=name,
        experiment=experiment,
        kind="grid",
        base=base,
        grid=grid,
        seeds=seeds,
        description=str(doc.get("description", "")),
        until=until,
        margins=parse_margins(name, doc.get("margins")),
    )
    space = apply_overrides(space, overrides or {})
    if space.until is not None and not any(len(v) > 1 for v in space.grid.values()):
        raise ConfigError(
            f"{name}: seeds.until = settled needs a factor with two or more values in grid: "
            "it stops when every effect of a factor is settled (this grid varies nothing; "
            "a key pinned by --set has one value)."
        )
    check_runs(name, space.grid, len(space.seeds), "seeds")  # before any point is built
    check_run_names(name, space.grid, max(space.seeds))
    validate_grid_values(space)
    return space


# ------------------------------------------------------------------- expansion


def build_config(space: Space, values: Mapping[str, Any], seed: int) -> RunConfig:
    sections = {s: dict(b) for s, b in space.base.items()}
    for key, v in values.items():
        section, name = key.split(".", 1)
        put(sections[section], name, v)
    parts = resolve(space.path, sections, "")
    return RunConfig(experiment=space.experiment, seed=seed, **parts)  # type: ignore[arg-type]


def expand(space: Space) -> list[Point]:
    """Deterministic list of points: the product of the grid (keys sorted, values in
    file order), seed-major, so every point gets seed 0 before any gets seed 1."""
    keys = sorted(space.grid)
    combos = list(itertools.product(*(space.grid[k] for k in keys)))
    points: list[Point] = []
    for seed in space.seeds:
        for combo in combos:
            values = dict(zip(keys, combo, strict=True))
            cfg = build_config(space, values, seed)
            points.append(Point(index=len(points), values=values, seed=seed, config=cfg))
    return points


def sweep_id(points: list[Point], until: SeedRule | None = None) -> str:
    """Identity of a sweep: the set of its run keys. Same points -> same sweep.

    A sweep that stops when settled (`until`, the space's rule) is its configurations
    at seed 0 and the rule's name, not its `max`: the same sweep resumed with a larger
    max continues where it stopped (the stop is recomputed from its runs)."""
    if until is not None:
        first = sorted(p.config.key() for p in points if p.seed == 0)
        text = json.dumps({"until": until.until, "configs": first})
        return hashlib.sha256(text.encode()).hexdigest()[:16]
    keys = sorted(p.config.key() for p in points)
    return hashlib.sha256(json.dumps(keys).encode()).hexdigest()[:16]
