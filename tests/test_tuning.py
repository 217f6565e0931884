"""`kind: optuna` spaces: validation, a pruned sweep end to end, scientific vs nuisance."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import optuna
import pytest
import yaml
from mlflow.tracking import MlflowClient
from store import parent_of, sweep_runs, the_sweep
from typer.testing import CliRunner

from ablate.cli import app
from ablate.errors import ConfigError
from ablate.schedulers import open_storage
from ablate.spaces import expand, load_space, spec_of
from ablate.spaces.tuning import spec_identity

ROOT = Path(__file__).resolve().parents[1]
SLICE = ROOT / "tests" / "data" / "cifar10-slice.zip"
LR = {"type": "float", "low": 1e-4, "high": 1e-2, "log": True}


def optuna_doc(**extra: Any) -> dict[str, Any]:
    return {"experiment": "t", "kind": "optuna", "params": {"train.lr": LR}, **extra}


def load(tmp_path: Path, doc: dict[str, Any], overrides: dict[str, Any] | None = None):  # type: ignore[no-untyped-def]
    p = tmp_path / "o.yaml"
    p.write_text(yaml.safe_dump(doc))
    return load_space(p, overrides)


def test_shipped_optuna_spaces_load() -> None:
    tpe = load_space(ROOT / "search_spaces" / "optuna_tpe.yaml")
    assert spec_of(tpe).sampler == "tpe" and spec_of(tpe).pruner == "median"
    assert set(spec_of(tpe).params) == {
        "train.lr",
        "model.width",
        "model.kernel_size",
        "model.head",
    }
    tuned = load_space(ROOT / "search_spaces" / "strides_tuned_lr.yaml")
    assert [p.config.model.stride for p in expand(tuned)] == [1, 2, 3]
    assert set(spec_of(tuned).params) == {"train.lr", "train.weight_decay"}


def test_defaults_and_n_trials_override(tmp_path: Path) -> None:
    space = load(tmp_path, optuna_doc(), {"n_trials": 3})
    spec = spec_of(space)
    assert (spec.n_trials, spec.metric, spec.direction, spec.sampler) == (
        3,
        "best_val_acc",
        "maximize",
        "tpe",
    )


@pytest.mark.parametrize(
    "change,needle",
    [
        (
            {"params": {"train.lr": {"type": "uniform", "low": 0, "high": 1}}},
            "type float, int or categorical",
        ),
        (
            {"params": {"train.lr": {"type": "float", "low": 0.1, "high": 0.01}}},
            "must be below high",
        ),
        (
            {"params": {"train.lr": {"type": "float", "low": 0.0, "high": 0.1, "log": True}}},
            "log distribution needs low > 0",
        ),
        ({"params": {"train.lr": {"type": "float", "low": 1e-4, "hi": 1}}}, "Did you mean 'high'"),
        ({"params": {"train.lrr": LR}}, "Did you mean 'lr'"),
        ({"params": {"model.head": {"type": "categorical", "choices": []}}}, "non-empty list"),
        (
            {"params": {"model.head": {"type": "categorical", "choices": ["gap", "dense"]}}},
            "params.model.head[1]",
        ),
        (
            {"params": {"model.stride": {"type": "int", "low": 1, "high": 9}}},
            "params.model.stride[1]",
        ),
        ({"sampler": {"name": "bayes"}}, "tpe, random, grid, cmaes"),
        ({"pruner": "sometimes"}, "median, hyperband, none"),
        ({"n_trials": 0}, "n_trials"),
        ({"metric": "accuracy"}, "best_val_acc"),
        ({"nuisance": {"train.lr": LR}}, "either params or nuisance"),
        ({"scientific": {"train.lr": [0.1]}}, "both scientific and tuned"),
        (
            {
                "sampler": "cmaes",
                "params": {"model.head": {"type": "categorical", "choices": ["gap"]}},
            },
            "cmaes",
        ),
        ({"seeds": 3}, "Did you mean 'seed'"),
        ({"experiment": ""}, "non-empty name"),
        ({"scientific": {"model.stride": []}}, "scientific.model.stride"),
    ],
)
def test_bad_optuna_spaces_are_named(tmp_path: Path, change: dict[str, Any], needle: str) -> None:
    with pytest.raises(ConfigError) as e:
        load(tmp_path, optuna_doc(**change))
    assert needle in str(e.value) and "o.yaml" in str(e.value), str(e.value)


TPE_IDENTITY = (
    "OptunaSpec(params={"
    "'train.lr': Dist(kind='float', low=0.0001, high=0.01, log=True, step=None, choices=()), "
    "'model.width': Dist(kind='int', low=16.0, high=64.0, log=False, step=16.0, choices=()), "
    "'model.kernel_size': Dist(kind='categorical', low=0.0, high=0.0, log=False, step=None, "
    "choices=(3, 4)), "
    "'model.head': Dist(kind='categorical', low=0.0, high=0.0, log=False, step=None, "
    "choices=('gap', 'flatten'))}, scientific={}, sampler='tpe', sampler_seed=0, "
    "pruner='median', warmup_epochs=1, n_trials=20, timeout=None, metric='best_val_acc', "
    "direction='maximize', seed=0)"
)


def test_spec_identity_is_the_repr_sweep_ids_were_made_from() -> None:
    """The string every stored Optuna sweep's id hashes: the repr of the dataclasses
    the spec was made of before pydantic."""
    spec = spec_of(load_space(ROOT / "search_spaces" / "optuna_tpe.yaml"))
    assert spec_identity(spec) == TPE_IDENTITY


def test_each_distribution_maps_to_optuna_once(tmp_path: Path) -> None:
    """`to_optuna` and `suggest` agree: the distribution a trial records is `to_optuna`'s."""
    space = load_space(ROOT / "search_spaces" / "optuna_tpe.yaml")
    params = spec_of(space).params
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    trial = study.ask()
    values = {k: d.suggest(trial, k) for k, d in params.items()}
    assert trial.distributions == {k: d.to_optuna() for k, d in params.items()}
    assert values["model.width"] in (16, 32, 48, 64) and values["model.head"] in ("gap", "flatten")
    assert 1e-4 <= values["train.lr"] <= 1e-2


