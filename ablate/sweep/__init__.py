"""The sweep room."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ablate.doors import lazy

if TYPE_CHECKING:
    from ablate.sweep.engine import Heartbeat as Heartbeat
    from ablate.sweep.engine import SweepOptions as SweepOptions
    from ablate.sweep.engine import print_summary as print_summary
    from ablate.sweep.engine import run_sweep as run_sweep
    from ablate.sweep.workers import launch as launch
    from ablate.sweep.workers import strip_options as strip_options

# name -> the module that defines it, loaded on first use (ablate.doors)
_WHERE = {
    "Heartbeat": "ablate.sweep.engine",
    "SweepOptions": "ablate.sweep.engine",
    "launch": "ablate.sweep.workers",
    "print_summary": "ablate.sweep.engine",
    "run_sweep": "ablate.sweep.engine",
    "strip_options": "ablate.sweep.workers",
}
__all__ = sorted(_WHERE)

__getattr__ = lazy(__name__, _WHERE)
