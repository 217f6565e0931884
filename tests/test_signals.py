"""Ctrl-C and SIGTERM never cut a store write short: they are raised right after it."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from ablate.runtime import signals
from ablate.store import Tracker


def test_a_signal_during_a_deferred_block_is_raised_after_it() -> None:
    done = []
    with pytest.raises(KeyboardInterrupt), signals.deferred():
        os.kill(os.getpid(), signal.SIGINT)
        done.append("rest of the write")
    assert done == ["rest of the write"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_sigterm_in_a_sweep_is_deferred_then_raised_as_interrupt() -> None:
    done = []
    with signals.sigterm_as_interrupt(), pytest.raises(KeyboardInterrupt), signals.deferred():
        os.kill(os.getpid(), signal.SIGTERM)
        done.append("rest of the write")
    assert done == ["rest of the write"]


def test_no_signal_no_change() -> None:
    with signals.deferred():
        pass
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_ctrl_c_inside_a_tag_write_still_lets_the_killed_state_be_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tracker = Tracker(f"sqlite:///{tmp_path / 'mlflow.db'}")
    exp = tracker.experiment_id("e")
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracker.uri)
    run_id = client.create_run(exp).info.run_id
    calls = []

    def log_batch_then_interrupt(self: object, *args: object, **kwargs: object) -> None:
        calls.append(kwargs)
        os.kill(os.getpid(), signal.SIGINT)  # arrives in the middle of the write
        original(self, *args, **kwargs)

    original = MlflowClient.log_batch
    monkeypatch.setattr(MlflowClient, "log_batch", log_batch_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        tracker.set_tags(run_id, {"reason": "interrupted"})
    monkeypatch.setattr(MlflowClient, "log_batch", original)
    assert calls
    assert client.get_run(run_id).data.tags["reason"] == "interrupted"
    client.set_terminated(run_id, "KILLED")  # the store is not left locked
    assert client.get_run(run_id).info.status == "KILLED"
