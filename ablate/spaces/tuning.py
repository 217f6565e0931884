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
confirm_seeds: 3                  # after each study: its best setting on seeds 1..3
                                  #   (seed+1 .. seed+N); default 3 with scientific:,
                                  #   else 0; 0 turns it off
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from ablate.errors import ConfigError
from ablate.spaces.blocks import (
    Space,
    apply_overrides,
    check_dotted,
    experiment_name,
    one_of,
    parse_grid,
    parse_margins,
    pydantic_error,
    validate_base,
    validate_grid_values,
)
from ablate.spaces.distributions import DIST, DIST_TYPES, CategoricalDist, Dist, legacy_repr
from ablate.spaces.limits import (
    MAX_CHOICES,
    MAX_SEED,
    MAX_SEEDS,
    MAX_TRIALS,
    check_cell,
    check_run_names,
    check_runs,
)
from lightning_modules.presets import preset_key_name

SAMPLERS = ("tpe", "random", "grid", "cmaes")
PRUNERS = ("median", "hyperband", "none")
METRICS = ("best_val_acc", "test_acc", "val_acc", "val_loss")
# confirmation seeds per scientific value when the space has `scientific:` and says none:
# the tuning playbook re-runs the chosen settings over a few seeds before comparing
DEFAULT_CONFIRM_SEEDS = 3