def test_bad_sampler_and_pruner_keys_are_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="Did you mean 'warmup_epochs'"):
        load(tmp_path, optuna_doc(pruner={"name": "median", "warmup_epoch": 0}))
    with pytest.raises(ConfigError, match=r"params.train.lr.high is missing"):
        load(tmp_path, optuna_doc(params={"train.lr": {"type": "float", "low": 0.1}}))


def test_n_trials_flag_refused_for_grid(tmp_path: Path) -> None:
    p = tmp_path / "g.yaml"
    p.write_text("grid: {model.stride: [1, 2]}\n")
    with pytest.raises(ConfigError, match="kind: optuna spaces only"):
        load_space(p, {"n_trials": 2})


# ------------------------------------------------------------------ end to end


def run_cli(work: Path, space: Path, *extra: str) -> str:
    args = [
        "run",
        str(space),
        "--data",
        str(SLICE),
        "--set",
        f"data.cache_dir={work / 'cache'}",
        *extra,
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.e2e
def test_pruned_trials_are_recorded_and_rerun_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    doc = {
        "experiment": "prune",
        "kind": "optuna",
        "base": {
            "model": {"depth": 2, "width": 8},
            "data": {"limit_train": 600, "limit_test": 100},
            "train": {"max_epochs": 3, "batch_size": 32},
            "explain": {"enabled": False},
        },
        # very small learning rates learn nothing in 3 epochs: the median pruner stops them
        "params": {"train.lr": {"type": "float", "low": 1e-7, "high": 3e-2, "log": True}},
        "sampler": {"name": "random", "seed": 1},
        "pruner": {"name": "median", "warmup_epochs": 0},
        "n_trials": 6,
    }
    space = tmp_path / "prune.yaml"
    space.write_text(yaml.safe_dump(doc))
    out = run_cli(tmp_path, space)
    # the report of an Optuna sweep: Optuna's own plots over the trials MLflow recorded
    assert "Report: reports/prune.html" in out
    page = (tmp_path / "reports" / "prune.html").read_text()
    assert 'id="optuna"' in page and "estimates" in page
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    parents, children = sweep_runs(client, "prune")
    assert len(parents) == 1 and len(children) == 6
    assert {parent_of(c) for c in children} == {parents[0].info.run_id}
    assert sorted(int(c.data.tags["optuna.trial_number"]) for c in children) == list(range(6))
    pruned = [c for c in children if c.data.tags["ablate.state"] == "pruned"]
    assert pruned, "expected the median pruner to stop at least one tiny-lr trial"
    for c in pruned:
        assert c.data.tags["optuna.state"] == "PRUNED"
        assert "pruned at epoch" in c.data.tags["ablate.pruned"]
    storage = open_storage("journal:.ablate/optuna.journal")
    study_names = [
        s.study_name
        for s in optuna.get_all_study_summaries(storage)
        if "::lock" not in s.study_name
    ]
    trial_states = {
        t.state.name
        for name in study_names
        for t in optuna.load_study(study_name=name, storage=storage).trials
    }
    assert trial_states <= {"COMPLETE", "PRUNED"}
    # the same command again: the study is complete, nothing is retrained
    out = run_cli(tmp_path, space)
    assert "point 1 of" not in out
    assert [len(r) for r in sweep_runs(client, "prune")] == [1, 6]


@pytest.mark.e2e
def test_scientific_points_each_get_their_best_nuisance(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    out = run_cli(
        tmp_path,
        ROOT / "search_spaces" / "strides_tuned_lr.yaml",
        "--n-trials", "2", "--max-epochs", "1",
        "--set", "data.limit_train=300", "--set", "data.limit_test=100",
        "--set", "model.width=8", "--set", "explain.enabled=false",
        "--set", "confirm_seeds=0",  # the tuning alone (tests/test_confirm_seeds.py confirms)
    )  # fmt: skip
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    parent, _ = the_sweep(client, "strides_tuned_lr")
    local = client.download_artifacts(parent.info.run_id, "best.json", str(tmp_path))
    best = json.loads(Path(local).read_text())
    assert best["metric"] == "best_val_acc"
    # the report chooses each stride's best nuisance setting the same way
    assert "Report: reports/strides_tuned_lr.html" in out
    page = (tmp_path / "reports" / "strides_tuned_lr.html").read_text()
    assert 'id="optuna"' in page
    for point in best["points"].values():
        lr = point["best_params"]["train.lr"]
        assert f"{lr:.3g}" in page, f"best lr {lr} of a stride is not on the page"
    assert set(best["points"]) == {"stride=1 seed=0", "stride=2 seed=0", "stride=3 seed=0"}
    for b in best["points"].values():
        assert "confirmation" not in b  # confirm_seeds=0: none
        assert set(b["best_params"]) == {"train.lr", "train.weight_decay"}
        assert 0.0 <= b["best_value"] <= 1.0 and b["trials"] == 2
        assert parent_of(client.get_run(b["mlflow_run_id"])) == parent.info.run_id


@pytest.mark.e2e
def test_two_workers_run_exactly_n_trials_per_study(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    args = [
        "run", str(ROOT / "search_spaces" / "strides_tuned_lr.yaml"),
        "--data", str(SLICE), "--set", f"data.cache_dir={tmp_path / 'cache'}",
        "--workers", "2", "--n-trials", "3", "--max-epochs", "1",
        "--set", "data.limit_train=200", "--set", "data.limit_test=50",
        "--set", "model.width=8", "--set", "explain.enabled=false",
        "--set", "confirm_seeds=0",  # the trials alone (tests/test_confirm_seeds.py confirms)
        "--no-report",  # nothing here is about the report
    ]  # fmt: skip
    monkeypatch.setattr("sys.argv", ["ablate", *args])  # workers re-run this command line
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    storage = open_storage("journal:.ablate/optuna.journal")
    per_study = {
        s.study_name: [
            t.state.name for t in optuna.load_study(study_name=s.study_name, storage=storage).trials
        ]
        for s in optuna.get_all_study_summaries(storage)
        if s.study_name.count(".") > 3 and "::lock" not in s.study_name  # one per stride
    }
    assert len(per_study) == 3, per_study
    for states in per_study.values():
        assert len(states) == 3 and set(states) <= {"COMPLETE", "PRUNED"}, per_study
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    _, children = the_sweep(client, "strides_tuned_lr")
    assert len(children) == 9
    assert {"[w0]", "[w1]"} <= {line[:4] for line in result.output.splitlines()}
