"""The one module that talks to MLflow.

Layout of a sweep in the tracking store:

- a parent run per sweep (tags `schema.ROLE` = sweep, `schema.SWEEP_ID`), holding the
  space file, the command line, the git commit and the probe-set indices;
- a child run per point and seed (tags `mlflow.parentRunId`, `schema.RUN_KEY`),
  holding flattened params, per-epoch curves, test metrics, the confusion
  matrix, the resolved config as YAML, the best checkpoint and explanations.

The state tag (`schema.STATE`) on a child is one of `ablate.store.states.RunState`
(`running`, `finished`, `skipped`, `pruned`, `failed`, `killed`); a re-run skips children
whose state is finished or skipped. Every tag and artifact name comes from
`ablate.store.schema`. Callers go through `Tracker`'s methods and the `RunHandle` of one
run, never the MLflow client.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import re
import subprocess
import tempfile
import time
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import mlflow
import yaml
from mlflow.entities import Metric, Param, RunTag
from mlflow.tracking import MlflowClient
from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID, MLFLOW_RUN_NAME

from ablate.errors import AblateError
from ablate.runtime import accelerator, deferred, describe
from ablate.spaces import RunConfig
from ablate.store import access as stores
from ablate.store import schema
from ablate.store.liveness import is_stale, worker_id
from ablate.store.run_handle import STOPPED_BEATING, RunHandle
from ablate.store.schema import CHECKPOINT, CONFIG
from ablate.store.states import RunState

if TYPE_CHECKING:
    from lightning.pytorch.loggers import MLFlowLogger
    from torch import nn

# MLflow 3.17's own default store in the working folder: `mlflow ui` finds it
# with no flags. (Its `file:` store now raises unless explicitly allowed.)
DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"
# Run ids are 32 hex characters (uuid4); any unique prefix this long names one, as in git.
MIN_RUN_ID_PREFIX = 4
RUN_ID_PREFIX = re.compile(r"[0-9a-f]{1,32}")
CANDIDATES_LISTED = 5  # runs an ambiguous prefix names


def _local_store(uri: str) -> Path | None:
    """The sqlite file or `file:` folder of a store on this machine, else None."""
    if uri.startswith("file:"):
        return Path(urllib.parse.urlparse(uri).path)
    return stores.sqlite_path(uri)


def _common_prefix(a: str, b: str) -> int:
    """How many leading characters two strings share."""
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return n


@contextlib.contextmanager
def _no_progress_bar() -> Iterator[None]:
    """No tqdm bar on stderr while a read downloads artifacts (`load_run` in a notebook or
    script prints only what it returns). MLflow reads the variable at every download; a
    value the user set stays."""
    key = "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"
    if key in os.environ:
        yield
        return
    os.environ[key] = "false"
    try:
        yield
    finally:
        os.environ.pop(key, None)


def resolve_tracking_uri(flag: str | None, env: Mapping[str, str]) -> str:
    """--tracking-uri, else MLFLOW_TRACKING_URI, else MLflow's default sqlite store.

    The default is made absolute (the same ./mlflow.db that `mlflow ui` reads here):
    MLflow caches stores by URI, so a relative one would follow the first folder it
    was used in, not the current one.
    """
    uri = flag or env.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI
    if uri.startswith("sqlite:///") and not uri.startswith("sqlite:////"):
        uri = f"sqlite:///{(Path.cwd() / uri.removeprefix('sqlite:///')).resolve()}"
    return uri


@cache
def _epoch_logger_class() -> type[MLFlowLogger]:
    """EpochLogger, defined on first use: importing Lightning costs about 3 s, which
    `ablate report`, `status` and `explain` need not pay."""
    from lightning.pytorch.loggers import MLFlowLogger
    from lightning.pytorch.loggers.logger import rank_zero_experiment

    class EpochLogger(MLFlowLogger):
        """Lightning's MLflow logger bound to an existing run.

        Two changes: metrics are stepped by epoch (curves read per epoch in the UI),
        and `finalize` does not end the run: the run is FINISHED only once its
        test metrics, checkpoint and explanations are logged, so that a crash in
        between leaves it unfinished and a re-run trains it again.
        """

        @property  # type: ignore[override]
        @rank_zero_experiment
        def experiment(self) -> MlflowClient:
            """The client, bound to our run. Unlike the parent's, it does not call
            mlflow.set_tracking_uri, which would also set MLFLOW_TRACKING_URI for the
            rest of the process (and every later sweep in it)."""
            if not self._initialized:
                assert self._run_id is not None, "EpochLogger is always bound to a run"
                self._experiment_id = self._mlflow_client.get_run(self._run_id).info.experiment_id
                self._initialized = True
            return self._mlflow_client

        def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
            metrics = dict(metrics)
            epoch = metrics.pop("epoch", None)
            if not metrics:
                return
            with deferred():  # see ablate.runtime.signals
                super().log_metrics(metrics, step=int(epoch) if epoch is not None else step)

        def log_hyperparams(self, params: Any) -> None:
            """Params are logged once, flattened, by `Tracker.start_child`."""

        def finalize(self, status: str = "success") -> None:
            """The orchestrator ends the run."""

    return EpochLogger


@dataclass(frozen=True)
class ChildRun:
    run_id: str
    key: str
    state: str  # the state tag: a RunState value (compares equal to it), or "" if none
    status: str  # MLflow status
    heartbeat: float  # unix seconds of the last sign of life
    worker: str  # host:pid:boot of the process that ran it
    metrics: dict[str, float]
    params: dict[str, str]
    tags: dict[str, str]
    start_time: float | None = None  # unix seconds
    end_time: float | None = None  # None while it runs

    @property
    def settles(self) -> bool:
        """Finished or skipped: its point needs no other run."""
        return self.state in (RunState.FINISHED, RunState.SKIPPED)

    def _running(self) -> bool:
        return self.state == RunState.RUNNING and self.status == "RUNNING"

    def is_live(self, now: float, stale_after: float) -> bool:
        """Running, and its worker still beats (the one rule: `ablate.store.liveness.is_stale`)."""
        return self._running() and not is_stale(self.heartbeat, self.worker, now, stale_after)

    def is_dead(self, now: float, stale_after: float) -> bool:
        """Marked running, but its worker is gone: to be failed so that its point runs again."""
        return self._running() and is_stale(self.heartbeat, self.worker, now, stale_after)


def _retry_locked(write: Callable[[], object], tries: int = 5, pause: float = 1.0) -> None:
    """A write to a sqlite store that another writer holds (e.g. the heartbeat thread at
    the moment of Ctrl-C or SIGTERM) fails with "database is locked": try it again a few
    times rather than lose a run's final state. Other errors are raised at once."""
    for attempt in range(tries):
        try:
            write()
            return
        except mlflow.exceptions.MlflowException as e:
            if "database is locked" not in str(e) or attempt == tries - 1:
                raise
            time.sleep(pause)


