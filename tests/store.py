"""Reading a tracking store in tests: a sweep's parent run and its children.

The layout is `ablate.store.tracking`'s: the parent has the sweep role tag, each child
`mlflow.parentRunId=<parent>`; the names come from `ablate.store.schema`. Tests use these
helpers instead of tag literals.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from mlflow.entities import Run
from mlflow.tracking import MlflowClient
from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID

from ablate.store import RunState, schema


def client_of(uri_or_client: str | MlflowClient) -> MlflowClient:
    if isinstance(uri_or_client, MlflowClient):
        return uri_or_client
    return MlflowClient(uri_or_client)


def sweep_runs(store: str | MlflowClient, experiment: str) -> tuple[list[Run], list[Run]]:
    """(parents, children) of every sweep of `experiment`; ([], []) when it does not exist."""
    client = client_of(store)
    exp = client.get_experiment_by_name(experiment)
    if exp is None:
        return [], []
    runs = client.search_runs([exp.experiment_id], max_results=5000)
    parents = [r for r in runs if r.data.tags.get(schema.ROLE) == schema.ROLE_SWEEP]
    children = [r for r in runs if MLFLOW_PARENT_RUN_ID in r.data.tags]
    return parents, children


def the_sweep(store: str | MlflowClient, experiment: str) -> tuple[Run, list[Run]]:
    """The one parent of `experiment` (asserted) and its children."""
    parents, children = sweep_runs(store, experiment)
    assert len(parents) == 1, [p.info.run_id for p in parents]
    pid = parents[0].info.run_id
    return parents[0], [c for c in children if c.data.tags[MLFLOW_PARENT_RUN_ID] == pid]


def by_name(children: list[Run]) -> dict[str, Run]:
    return {r.info.run_name: r for r in children}


def state(run: Run) -> str:
    """The state tag ("" when missing)."""
    return run.data.tags.get(schema.STATE, "")


def finished_keys(children: list[Run]) -> Counter[str]:
    """Run key -> how many children finished it."""
    return Counter(
        c.data.tags[schema.RUN_KEY]
        for c in children
        if c.info.status == "FINISHED" and state(c) == RunState.FINISHED
    )


def parent_of(run: Run) -> Any:
    return run.data.tags.get(MLFLOW_PARENT_RUN_ID)
