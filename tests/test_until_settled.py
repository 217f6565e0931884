"""A sweep that stops when its answer is settled: `seeds: {min, max, until: settled}`,
`ablate run --until-settled --max-seeds N`, `margins:` and `--margin`.

- parsing: the rule and the margins, good and bad (one line naming file, key, value);
- identity: the same sweep whatever its max (so a larger max resumes it), another
  than the fixed-seed sweep of the same points;
- the look: the runs table it builds, its record and line;
- the loop on tiny real runs (the committed CIFAR slice, 1 epoch), with the stopping
  rule replaced by one that settles at a chosen block: the sweep stops there, tags the
  parent, and resumed with a larger max continues where it stopped; the same through
  a shared queue (--storage journal:FILE), and with two real worker processes
  (--workers 2) meeting at the block barrier, on the real stopping rule;
- the report's side: what `load_sweep` reads back, the sentences of a look, and the
  README section's commands as written.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from store import finished_keys, the_sweep
from typer.testing import CliRunner

from ablate.cli import app
from ablate.errors import ConfigError
from ablate.spaces import expand, load_space, sweep_id
from ablate.stats import Decision
from ablate.stats.model import Factor, Response
from ablate.store import RunState, schema

ROOT = Path(__file__).resolve().parents[1]
SLICE = ROOT / "tests" / "data" / "cifar10-slice.zip"
GRID = {"model.stride": [1, 2]}


def write(tmp_path: Path, doc: Mapping[str, Any], name: str = "settle.yaml") -> Path:
    p = tmp_path / name
    p.write_text(yaml.safe_dump(dict(doc)))
    return p


def error(tmp_path: Path, doc: Mapping[str, Any], overrides: dict[str, Any] | None = None) -> str:
    path = write(tmp_path, doc)
    with pytest.raises(ConfigError) as e:
        load_space(path, overrides)
    msg = str(e.value)
    assert str(path) in msg and "\n" not in msg.strip(), msg
    return msg


# --------------------------------------------------------------------------- parsing


@pytest.mark.unit
def test_rule_gives_seeds_up_to_max_and_a_design_that_says_so(tmp_path: Path) -> None:
    doc = {"grid": GRID, "seeds": {"min": 3, "max": 7, "until": "settled"}}
    space = load_space(write(tmp_path, doc))
    assert space.seeds == tuple(range(7))
    assert space.until is not None and (space.until.min, space.until.max) == (3, 7)
    assert json.loads(space.design())["until"] == {"min": 3, "max": 7, "until": "settled"}
    points = expand(space)
    assert [p.seed for p in points] == [s for s in range(7) for _ in range(2)]  # seed-major
    defaults = load_space(write(tmp_path, {"grid": GRID, "seeds": {"until": "settled"}}))
    assert defaults.until is not None and (defaults.until.min, defaults.until.max) == (2, 12)


@pytest.mark.unit
@pytest.mark.parametrize(
    ("seeds", "needle"),
    [
        ({"min": 2, "max": 5}, "a mapping needs until: settled"),
        ({"min": 1, "until": "settled"}, "seeds.min = 1 is not allowed: at least 2"),
        (
            {"min": 4, "max": 3, "until": "settled"},
            "seeds.max = 3 is not allowed: at least seeds.min (4)",
        ),
        ({"until": "converged"}, "seeds.until = 'converged' is not allowed: one of settled"),
        ({"mx": 3, "until": "settled"}, "unknown key 'seeds.mx'"),
        ({"max": "ten", "until": "settled"}, "seeds.max = 'ten' is not allowed: give an integer"),
        ({"min": True, "until": "settled"}, "seeds.min = true is not allowed"),
        ({"max": 5000, "until": "settled"}, "too many"),
        ({}, "a mapping needs until: settled"),
    ],
)
def test_bad_rules_name_the_key_the_value_and_what_is_allowed(
    tmp_path: Path, seeds: dict[str, Any], needle: str
) -> None:
    assert needle in error(tmp_path, {"grid": GRID, "seeds": seeds})


@pytest.mark.unit
def test_a_rule_needs_a_factor_to_settle(tmp_path: Path) -> None:
    rule = {"until": "settled"}
    assert "needs a factor with two or more values" in error(
        tmp_path, {"grid": {"model.stride": [1]}, "seeds": rule}
    )
    # pinned by --set: the same
    assert "needs a factor" in error(tmp_path, {"grid": GRID, "seeds": rule}, {"model.stride": 2})


@pytest.mark.unit
def test_command_line_rule_lays_over_the_space(tmp_path: Path) -> None:
    fixed = write(tmp_path, {"grid": GRID, "seeds": 3}, "fixed.yaml")
    sp = load_space(
        fixed, {"seeds": {"until": "settled", "max": 6}}
    )  # --until-settled --max-seeds 6
    assert sp.until is not None and (sp.until.min, sp.until.max) == (2, 6)
    assert sp.seeds == tuple(range(6))
    settling = write(tmp_path, {"grid": GRID, "seeds": {"min": 3, "max": 5, "until": "settled"}})
    sp = load_space(settling, {"seeds": {"max": 9}})  # --max-seeds 9 keeps the space's min
    assert sp.until is not None and (sp.until.min, sp.until.max) == (3, 9)
    sp = load_space(settling, {"seeds": 4})  # --seeds 4: a fixed sweep again
    assert sp.until is None and sp.seeds == (0, 1, 2, 3)
    msg = error(tmp_path, {"grid": GRID, "seeds": 3}, {"seeds": {"max": 6}})
    assert "--max-seeds = 6 is not allowed here" in msg and "--until-settled" in msg
    msg = error(tmp_path, {"grid": GRID, "seeds": {"until": "settled"}}, {"seeds": {"max": 1}})
    assert "seeds.max = 1 is not allowed: at least seeds.min (2)" in msg


@pytest.mark.unit
def test_margins_good_and_bad(tmp_path: Path) -> None:
    doc: dict[str, Any] = {"grid": GRID, "margins": {"test_acc": 0.5, "train_seconds": 2}}
    sp = load_space(write(tmp_path, doc))
    assert sp.margins == {"test_acc": 0.5, "train_seconds": 2.0}
    assert json.loads(sp.design())["margins"] == {"test_acc": 0.5, "train_seconds": 2.0}
    sp = load_space(write(tmp_path, doc), {"margins": {"test_acc": 0.25}})  # --margin wins
    assert sp.margins == {"test_acc": 0.25, "train_seconds": 2.0}
    ok = {"grid": GRID, "margins": {"xai.gradcam.insertion_vs_random": 0.01}}
    assert load_space(write(tmp_path, ok)).margins == {"xai.gradcam.insertion_vs_random": 0.01}
    assert "Did you mean 'test_acc'" in error(tmp_path, {"grid": GRID, "margins": {"test_ac": 1}})
    for bad in (0, -1, True, "half"):
        msg = error(tmp_path, {"grid": GRID, "margins": {"test_acc": bad}})
        assert "margins.test_acc = " in msg and "give a positive number" in msg
    msg = error(tmp_path, {"grid": GRID, "margins": {"test_acc": float("inf")}})
    assert (
        "margins.test_acc = .inf is not allowed: give a finite number" in msg
    )  # the YAML reader's
    assert "map response names to margins" in error(tmp_path, {"grid": GRID, "margins": [1]})
    assert "(--margin)" in error(tmp_path, {"grid": GRID}, {"margins": {"test_acc": "x"}})


@pytest.mark.unit
def test_fixed_spaces_keep_their_design_and_sweep_id(tmp_path: Path) -> None:
    sp = load_space(write(tmp_path, {"grid": GRID, "seeds": 2}))
    assert json.loads(sp.design()) == {"kind": "grid", "grid": GRID, "seeds": [0, 1]}
    assert sweep_id(expand(sp)) == sweep_id(expand(sp), sp.until)


@pytest.mark.unit
def test_identity_does_not_depend_on_max(tmp_path: Path) -> None:
    path = write(tmp_path, {"grid": GRID, "seeds": {"min": 2, "max": 4, "until": "settled"}})
    small, large = load_space(path), load_space(path, {"seeds": {"max": 12}})
    ids = {sweep_id(expand(s), s.until) for s in (small, large)}
    assert len(ids) == 1
    fixed = load_space(path, {"seeds": 4})
    assert sweep_id(expand(fixed)) not in ids  # the fixed 4-seed sweep is another sweep
    other = load_space(path, {"train.lr": 0.01})
    assert sweep_id(expand(other), other.until) not in ids


@pytest.mark.unit
@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--seeds", "3", "--until-settled"], "give one of them"),
        (["--max-seeds", "5"], "--max-seeds = 5 is not allowed here"),
        (["--until-settled", "--max-seeds", "1"], "seeds.max = 1 is not allowed"),
        (["--margin", "test_acc=-1"], "margins.test_acc = -1.0 is not allowed"),
        (["--margin", "accuracy=1"], "unknown response 'margins.accuracy'"),
    ],
)
def test_cli_refuses_bad_combinations_in_one_line(
    tmp_path: Path, args: list[str], needle: str
) -> None:
    space = write(tmp_path, {"grid": GRID, "seeds": 2})
    result = CliRunner().invoke(app, ["run", str(space), "--dry-run", *args])
    assert result.exit_code == 2, result.output
    assert needle in result.output and "Traceback" not in result.output, result.output


@pytest.mark.unit
def test_cli_dry_run_with_until_settled_lists_points_up_to_max(tmp_path: Path) -> None:
    space = write(tmp_path, {"grid": GRID, "seeds": 2})
    result = CliRunner().invoke(
        app, ["run", str(space), "--dry-run", "--until-settled", "--max-seeds", "3"]
    )
    assert result.exit_code == 0, result.output
    assert "6 runs (0 invalid)" in result.output  # 2 configurations x at most 3 seeds


# --------------------------------------------------------------------------- the look


RESP = Response("test_acc", "test accuracy", "points", 100.0, True, "accuracy")


def decisions(
    factors: Sequence[Factor],
    baseline: Mapping[str, Hashable],
    seeds: int,
    min_seeds: int,
    max_seeds: int,
    settled: bool,
    margins: Mapping[str, float] | None = None,
) -> list[Decision]:
    out = []
    for f in factors:
        for lv in f.levels:
            if lv == baseline[f.key]:
                continue
            out.append(
                Decision(
                    response="test_acc",
                    factor=f.key,
                    level=lv,
                    baseline=baseline[f.key],
                    state="better" if settled else "open",
                    seeds=seeds,
                    estimate=1.0,
                    lo=0.5 if settled else -0.8,
                    hi=1.5 if settled else 1.9,
                    margin=(margins or {}).get("test_acc", 1.0),
                    look=seeds - min_seeds + 1,
                    looks=max_seeds - min_seeds + 1,
                    alpha_look=0.05 / (max_seeds - min_seeds + 1),
                    final=seeds == max_seeds,
                )
            )
    return out


@pytest.mark.unit
def test_runs_table_record_and_line(tmp_path: Path) -> None:
    from ablate.store import ChildRun
    from ablate.sweep.settling import factors_of, look_line, record_of, runs_table

    path = write(tmp_path, {"grid": GRID, "seeds": {"min": 2, "max": 4, "until": "settled"}})
    space = load_space(path, {"margins": {"test_acc": 0.5}})
    points = {p.config.key(): p for p in expand(space)}

    def child(key: str, state: str, acc: float | None) -> ChildRun:
        metrics = {} if acc is None else {"test_acc": acc}
        return ChildRun(key[:8] + state, key, state, "FINISHED", 0.0, "", metrics, {}, {})

    keys = list(points)
    children = [child(k, "finished", 0.5 + i / 100) for i, k in enumerate(keys)]
    children[1] = child(keys[1], "failed", None)  # not in the table
    children.append(child("not-a-point", "finished", 0.9))  # another sweep's run: not either
    df = runs_table(children, points, factors_of(space), RESP, seeds=3)
    assert list(df.columns) == ["model.stride", "seed", "test_acc"]
    assert sorted(df.seed) == [0, 1, 1, 2, 2]  # seeds 0..2 only; seed 0 stride 2 failed
    assert df[df.seed == 3].empty

    factors = factors_of(space)
    rec = record_of(decisions(factors, {"model.stride": 1}, 3, 2, 4, False), space, 3)
    assert (rec["seeds"], rec["planned"], rec["stopped"], rec["open"]) == (3, 4, False, 1)
    assert rec["margins"] == {"test_acc": 0.5}
    assert rec["effects"][0]["lo"] == -0.8 and rec["effects"][0]["state"] == "open"
    assert look_line(rec) == "after seed block 3: 0 settled, 1 open; running seed block 4"
    rec = record_of(decisions(factors, {"model.stride": 1}, 4, 2, 4, False), space, 4)
    assert rec["stopped"] and rec["planned"] == 4
    assert look_line(rec).endswith("stopping at the most seeds (max: 4)")
    rec = record_of(decisions(factors, {"model.stride": 1}, 2, 2, 4, True), space, 2)
    assert rec["stopped"] and rec["planned"] == 2 and rec["settled"] == 1
    assert look_line(rec) == "after seed block 2: 1 settled, 0 open; nothing open: stopping"


# --------------------------------------------------------------------------- the loop

BASE = {
    "model": {"depth": 2, "width": 4},
    "data": {"limit_train": 64, "limit_test": 32, "source": str(SLICE)},
    "train": {"max_epochs": 1, "batch_size": 32},
    "explain": {"enabled": False},
}


def fake_rule(settle_at: int, calls: list[tuple[int, list[int]]]) -> Callable[..., list[Decision]]:
    """A stopping rule that settles every effect at `settle_at` seeds; notes each look's
    seeds and the seeds of the runs it was given."""

    def fake(
        df: pd.DataFrame,
        factors: Sequence[Factor],
        response: Response,
        baseline: Mapping[str, Hashable],
        margins: Mapping[str, float] | None,
        *,
        seeds: int,
        min_seeds: int,
        max_seeds: int,
        alpha: float = 0.05,
    ) -> list[Decision]:
        assert response.key == "test_acc" and baseline == {"model.stride": 1}
        calls.append((seeds, sorted(df["seed"])))
        return decisions(
            factors, baseline, seeds, min_seeds, max_seeds, seeds >= settle_at, margins
        )

    return fake


def sweep(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    settle_at: int,
    overrides: dict[str, Any],
    storage: str | None = None,
) -> tuple[list[Any], list[tuple[int, list[int]]]]:
    from ablate.sweep import SweepOptions, run_sweep, settling

    calls: list[tuple[int, list[int]]] = []
    monkeypatch.setattr(settling, "settle", fake_rule(settle_at, calls))
    doc = {"experiment": "settle", "base": BASE, "grid": GRID}
    doc["seeds"] = {"min": 2, "max": 4, "until": "settled"}
    space = load_space(
        write(tmp_path, doc), {"data.cache_dir": str(tmp_path / "cache"), **overrides}
    )
    opts = SweepOptions(
        tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}",
        workdir=tmp_path,
        storage=storage,
        poll_seconds=0.2,
    )
    return run_sweep(space, opts), calls


def settle_record(tmp_path: Path) -> tuple[dict[str, Any], dict[str, str], list[Any]]:
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    parent, children = the_sweep(uri, "settle")
    local = MlflowClient(uri).download_artifacts(
        parent.info.run_id, schema.SETTLE_JSON, str(tmp_path / "dl")
    )
    return json.loads(Path(local).read_text()), parent.data.tags, children


@pytest.mark.e2e
def test_sweep_stops_when_settled_and_a_larger_max_continues(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    outcomes, calls = sweep(tmp_path, monkeypatch, settle_at=3, overrides={})
    # blocks 1-2 before the first look; open after 2, settled after 3: 2 configs x 3 seeds
    assert [c[0] for c in calls] == [2, 3]
    assert calls[0][1] == [0, 0, 1, 1] and calls[1][1] == [0, 0, 1, 1, 2, 2]
    assert len(outcomes) == 6 and all(o.state is RunState.FINISHED for o in outcomes)
    out = capsys.readouterr().out
    assert "after seed block 2: 0 settled, 1 open; running seed block 3" in out
    assert "after seed block 3: 1 settled, 0 open; nothing open: stopping" in out
    record, tags, children = settle_record(tmp_path)
    assert (record["seeds"], record["stopped"], record["max"]) == (3, True, 4)
    assert record["effects"][0]["state"] == "better" and record["effects"][0]["seeds"] == 3
    assert tags[schema.SETTLE].startswith("after seed block 3: 1 settled, 0 open")
    assert json.loads(tags[schema.MARGINS]) == {}
    assert len(finished_keys(children)) == 6

    # the same command again: nothing to run, the same decision from the same runs
    outcomes, calls = sweep(tmp_path, monkeypatch, settle_at=3, overrides={})
    assert all(o.earlier for o in outcomes) and len(outcomes) == 6
    assert [c[0] for c in calls] == [2, 3]

    # a larger max (and an effect that needs 5 seeds): it continues where it stopped
    outcomes, calls = sweep(
        tmp_path,
        monkeypatch,
        settle_at=5,
        overrides={"seeds": {"max": 6}, "margins": {"test_acc": 0.5}},
    )
    assert [c[0] for c in calls] == [2, 3, 4, 5]
    assert sum(o.earlier for o in outcomes) == 6 and len(outcomes) == 10
    record, tags, children = settle_record(tmp_path)  # one parent still (asserted)
    assert (record["seeds"], record["stopped"], record["max"]) == (5, True, 6)
    assert record["effects"][0]["margin"] == 0.5
    assert json.loads(tags[schema.MARGINS]) == {"test_acc": 0.5}
    done = finished_keys(children)
    assert len(done) == 10 and set(done.values()) == {1}  # no point trained twice

    # the report reads the look, its margins and the seeds the sweep ran to (not max)
    from ablate.report.data.load import load_sweep
    from ablate.report.settled import settle_sentences
    from ablate.store import Tracker

    design = load_sweep(Tracker(f"sqlite:///{tmp_path / 'mlflow.db'}"), "settle").design
    assert design.seeds == [0, 1, 2, 3, 4] and design.margins == {"test_acc": 0.5}
    assert design.settle == record
    assert settle_sentences(design.settle)[1] == (
        "stride 2 vs 1: settled at 5 seeds: better by 1.0 points (95% CI +0.5 to +1.5)"
    )


@pytest.mark.e2e
def test_shared_queue_runs_blocks_and_stops_once_settled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = f"journal:{tmp_path / 'queue.journal'}"
    outcomes, calls = sweep(
        tmp_path, monkeypatch, settle_at=3, overrides={"seeds": {"max": 3}}, storage=storage
    )
    assert [c[0] for c in calls] == [2, 3] and calls[1][1] == [0, 0, 1, 1, 2, 2]
    assert len(outcomes) == 6
    record, _, children = settle_record(tmp_path)
    assert (record["seeds"], record["stopped"]) == (3, True)
    # a worker that comes after the stop: no run, the same look from the same runs
    outcomes, calls = sweep(
        tmp_path, monkeypatch, settle_at=3, overrides={"seeds": {"max": 3}}, storage=storage
    )
    assert outcomes == [] and [c[0] for c in calls] == [3]
    # a larger max through the same queue: block 4 is queued and run
    outcomes, calls = sweep(
        tmp_path, monkeypatch, settle_at=4, overrides={"seeds": {"max": 5}}, storage=storage
    )
    assert [c[0] for c in calls] == [3, 4] and len(outcomes) == 2
    _, _, children = settle_record(tmp_path)
    done = finished_keys(children)
    assert len(done) == 8 and set(done.values()) == {1}


@pytest.mark.unit
def test_report_sentences_of_a_look() -> None:
    from ablate.report.settled import effect_sentence, settle_sentences

    def eff(
        state: str, seeds: int, est: float, lo: float | None, hi: float | None
    ) -> dict[str, Any]:
        return {
            "factor": "model.stride",
            "level": 3,
            "baseline": 1,
            "state": state,
            "seeds": seeds,
            "estimate": est,
            "lo": lo,
            "hi": hi,
            "margin": 1.0,
        }

    assert effect_sentence(eff("open", 12, 0.5, -0.8, 1.9), "points", True) == (
        "stride 3 vs 1: still open at 12 seeds: interval \u22120.8 to +1.9"
    )
    assert effect_sentence(eff("open", 5, 0.5, -0.8, 1.9), "points", False) == (
        "stride 3 vs 1: open after 5 seeds: interval \u22120.8 to +1.9"
    )
    assert effect_sentence(eff("worse", 4, -9.3, -12.1, -6.5), "points", True) == (
        "stride 3 vs 1: settled at 4 seeds: worse by 9.3 points (95% CI \u221212.1 to \u22126.5)"
    )
    assert effect_sentence(eff("equivalent", 6, 0.1, -0.4, 0.6), "points", True) == (
        "stride 3 vs 1: settled at 6 seeds: equivalent within \u00b11.0 point (95% CI \u22120.4 to +0.6)"
    )
    kernel = {
        **eff("open", 2, 0.0, None, None),
        "factor": "model.kernel_size",
        "level": 4,
        "baseline": 3,
    }
    assert (
        effect_sentence(kernel, "points", False)
        == "kernel 4x4 vs 3x3: open after 2 seeds: no interval yet"
    )
    record = {
        "label": "test accuracy",
        "unit": "points",
        "seeds": 4,
        "max": 12,
        "planned": 4,
        "stopped": True,
        "settled": 1,
        "open": 0,
        "effects": [eff("worse", 4, -9.3, -12.1, -6.5)],
    }
    head, one = settle_sentences(record)
    assert head.startswith(
        "stopped at 4 seeds of at most 12: every effect of test accuracy is settled"
    )
    assert one.startswith("stride 3 vs 1: settled at 4 seeds")
    record |= {"seeds": 12, "open": 1, "settled": 0, "effects": [eff("open", 12, 0.5, -0.8, 1.9)]}
    assert (
        settle_sentences(record)[0]
        == "stopped at the most seeds, 12: 1 effect(s) of test accuracy still open"
    )
    record |= {"seeds": 5, "stopped": False, "planned": 6}
    assert (
        settle_sentences(record)[0]
        == "after 5 seeds of at most 12: 0 settled, 1 open; running seed block 6"
    )
    assert settle_sentences(None) == []


@pytest.mark.unit
def test_readme_commands_parse_as_written(monkeypatch: pytest.MonkeyPatch) -> None:
    """The README section's commands, exactly as written, through the CLI with --dry-run
    added (training them is the measured run the section reports, not a test)."""
    import shlex

    from readme_commands import section_commands

    commands = section_commands("Until settled")
    assert len(commands) == 2 and all(c.startswith("ablate run ") for c in commands)
    assert any("--until-settled --max-seeds 12" in c for c in commands)
    monkeypatch.chdir(ROOT)
    for command in commands:
        result = CliRunner().invoke(app, [*shlex.split(command)[1:], "--dry-run"])
        assert result.exit_code == 0, (command, result.output)
        assert "36 runs (0 invalid)" in result.output, result.output  # 3 strides x max 12


@pytest.mark.e2e
def test_two_workers_share_the_blocks_and_stop_together(tmp_path: Path) -> None:
    """`--workers 2 --until-settled`: real processes at the block barrier, the real
    stopping rule (at 2 seeds it spends almost no alpha, so the tiny runs are open until
    max = 3): every point of the 3 blocks trained once, one look recorded at the stop."""
    import os
    import subprocess
    import sys

    doc = {"experiment": "settle", "base": BASE, "grid": GRID, "seeds": 2}
    space = write(tmp_path, doc)
    cmd = [sys.executable, "-m", "ablate.cli", "run", str(space), "--workers", "2"]
    cmd += ["--until-settled", "--max-seeds", "3", "--no-report"]
    cmd += ["--set", f"data.cache_dir={tmp_path / 'cache'}"]
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", "OMP_NUM_THREADS": "1"}
    done = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    out = done.stdout + done.stderr
    assert done.returncode == 0 and "Traceback" not in out, out[-4000:]
    assert "after seed block 2: 0 settled, 1 open; running seed block 3" in out, out[-4000:]
    record, tags, children = settle_record(tmp_path)
    assert (record["seeds"], record["stopped"], record["planned"]) == (3, True, 3)
    assert record["effects"][0]["state"] == "open" and record["effects"][0]["seeds"] == 3
    assert tags[schema.SETTLE].startswith("after seed block 3: 0 settled, 1 open; stopping")
    counts = finished_keys(children)
    assert len(counts) == 6 and set(counts.values()) == {1}, counts
