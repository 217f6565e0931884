"""Search spaces: load and validate a YAML file, expand it into RunConfigs.

A grid space:

    experiment: strides
    base: {model: {...}, data: {...}, train: {...}, explain: {...}}
    grid: {model.stride: [1, 2, 3]}
    seeds: 3            # a count (0, 1, 2) or a list of seeds

Every problem is a `ConfigError` naming the file, the key path, the value and
what is allowed, before anything runs.
"""

from __future__ import annotations

import difflib
import hashlib
import itertools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from ablate.config import DataConfig, ExplainConfig, ModelConfig, RunConfig, TrainConfig
from ablate.errors import ConfigError

SECTIONS: dict[str, type[BaseModel]] = {
    "model": ModelConfig,
    "data": DataConfig,
    "train": TrainConfig,
    "explain": ExplainConfig,
}
GRID_KEYS = ("experiment", "kind", "description", "base", "grid", "seeds")


@dataclass(frozen=True)
class Space:
    """A validated search space; `base` and `grid` are plain data, resolved per point."""

    path: str
    experiment: str
    kind: str
    base: dict[str, Any]
    grid: dict[str, list[Any]]
    seeds: tuple[int, ...]
    description: str = ""
    extra: dict[str, Any] = field(default_factory=dict)  # kind-specific blocks (optuna)

    def design(self) -> str:
        """The design after command-line overrides, as JSON for the parent run: what
        `ablate report` expects to find (a factor pinned by --set has one value)."""
        return json.dumps(
            {"kind": self.kind, "grid": self.grid, "seeds": list(self.seeds)}, default=str
        )


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


# ---------------------------------------------------------------------- errors


def _fmt(value: Any) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _suggest(word: str, options: list[str]) -> str:
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return f" Did you mean {close[0]!r}?" if close else ""


def _unknown(path: str, where: str, key: str, allowed: list[str]) -> ConfigError:
    return ConfigError(
        f"{path}: unknown key '{where}{key}'. Allowed here: {', '.join(allowed)}."
        + _suggest(key, allowed)
    )


def _pydantic_error(
    path: str, prefix: str, err: ValidationError, section: type[BaseModel]
) -> ConfigError:
    """Turn pydantic's first error into one paragraph naming file, key, value, allowed."""
    e = err.errors()[0]
    loc = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in e["loc"]).lstrip(".")
    key = f"{prefix}{loc}" if loc else prefix.rstrip(".")
    if e["type"] == "extra_forbidden":
        allowed = sorted(section.model_fields)
        field_name = str(e["loc"][-1])
        return ConfigError(
            f"{path}: unknown key {key!r} (value {_fmt(e.get('input'))}). "
            f"Allowed keys in {prefix.rstrip('.') or 'this block'}: {', '.join(allowed)}."
            + _suggest(field_name, allowed)
        )
    return ConfigError(f"{path}: {key} = {_fmt(e.get('input'))} is not allowed: {e['msg']}.")


# --------------------------------------------------------------------- loading


def read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such search-space file.") from None
    except OSError as e:
        raise ConfigError(f"{path}: cannot read it ({e.strerror}).") from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as e:
        where = ""
        mark = getattr(e, "problem_mark", None)
        if mark is not None:
            where = f" at line {mark.line + 1}, column {mark.column + 1}"
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise ConfigError(f"{path}: not valid YAML{where}: {problem}.") from None
    if not isinstance(doc, dict):
        raise ConfigError(
            f"{path}: the top level must be a mapping with keys {', '.join(GRID_KEYS)}; "
            f"got {type(doc).__name__}."
        )
    return doc


def parse_override(text: str) -> tuple[str, Any]:
    """'train.lr=0.01' -> ('train.lr', 0.01); the value is parsed as YAML."""
    if "=" not in text:
        raise ConfigError(f"--set {text!r}: expected KEY=VALUE, e.g. --set train.lr=0.01.")
    key, raw = text.split("=", 1)
    try:
        value = yaml.safe_load(raw) if raw.strip() else raw
    except yaml.YAMLError:
        value = raw
    return key.strip(), value


