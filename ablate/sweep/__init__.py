"""The sweep room."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ablate.sweep.engine import Heartbeat as Heartbeat
    from ablate.sweep.engine import SweepOptions as SweepOptions
    from ablate.sweep.engine import print_summary as print_summary
    from ablate.sweep.engine import run_sweep as run_sweep
    from ablate.sweep.workers import launch as launch
    from ablate.sweep.workers import strip_options as strip_options

# name -> module: the door loads a module when one of its names is first used, so that
# importing the room stays cheap (no torch, no mlflow until they are needed)
_WHERE = {
    "Heartbeat": "ablate.sweep.engine",
    "SweepOptions": "ablate.sweep.engine",
    "launch": "ablate.sweep.workers",
    "print_summary": "ablate.sweep.engine",
    "run_sweep": "ablate.sweep.engine",
    "strip_options": "ablate.sweep.workers",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_WHERE[name]), name)
    globals()[name] = value
    return value
