"""One line that says why a run failed, with what to do about it where we know."""

from __future__ import annotations

import errno

from ablate.spaces import RunConfig


def describe_failure(error: BaseException, cfg: RunConfig) -> str:
    """The reason recorded on a failed run (the fail-reason tag, `schema.FAIL_REASON`) and printed."""
    import torch

    if isinstance(error, torch.OutOfMemoryError):
        batch = cfg.train.batch_size
        return (
            f"out of GPU memory at train.batch_size={batch}: try "
            f"--set train.batch_size={max(1, batch // 2)}, a smaller model.width, or "
            f"--accelerator cpu ({str(error).splitlines()[0] if str(error) else 'no detail'})"
        )
    if isinstance(error, OSError) and error.errno == errno.ENOSPC:
        where = f" while writing {error.filename}" if error.filename else ""
        return (
            f"disk full{where} (OSError: {error.strerror}): free space where the tracking "
            "store keeps artifacts (./mlruns by default), then run the same command again"
        )
    return f"{type(error).__name__}: {error}"


def release_accelerator_memory() -> None:
    """After an out-of-memory error: give the cached blocks back, so the next point starts clean."""
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()
