"""The one module that works below Optuna's Study and Trial API.

The exactly-once queue needs per-trial writes that `Study` does not offer (an atomic
WAITING -> RUNNING claim, a heartbeat attribute on a running trial). Optuna's objects
keep their storage and the trial's storage id private (`study._storage`,
`trial._trial_id`), so this module never reads them: it keeps the storage it opened
and looks trial ids up by number through `BaseStorage`, whose methods are documented
(https://optuna.readthedocs.io/en/stable/reference/generated/optuna.storages.BaseStorage.html).
`tests/test_optuna_adapter.py` fails loudly if one of them changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import optuna
from optuna.storages import BaseStorage
from optuna.trial import FrozenTrial, TrialState

# the BaseStorage methods this module (and ablate.ledger's lock) relies on
STORAGE_METHODS = (
    "create_new_study",
    "delete_study",
    "get_study_id_from_name",
    "get_study_user_attrs",
    "set_study_user_attr",
    "get_trial_id_from_study_id_trial_number",
    "get_trial",
    "set_trial_state_values",
    "set_trial_user_attr",
)


@dataclass(frozen=True)
class StudyHandle:
    """A study together with the storage it lives in, for per-trial writes."""

    storage: BaseStorage
    study: optuna.Study
    study_id: int

    @classmethod
    def open(
        cls, storage: BaseStorage, name: str, direction: str = "maximize", **kwargs: Any
    ) -> StudyHandle:
        """Create the study, or load it if it exists (any worker may come first)."""
        study = optuna.create_study(
            storage=storage,
            study_name=name,
            direction=direction,  # type: ignore[arg-type]
            load_if_exists=True,
            **kwargs,
        )
        return cls(storage, study, storage.get_study_id_from_name(name))

    @property
    def name(self) -> str:
        return self.study.study_name

    def trial_id(self, number: int) -> int:
        return self.storage.get_trial_id_from_study_id_trial_number(self.study_id, number)

    def get_trial(self, number: int) -> FrozenTrial:
        return self.storage.get_trial(self.trial_id(number))

    def set_state(
        self, number: int, state: TrialState, values: Sequence[float] | None = None
    ) -> bool:
        """Atomic in every storage: True only for the one caller that changed the state.
        Raises UpdateFinishedTrialError when the trial has already finished."""
        return self.storage.set_trial_state_values(self.trial_id(number), state, values)

    def set_user_attr(self, number: int, key: str, value: Any) -> None:
        self.storage.set_trial_user_attr(self.trial_id(number), key, value)
