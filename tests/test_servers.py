"""Tests of the real-server fixtures: PostgreSQL for Optuna, an MLflow tracking server."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import optuna
import pytest
import sqlalchemy as sa
from mlflow.tracking import MlflowClient
from servers import (
    MlflowServer,
    ServerError,
    find_pg_bindir,
    fresh_db,
    port_open,
    process_group_rss,
    start_mlflow_server,
)

# --------------------------------------------------------------------------- PostgreSQL


def test_missing_postgres_fails_loudly(tmp_path: Path) -> None:
    with pytest.raises(ServerError, match=r"bash \.ci/postgres\.sh"):
        find_pg_bindir(path=str(tmp_path), pattern=str(tmp_path / "none" / "*" / "bin"))


def test_postgres_loopback_only(postgres_url: str) -> None:
    engine = sa.create_engine(postgres_url, poolclass=sa.NullPool)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT current_database()")).scalar() == "ablate"
        assert conn.execute(sa.text("SHOW listen_addresses")).scalar() == "127.0.0.1"
    engine.dispose()


def _add_trial(storage: optuna.storages.RDBStorage, name: str, x: float) -> None:
    study = optuna.create_study(storage=storage, study_name=name, direction="minimize")
    study.add_trial(
        optuna.trial.create_trial(
            params={"x": x},
            distributions={"x": optuna.distributions.FloatDistribution(-10, 10)},
            value=x * x,
        )
    )


def test_optuna_rdb_roundtrip(postgres_db_url: str) -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    writer = optuna.storages.RDBStorage(postgres_db_url)
    _add_trial(writer, "roundtrip", 3.0)
    reader = optuna.storages.RDBStorage(postgres_db_url)
    study = optuna.load_study(study_name="roundtrip", storage=reader)
    [trial] = study.trials
    assert trial.state == optuna.trial.TrialState.COMPLETE
    assert trial.params == {"x": 3.0}
    assert trial.value == pytest.approx(9.0)
    for storage in (writer, reader):
        storage.engine.dispose()


def test_fresh_db_isolates_studies(postgres_url: str) -> None:
    url_a = fresh_db(postgres_url, "iso_a")
    url_b = fresh_db(postgres_url, "iso_b")
    storage_a = optuna.storages.RDBStorage(url_a)
    _add_trial(storage_a, "only_in_a", 1.0)
    storage_b = optuna.storages.RDBStorage(url_b)
    assert [s.study_name for s in optuna.get_all_study_summaries(storage_a)] == ["only_in_a"]
    assert optuna.get_all_study_summaries(storage_b) == []
    storage_b.engine.dispose()
    # Re-creating a database empties it, even while storage_a's pool holds a connection.
    assert fresh_db(postgres_url, "iso_a") == url_a
    storage_a.engine.dispose()
    again = optuna.storages.RDBStorage(url_a)
    assert optuna.get_all_study_summaries(again) == []
    again.engine.dispose()


# --------------------------------------------------------------------------- MLflow


def test_mlflow_server_roundtrip(mlflow_server_info: MlflowServer, tmp_path: Path) -> None:
    server = mlflow_server_info
    client = MlflowClient(server.url)
    exp_id = client.create_experiment("servers-roundtrip")
    artifact_root = client.get_experiment(exp_id).artifact_location
    assert artifact_root.startswith("mlflow-artifacts:"), artifact_root

    run = client.create_run(exp_id)
    run_id = run.info.run_id
    client.log_metric(run_id, "val_acc", 0.5, step=1)
    note = tmp_path / "note.txt"
    note.write_text("hello from the test\n")
    client.log_artifact(run_id, str(note), artifact_path="notes")
    client.set_terminated(run_id)

    fetched = client.get_run(run_id)
    assert fetched.data.metrics == {"val_acc": 0.5}
    assert fetched.info.status == "FINISHED"
    assert [a.path for a in client.list_artifacts(run_id, "notes")] == ["notes/note.txt"]
    local = client.download_artifacts(run_id, "notes/note.txt", str(tmp_path / "dl"))
    assert Path(local).read_text() == "hello from the test\n"
    # Uploaded through the server, so it lands in the server's artifacts dir.
    stored = list(server.artifacts_dir.rglob("note.txt"))
    assert len(stored) == 1 and run_id in stored[0].parts


def test_fresh_mlflow_server_stops_cleanly(
    mlflow_server_factory: Callable[[], MlflowServer], mlflow_server_info: MlflowServer
) -> None:
    server = mlflow_server_factory()
    assert server.url != mlflow_server_info.url
    assert MlflowClient(server.url).search_experiments()  # only its own Default experiment
    server.stop()
    assert server.process.returncode is not None
    deadline = time.monotonic() + 5
    while process_group_rss(server.process.pid)[1] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert process_group_rss(server.process.pid)[1] == 0, "a worker outlived the server"
    assert not port_open(server.port)


def test_mlflow_startup_failure_shows_log(tmp_path: Path) -> None:
    # Too short a timeout: the server is killed mid-start and the log tail is reported.
    t0 = time.monotonic()
    with pytest.raises(ServerError) as info:
        start_mlflow_server(tmp_path, timeout=0.5)
    message = str(info.value)
    assert "did not answer" in message
    assert "mlflow-server.log (tail)" in message
    assert "--artifacts-destination" in message  # the command line, logged first
    assert time.monotonic() - t0 < 10
