"""Ctrl-C, SIGTERM and SIGUSR1 in a sweep: all raise KeyboardInterrupt, but never in
the middle of a write to the tracking store.

SIGTERM (what `kill`, `scancel` and a preempting SLURM send) and SIGUSR1 (what
`sbatch --signal=USR1@120` sends before the time limit) are a preemption: the run
ends KILLED with the reason "preempted (SIGTERM)", keeps its epoch checkpoints, and
`preempted_by` names the signal so that the command can exit with `PREEMPTED_EXIT`.

A KeyboardInterrupt raised inside SQLAlchemy's commit can leave a sqlite
transaction open in this process; every later write (the run's KILLED state)
then fails with "database is locked". So writes run with the two signals held
back, and a signal that arrived meanwhile is raised again right after.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from typing import Any

PREEMPTION_SIGNALS = (signal.SIGTERM, signal.SIGUSR1)
SIGNALS = (signal.SIGINT, *PREEMPTION_SIGNALS)
PREEMPTED_EXIT = 143  # as a shell reports SIGTERM (128 + 15); a SLURM job requeues on it

_stopped_by: list[str] = []  # the preemption signal that stopped this process, if any


def preempted_by() -> str | None:
    """The name of the preemption signal received (e.g. "SIGTERM"), or None."""
    return _stopped_by[0] if _stopped_by else None


def preemption_reason() -> str | None:
    """The reason a run stopped by a preemption signal ends with, or None."""
    name = preempted_by()
    return None if name is None else f"preempted ({name})"


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Hold SIGINT, SIGTERM and SIGUSR1 back for the duration; raise the first one after.

    Only the main thread receives Python signals, so elsewhere this does nothing.
    """
    if not _main_thread():
        yield
        return
    caught: list[int] = []

    def hold(signum: int, frame: Any) -> None:
        caught.append(signum)

    previous = {s: signal.signal(s, hold) for s in SIGNALS}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, signal.SIG_DFL if handler is None else handler)
        if caught:
            signal.raise_signal(caught[0])  # now handled as it would have been


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM and SIGUSR1 (a scheduler's stop or warning, `kill`) end the sweep as
    Ctrl-C does, remembered as a preemption (`preempted_by`)."""

    def interrupt(signum: int, frame: Any) -> None:
        if not _stopped_by:
            _stopped_by.append(signal.Signals(signum).name)
        raise KeyboardInterrupt

    _stopped_by.clear()  # a new sweep in this process (tests run several)
    if not _main_thread():
        yield  # signal handlers can only be set from the main thread
        return
    previous = {s: signal.signal(s, interrupt) for s in PREEMPTION_SIGNALS}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
