"""`--workers N`: N processes on this machine, each a worker of the same sweep.

Each child is the same `ablate run` command with `--storage` set (a journal
file by default), `--workers 1`, and its share of the CPU threads; with
several GPUs, child i sees only GPU i mod n.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence

from ablate.store import mask_password


def worker_env(i: int, n: int, cpus: int, gpus: int) -> dict[str, str]:
    """Environment of worker i of n: a share of the threads, one GPU when there are GPUs."""
    env = dict(os.environ)
    threads = str(max(1, cpus // n))
    env.update(OMP_NUM_THREADS=threads, MKL_NUM_THREADS=threads, ABLATE_WORKER_INDEX=str(i))
    if gpus:
        env["CUDA_VISIBLE_DEVICES"] = str(i % gpus)
    return env


def launch(argv: Sequence[str], n: int, storage: str) -> int:
    """Run n copies of `ablate <argv>` with --storage and wait; return the worst exit code."""
    import torch

    from ablate.spaces import check_workers

    check_workers(n)  # `ablate run` checked it already; no caller may fork more

    cpus = os.cpu_count() or 1
    gpus = torch.cuda.device_count()
    threads = max(1, cpus // n)
    cmd = [
        sys.executable,
        "-m",
        "ablate.cli",
        *argv,
        "--storage",
        storage,
        "--workers",
        "1",
        "--set",
        f"train.threads={threads}",
    ]
    print(
        f"Starting {n} workers on {mask_password(storage)} ({threads} CPU thread(s) each"
        + (f", {gpus} GPU(s)" if gpus else "")
        + ")."
    )
    procs = [
        subprocess.Popen(
            cmd,
            env={**worker_env(i, n, cpus, gpus), "PYTHONUNBUFFERED": "1"},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for i in range(n)
    ]
    copiers = [
        threading.Thread(target=_prefix_lines, args=(p, f"[w{i}] "), daemon=True)
        for i, p in enumerate(procs)
    ]
    for t in copiers:
        t.start()
    try:
        codes = [p.wait() for p in procs]
        for t in copiers:
            t.join(timeout=5)
    except KeyboardInterrupt:
        for p in procs:
            p.send_signal(signal.SIGINT)
        for p in procs:
            p.wait()
        raise
    return max(codes)


def _prefix_lines(proc: subprocess.Popen[str], prefix: str) -> None:
    """Copy a worker's output to ours line by line, labelled, so N workers stay readable."""
    assert proc.stdout is not None
    for line in proc.stdout:
        sys.stdout.write(prefix + line)
        sys.stdout.flush()


def strip_options(argv: Sequence[str], names: Sequence[str]) -> list[str]:
    """argv without the given options and their values (`--opt V` or `--opt=V`)."""
    out: list[str] = []
    skip = False
    for a in argv:
        if skip:
            skip = False
            continue
        if a in names:
            skip = True
            continue
        if any(a.startswith(n + "=") for n in names):
            continue
        out.append(a)
    return out
