"""One process per run, whatever the environment: SLURM_* variables of an sbatch job and
an `srun` on the PATH neither change Lightning's cluster environment nor print its hint."""

from __future__ import annotations

import warnings
from pathlib import Path

import lightning as L
import pytest
from lightning.pytorch.plugins.environments import LightningEnvironment

from lightning_modules.train import single_process_plugins

pytestmark = pytest.mark.unit
SLICE = Path(__file__).resolve().parent / "data" / "cifar10-slice.zip"

SBATCH_ENV = {  # what an sbatch job of 4 tasks sets (a batch job: not "bash")
    "SLURM_JOB_ID": "42",
    "SLURM_JOB_NAME": "ablate-worker",
    "SLURM_NTASKS": "4",
    "SLURM_NODELIST": "node1",
    "SLURM_PROCID": "0",
    "SLURM_LOCALID": "0",
    "SLURM_NODEID": "0",
}


@pytest.fixture
def slurm_job(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    srun = tmp_path / "srun"
    srun.write_text("#!/bin/sh\nexit 0\n")
    srun.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{__import__('os').environ['PATH']}")
    for k, v in SBATCH_ENV.items():
        monkeypatch.setenv(k, v)


def trainer(**kw: object) -> tuple[L.Trainer, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        t = L.Trainer(accelerator="cpu", logger=False, enable_progress_bar=False, **kw)  # type: ignore[arg-type]
    return t, [str(w.message) for w in caught]


def test_lightning_alone_would_take_the_job_for_a_cluster(slurm_job: None) -> None:
    # what the plugin guards against: Lightning 2.6 refuses this job outright
    with pytest.raises(RuntimeError, match="ntasks"):
        trainer(devices=1)


def test_a_run_trains_in_one_plain_process_inside_an_sbatch_job(slurm_job: None) -> None:
    t, messages = trainer(devices=1, plugins=single_process_plugins("auto"))
    assert type(t._accelerator_connector.cluster_environment) is LightningEnvironment
    assert not [m for m in messages if "srun" in m or "SLURM" in m], messages
    assert t.world_size == 1


def test_asking_for_several_devices_keeps_lightnings_detection() -> None:
    assert single_process_plugins(4) == []
    assert single_process_plugins("0,1") == []
    assert [type(p) for p in single_process_plugins(1)] == [LightningEnvironment]
    assert [type(p) for p in single_process_plugins("auto")] == [LightningEnvironment]


@pytest.mark.parametrize("in_job", [False, True], ids=["srun-on-path", "sbatch-job"])
def test_a_whole_fit_prints_no_srun_hint(
    in_job: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lightning 2.6 also asks SLURMEnvironment.detect() inside every `fit` without a
    checkpoint, whatever the plugins: the hint must not come from there either (on a
    login node with SLURM installed, or inside a job)."""
    srun = tmp_path / "srun"
    srun.write_text("#!/bin/sh\nexit 0\n")
    srun.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{__import__('os').environ['PATH']}")
    for k in list(__import__("os").environ):
        if k.startswith("SLURM_"):
            monkeypatch.delenv(k)
    if in_job:
        for k, v in SBATCH_ENV.items():
            monkeypatch.setenv(k, v)
    from ablate.spaces import RunConfig
    from lightning_modules.config import DataConfig, ModelConfig, TrainConfig
    from lightning_modules.train import fit_and_test

    cfg = RunConfig(
        model=ModelConfig(depth=1, width=4),
        data=DataConfig(
            source=str(SLICE), cache_dir=str(tmp_path / "c"), limit_train=64, limit_test=32
        ),
        train=TrainConfig(max_epochs=1, batch_size=32),
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit_and_test(cfg, tmp_path / "w")
    messages = [str(w.message) for w in caught]
    assert not [m for m in messages if "srun" in m or "SLURM" in m], messages