def _check_dotted(path: str, where: str, key: str) -> tuple[str, str]:
    parts = key.split(".")
    if len(parts) != 2 or parts[0] not in SECTIONS:
        raise ConfigError(
            f"{path}: '{where}{key}' is not a dotted key of the form SECTION.FIELD with SECTION one of "
            f"{', '.join(SECTIONS)} (e.g. model.stride)." + _suggest(parts[0], list(SECTIONS))
        )
    section, name = parts
    fields = sorted(SECTIONS[section].model_fields)
    if name not in fields:
        raise ConfigError(
            f"{path}: unknown key '{where}{key}'. Fields of {section}: {', '.join(fields)}."
            + _suggest(name, fields)
        )
    return section, name


def _seeds(path: str, raw: Any) -> tuple[int, ...]:
    if raw is None:
        return (0,)
    if isinstance(raw, bool):
        raise ConfigError(
            f"{path}: seeds = {_fmt(raw)} is not allowed: give a count >= 1 or a list of integers."
        )
    if isinstance(raw, int):
        if raw < 1:
            raise ConfigError(f"{path}: seeds = {raw} is not allowed: a count must be >= 1.")
        return tuple(range(raw))
    if (
        isinstance(raw, list)
        and raw
        and all(isinstance(s, int) and not isinstance(s, bool) for s in raw)
    ):
        if len(set(raw)) != len(raw):
            raise ConfigError(f"{path}: seeds = {_fmt(raw)} repeats a seed; each must appear once.")
        return tuple(raw)
    raise ConfigError(
        f"{path}: seeds = {_fmt(raw)} is not allowed: give a count >= 1 or a non-empty list of integers."
    )


def load_space(path: str | Path, overrides: Mapping[str, Any] | None = None) -> Space:
    """Read, validate and apply command-line overrides ({dotted key: value})."""
    p = Path(path)
    doc = read_yaml(p)
    name = str(p)
    kind = doc.get("kind", "grid")
    if kind != "grid":
        from ablate import optuna_spaces  # kind-specific keys and validation

        return optuna_spaces.load(name, doc, overrides or {})
    for key in doc:
        if key not in GRID_KEYS:
            raise _unknown(name, "", str(key), list(GRID_KEYS))
    experiment = experiment_name(p, doc)
    base = validate_base(name, doc.get("base"))
    grid = parse_grid(name, doc.get("grid"), "grid")
    seeds = _seeds(name, doc.get("seeds"))
    space = Space(
        path=name,
        experiment=experiment,
        kind="grid",
        base=base,
        grid=grid,
        seeds=seeds,
        description=str(doc.get("description", "")),
    )
    space = apply_overrides(space, overrides or {})
    validate_grid_values(space)
    return space


def experiment_name(path: Path, doc: Mapping[str, Any]) -> str:
    """The `experiment:` key, by default the file's stem; a non-empty string."""
    experiment = doc.get("experiment", path.stem)
    if not isinstance(experiment, str) or not experiment.strip():
        raise ConfigError(
            f"{path}: experiment = {_fmt(experiment)} is not allowed: give a non-empty name."
        )
    return experiment


def parse_grid(path: str, raw: Any, block: str) -> dict[str, list[Any]]:
    """A block mapping dotted keys to non-empty lists of values (`grid:`, `scientific:`)."""
    raw = raw or {}
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{path}: {block} must map dotted keys to lists, e.g. model.stride: [1, 2, 3]."
        )
    grid: dict[str, list[Any]] = {}
    for key, values in raw.items():
        _check_dotted(path, f"{block}.", str(key))
        if not isinstance(values, list) or not values:
            raise ConfigError(
                f"{path}: {block}.{key} = {_fmt(values)} is not allowed: give a non-empty list of values."
            )
        grid[str(key)] = values
    return grid


