"""The inspection room."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ablate.doors import lazy

if TYPE_CHECKING:
    from ablate.inspection.dry_run import print_points as print_points
    from ablate.inspection.dry_run import print_presets as print_presets
    from ablate.inspection.explain_run import explain_command as explain_command
    from ablate.inspection.status import StatusAnswer as StatusAnswer
    from ablate.inspection.status import StatusError as StatusError
    from ablate.inspection.status import StatusQuery as StatusQuery
    from ablate.inspection.status import find_status as find_status
    from ablate.inspection.status import print_status as print_status

# name -> the module that defines it, loaded on first use (ablate.doors)
_WHERE = {
    "StatusAnswer": "ablate.inspection.status",
    "StatusError": "ablate.inspection.status",
    "StatusQuery": "ablate.inspection.status",
    "explain_command": "ablate.inspection.explain_run",
    "print_points": "ablate.inspection.dry_run",
    "print_presets": "ablate.inspection.dry_run",
    "find_status": "ablate.inspection.status",
    "print_status": "ablate.inspection.status",
}
__all__ = sorted(_WHERE)

__getattr__ = lazy(__name__, _WHERE)
