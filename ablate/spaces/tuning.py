"""`kind: optuna` spaces: distributions per dotted key, sampler, pruner, budget.

experiment: tpe
kind: optuna
base: {...}                       # as in a grid space
params:                           # what Optuna tunes ("nuisance" is a synonym)
  train.lr: {type: float, low: 1.0e-4, high: 1.0e-2, log: true}
  model.width: {type: int, low: 16, high: 64, step: 16}
  model.head: {type: categorical, choices: [gap, flatten]}
scientific:                       # optional grid: one study per point,
  model.stride: [1, 2, 3]         #   n_trials each, nuisance tuned per point
sampler: {name: tpe, seed: 0}     # tpe | random | grid | cmaes
pruner: {name: median, warmup_epochs: 1}   # median | hyperband | none
n_trials: 12
timeout: 3600                     # seconds per study, optional
metric: best_val_acc              # the trial's value
direction: maximize
seed: 0                           # training seed of every trial
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ablate.errors import ConfigError
from ablate.spaces.blocks import (
    Space,
    apply_overrides,
    check_dotted,
    experiment_name,
    fmt_value,
    parse_grid,
    unknown_key,
    validate_base,
    validate_grid_values,
)
from lightning_modules.presets import preset_key_name

OPTUNA_KEYS = (
    "experiment",
    "kind",
    "description",
    "base",
    "params",
    "nuisance",
    "scientific",
    "sampler",
    "pruner",
    "n_trials",
    "timeout",
    "metric",
    "direction",
    "seed",
)
SAMPLERS = ("tpe", "random", "grid", "cmaes")
PRUNERS = ("median", "hyperband", "none")
METRICS = ("best_val_acc", "test_acc", "val_acc", "val_loss")
DIST_KEYS = {
    "float": ("type", "low", "high", "log", "step"),
    "int": ("type", "low", "high", "log", "step"),
    "categorical": ("type", "choices"),
}


@dataclass(frozen=True)
class Dist:
    kind: str  # float | int | categorical
    low: float = 0.0
    high: float = 0.0
    log: bool = False
    step: float | None = None
    choices: tuple[Any, ...] = ()


@dataclass(frozen=True)
class OptunaSpec:
    params: dict[str, Dist]
    scientific: dict[str, list[Any]]
    sampler: str
    sampler_seed: int | None
    pruner: str
    warmup_epochs: int
    n_trials: int
    timeout: float | None
    metric: str
    direction: str
    seed: int


def spec_of(space: Space) -> OptunaSpec:
    spec = space.extra["optuna"]
    assert isinstance(spec, OptunaSpec)
    return spec


def _dist(path: str, key: str, raw: Any) -> Dist:
    where = f"{path}: params.{key}"
    if not isinstance(raw, dict) or raw.get("type") not in DIST_KEYS:
        raise ConfigError(
            f"{where} = {fmt_value(raw)} is not allowed: give a mapping with type float, int or "
            "categorical, e.g. {type: float, low: 0.0001, high: 0.01, log: true}."
        )
    kind = raw["type"]
    for k in raw:
        if k not in DIST_KEYS[kind]:
            raise unknown_key(path, f"params.{key}.", str(k), list(DIST_KEYS[kind]))
    if kind == "categorical":
        choices = raw.get("choices")
        if not isinstance(choices, list) or not choices:
            raise ConfigError(
                f"{where}.choices = {fmt_value(choices)} is not allowed: give a non-empty list."
            )
        return Dist("categorical", choices=tuple(choices))
    low, high = raw.get("low"), raw.get("high")
    numeric = (int,) if kind == "int" else (int, float)
    for name, v in (("low", low), ("high", high)):
        if not isinstance(v, numeric) or isinstance(v, bool):
            raise ConfigError(f"{where}.{name} = {fmt_value(v)} is not allowed: give a {kind}.")
    assert low is not None and high is not None
    if not low < high:
        raise ConfigError(f"{where}: low = {low} must be below high = {high}.")
    log = raw.get("log", False)
    if not isinstance(log, bool):
        raise ConfigError(f"{where}.log = {fmt_value(log)} is not allowed: give true or false.")
    if log and low <= 0:
        raise ConfigError(f"{where}: a log distribution needs low > 0, got {low}.")
    step = raw.get("step")
    if step is not None and (log or not isinstance(step, numeric) or step <= 0):
        raise ConfigError(
            f"{where}.step = {fmt_value(step)} is not allowed: a positive number, and not with log."
        )
    return Dist(kind, float(low), float(high), log, float(step) if step is not None else None)


def _choice(
    path: str, key: str, raw: Any, allowed: tuple[str, ...], default: str
) -> tuple[str, dict[str, Any]]:
    if raw is None:
        return default, {}
    if isinstance(raw, str):
        raw = {"name": raw}
    if not isinstance(raw, dict) or raw.get("name") not in allowed:
        got = raw.get("name") if isinstance(raw, dict) else raw
        raise ConfigError(
            f"{path}: {key}.name = {fmt_value(got)} is not allowed: one of {', '.join(allowed)}."
        )
    return str(raw["name"]), raw


def load(path: str, doc: dict[str, Any], overrides: Mapping[str, Any]) -> Space:
    """Validate a `kind: optuna` document into a Space whose extra['optuna'] is an OptunaSpec."""
    for key in doc:
        if key not in OPTUNA_KEYS:
            raise unknown_key(path, "", str(key), list(OPTUNA_KEYS))
    if doc.get("kind") != "optuna":
        raise ConfigError(
            f"{path}: kind = {fmt_value(doc.get('kind'))} is not allowed: grid or optuna."
        )
    if "params" in doc and "nuisance" in doc:
        raise ConfigError(f"{path}: give either params or nuisance (they are synonyms), not both.")
    raw_params = doc.get("params", doc.get("nuisance"))
    if not isinstance(raw_params, dict) or not raw_params:
        raise ConfigError(
            f"{path}: params must map dotted keys to distributions, e.g. train.lr: {{type: float, ...}}."
        )
    params = {}
    for key, raw in raw_params.items():
        check_dotted(path, "params.", str(key))
        params[str(key)] = _dist(path, str(key), raw)
    scientific = parse_grid(path, doc.get("scientific"), "scientific")
    both = sorted(scientific.keys() & params.keys())
    if both:
        raise ConfigError(
            f"{path}: {both[0]} is both scientific and tuned; a factor is one or the other."
        )
    sampler, sampler_raw = _choice(path, "sampler", doc.get("sampler"), SAMPLERS, "tpe")
    sampler_seed = sampler_raw.get("seed", 0)
    if sampler == "grid" and any(d.kind != "categorical" for d in params.values()):
        raise ConfigError(
            f"{path}: sampler grid needs every param to be categorical (a list of values to visit)."
        )
    if sampler == "cmaes" and any(d.kind == "categorical" for d in params.values()):
        raise ConfigError(
            f"{path}: sampler cmaes handles float and int params only; use tpe for categorical ones."
        )
    pruner, pruner_raw = _choice(path, "pruner", doc.get("pruner"), PRUNERS, "median")
    warmup = pruner_raw.get("warmup_epochs", 1)
    overrides = dict(overrides)
    n_trials = overrides.pop("n_trials", doc.get("n_trials", 10))
    if not isinstance(n_trials, int) or isinstance(n_trials, bool) or n_trials < 1:
        raise ConfigError(
            f"{path}: n_trials = {fmt_value(n_trials)} is not allowed: an integer >= 1."
        )
    timeout = doc.get("timeout")
    if timeout is not None and (not isinstance(timeout, (int, float)) or timeout <= 0):
        raise ConfigError(
            f"{path}: timeout = {fmt_value(timeout)} is not allowed: seconds > 0, or leave it out."
        )
    metric = doc.get("metric", "best_val_acc")
    if metric not in METRICS:
        raise ConfigError(
            f"{path}: metric = {fmt_value(metric)} is not allowed: one of {', '.join(METRICS)}."
        )
    direction = doc.get("direction", "minimize" if metric == "val_loss" else "maximize")
    if direction not in ("maximize", "minimize"):
        raise ConfigError(
            f"{path}: direction = {fmt_value(direction)} is not allowed: maximize or minimize."
        )
    seed = doc.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ConfigError(f"{path}: seed = {fmt_value(seed)} is not allowed: an integer.")
    experiment = experiment_name(Path(path), doc)
    spec = OptunaSpec(
        params=params,
        scientific=scientific,
        sampler=sampler,
        sampler_seed=sampler_seed,
        pruner=pruner,
        warmup_epochs=int(warmup),
        n_trials=n_trials,
        timeout=float(timeout) if timeout else None,
        metric=metric,
        direction=direction,
        seed=seed,
    )
    space = Space(
        path=path,
        experiment=experiment,
        kind="optuna",
        base=validate_base(path, doc.get("base")),
        grid=scientific,  # the scientific grid expands like a grid space
        seeds=(seed,),
        description=str(doc.get("description", "")),
        extra={"optuna": spec},
    )
    space = apply_overrides(space, overrides)
    validate_grid_values(space)
    _check_param_ranges(space, spec)
    return space


def _check_param_ranges(space: Space, spec: OptunaSpec) -> None:
    """Each distribution's ends (or choices) must make valid configs."""
    for key, d in spec.params.items():
        values = d.choices if d.kind == "categorical" else (d.low, d.high)
        probe = Space(
            space.path, space.experiment, "grid", space.base, {key: list(values)}, space.seeds
        )
        try:
            validate_grid_values(probe)
        except ConfigError as e:
            raise ConfigError(str(e).replace("grid.", "params.", 1)) from None


# The identity of an Optuna sweep. `repr(spec)` is part of it: a change to OptunaSpec's
# repr would change every stored Optuna sweep's id (tests/test_store_v0.py checks it).
def space_hash(space: Space) -> str:
    """Identity of an Optuna sweep: its resolved base, scientific grid and spec."""
    spec = spec_of(space)
    base = {s: dict(b) for s, b in space.base.items()}
    if isinstance(base["model"].get("preset"), str):  # renamed presets keep their sweeps
        base["model"]["preset"] = preset_key_name(base["model"]["preset"])
    doc = {
        "base": base,
        "grid": space.grid,
        "spec": repr(spec),
        "experiment": space.experiment,
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()[:16]
