"""The inspection room."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ablate.doors import lazy

if TYPE_CHECKING:
    from ablate.inspection.dry_run import print_points as print_points
    from ablate.inspection.dry_run import print_presets as print_presets
    from ablate.inspection.explain_run import explain_command as explain_command
    from ablate.inspection.status import print_status as print_status
    from ablate.inspection.status import sweep_status as sweep_status

# name -> the module that defines it, loaded on first use (ablate.doors)
_WHERE = {
    "explain_command": "ablate.inspection.explain_run",
    "print_points": "ablate.inspection.dry_run",
    "print_presets": "ablate.inspection.dry_run",
    "print_status": "ablate.inspection.status",
    "sweep_status": "ablate.inspection.status",
}
__all__ = sorted(_WHERE)

__getattr__ = lazy(__name__, _WHERE)
