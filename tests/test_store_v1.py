"""The report's numbers did not change with the redesign (issue 13).

`fixtures/store_v1/` is a real 2x2x3 store made by the code before the change, and
`fixtures/store_v1/expected/` the `runs.csv` and `effects.csv` that `ablate report`
wrote from it then. The same command on a copy of the store must write the same
rows and columns, every number equal to 1e-9.

`effects.csv` was written again once since (issue 15), and only these changed: six
columns were added (margin, p_equiv, p_equiv_holm, lo_equiv, hi_equiv, seeds_needed),
and the four parameter and FLOP rows became exact differences (no interval, p or
verdict). Every other cell of the old file was equal to 1e-9.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from ablate.cli import app

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "store_v1"
MADE_IN = "/tmp/ablate-store-v1"  # where the store was made: MLflow keeps absolute paths
pytestmark = pytest.mark.e2e


def copy_store(dst: Path) -> str:
    shutil.copytree(FIXTURE / "mlruns", dst / "mlruns")
    shutil.copy(FIXTURE / "mlflow.db", dst / "mlflow.db")
    with sqlite3.connect(dst / "mlflow.db") as db:
        for table, column in (("experiments", "artifact_location"), ("runs", "artifact_uri")):
            sql = f"UPDATE {table} SET {column} = replace({column}, ?, ?)"
            db.execute(sql, (MADE_IN, str(dst)))
    return f"sqlite:///{dst / 'mlflow.db'}"


def assert_same_table(got: pd.DataFrame, want: pd.DataFrame, name: str) -> None:
    assert list(got.columns) == list(want.columns), name
    assert len(got) == len(want), name
    for col in want.columns:
        a, b = got[col], want[col]
        if pd.api.types.is_numeric_dtype(b) and pd.api.types.is_numeric_dtype(a):
            np.testing.assert_allclose(
                a.to_numpy(float), b.to_numpy(float), rtol=0, atol=1e-9, err_msg=f"{name}.{col}"
            )
        else:
            assert a.fillna("").astype(str).tolist() == b.fillna("").astype(str).tolist(), (
                f"{name}.{col}"
            )


def test_the_report_writes_the_same_numbers_on_a_store_from_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    uri = copy_store(tmp_path)
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "reports" / "store_v1.html"
    result = CliRunner().invoke(
        app, ["report", "store_v1", "--tracking-uri", uri, "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    for table in ("runs", "effects"):
        got = pd.read_csv(out.with_name(f"store_v1.{table}.csv"))
        want = pd.read_csv(FIXTURE / "expected" / f"store_v1.{table}.csv")
        assert_same_table(got, want, table)
    assert len(pd.read_csv(FIXTURE / "expected" / "store_v1.runs.csv")) == 12
