"""What Optuna tunes: one distribution per dotted key of a `kind: optuna` space.

    train.lr: {type: float, low: 1.0e-4, high: 1.0e-2, log: true}
    model.width: {type: int, low: 16, high: 64, step: 16}
    model.head: {type: categorical, choices: [gap, flatten]}

`Dist` is a pydantic discriminated union on `type`. Each member owns its mapping to
Optuna (`to_optuna`, `suggest`): the scheduler asks trials with it and the report
rebuilds Optuna's distributions with it, so the two cannot drift.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    PositiveFloat,
    PositiveInt,
    Tag,
    TypeAdapter,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from ablate.spaces.blocks import REASON

if TYPE_CHECKING:
    import optuna


def _check_range(low: float, high: float, log: bool, step: float | None) -> None:
    if not low < high:
        raise PydanticCustomError(
            REASON, "low = {low} must be below high = {high}", {"low": low, "high": high}
        )
    if log and low <= 0:
        raise PydanticCustomError(
            REASON, "a log distribution needs low > 0, got {low}", {"low": low}
        )
    if log and step is not None:
        raise PydanticCustomError(
            REASON,
            "step = {step} is not allowed with log: true (a log range has no steps)",
            {"step": step},
        )


class _Dist(BaseModel):
    # strict: a YAML `true` is no number, "16" no int; extra keys are typos
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, populate_by_name=True)


class FloatDist(_Dist):
    """`{type: float, low, high, log, step}`: Optuna's FloatDistribution."""

    kind: Literal["float"] = Field("float", alias="type")
    low: float
    high: float
    log: bool = False
    step: PositiveFloat | None = None

    @model_validator(mode="after")
    def _range(self) -> FloatDist:
        _check_range(self.low, self.high, self.log, self.step)
        return self

    def to_optuna(self) -> optuna.distributions.FloatDistribution:
        from optuna.distributions import FloatDistribution

        return FloatDistribution(self.low, self.high, log=self.log, step=self.step)

    def suggest(self, trial: optuna.Trial, name: str) -> float:
        """This trial's value of `name` (Optuna's ask-and-tell)."""
        return trial.suggest_float(name, self.low, self.high, step=self.step, log=self.log)


class IntDist(_Dist):
    """`{type: int, low, high, log, step}`: Optuna's IntDistribution (step 1 by default)."""

    kind: Literal["int"] = Field("int", alias="type")
    low: int
    high: int
    log: bool = False
    step: PositiveInt | None = None

    @model_validator(mode="after")
    def _range(self) -> IntDist:
        _check_range(self.low, self.high, self.log, self.step)
        return self

    def to_optuna(self) -> optuna.distributions.IntDistribution:
        from optuna.distributions import IntDistribution

        return IntDistribution(self.low, self.high, log=self.log, step=self.step or 1)

    def suggest(self, trial: optuna.Trial, name: str) -> int:
        """This trial's value of `name` (Optuna's ask-and-tell)."""
        return trial.suggest_int(name, self.low, self.high, step=self.step or 1, log=self.log)


class CategoricalDist(_Dist):
    """`{type: categorical, choices: [...]}`: Optuna's CategoricalDistribution."""

    kind: Literal["categorical"] = Field("categorical", alias="type")
    choices: tuple[Any, ...]

    @field_validator("choices", mode="before")
    @classmethod
    def _non_empty_list(cls, value: Any) -> tuple[Any, ...]:
        if not isinstance(value, list | tuple) or not value:
            raise PydanticCustomError("choices", "give a non-empty list")
        return tuple(value)

    def to_optuna(self) -> optuna.distributions.CategoricalDistribution:
        from optuna.distributions import CategoricalDistribution

        return CategoricalDistribution(list(self.choices))

    def suggest(self, trial: optuna.Trial, name: str) -> Any:
        """This trial's value of `name` (Optuna's ask-and-tell)."""
        return trial.suggest_categorical(name, list(self.choices))


DIST_TYPES: dict[str, type[_Dist]] = {
    "float": FloatDist,
    "int": IntDist,
    "categorical": CategoricalDist,
}


def _type_of(raw: Any) -> str | None:
    """The member a raw mapping asks for; None gives the one 'give a mapping' message."""
    if isinstance(raw, FloatDist | IntDist | CategoricalDist):
        return raw.kind
    kind = raw.get("type") if isinstance(raw, dict) else None
    return kind if isinstance(kind, str) and kind in DIST_TYPES else None


Dist = Annotated[
    Annotated[FloatDist, Tag("float")]
    | Annotated[IntDist, Tag("int")]
    | Annotated[CategoricalDist, Tag("categorical")],
    Discriminator(
        _type_of,
        custom_error_type="dist_type",
        custom_error_message="give a mapping with type float, int or categorical, "
        "e.g. {type: float, low: 0.0001, high: 0.01, log: true}",
    ),
]
"""One distribution; errors from `DIST.validate_python` start their `loc` with the type."""

DIST: TypeAdapter[Dist] = TypeAdapter(Dist)


def legacy_repr(d: Dist) -> str:
    """The repr this distribution had as the one `Dist` dataclass (floats for the ends
    and step of every kind). Sweep ids hash it: see `ablate.spaces.tuning.space_hash`."""
    if isinstance(d, CategoricalDist):
        low, high, log, step, choices = 0.0, 0.0, False, None, d.choices
    else:
        low, high, log = float(d.low), float(d.high), d.log
        step, choices = (float(d.step) if d.step is not None else None), ()
    return (
        f"Dist(kind={d.kind!r}, low={low!r}, high={high!r}, log={log!r}, step={step!r}, "
        f"choices={choices!r})"
    )
