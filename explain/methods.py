"""The explanation methods: one registry that everything else iterates.

A new method is one entry here (and its function in `explain.attributions`). The name
is the config value (`explain.methods`), the artifact and metric key
(`xai.<name>.*`, `grid_<name>.png`); the label is what a person reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Method:
    name: str
    label: str
    sign: Literal["abs", "relu"]  # how raw maps become [0, 1] (explain.postprocess)
    gap_head_only: bool = False  # CAM: only a GAP head followed by one linear layer
    # max-sensitivity is measured (explain.metrics): it recomputes the map per sample,
    # so only for the cheap methods
    sensitivity: bool = False
    short: str = ""  # a title that fits a picture's cell; "" = the name

    @property
    def title(self) -> str:
        """The method's title in a picture (explain.pictures): short, else the name."""
        return self.short or self.name


METHODS: tuple[Method, ...] = (
    Method("saliency", "Saliency", "abs", sensitivity=True),
    Method("smoothgrad", "SmoothGrad", "abs"),
    Method("integrated_gradients", "Integrated Gradients", "abs", short="integr. gradients"),
    Method("gradcam", "Grad-CAM", "relu", sensitivity=True),
    Method("cam", "CAM", "relu", gap_head_only=True),
)
NAMES: tuple[str, ...] = tuple(m.name for m in METHODS)
BY_NAME: dict[str, Method] = {m.name: m for m in METHODS}
# the method the gallery of a run's mistakes shows when it ran (else the first that did)
MISTAKES_SHOWN = "gradcam"


def label(name: str) -> str:
    """The label of a method name; an unknown name is returned as it is."""
    return BY_NAME[name].label if name in BY_NAME else name


def title(name: str) -> str:
    """A method's title in a picture (short enough for a cell); an unknown name as it is."""
    return BY_NAME[name].title if name in BY_NAME else name
