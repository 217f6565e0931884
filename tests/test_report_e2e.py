"""`ablate report` end to end on a small real sweep: `ablate run smoke.yaml --seeds 2`
(2 strides x 2 seeds on the committed CIFAR-10 slice) writes the report by itself;
the page, the CSVs and the parent's artifact are checked against MLflow directly."""

from __future__ import annotations

import json
import re
from pathlib import Path
from statistics import mean

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

from ablate.cli import app

ROOT = Path(__file__).resolve().parents[1]
SLICE = ROOT / "tests" / "data" / "cifar10-slice.zip"
SECTIONS = (
    "provenance",
    "design",
    "findings",
    "effects",
    "curves",
    "cost",
    "confusion",
    "gallery",
    "runs",
)
pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def sweep(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    work = tmp_path_factory.mktemp("report-e2e")
    mp = pytest.MonkeyPatch()
    mp.chdir(work)
    mp.delenv("MLFLOW_TRACKING_URI", raising=False)
    args = [
        "run",
        str(ROOT / "search_spaces" / "smoke.yaml"),
        "--data",
        str(SLICE),
        "--seeds",
        "2",
        "--set",
        f"data.cache_dir={work / 'cache'}",
    ]
    mp.setattr("sys.argv", ["ablate", *args])
    result = CliRunner().invoke(app, args)
    client = MlflowClient(f"sqlite:///{work / 'mlflow.db'}")
    yield {"work": work, "result": result, "client": client}
    mp.undo()


def _children(client: MlflowClient) -> tuple[str, list]:
    exp = client.get_experiment_by_name("smoke")
    assert exp is not None
    runs = client.search_runs([exp.experiment_id])
    parent = next(r for r in runs if r.data.tags.get("ablate.role") == "sweep")
    kids = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    return parent.info.run_id, kids


def test_run_writes_the_report_and_says_where(sweep: dict) -> None:
    result = sweep["result"]
    assert result.exit_code == 0, result.output
    assert "Report: reports/smoke.html" in result.output
    work = sweep["work"]
    for name in ("smoke.html", "smoke.runs.csv", "smoke.effects.csv"):
        assert (work / "reports" / name).stat().st_size > 0


def test_page_has_every_section_and_the_gallery_side_by_side(sweep: dict) -> None:
    html = (sweep["work"] / "reports" / "smoke.html").read_text()
    for section in SECTIONS:
        assert re.search(rf'id="{section}"', html), section
    # no request leaves the page: every image is inline
    assert not re.search(r'src="(?!data:)', html)
    # both strides appear as gallery columns, each stating its last feature map
    assert "stride=1" in html and "stride=2" in html
    assert re.search(r"\d+x\d+", html)
    assert len(html.encode()) < 5_000_000


def test_csvs_match_the_store(sweep: dict) -> None:
    _, kids = _children(sweep["client"])
    runs = pd.read_csv(sweep["work"] / "reports" / "smoke.runs.csv")
    assert sorted(runs["run_id"]) == sorted(r.info.run_id for r in kids)
    assert set(runs["state"]) == {"finished"}
    by_id = {r.info.run_id: r.data.metrics["test_acc"] for r in kids}
    for _, row in runs.iterrows():
        assert row["test_acc"] == pytest.approx(by_id[row["run_id"]])


def test_stride_effect_is_the_mean_paired_difference(sweep: dict) -> None:
    """Recompute the effect from MLflow by hand: pair stride 2 with stride 1 by seed."""
    _, kids = _children(sweep["client"])
    acc = {
        (r.data.params["model.stride"], r.data.params["seed"]): r.data.metrics["test_acc"]
        for r in kids
    }
    diffs = [100 * (acc[("2", s)] - acc[("1", s)]) for s in ("0", "1")]
    effects = pd.read_csv(sweep["work"] / "reports" / "smoke.effects.csv", dtype=str)
    row = effects[(effects["response"] == "test_acc") & (effects["factor"] == "model.stride")]
    assert len(row) == 1
    assert row["method"].iloc[0] == "paired"
    assert row["n"].iloc[0] == "2"
    assert float(row["estimate"].iloc[0]) == pytest.approx(mean(diffs))
    assert row["level"].iloc[0] == "2" and row["baseline"].iloc[0] == "1"


def test_report_is_logged_on_the_parent(sweep: dict) -> None:
    client = sweep["client"]
    parent, _ = _children(client)
    names = [a.path for a in client.list_artifacts(parent, "report")]
    assert names == ["report/smoke.html"]


def test_report_command_with_baseline_and_out(sweep: dict, tmp_path: Path) -> None:
    out = tmp_path / "mine.html"
    result = CliRunner().invoke(
        app, ["report", "smoke", "--out", str(out), "--baseline", "stride=2"]
    )
    assert result.exit_code == 0, result.output
    assert out.exists() and (tmp_path / "mine.effects.csv").exists()
    effects = pd.read_csv(tmp_path / "mine.effects.csv", dtype=str)
    row = effects[(effects["response"] == "test_acc") & (effects["factor"] == "model.stride")]
    assert row["level"].iloc[0] == "1" and row["baseline"].iloc[0] == "2"
    first = pd.read_csv(sweep["work"] / "reports" / "smoke.effects.csv")
    before = first[(first["response"] == "test_acc") & (first["factor"] == "model.stride")]
    assert float(row["estimate"].iloc[0]) == pytest.approx(-before["estimate"].iloc[0])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["report", "nosuch"], "unknown experiment 'nosuch'"),
        (["report", "smoke", "--baseline", "stride=7"], "is not one of its levels (1, 2)"),
        (["report", "smoke", "--baseline", "depth=2"], "unknown factor 'depth'"),
        (["report", "smoke", "--interaction", "stride"], "give two different factors"),
    ],
)
def test_bad_report_input_is_one_line_and_exit_2(
    sweep: dict, args: list[str], message: str
) -> None:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_no_store_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    result = CliRunner().invoke(app, ["report"])
    assert result.exit_code == 2
    assert "no tracking store" in result.output
    assert not (tmp_path / "mlflow.db").exists()  # nothing created by looking


