"""Confirmation seeds of tuned sweeps (`confirm_seeds:`): parsing, the setting chosen,
the exactly-once queue, the report's comparison, and tiny sweeps through the CLI."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import optuna
import pandas as pd
import pytest
import yaml
from mlflow.tracking import MlflowClient
from store import finished_keys, parent_of, the_sweep
from typer.testing import CliRunner

from ablate.cli import app
from ablate.errors import ConfigError
from ablate.report.data.confirm import confirmation
from ablate.schedulers import Outcome, open_storage
from ablate.schedulers.confirm import Confirmations, best_setting, mean_interval
from ablate.schedulers.ledger import KEY, open_study
from ablate.spaces import expand, load_space, space_hash, spec_of
from ablate.stats.model import Factor, Interval, ScientificRow
from ablate.store import RunState, Tracker, schema

ROOT = Path(__file__).resolve().parents[1]
SLICE = ROOT / "tests" / "data" / "cifar10-slice.zip"
LR = {"type": "float", "low": 1e-3, "high": 3e-2, "log": True}
WD = {"type": "float", "low": 1e-5, "high": 1e-2, "log": True}


def doc(**extra: Any) -> dict[str, Any]:
    return {"experiment": "c", "kind": "optuna", "params": {"train.lr": LR}, **extra}


def load(tmp_path: Path, d: dict[str, Any], overrides: dict[str, Any] | None = None):  # type: ignore[no-untyped-def]
    p = tmp_path / "c.yaml"
    p.write_text(yaml.safe_dump(d))
    return load_space(p, overrides)


# ------------------------------------------------------------------ parsing


@pytest.mark.unit
def test_default_is_three_with_scientific_and_none_without(tmp_path: Path) -> None:
    sci = {"scientific": {"model.stride": [1, 2]}}
    assert spec_of(load(tmp_path, doc(**sci))).confirm_seeds == 3
    assert spec_of(load(tmp_path, doc())).confirm_seeds == 0
    assert spec_of(load(tmp_path, doc(**sci, confirm_seeds=0))).confirm_seeds == 0
    assert spec_of(load(tmp_path, doc(confirm_seeds=2))).confirm_seeds == 2  # best config, 2 seeds
    shipped = spec_of(load_space(ROOT / "search_spaces" / "strides_tuned_lr.yaml"))
    assert shipped.confirm_seeds == 3 and shipped.confirmation_seeds() == [1, 2, 3]


@pytest.mark.unit
def test_confirmation_seeds_follow_the_tuning_seed(tmp_path: Path) -> None:
    spec = spec_of(load(tmp_path, doc(seed=5, confirm_seeds=2)))
    assert spec.confirmation_seeds() == [6, 7]
    # --set confirm_seeds=N wins over the file, checked alike
    sci = doc(scientific={"model.stride": [1, 2]})
    assert spec_of(load(tmp_path, sci, {"confirm_seeds": 1})).confirmation_seeds() == [1]
    with pytest.raises(ConfigError, match="confirm_seeds = -2"):
        load(tmp_path, sci, {"confirm_seeds": -2})


@pytest.mark.unit
def test_confirm_seeds_do_not_change_the_sweep(tmp_path: Path) -> None:
    """More confirmation seeds extend the same sweep (same parent, same studies)."""
    sci = {"scientific": {"model.stride": [1, 2]}}
    ids = {space_hash(load(tmp_path, doc(**sci, confirm_seeds=n))) for n in (0, 3, 7)}
    assert len(ids) == 1


@pytest.mark.unit
@pytest.mark.parametrize(
    "value,needle",
    [
        (-1, "confirm_seeds = -1 is not allowed: Input should be greater than or equal to 0"),
        (2.5, "confirm_seeds = 2.5 is not allowed: Input should be a valid integer"),
        ("3", "confirm_seeds = '3' is not allowed"),
        (True, "confirm_seeds = true is not allowed"),
        (5000, "confirm_seeds = 5000 is not allowed: Input should be less than or equal to 1000"),
    ],
)
def test_bad_values_are_named(tmp_path: Path, value: Any, needle: str) -> None:
    with pytest.raises(ConfigError) as e:
        load(tmp_path, doc(scientific={"model.stride": [1, 2]}, confirm_seeds=value))
    assert needle in str(e.value) and "c.yaml" in str(e.value), str(e.value)


@pytest.mark.unit
def test_seeds_past_the_largest_are_refused(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigError, match=r"confirm_seeds = 2 is not allowed with seed = 4294967294"
    ):
        load(tmp_path, doc(seed=2**32 - 2, confirm_seeds=2))


@pytest.mark.unit
def test_a_bad_value_is_one_line_and_exit_2(tmp_path: Path) -> None:
    p = tmp_path / "c.yaml"
    p.write_text(yaml.safe_dump(doc(scientific={"model.stride": [1, 2]}, confirm_seeds=-1)))
    result = CliRunner().invoke(app, ["run", str(p), "--dry-run"])
    assert result.exit_code == 2, result.output
    assert "confirm_seeds = -1" in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1, result.output


# ------------------------------------------------------------------ the setting


def _trial(number: int, lr: float, value: float | None) -> optuna.trial.FrozenTrial:
    t = optuna.trial.create_trial(
        params={"train.lr": lr},
        distributions={"train.lr": optuna.distributions.FloatDistribution(1e-4, 1.0, log=True)},
        value=value,
        state=optuna.trial.TrialState.COMPLETE
        if value is not None
        else optuna.trial.TrialState.FAIL,
    )
    t.number = number
    return t


@pytest.mark.unit
def test_best_setting_is_the_best_mean_over_equal_settings() -> None:
    trials = [
        _trial(0, 0.1, 0.50),
        _trial(1, 0.2, 0.55),
        _trial(2, 0.1, 0.62),
        _trial(3, 0.3, None),
    ]
    # lr 0.1: mean 0.56 beats lr 0.2's single 0.55 (Optuna's best trial would be #2 too)
    assert best_setting(trials, "maximize") == {"train.lr": 0.1}
    assert best_setting(trials, "minimize") == {"train.lr": 0.2}  # e.g. val_loss
    # ties go to the setting seen first
    assert best_setting([_trial(0, 0.3, 0.5), _trial(1, 0.2, 0.5)], "maximize") == {"train.lr": 0.3}
    assert best_setting([_trial(0, 0.3, None)], "maximize") is None


@pytest.mark.unit
def test_mean_interval_is_the_t_interval() -> None:
    iv = mean_interval([0.40, 0.42, 0.47])
    # mean 0.43, SD 0.036056, t(0.975, 2) = 4.302653: half width 0.089567
    assert iv["mean"] == pytest.approx(0.43) and iv["n"] == 3
    assert iv["lo"] == pytest.approx(0.43 - 0.089567, abs=1e-6)
    assert iv["hi"] == pytest.approx(0.43 + 0.089567, abs=1e-6)
    one = mean_interval([0.4])
    assert one["lo"] is None and one["hi"] is None and one["mean"] == 0.4


# ------------------------------------------------------------------ exactly once


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Tracker:
    """One sqlite store for the queue tests (creating its tables takes seconds here);
    each test has a parent of its own."""
    return Tracker(f"sqlite:///{tmp_path_factory.mktemp('store') / 'mlflow.db'}")


def _queue_setup(tmp_path: Path, tracker: Tracker, stale_after: float = 120.0):  # type: ignore[no-untyped-def]
    space = load(tmp_path, doc(scientific={"model.stride": [1, 2]}, confirm_seeds=2))
    spec, points = spec_of(space), expand(space)
    journal = f"journal:{tmp_path / 'optuna.journal'}"
    root = schema.optuna_study_root(space.experiment, space_hash(space))
    tuning = open_study(open_storage(journal), f"{root}.{points[0].config.key()}")
    for lr, value in ((0.002, 0.3), (0.01, 0.4)):  # the second setting wins
        tuning.study.add_trial(
            optuna.trial.create_trial(
                params={"train.lr": lr},
                distributions={"train.lr": spec.params["train.lr"].to_optuna()},
                value=value,
            )
        )
    parent, _ = tracker.start_parent("c", tmp_path.name, "c sweep", None, "", {})

    def worker() -> Confirmations:  # a worker: its own storage on the same journal file
        return Confirmations(space, spec, points, open_storage(journal), root, tracker, stale_after)

    return tuning, tracker, parent, worker


def _states(queue: Confirmations) -> list[str]:
    return sorted(t.state.name for t in queue.study.study.get_trials(deepcopy=False))


@pytest.mark.unit
def test_two_workers_claim_each_confirmation_run_once(tmp_path: Path, store: Tracker) -> None:
    tuning, _, parent, worker = _queue_setup(tmp_path, store)
    w1, w2 = worker(), worker()
    w1.plan(0, tuning, parent)
    w2.plan(0, tuning, parent)  # both reach the end of the study: queued once, not twice
    assert _states(w1) == ["WAITING", "WAITING"]
    jobs = [w1.claim(1, 0), w2.claim(2, 0)]
    assert w1.claim(3, 0) is None and w2.claim(3, 0) is None
    assert all(j is not None for j in jobs)
    keys = [j.config.key() for j in jobs if j is not None]
    assert len(set(keys)) == 2 and set(keys) == set(w1.planned)
    for j in jobs:
        assert j is not None
        assert j.config.train.lr == 0.01 and j.config.model.stride == 1  # the best setting
        assert json.loads(j.tags[schema.CONFIRMS]) == {"train.lr": 0.01}
        assert "optuna.trial_number" not in j.tags  # a confirmation run is no trial
    assert sorted(j.config.seed for j in jobs if j is not None) == [1, 2]
    # one finishes; the other is killed (Ctrl-C): a re-run queues only the killed one
    j1, j2 = jobs
    assert j1 is not None and j2 is not None
    w1.record(j1, Outcome(j1.label, RunState.FINISHED, metrics={"best_val_acc": 0.4}))
    w2.record(j2, Outcome(j2.label, RunState.KILLED))
    again = worker()
    again.plan(0, tuning, parent)
    retry = again.claim(1, 0)
    assert retry is not None and retry.config.key() == j2.config.key()
    assert again.claim(2, 0) is None
    assert again.busy() and _states(again).count("RUNNING") == 1


@pytest.mark.unit
def test_a_dead_workers_confirmation_run_is_queued_again(tmp_path: Path, store: Tracker) -> None:
    tuning, _, parent, worker = _queue_setup(tmp_path, store, stale_after=0.05)
    w1 = worker()
    w1.plan(0, tuning, parent)
    lost = w1.claim(1, 0)  # claimed, then its worker dies: no heartbeat
    assert lost is not None
    time.sleep(0.2)
    w2 = worker()
    w2.plan(0, tuning, parent)  # plans are idempotent
    w2.reap(parent)
    keys = [t.user_attrs[KEY] for t in w2.study.study.get_trials(deepcopy=False)
            if t.state.name == "WAITING"]  # fmt: skip
    assert keys.count(lost.config.key()) == 1


@pytest.mark.unit
def test_runs_finished_in_mlflow_are_not_queued_again(tmp_path: Path, store: Tracker) -> None:
    """A fresh Optuna storage on an old store: the run keys MLflow holds finished count."""
    tuning, tracker, parent, worker = _queue_setup(tmp_path, store)
    w1 = worker()
    w1.plan(0, tuning, parent)
    job = w1.claim(1, 0)
    assert job is not None
    run = tracker.start_run(parent, job.config, job.label, job.tags)
    run.finish()
    (tmp_path / "optuna.journal").unlink()  # the queue is lost; MLflow is not
    w2 = worker()
    w2.plan(0, tuning, parent)
    waiting = [t.user_attrs[KEY] for t in w2.study.study.get_trials(deepcopy=False)]
    assert job.config.key() not in waiting and len(waiting) == 1


# ------------------------------------------------------------------ the report's runs


def _row(stride: int, lr: float, val: float) -> ScientificRow:
    iv = Interval(val, float("nan"), 1, None, None)
    return ScientificRow({"model.stride": stride}, {"train.lr": lr}, iv, iv, 2, [])


@pytest.mark.unit
def test_the_report_compares_the_chosen_settings_confirmation_runs() -> None:
    records = [
        # tuning trials (seed 0) and confirmation runs (seeds 1, 2)
        ("t1", 1, 0.01, 0), ("t2", 1, 0.002, 0), ("t3", 2, 0.005, 0),
        ("c1", 1, 0.01, 1), ("c2", 1, 0.01, 2), ("c3", 2, 0.005, 1), ("c4", 2, 0.005, 2),
        ("old", 2, 0.002, 1),  # confirmed a setting that the tuning no longer chooses
    ]  # fmt: skip
    frame = pd.DataFrame(
        [
            {"run_id": r, "model.stride": s, "train.lr": lr, "seed": seed, "test_acc": 0.4}
            for r, s, lr, seed in records
        ]
    )
    ids = {"c1", "c2", "c3", "c4", "old"}
    chosen = [_row(1, 0.01, 0.5), _row(2, 0.005, 0.4)]
    factor = Factor("model.stride", (1, 2), "scientific")
    got = confirmation(frame, ids, chosen, [factor], ["train.lr", "train.weight_decay"])
    assert got is not None
    assert sorted(got.frame["run_id"]) == ["c1", "c2", "c3", "c4"]
    assert got.seeds == [1, 2] and got.stale == []
    assert got.note.startswith(
        "stride 1 and 2 compared on confirmation runs: each at its own tuned lr and "
        "weight decay, 2 seeds (seeds 1, 2"
    )
    # the tuning has moved on for stride 2: its old confirmation runs are not used
    moved = confirmation(
        frame, ids, [_row(1, 0.01, 0.5), _row(2, 0.002, 0.45)], [factor], ["train.lr"]
    )
    assert moved is not None and sorted(moved.frame["run_id"]) == ["c1", "c2", "old"]
    # stride 2 not confirmed yet (a sweep still running): only stride 1 is named
    early = confirmation(frame, {"c1", "c2"}, chosen, [factor], ["train.lr"])
    assert early is not None and early.note.startswith("stride 1 compared on confirmation runs")
    assert "stride=2: no confirmation run finished yet, not compared" in early.note
    assert confirmation(frame, ids, [_row(1, 0.03, 0.5)], [factor], ["train.lr"]) is None
    assert confirmation(frame, set(), chosen, [factor], ["train.lr"]) is None


# ------------------------------------------------------------------ through the CLI

TINY = {
    "experiment": "confirm",
    "kind": "optuna",
    "base": {
        "model": {"depth": 2, "width": 8},
        "data": {"limit_train": 200, "limit_test": 50},
        "train": {"max_epochs": 1, "batch_size": 32},
        "explain": {"enabled": False},
    },
    "scientific": {"model.stride": [1, 2]},
    "nuisance": {"train.lr": LR, "train.weight_decay": WD},
    "sampler": {"name": "random", "seed": 0},
    "pruner": "none",
    "n_trials": 2,
    "confirm_seeds": 2,
}


def run_cli(work: Path, *extra: str, env_argv: pytest.MonkeyPatch | None = None) -> str:
    space = work / "confirm.yaml"
    space.write_text(yaml.safe_dump(TINY))
    args = [
        "run", str(space), "--data", str(SLICE),
        "--set", f"data.cache_dir={work / 'cache'}", *extra,
    ]  # fmt: skip
    if env_argv is not None:  # workers re-run this command line
        env_argv.setattr("sys.argv", ["ablate", *args])
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return result.output


def _confirmation_runs(client: MlflowClient) -> tuple[Any, list[Any], list[Any]]:
    parent, children = the_sweep(client, "confirm")
    return parent, children, [c for c in children if schema.CONFIRMS in c.data.tags]


@pytest.mark.e2e
def test_a_tuned_sweep_confirms_each_value_and_the_report_compares_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    out = run_cli(tmp_path)
    assert "Confirmation of stride=1 seed=0 at " in out and "2 queued now" in out
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    parent, children, confirms = _confirmation_runs(client)
    assert len(children) == 8 and len(confirms) == 4  # 2 strides x (2 trials + 2 seeds)
    assert {parent_of(c) for c in children} == {parent.info.run_id}
    best = json.loads(
        Path(client.download_artifacts(parent.info.run_id, "best.json", str(tmp_path))).read_text()
    )
    for label, point in best["points"].items():
        stride = point["scientific"]["model.stride"]
        mine = [c for c in confirms if c.data.params["model.stride"] == str(stride)]
        # the study's best setting, on seeds 1 and 2 (the tuning seed is 0)
        assert sorted(int(c.data.params["seed"]) for c in mine) == [1, 2], label
        for c in mine:
            assert json.loads(c.data.tags[schema.CONFIRMS]) == point["best_params"]
            assert float(c.data.params["train.lr"]) == point["best_params"]["train.lr"]
            assert c.data.tags[schema.STATE] == "finished"
            assert "optuna.trial_number" not in c.data.tags
        conf = point["confirmation"]
        assert conf["seeds"] == [1, 2] and conf["finished_seeds"] == [1, 2]
        assert sorted(conf["mlflow_run_ids"]) == sorted(c.info.run_id for c in mine)
        test = [c.data.metrics["test_acc"] for c in mine]
        assert conf["test_acc"]["mean"] == pytest.approx(sum(test) / 2)
        assert conf["test_acc"]["n"] == 2
        assert conf["test_acc"]["lo"] <= conf["test_acc"]["mean"] <= conf["test_acc"]["hi"]
        assert conf["best_val_acc"]["n"] == 2
    assert len(finished_keys(confirms)) == 4  # four distinct run keys, each once
    # the report: the comparison on the confirmation runs, paired by seed, with intervals
    page = (tmp_path / "reports" / "confirm.html").read_text()
    assert "each at its own tuned lr and weight decay, 2 seeds" in page
    effects = pd.read_csv(tmp_path / "reports" / "confirm.effects.csv")
    acc = effects[(effects["response"] == "test_acc") & (effects["factor"] == "model.stride")]
    assert len(acc) == 1
    e = acc.iloc[0]
    assert e["method"] == "paired" and e["n"] == 2 and e["seeds"] == 2
    assert pd.notna(e["lo"]) and pd.notna(e["hi"]) and pd.notna(e["p_holm"])
    s1 = [c.data.metrics["test_acc"] for c in confirms if c.data.params["model.stride"] == "1"]
    s2 = [c.data.metrics["test_acc"] for c in confirms if c.data.params["model.stride"] == "2"]
    assert e["estimate"] == pytest.approx(100 * (sum(s2) - sum(s1)) / 2, abs=1e-6)
    # the same command again: nothing is retrained, best.json is still there
    out = run_cli(tmp_path)
    assert "point 1 of" not in out and "2 finished earlier, 0 queued now" in out
    _, again, _ = _confirmation_runs(client)
    assert len(again) == 8


@pytest.mark.e2e
def test_two_workers_train_each_confirmation_run_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    out = run_cli(tmp_path, "--workers", "2", "--no-report", env_argv=monkeypatch)
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    _, children, confirms = _confirmation_runs(client)
    assert len(children) == 8, out
    keys = finished_keys(confirms)
    assert len(keys) == 4 and set(keys.values()) == {1}, keys
    assert {"[w0]", "[w1]"} <= {line[:4] for line in out.splitlines()}
