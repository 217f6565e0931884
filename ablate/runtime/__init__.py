"""The runtime room."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ablate.doors import lazy

if TYPE_CHECKING:
    from ablate.runtime.collector import collect_between_points as collect_between_points
    from ablate.runtime.collector import fewer_collections as fewer_collections
    from ablate.runtime.hardware import accelerator as accelerator
    from ablate.runtime.hardware import describe as describe
    from ablate.runtime.signals import PREEMPTED_EXIT as PREEMPTED_EXIT
    from ablate.runtime.signals import deferred as deferred
    from ablate.runtime.signals import preempted_by as preempted_by
    from ablate.runtime.signals import preemption_reason as preemption_reason
    from ablate.runtime.signals import sigterm_as_interrupt as sigterm_as_interrupt
    from ablate.runtime.terminal import SweepProgress as SweepProgress
    from ablate.runtime.terminal import console as console
    from ablate.runtime.terminal import err_console as err_console
    from ablate.runtime.terminal import fmt_seconds as fmt_seconds
    from ablate.runtime.terminal import quiet_libraries as quiet_libraries
    from ablate.runtime.terminal import table as table

# name -> the module that defines it, loaded on first use (ablate.doors)
_WHERE = {
    "SweepProgress": "ablate.runtime.terminal",
    "collect_between_points": "ablate.runtime.collector",
    "fewer_collections": "ablate.runtime.collector",
    "accelerator": "ablate.runtime.hardware",
    "PREEMPTED_EXIT": "ablate.runtime.signals",
    "deferred": "ablate.runtime.signals",
    "preempted_by": "ablate.runtime.signals",
    "preemption_reason": "ablate.runtime.signals",
    "console": "ablate.runtime.terminal",
    "describe": "ablate.runtime.hardware",
    "err_console": "ablate.runtime.terminal",
    "fmt_seconds": "ablate.runtime.terminal",
    "quiet_libraries": "ablate.runtime.terminal",
    "sigterm_as_interrupt": "ablate.runtime.signals",
    "table": "ablate.runtime.terminal",
}
__all__ = sorted(_WHERE)

__getattr__ = lazy(__name__, _WHERE)
