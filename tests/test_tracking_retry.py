"""A run's final state is not lost to a sqlite store briefly locked by another writer
(the heartbeat thread at the moment of Ctrl-C or SIGTERM)."""

from __future__ import annotations

import pytest
from mlflow.exceptions import MlflowException

from ablate.store.tracking import _retry_locked


def test_a_locked_store_is_tried_again_until_the_write_lands() -> None:
    calls = []

    def write() -> None:
        calls.append(1)
        if len(calls) < 3:
            raise MlflowException("(sqlite3.OperationalError) database is locked")

    _retry_locked(write, pause=0.0)
    assert len(calls) == 3


def test_other_errors_and_a_lock_that_never_lifts_are_raised() -> None:
    def broken() -> None:
        raise MlflowException("RESOURCE_DOES_NOT_EXIST: no such run")

    with pytest.raises(MlflowException, match="no such run"):
        _retry_locked(broken, pause=0.0)
    calls = []

    def locked() -> None:
        calls.append(1)
        raise MlflowException("database is locked")

    with pytest.raises(MlflowException, match="locked"):
        _retry_locked(locked, tries=4, pause=0.0)
    assert len(calls) == 4
