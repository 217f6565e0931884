"""The one place below Optuna's public Study/Trial API: fails loudly if Optuna changes it."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import optuna
import pytest
from optuna.storages import BaseStorage, JournalStorage, RDBStorage
from optuna.trial import TrialState

from ablate.schedulers import STORAGE_METHODS, StudyHandle, ledger

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", STORAGE_METHODS)
def test_storage_methods_exist_in_every_storage_we_open(name: str) -> None:
    for cls in (BaseStorage, JournalStorage, RDBStorage):
        assert callable(getattr(cls, name, None)), f"{cls.__name__}.{name} is gone"
    assert not getattr(getattr(JournalStorage, name), "__isabstractmethod__", False)
    assert not getattr(getattr(RDBStorage, name), "__isabstractmethod__", False)


def test_the_signatures_we_call() -> None:
    params = {
        n: list(inspect.signature(getattr(BaseStorage, n)).parameters) for n in STORAGE_METHODS
    }
    assert params["get_trial_id_from_study_id_trial_number"] == ["self", "study_id", "trial_number"]
    assert params["set_trial_state_values"] == ["self", "trial_id", "state", "values"]
    assert params["set_trial_user_attr"] == ["self", "trial_id", "key", "value"]


def test_claim_is_atomic_through_the_handle(tmp_path: Path) -> None:
    storage = ledger.open_storage(f"journal:{tmp_path / 'j.journal'}")
    study = StudyHandle.open(storage, "s")
    study.study.enqueue_trial({}, user_attrs={"k": 1})
    [waiting] = study.study.get_trials(states=(TrialState.WAITING,))
    assert study.set_state(waiting.number, TrialState.RUNNING) is True
    assert study.set_state(waiting.number, TrialState.RUNNING) is False  # a second claimer loses
    study.set_user_attr(waiting.number, "beat", 1.5)
    assert study.get_trial(waiting.number).user_attrs == {"k": 1, "beat": 1.5}
    assert study.set_state(waiting.number, TrialState.COMPLETE, [1.0]) is True
    with pytest.raises(optuna.exceptions.UpdateFinishedTrialError):
        study.set_state(waiting.number, TrialState.FAIL)


def test_no_private_optuna_attribute_outside_the_adapter() -> None:
    private = re.compile(r"\._storage\b|\._trial_id\b")
    offenders = [
        str(p.relative_to(ROOT))
        for pkg in ("ablate", "explain", "lightning_modules")
        for p in (ROOT / pkg).rglob("*.py")
        if p.name != "optuna_adapter.py" and private.search(p.read_text())
    ]
    assert offenders == []
