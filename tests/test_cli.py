"""The CLI through Typer's CliRunner: dry runs, models, and user errors (exit 2, no traceback).

Tests that run a real command against a store, data or a new Python process are `e2e`;
the rest are `unit` (tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from ablate.cli import app

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def assert_user_error(code: int, out: str, *needles: str) -> None:
    assert code == 2, out
    assert "Traceback" not in out
    assert out.strip().startswith("error:")
    for n in needles:
        assert n in out, out


def test_dry_run_full_lists_every_point_and_marks_invalid() -> None:
    code, out = invoke("run", str(ROOT / "search_spaces/full.yaml"), "--dry-run")
    assert code == 0, out
    assert "108 runs (48 invalid)" in out
    assert out.count("INVALID") == 48
    assert "#14 depth=3 head=gap kernel_size=3 stride=2 seed=0: the feature map is 1x1" in out


def test_dry_run_applies_overrides() -> None:
    code, out = invoke(
        "run",
        str(ROOT / "search_spaces/strides.yaml"),
        "--dry-run",
        "--set",
        "model.stride=2",
        "--max-epochs",
        "1",
    )
    assert code == 0, out
    assert "1 runs (0 invalid)" in out


def test_models_lists_presets() -> None:
    code, out = invoke("models")
    assert code == 0
    for name in ("keras_cnn", "gap_cnn", "vgg", "seed000", "seed001", "seed003"):
        assert name in out
    assert "60,458" in out
    rows = [ln.split("│")[1:3] for ln in out.splitlines() if ln.startswith("│")]
    names = [a.strip() for a, _ in rows if a.strip()]
    assert names.index("resnet20") < names.index("resnet56") < names.index("resnet110"), names
    old = dict((a.strip(), b.strip()) for a, b in rows if a.strip())
    assert old["keras_cnn"] == "seed000" and old["resnet20"] == "", old  # no name is its own alias


def test_bad_yaml(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("grid:\n  model.stride: [1, 2\n")
    assert_user_error(*invoke("run", str(bad), "--dry-run"), str(bad), "not valid YAML", "line")


def test_unknown_key(tmp_path: Path) -> None:
    bad = tmp_path / "typo.yaml"
    bad.write_text("base:\n  train:\n    learning_rate: 0.1\n")
    assert_user_error(
        *invoke("run", str(bad), "--dry-run"), "base.train.learning_rate", "Allowed keys"
    )


def test_bad_set_value() -> None:
    code, out = invoke(
        "run", str(ROOT / "search_spaces/smoke.yaml"), "--dry-run", "--set", "model.head=dense"
    )
    assert_user_error(code, out, "model.head", "'dense'", "'gap'")


def test_missing_space_file(tmp_path: Path) -> None:
    assert_user_error(*invoke("run", str(tmp_path / "none.yaml")), "no such search-space file")


@pytest.mark.e2e  # the real run command up to its data source
def test_missing_data_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    missing = tmp_path / "nowhere" / "cifar.zip"
    code, out = invoke(
        "run",
        str(ROOT / "search_spaces/smoke.yaml"),
        "--data",
        str(missing),
        "--set",
        f"data.cache_dir={tmp_path}",
    )
    assert_user_error(code, out, str(missing), "--data", "ABLATE_DATA")
    assert not (tmp_path / "mlflow.db").exists()  # nothing was started for a sweep that cannot run


@pytest.mark.e2e  # the real explain command on a real MLflow store
def test_explain_unknown_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ablate.store import Tracker

    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path}/m.db"
    code, out = invoke("explain", "0123456789abcdef", "--tracking-uri", uri)
    assert_user_error(code, out, f"no tracking store at {tmp_path}/m.db")
    assert not (tmp_path / "m.db").exists()  # reading creates no store
    Tracker(uri)  # an empty store
    code, out = invoke("explain", "0123456789abcdef", "--tracking-uri", uri)
    assert_user_error(code, out, "no run '0123456789abcdef'")


def test_download_failure_is_one_paragraph_and_records_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from urllib.error import URLError

    import torchvision.datasets.cifar as tv_cifar

    def offline(*args: object, **kwargs: object) -> None:
        raise URLError("no network")

    monkeypatch.setattr(
        tv_cifar, "download_and_extract_archive", offline
    )  # never download in tests
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ABLATE_DATA", raising=False)
    code, out = invoke(
        "run", str(ROOT / "search_spaces/smoke.yaml"), "--set", f"data.cache_dir={tmp_path}"
    )
    assert_user_error(code, out, "torchvision", "--data", "data.source", "ABLATE_DATA")
    assert not (tmp_path / "mlflow.db").exists()


class FakeStore:
    """A tracking store that either lacks the run's maps.npz or cannot be reached."""

    def __init__(self, error: Exception | None = None) -> None:
        self.error = error

    def has_artifact(self, run_id: str, path: str) -> bool:
        if self.error is not None:
            raise self.error
        return False


def test_explain_tells_explanations_off_from_a_store_that_fails() -> None:
    """Only a missing maps.npz reads as "explanations were off"; a network or auth
    error says what it is."""
    from ablate.errors import AblateError
    from ablate.inspection.explain_run import probe_images
    from ablate.spaces import RunConfig

    with pytest.raises(AblateError, match="explanations were off"):
        probe_images(FakeStore(), "r1", RunConfig(), None)  # type: ignore[arg-type]
    with pytest.raises(ConnectionRefusedError, match="401 from the proxy"):
        probe_images(
            FakeStore(ConnectionRefusedError("401 from the proxy")), "r1", RunConfig(), None
        )  # type: ignore[arg-type]


HEAVY = ("torch", "lightning", "mlflow", "optuna", "captum")


@pytest.mark.e2e  # starts Python three times: the real `ablate` process
@pytest.mark.parametrize(
    "args",
    [["--help"], ["run", "search_spaces/full.yaml", "--dry-run"], ["run", "--help"]],
    ids=["help", "dry-run", "run-help"],
)
def test_fast_commands_import_no_heavy_library(args: list[str]) -> None:
    """--help and the dry run stay fast: they import neither torch nor Lightning (issue 8)."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from ablate.cli import app\n"
        "try:\n"
        f"    app({args!r})\n"
        "except SystemExit as e:\n"
        "    assert not e.code, e.code\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stdout[-500:]
