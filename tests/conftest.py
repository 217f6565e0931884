"""Shared pytest fixtures: real PostgreSQL and MLflow servers on 127.0.0.1 (see servers.py)."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from servers import (
    MlflowServer,
    PostgresServer,
    ServerError,
    fresh_db,
    postgres_running,
    start_mlflow_server,
)

# MLflow otherwise writes ~/.config/mlflow/telemetry.json from tests.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")


# --------------------------------------------------------------------------- PostgreSQL


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A private throwaway PostgreSQL cluster for the whole session (fails, never skips)."""
    try:
        with postgres_running() as server:
            yield server
    except ServerError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def postgres_url(postgres_server: PostgresServer) -> str:
    """SQLAlchemy URL ``postgresql+psycopg2://postgres@127.0.0.1:PORT/ablate``."""
    return postgres_server.url


@pytest.fixture
def postgres_db_url(postgres_url: str, request: pytest.FixtureRequest) -> str:
    """URL of a fresh, empty database for this test only (no shared Optuna studies)."""
    stem = re.sub(r"[^A-Za-z0-9_]", "_", request.node.name)[:40]
    return fresh_db(postgres_url, f"t_{stem}_{uuid.uuid4().hex[:8]}")


# --------------------------------------------------------------------------- MLflow


def _start_mlflow(root: Path) -> MlflowServer:
    try:
        return start_mlflow_server(root)
    except ServerError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def mlflow_server_info(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    """One MLflow tracking server for the session (sqlite store, proxied artifacts)."""
    server = _start_mlflow(tmp_path_factory.mktemp("mlflow-server"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def mlflow_server(mlflow_server_info: MlflowServer) -> str:
    """Tracking URL ``http://127.0.0.1:PORT`` of the session's MLflow server."""
    return mlflow_server_info.url


@pytest.fixture
def mlflow_server_factory(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[[], MlflowServer]]:
    """Start fresh MLflow servers on demand (about 5 s each); all stop after the test."""
    started: list[MlflowServer] = []

    def start() -> MlflowServer:
        server = _start_mlflow(tmp_path_factory.mktemp("mlflow-fresh"))
        started.append(server)
        return server

    try:
        yield start
    finally:
        for server in started:
            server.stop()
