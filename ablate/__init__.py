"""ablate: grid and Optuna ablations of CIFAR-10 CNNs, tracked in MLflow, explained with Captum."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ablate.report import Sweep as Sweep
    from ablate.report import load_sweep as load_sweep
    from ablate.store import load_run as load_run

__all__ = ["Sweep", "load_run", "load_sweep"]


def __getattr__(name: str) -> Any:
    # lazy: `import ablate` must stay cheap (no torch, no mlflow) for the CLI's --help
    if name == "load_run":
        from ablate.store import load_run

        return load_run
    if name in ("load_sweep", "Sweep"):
        from ablate import report

        return getattr(report, name)
    raise AttributeError(name)
