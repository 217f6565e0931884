"""The inspection room."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ablate.inspection.dry_run import print_points as print_points
    from ablate.inspection.dry_run import print_presets as print_presets
    from ablate.inspection.explain_run import explain_command as explain_command
    from ablate.inspection.status import print_status as print_status
    from ablate.inspection.status import sweep_status as sweep_status

# name -> module: the door loads a module when one of its names is first used, so that
# importing the room stays cheap (no torch, no mlflow until they are needed)
_WHERE = {
    "explain_command": "ablate.inspection.explain_run",
    "print_points": "ablate.inspection.dry_run",
    "print_presets": "ablate.inspection.dry_run",
    "print_status": "ablate.inspection.status",
    "sweep_status": "ablate.inspection.status",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_WHERE[name]), name)
    globals()[name] = value
    return value