def validate_base(path: str, raw: Any) -> dict[str, Any]:
    if raw is None:
        return {s: {} for s in SECTIONS}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: base must be a mapping with sections {', '.join(SECTIONS)}.")
    base: dict[str, Any] = {}
    for section in raw:
        if section not in SECTIONS:
            raise _unknown(path, "base.", str(section), list(SECTIONS))
    for section in SECTIONS:
        block = raw.get(section) or {}
        if not isinstance(block, dict):
            raise ConfigError(f"{path}: base.{section} must be a mapping of field: value.")
        base[section] = dict(block)
    resolve(path, base, "base.")  # every field type-checked now, before any point
    return base


def apply_overrides(space: Space, overrides: Mapping[str, Any]) -> Space:
    """Command-line values win over the file. A grid key given on the command line
    pins that factor to one value."""
    if not overrides:
        return space
    base = {s: dict(v) for s, v in space.base.items()}
    grid = dict(space.grid)
    experiment = space.experiment
    seeds = space.seeds
    for key, value in overrides.items():
        if key == "n_trials":
            raise ConfigError(f"{space.path}: --n-trials applies to kind: optuna spaces only.")
        if key == "experiment":
            experiment = str(value)
            continue
        if key == "seeds":
            if space.kind != "grid":
                raise ConfigError(
                    f"{space.path}: --seeds applies to kind: grid spaces; an Optuna trial "
                    "trains with the space's `seed:`."
                )
            seeds = _seeds(f"{space.path} (--seeds)", value)
            continue
        section, name = _check_dotted(space.path, "--set ", key)
        if key in grid:
            grid[key] = [value]
        else:
            base[section][name] = value
    resolve(space.path, base, "")
    return Space(
        path=space.path,
        experiment=experiment,
        kind=space.kind,
        base=base,
        grid=grid,
        seeds=seeds,
        description=space.description,
        extra=space.extra,
    )


def resolve(
    path: str, sections: Mapping[str, Mapping[str, Any]], prefix: str
) -> dict[str, BaseModel]:
    """Validate each section; expand a model preset under its explicit fields."""
    from lightning_modules.models import PRESETS  # registry lives with the models

    out: dict[str, BaseModel] = {}
    for section, cls in SECTIONS.items():
        block = dict(sections.get(section, {}))
        if section == "model" and block.get("preset") is not None:
            preset = block["preset"]
            if preset not in PRESETS:
                raise ConfigError(
                    f"{path}: {prefix}model.preset = {_fmt(preset)} is not allowed: known presets are "
                    f"{', '.join(sorted(PRESETS))} (see `ablate models`)."
                    + _suggest(str(preset), list(PRESETS))
                )
            block = {**PRESETS[preset], **block}
        try:
            out[section] = cls.model_validate(block)
        except ValidationError as e:
            raise _pydantic_error(path, f"{prefix}{section}.", e, cls) from None
    return out


def validate_grid_values(space: Space) -> None:
    """Check every grid value on its own against the base, naming the bad one."""
    for key, values in space.grid.items():
        section, name = key.split(".")
        for i, v in enumerate(values):
            trial = {s: dict(b) for s, b in space.base.items()}
            trial[section][name] = v
            try:
                resolve(space.path, trial, "")
            except ConfigError as e:
                reason = str(e).removeprefix(f"{space.path}: ")
                raise ConfigError(f"{space.path}: grid.{key}[{i}]: {reason}") from None


# ------------------------------------------------------------------- expansion


def build_config(space: Space, values: Mapping[str, Any], seed: int) -> RunConfig:
    sections = {s: dict(b) for s, b in space.base.items()}
    for key, v in values.items():
        section, name = key.split(".")
        sections[section][name] = v
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


def sweep_id(points: list[Point]) -> str:
    """Identity of a sweep: the set of its run keys. Same points -> same sweep."""
    keys = sorted(p.config.key() for p in points)
    return hashlib.sha256(json.dumps(keys).encode()).hexdigest()[:16]
