"""Shared pytest fixtures: real PostgreSQL and MLflow servers on 127.0.0.1 (see servers.py),
and the cost markers.

Every test carries exactly one of the markers `unit` (no training, no servers: the fast
lane, `pytest -m unit`), `e2e` (trains on real images or runs the CLI in subprocesses)
and `servers` (starts PostgreSQL or an MLflow server). A test or module marked `e2e` or
`servers` keeps its mark; whole files that train or start servers are listed below;
everything else is `unit`.
"""

from __future__ import annotations

import os
import re
import signal
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

from ablate.runtime.collector import fewer_collections

# The test process holds torch, Lightning and MLflow as `ablate` does: the same collector
# thresholds (ablate.runtime.collector; a fifth of the in-process report tests' time was
# full collections).
fewer_collections()

# MLflow otherwise writes ~/.config/mlflow/telemetry.json from tests.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

# A runner started with `&` by a non-interactive shell inherits SIGINT ignored, and so
# would every sweep the Ctrl-C tests start: give this process (and, through exec, its
# children) Python's usual Ctrl-C back, as a terminal would.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

COST_MARKERS = ("unit", "e2e", "servers")
SERVERS_FILES = {"test_servers.py", "test_scaleout.py"}
E2E_FILES = {
    "test_e2e.py",
    "test_sweep_faults.py",
    "test_explain_known_answer.py",
    "test_concurrency.py",
    "test_store_v0.py",  # resumes a real store through the CLI (kept unchanged since issue 8)
}


# `bash scripts/test` runs the suite on pytest-xdist workers with `--dist loadgroup`. Each
# file is one group, so a file's tests share one worker and its module fixtures (a trained
# sweep, a built report) are made once; the files that drive the one SLURM cluster of
# `.ci/slurm.sh` share a group, so their jobs never queue behind each other's.
SHARED_GROUPS = {"test_slurm.py": "slurm", "test_readme_slurm.py": "slurm"}


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook, which reads the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        name = Path(str(item.fspath)).name
        if item.get_closest_marker("xdist_group") is None:
            item.add_marker(pytest.mark.xdist_group(SHARED_GROUPS.get(name, name)))
        own = [m.name for m in item.iter_markers() if m.name in COST_MARKERS]
        if len(set(own)) > 1:
            raise pytest.UsageError(f"{item.nodeid}: more than one of {COST_MARKERS}: {own}")
        if own:
            continue
        if name in SERVERS_FILES:
            item.add_marker(pytest.mark.servers)
        elif name in E2E_FILES:
            item.add_marker(pytest.mark.e2e)
        else:
            item.add_marker(pytest.mark.unit)


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
    """SQLAlchemy URL ``postgresql://postgres@127.0.0.1:PORT/ablate`` (psycopg 3, the README's spelling)."""
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
