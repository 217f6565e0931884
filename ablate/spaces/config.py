"""The one typed configuration that crosses every boundary.

A `RunConfig` is fully resolved: every default filled in, presets expanded.
It is what a sweep point becomes, what MLflow records as params and YAML, and
what every checkpoint carries so that a run can be rebuilt from it alone.
Its sections live with the code they configure (`lightning_modules.config`,
`explain.config`); they are re-exported here for convenience.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic import BaseModel, ConfigDict

from explain.config import ExplainConfig
from lightning_modules.config import DataConfig, ModelConfig, TrainConfig
from lightning_modules.presets import preset_key_name

__all__ = [
    "EXECUTION_ONLY",
    "DataConfig",
    "ExplainConfig",
    "ModelConfig",
    "RunConfig",
    "TrainConfig",
    "config_key",
    "flatten",
]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RunConfig(_Frozen):
    """One training run: a point of a sweep with one seed."""

    experiment: str = "ablate"
    seed: int = 0
    model: ModelConfig = ModelConfig()
    data: DataConfig = DataConfig()
    train: TrainConfig = TrainConfig()
    explain: ExplainConfig = ExplainConfig()

    def flat(self) -> dict[str, Any]:
        """Dotted-key view, e.g. {"model.stride": 1, ...}: MLflow params and tables."""
        return flatten(self.model_dump(mode="json"))

    def key(self) -> str:
        """Stable identity of the run: same config -> same key, on any machine."""
        return config_key(self)


# Fields that say where or how a run executes, not what it computes. Two runs
# that differ only here are the same point: a resumed sweep on another machine
# with the data at another path must find its finished runs.
EXECUTION_ONLY = frozenset(
    {
        "experiment",
        "data.source",
        "data.format",
        "data.cache_dir",
        "train.accelerator",
        "train.devices",
        "train.threads",
        "explain.enabled",
        "model.code_dir",  # where an imported network's module was found (this machine's path)
    }
)


def flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in tree.items():
        name = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flatten(v, name + "."))
        else:
            out[name] = v
    return out


# Fields added after stores were made, with their defaults: left out of the key while
# they hold the default, so that a store made before they existed resumes unchanged.
ADDED_LATER: dict[str, Any] = {
    "train.tta_flip": False,
    "model.residual": True,
    "model.cam_layer": None,  # imported networks; their import path is model.arch
    "model.args": {},  # empty: flattened away; else each model.args.<name> is in the key
}


def config_key(cfg: RunConfig) -> str:
    flat = {
        k: v
        for k, v in cfg.flat().items()
        if k not in EXECUTION_ONLY
        and not k.startswith("explain.")
        and not (k in ADDED_LATER and v == ADDED_LATER[k])
    }
    if flat.get("model.preset") is not None:  # a renamed preset keeps the keys of its old name
        flat["model.preset"] = preset_key_name(str(flat["model.preset"]))
    canonical = json.dumps(flat, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]