class _Block(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SamplerBlock(_Block):
    """`sampler: tpe` or `sampler: {name: tpe, seed: 0}`."""

    name: Annotated[str, PlainValidator(one_of(SAMPLERS))]
    seed: int | None = Field(0, strict=True, ge=0, le=MAX_SEED)  # None: Optuna seeds from the clock


class PrunerBlock(_Block):
    """`pruner: median` or `pruner: {name: median, warmup_epochs: 1}`."""

    name: Annotated[str, PlainValidator(one_of(PRUNERS))]
    warmup_epochs: int = Field(
        1, ge=0, strict=True
    )  # epochs reported before the median pruner may stop


class OptunaDoc(_Block):
    """The keys of a `kind: optuna` file. The blocks it shares with grid spaces
    (experiment, base, scientific) and the params are read on their own, below."""

    experiment: Any = None
    kind: Annotated[str, PlainValidator(one_of(("optuna",), "grid or optuna"))]
    description: Any = ""
    base: Any = None
    params: Any = None
    nuisance: Any = None  # a synonym of params
    scientific: Any = None
    sampler: SamplerBlock = SamplerBlock(name="tpe")
    pruner: PrunerBlock = PrunerBlock(name="median")
    n_trials: int = Field(10, ge=1, le=MAX_TRIALS, strict=True)  # per study
    timeout: float | None = Field(None, gt=0, strict=True)  # seconds per study
    metric: Annotated[str, PlainValidator(one_of(METRICS))] = "best_val_acc"
    direction: Annotated[str, PlainValidator(one_of(("maximize", "minimize")))] | None = None
    seed: int = Field(0, strict=True, ge=0, le=MAX_SEED)  # the training seed of every trial
    # fresh seeds each scientific value's best setting is trained on after its study;
    # None: DEFAULT_CONFIRM_SEEDS with scientific:, else 0
    confirm_seeds: int | None = Field(None, strict=True, ge=0, le=MAX_SEEDS)
    margins: Any = None  # equivalence margins per response, as in a grid space

    @field_validator("sampler", "pruner", mode="before")
    @classmethod
    def _by_name(cls, raw: Any, info: ValidationInfo) -> Any:
        """A bare name is the block with that name; null is the default block."""
        if raw is None:
            return cls.model_fields[str(info.field_name)].default
        return raw if isinstance(raw, dict) else {"name": raw}


@dataclass(frozen=True)
class OptunaSpec:
    """A validated `kind: optuna` space's Optuna part (sweep ids hash `spec_identity`)."""

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
    # not in `spec_identity`: more (or fewer) confirmation seeds extend the same sweep
    confirm_seeds: int = 0

    def confirmation_seeds(self) -> list[int]:
        """The fresh seeds the best setting of each study is trained on again: the
        `confirm_seeds` seeds after the tuning seed (tuning seed 0 -> 1, 2, 3)."""
        return [self.seed + 1 + i for i in range(self.confirm_seeds)]

    def grid_space(self) -> dict[str, list[Any]]:
        """The search space of Optuna's GridSampler: every param's choices (`load`
        refuses a grid sampler over a param that is not categorical)."""
        return {
            k: list(d.choices) for k, d in self.params.items() if isinstance(d, CategoricalDist)
        }


def spec_of(space: Space) -> OptunaSpec:
    spec = space.extra["optuna"]
    assert isinstance(spec, OptunaSpec)
    return spec


def _params(path: str, doc: OptunaDoc) -> dict[str, Dist]:
    """`params:` (or `nuisance:`): dotted keys to distributions."""
    if {"params", "nuisance"} <= doc.model_fields_set:
        raise ConfigError(f"{path}: give either params or nuisance (they are synonyms), not both.")
    raw = doc.nuisance if "nuisance" in doc.model_fields_set else doc.params
    if not isinstance(raw, dict) or not raw:
        raise ConfigError(
            f"{path}: params must map dotted keys to distributions, e.g. train.lr: {{type: float, ...}}."
        )
    params: dict[str, Dist] = {}
    for key, dist in raw.items():
        check_dotted(path, "params.", str(key))
        try:
            params[str(key)] = DIST.validate_python(dist)
        except ValidationError as e:
            raise pydantic_error(path, f"params.{key}.", e, DIST_TYPES) from None
        d = params[str(key)]
        if isinstance(d, CategoricalDist):
            check_cell(path, f"params.{key}.choices", d.choices)  # a trial's value: a CSV cell
        if isinstance(d, CategoricalDist) and len(d.choices) > MAX_CHOICES:
            raise ConfigError(
                f"{path}: params.{key} has {len(d.choices):,} choices; the limit is "
                f"{MAX_CHOICES:,} (for more values, use type: int or float with a step)."
            )
    return params


def load(path: str, doc: dict[str, Any], overrides: Mapping[str, Any]) -> Space:
    """Validate a `kind: optuna` document into a Space whose extra['optuna'] is an OptunaSpec."""
    overrides = dict(overrides)
    for key in ("n_trials", "confirm_seeds"):  # --n-trials, --set confirm_seeds=N: checked alike
        if key in overrides:
            doc = {**doc, key: overrides.pop(key)}
    try:
        parsed = OptunaDoc.model_validate(doc)
    except ValidationError as e:
        raise pydantic_error(path, "", e, OptunaDoc) from None
    params = _params(path, parsed)
    scientific = parse_grid(path, parsed.scientific, "scientific")
    both = sorted(scientific.keys() & params.keys())
    if both:
        raise ConfigError(
            f"{path}: {both[0]} is both scientific and tuned; a factor is one or the other."
        )
    categorical = [isinstance(d, CategoricalDist) for d in params.values()]
    if parsed.sampler.name == "grid" and not all(categorical):
        raise ConfigError(
            f"{path}: sampler grid needs every param to be categorical (a list of values to visit)."
        )
    if parsed.sampler.name == "cmaes" and any(categorical):
        raise ConfigError(
            f"{path}: sampler cmaes handles float and int params only; use tpe for categorical ones."
        )
    spec = OptunaSpec(
        params=params,
        scientific=scientific,
        sampler=parsed.sampler.name,
        sampler_seed=parsed.sampler.seed,
        pruner=parsed.pruner.name,
        warmup_epochs=parsed.pruner.warmup_epochs,
        n_trials=parsed.n_trials,
        timeout=parsed.timeout or None,
        metric=parsed.metric,
        direction=parsed.direction or ("minimize" if parsed.metric == "val_loss" else "maximize"),
        seed=parsed.seed,
        confirm_seeds=_confirm_seeds(path, parsed, scientific),
    )
    space = Space(
        path=path,
        experiment=experiment_name(Path(path), doc),
        kind="optuna",
        base=validate_base(path, parsed.base),
        grid=scientific,  # the scientific grid expands like a grid space
        seeds=(parsed.seed,),
        description=str(parsed.description),
        extra={"optuna": spec},
        margins=parse_margins(path, parsed.margins),
    )
    space = apply_overrides(space, overrides)
    # before any point is built: trials and confirmation runs of every study
    check_runs(path, space.grid, spec.n_trials + spec.confirm_seeds, "trials and confirmation runs")
    check_run_names(path, space.grid, spec.seed)
    validate_grid_values(space)
    _check_param_ranges(space, spec)
    return space


def _confirm_seeds(path: str, doc: OptunaDoc, scientific: dict[str, list[Any]]) -> int:
    """`confirm_seeds:`, defaulted (3 with `scientific:`, else 0); its last seed must be a
    valid seed too."""
    n = doc.confirm_seeds
    if n is None:
        n = DEFAULT_CONFIRM_SEEDS if scientific else 0
    if doc.seed + n > MAX_SEED:
        raise ConfigError(
            f"{path}: confirm_seeds = {n} is not allowed with seed = {doc.seed}: the "
            f"confirmation seeds {doc.seed + 1}..{doc.seed + n} would pass the largest "
            f"seed, {MAX_SEED:,}; use a smaller seed or fewer confirmation seeds."
        )
    return n


def _check_param_ranges(space: Space, spec: OptunaSpec) -> None:
    """Each distribution's ends (or choices) must make valid configs."""
    for key, d in spec.params.items():
        values = d.choices if isinstance(d, CategoricalDist) else (d.low, d.high)
        probe = Space(
            space.path, space.experiment, "grid", space.base, {key: list(values)}, space.seeds
        )
        try:
            validate_grid_values(probe)
        except ConfigError as e:
            raise ConfigError(str(e).replace("grid.", "params.", 1)) from None


def spec_identity(spec: OptunaSpec) -> str:
    """The spec as the sweep id hashes it: the repr it had as a dataclass of `Dist`
    dataclasses, spelled out here so that neither a new field nor pydantic's repr can
    change a stored sweep's id (tests/test_store_v0.py checks it)."""
    params = ", ".join(f"{k!r}: {legacy_repr(d)}" for k, d in spec.params.items())
    return (
        f"OptunaSpec(params={{{params}}}, scientific={spec.scientific!r}, "
        f"sampler={spec.sampler!r}, sampler_seed={spec.sampler_seed!r}, "
        f"pruner={spec.pruner!r}, warmup_epochs={spec.warmup_epochs!r}, "
        f"n_trials={spec.n_trials!r}, timeout={spec.timeout!r}, metric={spec.metric!r}, "
        f"direction={spec.direction!r}, seed={spec.seed!r})"
    )


def space_hash(space: Space) -> str:
    """Identity of an Optuna sweep: its resolved base, scientific grid and spec."""
    spec = spec_of(space)
    base = {s: dict(b) for s, b in space.base.items()}
    if isinstance(base["model"].get("preset"), str):  # renamed presets keep their sweeps
        base["model"]["preset"] = preset_key_name(base["model"]["preset"])
    doc = {
        "base": base,
        "grid": space.grid,
        "spec": spec_identity(spec),
        "experiment": space.experiment,
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()[:16]