def git_commit(cwd: Path | None = None) -> str:
    """The commit of the ablate source that runs (its own checkout), "unknown" outside git."""
    cwd = cwd or Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return out.stdout.strip() or "unknown"


def _deferring(name: str) -> Callable[..., Any]:
    def write(self: MlflowClient, *args: Any, **kwargs: Any) -> Any:
        with deferred():
            return getattr(MlflowClient, name)(self, *args, **kwargs)

    write.__name__ = name
    return write


# The client's writes to the store's database: none is cut short by Ctrl-C.
_DB_WRITES = (
    "create_experiment",
    "create_run",
    "log_batch",
    "set_tag",
    "set_terminated",
    "update_run",
    "restore_experiment",
)
_Client = type("_Client", (MlflowClient,), {name: _deferring(name) for name in _DB_WRITES})


class Tracker:
    def __init__(self, tracking_uri: str) -> None:
        self.uri = tracking_uri
        # MLflow creates a new sqlite store's tables here; two processes doing it at once
        # race in its schema migration ("Online migration expected to match one row")
        path = stores.sqlite_path(tracking_uri)
        lock = stores.waiting_lock(f"store:{path.resolve()}") if path else contextlib.nullcontext()
        with lock:
            self._client: MlflowClient = _Client(tracking_uri)  # private: see the module doc

    # ------------------------------------------------------------ experiments
    def experiment_id(self, name: str) -> str:
        exp = self._client.get_experiment_by_name(name)
        if exp is not None:
            if exp.lifecycle_stage == "deleted":
                self._client.restore_experiment(exp.experiment_id)
            return str(exp.experiment_id)
        try:
            return str(self._client.create_experiment(name))
        except mlflow.exceptions.MlflowException:
            # another worker created it between our look-up and create
            exp = self._client.get_experiment_by_name(name)
            if exp is None:
                raise
            return str(exp.experiment_id)

    # ----------------------------------------------------------------- parent
    def find_parent(self, experiment: str, sweep_id: str) -> str | None:
        exp_id = self.experiment_id(experiment)
        runs = self._client.search_runs(
            [exp_id],
            filter_string=(
                f"tags.`{schema.SWEEP_ID}` = '{sweep_id}' "
                f"and tags.`{schema.ROLE}` = '{schema.ROLE_SWEEP}'"
            ),
            order_by=["attributes.start_time ASC"],
            max_results=1,
        )
        return runs[0].info.run_id if runs else None

    def start_parent(
        self,
        experiment: str,
        sweep_id: str,
        name: str,
        space_file: Path | None,
        command: str,
        summary: Mapping[str, Any],
    ) -> tuple[str, bool]:
        """Find this sweep's parent run, or create it. Returns (run_id, resumed)."""
        found = self.find_parent(experiment, sweep_id)
        if found is not None:
            self.reopen(found)
            self._client.set_tag(found, schema.LAST_COMMAND, command[:5000])
            return found, True
        run = self._client.create_run(
            self.experiment_id(experiment),
            run_name=name,
            tags={
                schema.ROLE: schema.ROLE_SWEEP,
                schema.SWEEP_ID: sweep_id,
                schema.COMMAND: stores.mask_password(command)[:5000],
                schema.GIT_COMMIT: git_commit(),
                schema.SPACE_FILE: str(space_file) if space_file else "",
                schema.HARDWARE: describe(),
                "mlflow.note.content": str(summary.get("description", "")),
            },
        )
        rid = run.info.run_id
        self._client.log_batch(rid, params=[Param(k, str(v)[:6000]) for k, v in summary.items()])
        if space_file is not None and space_file.exists():
            self._client.log_artifact(rid, str(space_file), schema.SPACE_DIR)
        return rid, False

    def reopen(self, run_id: str) -> None:
        """Mark an ended run (a resumed sweep's parent) RUNNING again."""
        self._client.update_run(run_id, status="RUNNING")

    def log_parent_json(self, run_id: str, name: str, payload: Any) -> None:
        self._client.log_dict(run_id, payload, name)

    def log_parent_json_once(self, run_id: str, name: str, payload: Any) -> bool:
        """Write a JSON artifact only if the run lacks it (e.g. the sweep's probe set,
        the same for every run). Workers that race both write the same content, so the
        result is one file either way. True if this call wrote it."""
        if self.has_artifact(run_id, name):
            return False
        self._client.log_dict(run_id, payload, name)
        return True

    def has_artifact(self, run_id: str, path: str) -> bool:
        """Whether the run holds an artifact at `path` (a top-level file or folder)."""
        folder = str(PurePosixPath(path).parent)
        listed = self._client.list_artifacts(run_id, None if folder == "." else folder)
        return any(f.path == path for f in listed)

    # --------------------------------------------------------------- children
    def children(self, parent_id: str, key: str | None = None) -> list[ChildRun]:
        """The child runs of a sweep; only those of point `key` (a run key) when given."""
        exp_id = self._client.get_run(parent_id).info.experiment_id
        where = f"tags.`{MLFLOW_PARENT_RUN_ID}` = '{parent_id}'"
        if key is not None:  # a hex hash: nothing to quote
            where += f" and tags.`{schema.RUN_KEY}` = '{key}'"
        out: list[ChildRun] = []
        token = None
        while True:
            page = self._client.search_runs(
                [exp_id],
                filter_string=where,
                max_results=1000,
                page_token=token,
            )
            for r in page:
                tags = dict(r.data.tags)
                out.append(
                    ChildRun(
                        run_id=r.info.run_id,
                        key=tags.get(schema.RUN_KEY, ""),
                        state=tags.get(schema.STATE, ""),
                        status=r.info.status,
                        heartbeat=float(tags.get(schema.HEARTBEAT, r.info.start_time / 1000)),
                        worker=tags.get(schema.WORKER, ""),
                        metrics=dict(r.data.metrics),
                        params=dict(r.data.params),
                        tags=tags,
                        start_time=r.info.start_time / 1000 if r.info.start_time else None,
                        end_time=r.info.end_time / 1000 if r.info.end_time else None,
                    )
                )
            token = page.token
            if not token:
                return out

    def start_child(
        self, parent_id: str, cfg: RunConfig, label: str, extra_tags: Mapping[str, str] = {}
    ) -> str:
        exp_id = self._client.get_run(parent_id).info.experiment_id
        run = self._client.create_run(
            exp_id,
            run_name=label,
            tags={
                MLFLOW_PARENT_RUN_ID: parent_id,
                MLFLOW_RUN_NAME: label,
                schema.RUN_KEY: cfg.key(),
                schema.STATE: RunState.RUNNING.value,
                schema.HEARTBEAT: f"{time.time():.0f}",
                schema.WORKER: worker_id(),  # host:pid:boot, see ablate.store.liveness
                schema.HARDWARE: describe(),
                schema.ACCELERATOR: accelerator(cfg.train.accelerator),
                **extra_tags,
            },
        )
        rid = run.info.run_id
        params = [Param(k, str(v)[:6000]) for k, v in sorted(cfg.flat().items())]
        for i in range(0, len(params), 100):  # MLflow takes at most 100 params per batch
            self._client.log_batch(rid, params=params[i : i + 100])
        self._client.log_text(
            rid, yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False), CONFIG
        )
        return rid

    def start_run(
        self, parent_id: str, cfg: RunConfig, label: str, extra_tags: Mapping[str, str] = {}
    ) -> RunHandle:
        """`start_child`, returning the handle every later write to the run goes through."""
        return RunHandle(self, self.start_child(parent_id, cfg, label, extra_tags))

    def run(self, run_id: str) -> RunHandle:
        """The handle of an existing run (e.g. one to be failed as stale)."""
        return RunHandle(self, run_id)

    def heartbeat(self, run_id: str) -> None:
        self._client.set_tag(run_id, schema.HEARTBEAT, f"{time.time():.0f}")

    def epoch_logger(self, run_id: str, experiment: str) -> MLFlowLogger:
        """Lightning's MLflow logger bound to run `run_id` (see `_epoch_logger_class`)."""
        logger_class = _epoch_logger_class()
        return logger_class(experiment_name=experiment, tracking_uri=self.uri, run_id=run_id)

    def log_metrics(self, run_id: str, metrics: Mapping[str, float], step: int = 0) -> None:
        now = int(time.time() * 1000)
        items = [Metric(k, float(v), now, step) for k, v in metrics.items()]
        for i in range(0, len(items), 500):
            self._client.log_batch(run_id, metrics=items[i : i + 500])

    def log_text(self, run_id: str, text: str, path: str) -> None:
        """A text artifact, e.g. a traceback as error.txt."""
        self._client.log_text(run_id, text, path)

    def download_artifact(self, run_id: str, path: str, dst: Path) -> Path:
        """One artifact of a run into `dst`; raises (MLflow's types) when it is missing."""
        with _no_progress_bar():
            return Path(self._client.download_artifacts(run_id, path, str(dst)))

    def set_tags(self, run_id: str, tags: Mapping[str, str]) -> None:
        batch = [RunTag(k, str(v)[:5000]) for k, v in tags.items()]
        _retry_locked(lambda: self._client.log_batch(run_id, tags=batch))

    def log_files(self, run_id: str, files: Iterable[Path], root: Path, prefix: str) -> None:
        """Log files keeping their path below `root`, under `prefix/`."""
        for f in files:
            rel = f.parent.relative_to(root).as_posix()
            dest = prefix if rel in ("", ".") else f"{prefix}/{rel}"
            self._client.log_artifact(run_id, str(f), dest)

    def log_checkpoint(
        self, run_id: str, net: nn.Module, cfg: RunConfig, classes: tuple[str, ...] = ()
    ) -> None:
        """A slim checkpoint: the resolved config and plain tensors, loadable with
        torch.load(weights_only=True) and nothing else."""
        import torch

        state = {k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()}
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "model.pt"
            payload = {
                "config": cfg.model_dump(mode="json"),
                "state_dict": state,
                "classes": list(classes),
            }
            torch.save(payload, path)
            self._client.log_artifact(run_id, str(path), str(PurePosixPath(CHECKPOINT).parent))

    def end(self, run_id: str, state: RunState | str) -> None:
        """End a run in `state`: its state tag and the matching MLflow status."""
        state = RunState(state)
        self.set_tags(run_id, {schema.STATE: state.value, schema.HEARTBEAT: f"{time.time():.0f}"})
        _retry_locked(lambda: self._client.set_terminated(run_id, state.mlflow_status))

    def skip(self, parent_id: str, cfg: RunConfig, label: str, reason: str) -> str:
        rid = self.start_child(parent_id, cfg, label, {schema.SKIP_REASON: reason[:5000]})
        self.end(rid, RunState.SKIPPED)
        return rid

    # ----------------------------------------------------- mid-training resume
    def log_resume(self, run_id: str, checkpoint: Path, state_json: str) -> None:
        """A whole epoch checkpoint (one of two slots) under resume/, then the state file
        that points at it: a kill between the two leaves the previous pointer valid."""
        with deferred():
            self._client.log_artifact(run_id, str(checkpoint), schema.RESUME_DIR)
            self._client.log_text(run_id, state_json, f"{schema.RESUME_DIR}/state.json")

    def resumable_attempt(self, parent_id: str, key: str) -> ChildRun | None:
        """The newest earlier attempt at point `key` that was killed (Ctrl-C, a signal)
        or lost with its worker, and left epoch checkpoints: the run a new attempt
        continues from. None when there is none."""
        candidates = [
            c
            for c in self.children(parent_id, key)
            if (
                c.state == RunState.KILLED
                or (
                    c.state == RunState.FAILED
                    and c.tags.get(schema.FAIL_REASON, "").endswith(STOPPED_BEATING)
                )
            )
        ]
        for c in sorted(candidates, key=lambda c: c.start_time or 0.0, reverse=True):
            if self.has_artifact(c.run_id, f"{schema.RESUME_DIR}/state.json"):
                return c
        return None

    def drop_resume(self, run_id: str) -> None:
        """Delete a finished run's epoch checkpoints (best effort: some artifact stores
        cannot delete; the files then stay, unused)."""
        from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

        try:
            repo = get_artifact_repository(self._client.get_run(run_id).info.artifact_uri)
            repo.delete_artifacts(schema.RESUME_DIR)
        except Exception:  # not supported by this store, or already gone
            pass

    # ---------------------------------------------------------------- loading
    def load_checkpoint(self, run_id: str) -> dict[str, Any]:
        import torch

        with tempfile.TemporaryDirectory() as tmp, _no_progress_bar():
            local = mlflow.artifacts.download_artifacts(
                run_id=run_id, artifact_path=CHECKPOINT, dst_path=tmp, tracking_uri=self.uri
            )
            try:
                ckpt: dict[str, Any] = torch.load(local, map_location="cpu", weights_only=True)
            except (pickle.UnpicklingError, RuntimeError, EOFError) as e:
                raise AblateError(
                    f"run {run_id}: refused to load {CHECKPOINT}: it is not a plain weights "
                    f"file (torch.load with weights_only=True: {str(e).splitlines()[0][:200]}). "
                    "Only checkpoints holding tensors and plain values are loaded."
                ) from None
        return ckpt

    def run_exists(self, run_id: str) -> bool:
        try:
            self._client.get_run(run_id)
        except mlflow.exceptions.MlflowException:
            return False
        return True

    @classmethod
    def reading(cls, tracking_uri: str) -> Tracker:
        """A Tracker for reading only: a sqlite file (or `file:` folder) that is not there
        is refused in one line instead of MLflow creating an empty store, and a server
        that does not answer fails in seconds, not after minutes of retries."""
        if (path := _local_store(tracking_uri)) is not None and not path.exists():
            raise stores.StoreError(
                f"no tracking store at {path}: give the store of the sweep with "
                "--tracking-uri (load_run: tracking_uri=) or MLFLOW_TRACKING_URI."
            )
        if tracking_uri.startswith(("http://", "https://")):
            stores.check_server(tracking_uri)
        return cls(tracking_uri)

    def find_run_id(self, given: str) -> str:
        """The full id of the run `given` names: its whole id, or a unique prefix of at
        least MIN_RUN_ID_PREFIX hex characters, as git takes commits (the sweep's table
        prints 12). Raises AblateError naming the candidates of an ambiguous prefix."""
        where = stores.mask_password(self.uri)
        text = given.strip().lower()
        if text and self.run_exists(text):
            return text
        if not RUN_ID_PREFIX.fullmatch(text):
            raise AblateError(f"no run {given!r} in the tracking store {where}.")
        if len(text) < MIN_RUN_ID_PREFIX:
            raise AblateError(
                f"run id {given!r}: give at least {MIN_RUN_ID_PREFIX} of its characters "
                "(the sweep's table prints 12)."
            )
        found = self._runs_with_prefix(text, CANDIDATES_LISTED + 1)
        if not found:
            raise AblateError(
                f"no run {given!r} in the tracking store {where}: no run id starts with it."
            )
        if len(found) == 1:
            return found[0][0]
        shown = found[:CANDIDATES_LISTED]
        # as many characters as tell the candidates apart, at least the table's 12
        width = max(12, *(_common_prefix(a, b) + 1 for a, _ in shown for b, _ in shown if a < b))
        listed = ", ".join(f"{rid[:width]} ({name})" for rid, name in shown)
        more = f" and more ({len(shown)} shown)" if len(found) > CANDIDATES_LISTED else ""
        raise AblateError(
            f"run id {given!r} is ambiguous in {where}: it starts the ids {listed}{more}. "
            "Give more of the id."
        )

    def _runs_with_prefix(self, prefix: str, limit: int) -> list[tuple[str, str]]:
        """(run id, run name) of up to `limit` active runs whose id starts with `prefix`
        (hex only, so no LIKE wildcard): the store filters, so a store of thousands of
        runs sends back only the matches. Every experiment, a page of them at a time."""
        out: list[tuple[str, str]] = []
        token = None
        while len(out) < limit:
            exps = self._client.search_experiments(max_results=1000, page_token=token)
            if exps:
                runs = self._client.search_runs(
                    [e.experiment_id for e in exps],
                    filter_string=f"attributes.run_id LIKE '{prefix}%'",
                    max_results=limit - len(out),
                )
                # LIKE ignores case on some databases; ids are lowercase hex
                out += [
                    (r.info.run_id, r.info.run_name)
                    for r in runs
                    if r.info.run_id.startswith(prefix)
                ]
            token = exps.token
            if not token:
                break
        return out

    # ------------------------------------------------------- reading (ablate report)
    def sweeps(self, experiment: str | None = None) -> list[SweepRun]:
        """Parent runs of sweeps, newest first; of one experiment, or of every one."""
        if experiment is None:
            exps = list(self._client.search_experiments())
        else:
            exp = self._client.get_experiment_by_name(experiment)
            exps = [] if exp is None or exp.lifecycle_stage == "deleted" else [exp]
        if not exps:
            return []
        names = {e.experiment_id: e.name for e in exps}
        runs = self._client.search_runs(
            list(names),
            filter_string=f"tags.`{schema.ROLE}` = '{schema.ROLE_SWEEP}'",
            order_by=["attributes.start_time DESC"],
            max_results=1000,
        )
        return [
            SweepRun(
                run_id=r.info.run_id,
                experiment=names[r.info.experiment_id],
                experiment_id=r.info.experiment_id,
                status=r.info.status,
                start_time=r.info.start_time / 1000 if r.info.start_time else None,
                end_time=r.info.end_time / 1000 if r.info.end_time else None,
                params=dict(r.data.params),
                tags=dict(r.data.tags),
            )
            for r in runs
        ]

    def experiment_names(self) -> list[str]:
        return sorted(e.name for e in self._client.search_experiments())

    def metric_history(self, run_id: str, key: str) -> list[float]:
        """A metric's values in step order (our curves are stepped by epoch)."""
        history = sorted(self._client.get_metric_history(run_id, key), key=lambda m: m.step)
        return [m.value for m in history]

    def download(self, run_id: str, artifact: str, dst: Path) -> Path | None:
        """Fetch one artifact of a run into `dst`; None when the run does not have it."""
        try:
            local = mlflow.artifacts.download_artifacts(
                run_id=run_id, artifact_path=artifact, dst_path=str(dst), tracking_uri=self.uri
            )
        except (mlflow.exceptions.MlflowException, OSError):
            return None
        return Path(local)

    def log_file(self, run_id: str, path: Path, prefix: str) -> None:
        self._client.log_artifact(run_id, str(path), prefix or None)


@dataclass(frozen=True)
class SweepRun:
    """A sweep's parent run, as `ablate report` reads it."""

    run_id: str
    experiment: str
    experiment_id: str
    status: str
    start_time: float | None
    end_time: float | None
    params: dict[str, str]
    tags: dict[str, str]
