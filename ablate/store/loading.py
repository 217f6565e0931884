"""Rebuild a trained model from any run in the tracking store."""

from __future__ import annotations

import os
from typing import Any

from torch import nn

from ablate.errors import AblateError
from ablate.spaces import RunConfig
from ablate.store.access import mask_password
from ablate.store.tracking import Tracker, resolve_tracking_uri


def load_run(run_id: str, tracking_uri: str | None = None) -> tuple[nn.Module, RunConfig]:
    """The model (eval mode, CPU) and resolved config of a logged run.

    Needs nothing but the run's own checkpoint artifact, which carries the config.
    tracking_uri: default $MLFLOW_TRACKING_URI, else sqlite:///mlflow.db in this folder.
    """
    tracking_uri = resolve_tracking_uri(tracking_uri, os.environ)
    tracker = Tracker(tracking_uri)
    if not tracker.run_exists(run_id):
        raise AblateError(f"no run {run_id!r} in the tracking store {mask_password(tracking_uri)}.")
    return model_from_checkpoint(load_checkpoint_or_explain(tracker, run_id))


def load_checkpoint_or_explain(tracker: Tracker, run_id: str) -> dict[str, Any]:
    """The run's slim checkpoint, or an AblateError saying why there is none."""
    try:
        return tracker.load_checkpoint(run_id)
    except AblateError:
        raise
    except Exception as e:  # MLflow raises several types for a missing artifact
        raise AblateError(
            f"run {run_id} has no checkpoint (checkpoint/model.pt): it was skipped, failed or is "
            f"still running ({type(e).__name__})."
        ) from None


def model_from_checkpoint(ckpt: dict[str, Any]) -> tuple[nn.Module, RunConfig]:
    """Rebuild from a slim checkpoint {config, state_dict, classes}: eval mode, CPU."""
    from lightning_modules.models import build_model

    try:
        cfg = RunConfig.model_validate(ckpt["config"])
        net = build_model(cfg.model)
        net.load_state_dict(ckpt["state_dict"])
    except (KeyError, TypeError, ValueError, RuntimeError) as e:  # pydantic's is a ValueError
        raise AblateError(
            f"the checkpoint does not hold a model ablate can rebuild ({type(e).__name__}: "
            f"{str(e).splitlines()[0][:200]})."
        ) from None
    net.eval()
    return net, cfg
