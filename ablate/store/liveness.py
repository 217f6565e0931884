"""Who a worker is, and whether it is gone.

A worker is `host:pid:boot`, where boot is the kernel's boot id. A run is dead
when its heartbeat is older than `stale_after`, or at once when it was started
on this very machine (same boot id) by a process that no longer exists: a
re-run right after a `kill -9` on one machine need not wait for the timeout.
"""

from __future__ import annotations

import os
import socket
from functools import cache
from pathlib import Path


@cache
def boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()[:8]
    except OSError:
        return ""  # not Linux: only heartbeats tell


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{boot_id()}"


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


def known_dead(worker: str) -> bool:
    """True only when certain: same machine and boot, and the process is gone."""
    host, _, rest = worker.partition(":")
    pid, _, boot = rest.partition(":")
    if not boot or boot != boot_id() or host != socket.gethostname() or not pid.isdigit():
        return False
    return not pid_alive(int(pid))


def is_stale(last_beat: float, worker: str, now: float, stale_after: float) -> bool:
    return now - last_beat >= stale_after or known_dead(worker)
