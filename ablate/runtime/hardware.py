"""What a run ran on, recorded with every run so that speeds and accuracies are compared
honestly: CPU kernels (AVX2 vs AVX-512, bf16) change both on these machines."""

from __future__ import annotations

import os
import platform
from functools import cache
from pathlib import Path

# the CPU flags that change speed or rounding of torch's CPU kernels
FLAGS_OF_INTEREST = ("avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16")


@cache
def _cpuinfo() -> dict[str, str]:
    try:
        text = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return {}
    info: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            break  # the first processor is enough
        key, _, value = line.partition(":")
        info[key.strip()] = value.strip()
    return info


def cpu_model() -> str:
    return _cpuinfo().get("model name") or platform.processor() or platform.machine()


def cpu_flags() -> list[str]:
    """The flags of interest this CPU has, in FLAGS_OF_INTEREST order."""
    have = set(_cpuinfo().get("flags", "").split())
    return [f for f in FLAGS_OF_INTEREST if f in have]


def describe() -> str:
    """One line, e.g. 'AMD EPYC, 2 cores, flags avx2 fma avx512f avx512_bf16'."""
    flags = " ".join(cpu_flags()) or "none of " + "/".join(FLAGS_OF_INTEREST)
    return f"{cpu_model()}, {os.cpu_count()} cores, flags {flags}"


def accelerator(requested: str) -> str:
    """The device a run with train.accelerator=`requested` trains on, e.g. 'cpu' or
    'cuda (NVIDIA H200)'. Imports torch; call only where training happens anyway."""
    import torch

    if requested in ("auto", "gpu", "cuda") and torch.cuda.is_available():
        return f"cuda ({torch.cuda.get_device_name(0)})"
    if requested == "mps":
        return "mps"
    return f"cpu ({torch.get_num_threads()} threads)"
