"""The spaces room."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ablate.doors import lazy

if TYPE_CHECKING:
    from ablate.spaces.config import DataConfig as DataConfig
    from ablate.spaces.config import ModelConfig as ModelConfig
    from ablate.spaces.config import RunConfig as RunConfig
    from ablate.spaces.data_fit import fit_to_data as fit_to_data
    from ablate.spaces.distributions import CategoricalDist as CategoricalDist
    from ablate.spaces.distributions import Dist as Dist
    from ablate.spaces.distributions import FloatDist as FloatDist
    from ablate.spaces.distributions import IntDist as IntDist
    from ablate.spaces.grid import Point as Point
    from ablate.spaces.grid import Space as Space
    from ablate.spaces.grid import apply_overrides as apply_overrides
    from ablate.spaces.grid import build_config as build_config
    from ablate.spaces.grid import expand as expand
    from ablate.spaces.grid import load_space as load_space
    from ablate.spaces.grid import parse_override as parse_override
    from ablate.spaces.grid import sweep_id as sweep_id
    from ablate.spaces.limits import check_workers as check_workers
    from ablate.spaces.tuning import OptunaSpec as OptunaSpec
    from ablate.spaces.tuning import space_hash as space_hash
    from ablate.spaces.tuning import spec_of as spec_of

# name -> the module that defines it, loaded on first use (ablate.doors)
_WHERE = {
    "fit_to_data": "ablate.spaces.data_fit",
    "CategoricalDist": "ablate.spaces.distributions",
    "DataConfig": "ablate.spaces.config",
    "Dist": "ablate.spaces.distributions",
    "FloatDist": "ablate.spaces.distributions",
    "IntDist": "ablate.spaces.distributions",
    "ModelConfig": "ablate.spaces.config",
    "OptunaSpec": "ablate.spaces.tuning",
    "Point": "ablate.spaces.grid",
    "RunConfig": "ablate.spaces.config",
    "Space": "ablate.spaces.grid",
    "apply_overrides": "ablate.spaces.grid",
    "build_config": "ablate.spaces.grid",
    "check_workers": "ablate.spaces.limits",
    "expand": "ablate.spaces.grid",
    "load_space": "ablate.spaces.grid",
    "parse_override": "ablate.spaces.grid",
    "space_hash": "ablate.spaces.tuning",
    "spec_of": "ablate.spaces.tuning",
    "sweep_id": "ablate.spaces.grid",
}
__all__ = sorted(_WHERE)

__getattr__ = lazy(__name__, _WHERE)