def test_unreachable_server_is_a_clear_error() -> None:
    # port 9 (discard) on loopback: nothing listens, the connection is refused at once
    result = CliRunner().invoke(app, ["report", "--tracking-uri", "http://127.0.0.1:9"])
    assert result.exit_code == 2
    assert "cannot reach the tracking server http://127.0.0.1:9" in result.output


def test_sweep_with_no_finished_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One point invalid (a 1x1 map pooled again), the other crashes: no finished run.
    (A space whose every point is invalid is refused before it runs.)"""
    import lightning_modules.train as train_mod

    def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError("simulated crash")

    monkeypatch.setattr(train_mod, "fit_and_test", crash)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    space = tmp_path / "bad.yaml"
    space.write_text(
        json.dumps(
            {
                "experiment": "allbad",
                "base": {
                    "model": {"stride": 2},
                    "data": {"limit_train": 50, "limit_test": 20},
                    "train": {"max_epochs": 1},
                },
                "grid": {"model.depth": [2, 8]},
            }
        )
    )
    run = CliRunner().invoke(app, ["run", str(space), "--data", str(SLICE)])
    assert "no report: experiment 'allbad' has no finished run yet" in run.output
    result = CliRunner().invoke(app, ["report", "allbad"])
    assert result.exit_code == 2
    assert "has no finished run yet (2 runs: failed, skipped)" in result.output


def _through_csv(frame: pd.DataFrame) -> pd.DataFrame:
    """A frame as the CSV file holds it (types as read back)."""
    import io

    return pd.read_csv(io.StringIO(frame.to_csv(index=False)))


def test_load_sweep_gives_the_csvs_figures_and_page(sweep: dict, tmp_path: Path) -> None:
    """The notebook API is the report: same runs, same effects, the page's figures."""
    from matplotlib.figure import Figure

    import ablate

    uri = f"sqlite:///{sweep['work'] / 'mlflow.db'}"
    s = ablate.load_sweep("smoke", tracking_uri=uri)
    assert isinstance(s, ablate.Sweep) and s.experiment == "smoke"
    reports = sweep["work"] / "reports"
    pd.testing.assert_frame_equal(_through_csv(s.runs), pd.read_csv(reports / "smoke.runs.csv"))
    pd.testing.assert_frame_equal(
        _through_csv(s.effects()), pd.read_csv(reports / "smoke.effects.csv")
    )
    acc = s.effects(response="test accuracy")
    assert set(acc["response"]) == {"test_acc"}
    flipped = s.effects(baseline={"stride": "2"}, response="test_acc")
    before = s.effects(response="test_acc")
    assert flipped["estimate"].iloc[0] == pytest.approx(-before["estimate"].iloc[0])
    narrow = s.effects(margin=0.25, response="test_acc")
    assert set(narrow["margin"]) == {0.25} and set(before["margin"]) == {1.0}
    assert s.findings() and all(isinstance(f, str) for f in s.findings())
    assert "effect-test-acc-stride" in s.figure_names
    assert isinstance(s.figure("effect-test-acc-stride"), Figure)
    with pytest.raises(KeyError, match="this sweep has: effect-"):
        s.figure("nosuch")
    page = s.write_report(tmp_path / "nb.html")
    assert page.exists() and (tmp_path / "nb.effects.csv").exists()


def test_report_figures_writes_a_pdf_and_png_per_plot_and_effects_tex(
    sweep: dict, tmp_path: Path
) -> None:
    """`ablate report smoke --figures DIR`, as the README writes it."""
    from ablate.report import page_figures
    from ablate.report.notebook import load_sweep

    out = tmp_path / "paper"
    result = CliRunner().invoke(
        app, ["report", "smoke", "--out", str(tmp_path / "p.html"), "--figures", str(out)]
    )
    assert result.exit_code == 0, result.output
    uri = f"sqlite:///{sweep['work'] / 'mlflow.db'}"
    names = {f.name for f in page_figures(load_sweep("smoke", tracking_uri=uri).report)}
    assert {p.stem for p in out.glob("*.pdf")} == names
    assert {p.stem for p in out.glob("*.png")} == names
    page = (tmp_path / "p.html").read_text()
    assert page.count('role="img"') == len(names)  # every plot of the page, no more
    tex = (out / "effects.tex").read_text()
    assert "\\toprule" in tex and "\\bottomrule" in tex and "stride" in tex
    assert f"figures: {len(names)} plots as PDF and PNG, and effects.tex, in {out}" in (
        result.output
    )


def test_readme_notebook_example_runs_as_written(
    sweep: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The README's load_sweep example, read from the README, on this store ("strides"
    is this sweep's "smoke"; the files it writes go to tmp_path)."""
    text = (ROOT / "README.md").read_text()
    section = text.split("### The same analysis in a notebook", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    pdf, page = tmp_path / "stride.pdf", tmp_path / "nb.html"
    code = (
        code.replace('"strides"', '"smoke"')
        .replace('"reports/strides.html"', repr(str(page)))
        .replace('"stride.pdf"', repr(str(pdf)))
    )
    monkeypatch.chdir(sweep["work"])
    exec(compile(code, "README.md", "exec"), {})
    assert pdf.read_bytes().startswith(b"%PDF") and page.exists()
