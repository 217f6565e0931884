"""Rebuild a trained model from any run in the tracking store."""

from __future__ import annotations

import os
from typing import Any

from torch import nn

from ablate.errors import AblateError
from ablate.spaces import RunConfig
from ablate.store.tracking import Tracker, resolve_tracking_uri


def load_run(run_id: str, tracking_uri: str | None = None) -> tuple[nn.Module, RunConfig]:
    """The model (eval mode, CPU) and resolved config of a logged run.

    run_id: the whole id or a unique prefix of it (at least 4 characters; the sweep's
    table prints 12). Needs nothing but the run's own checkpoint artifact, which carries
    the config. Reads only: a store that is not there is an error, never created.
    tracking_uri: default $MLFLOW_TRACKING_URI, else sqlite:///mlflow.db in this folder.
    """
    return model_from_checkpoint(run_checkpoint(run_id, tracking_uri)[1])


def run_checkpoint(run_id: str, tracking_uri: str | None = None) -> tuple[str, dict[str, Any]]:
    """(full run id, slim checkpoint) of the run `run_id` names (a unique prefix will do),
    read without creating a store or printing MLflow's download bar."""
    tracker = Tracker.reading(resolve_tracking_uri(tracking_uri, os.environ))
    full = tracker.find_run_id(run_id)
    return full, load_checkpoint_or_explain(tracker, full)


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
