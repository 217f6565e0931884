"""The explanation section of a run's config (the middle floor owns it)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

from explain.methods import NAMES


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def known_method(name: str) -> str:
    """A method of the registry (`explain.methods`), else a message that lists them."""
    if name not in NAMES:
        raise PydanticCustomError(
            "unknown_method",
            "unknown explanation method; one of {known}",
            {"known": ", ".join(NAMES)},
        )
    return name


MethodName = Annotated[str, AfterValidator(known_method)]


class ExplainConfig(_Frozen):
    enabled: bool = True
    methods: tuple[MethodName, ...] = NAMES  # every method of the registry
    probe_per_class: int = Field(2, ge=1, le=50)  # fixed test images per class, same every run
    misclassified: int = Field(8, ge=0, le=100)  # most confidently wrong test images per run
    metrics: bool = True  # faithfulness metrics (deletion/insertion, sanity, infidelity)
    smoothgrad_samples: int = Field(10, ge=1)
    smoothgrad_sigma: float = Field(0.1, gt=0.0, le=1.0)  # noise std in [0,1] pixel units
    ig_steps: int = Field(32, ge=2)
    ig_baseline: Literal["black", "mean"] = "black"
    gradcam_layer: str | None = None  # dotted module name; None = the layer feeding the head
    feature_map_layers: tuple[str, ...] = ()  # dotted names; empty = output of every block
    metric_steps: int = Field(16, ge=2)  # points on the deletion/insertion curves
