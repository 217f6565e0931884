"""The MLflow schema of a sweep: every `ablate.*` tag and attribute name, and every
artifact path, in one place. Nothing else in the packages spells an `ablate.*` literal;
readers and writers import the names from here. The strings are unchanged since the
first stores (tests/fixtures/store_v0, store_v1), so old stores read and resume.
"""

from __future__ import annotations

# --- tags on every run (parent and children)
STATE = "ablate.state"  # one of ablate.store.states.RunState's values
ROLE = "ablate.role"  # "sweep" on a parent
ROLE_SWEEP = "sweep"
HEARTBEAT = "ablate.heartbeat"  # unix seconds of the last beat while running
WORKER = "ablate.worker"  # host:pid:boot of the process that runs it (ablate.store.liveness)
HARDWARE = "ablate.hardware"  # CPU model, cores, flags, GPU
ACCELERATOR = "ablate.accelerator"

# --- tags on a sweep's parent run
SWEEP_ID = "ablate.sweep_id"
COMMAND = "ablate.command"  # the first command, password masked
LAST_COMMAND = "ablate.last_command"
GIT_COMMIT = "ablate.git_commit"
SPACE_FILE = "ablate.space_file"
# a sweep that stops when settled: the latest look in one line ("after seed block 4 of at
# most 12: 3 settled, 0 open; stopped"); each effect's decision is the artifact SETTLE_JSON
SETTLE = "ablate.settle"
MARGINS = "ablate.margins"  # JSON {response: margin}: the margins the sweep was given

# --- tags on a child run
RUN_KEY = "ablate.run_key"  # hash of the resolved config: what makes a point the same point
FAIL_REASON = "ablate.fail_reason"
SKIP_REASON = "ablate.skip_reason"
PRUNED = "ablate.pruned"  # Optuna's message, e.g. "Trial was pruned at epoch 3."
XAI_FLAGS = "ablate.xai_flags"  # comma-separated explanation checks that failed, or "none"
RESUMED_FROM = "ablate.resumed_from"  # the earlier attempt a run continued from
RESUMED_EPOCH = "ablate.resumed_epoch"  # finished epochs it took over from that attempt
SCIENTIFIC = "ablate.scientific"  # an Optuna trial's scientific point (tuned sweeps)
# a confirmation run (tuned sweeps, `confirm_seeds:`): a study's best nuisance setting
# trained again on a fresh seed; the tag holds that setting as JSON ({"train.lr": 0.002})
CONFIRMS = "ablate.confirms"

# --- Optuna's own tags on a trial's child run (read by the MLflow UI and the report)
OPTUNA_STUDY = "optuna.study"
OPTUNA_TRIAL = "optuna.trial_number"
OPTUNA_STATE = "optuna.state"  # the trial's TrialState name, e.g. "PRUNED"

# --- Optuna trial and study attributes (the exactly-once queue, the shared parent)
MLFLOW_RUN_ATTR = "ablate.mlflow_run_id"
LABEL_ATTR = "ablate.label"
INDEX_ATTR = "ablate.point"
PARENT_ATTR = "ablate.mlflow_parent_run_id"
CONFIRM_ATTR = "ablate.confirm"  # a queued confirmation run: {"point", "seed", "setting"} as JSON


def grid_study_name(experiment: str, sweep_id: str) -> str:
    """The Optuna study that queues a grid's points on a shared storage."""
    return f"{GRID_STUDY_PREFIX}{experiment}.{sweep_id}"


def optuna_study_root(experiment: str, space_hash: str) -> str:
    """The prefix of an Optuna sweep's studies (one per scientific point)."""
    return f"ablate.optuna.{experiment}.{space_hash}"


def optuna_confirm_study(root: str) -> str:
    """The Optuna study that queues an Optuna sweep's confirmation runs, exactly once each."""
    return f"{root}::confirm"


GRID_STUDY_PREFIX = "ablate.grid."

# --- artifacts
CHECKPOINT = "checkpoint/model.pt"
CONFIG = "config.yaml"  # the resolved RunConfig, typed
CONFUSION_DIR = "confusion"
EXPLAIN_DIR = "explain"
MAPS = (
    f"{EXPLAIN_DIR}/maps.npz"  # a run's probe images and their maps (ablate explain, the gallery)
)
RESUME_DIR = "resume"  # a run's newest epoch checkpoints (two slots) and resume/state.json
ERROR_TXT = "error.txt"  # a failed run's traceback
PROBE_JSON = "probe.json"  # on the parent: the test images every run explains
BEST_JSON = "best.json"  # on an Optuna sweep's parent: the best trial per scientific point
SPACE_DIR = "space"  # on the parent: the space file as it ran
SETTLE_JSON = "settle.json"  # on a sweep that stops when settled: the latest look (sweep.settling)
REPORT_DIR = "report"  # on the parent: the HTML report
