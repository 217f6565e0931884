"""The tracking store, checked before anything is written, and locks between processes.

No MLflow here (see `ablate.store.tracking`): these checks run first, so that a store that
cannot be reached or written fails in one line and a few seconds, instead of after
MLflow's minutes of retries or half-way through a sweep.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from ablate.errors import AblateError

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: no locks, documented
    fcntl = None  # type: ignore[assignment]


class StoreError(AblateError):
    """The tracking store cannot be reached, created or written; or a sweep is taken."""


_CREDENTIALS = re.compile(r"(\b[a-zA-Z][\w+.-]*://[^:/@\s]*):[^@\s]*@")


def mask_password(text: str) -> str:
    """postgresql://user:secret@host/db -> postgresql://user:***@host/db, anywhere in text."""
    return _CREDENTIALS.sub(r"\1:***@", text)


def sqlite_path(uri: str) -> Path | None:
    """The file of a `sqlite:///` store, else None."""
    return Path(uri.removeprefix("sqlite:///")) if uri.startswith("sqlite:///") else None


def check_server(uri: str, timeout: float = 5.0, tries: int = 3, pause: float = 1.0) -> None:
    """An http(s) tracking server answers /health, within `tries` x `timeout` seconds."""
    last: Exception | None = None
    for attempt in range(tries):
        try:
            with urllib.request.urlopen(uri.rstrip("/") + "/health", timeout=timeout):
                return
        except (urllib.error.URLError, OSError, ValueError) as e:
            last = e
            if attempt < tries - 1:
                time.sleep(pause)
    raise StoreError(
        f"cannot reach the tracking server {mask_password(uri)} ({last}; tried {tries} times): "
        "check the URL and that `mlflow server` is running."
    ) from None


def check_writable(path: Path) -> None:
    """The sqlite file (or, while it does not exist, its nearest folder) can be written:
    tried for real (a temporary file, removed at once), since root passes every
    permission check but not a read-only filesystem."""
    if path.is_dir():
        raise StoreError(f"the tracking store {path} is a folder; a sqlite file was expected.")
    folder = _nearest_existing(path.parent)
    try:
        if not folder.is_dir():
            raise NotADirectoryError(f"{folder} is a file, not a folder")
        with tempfile.TemporaryFile(dir=folder):
            pass
        if path.exists():
            with path.open("r+b"):
                pass
    except OSError as e:
        raise StoreError(
            f"cannot write the tracking store {path} ({e.strerror or e}: {e.filename or folder}). "
            "Run from a folder you can write, or pass --tracking-uri sqlite:///PATH/mlflow.db "
            "(or set MLFLOW_TRACKING_URI)."
        ) from None


def _nearest_existing(folder: Path) -> Path:
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder


def check_store(uri: str) -> None:
    """Before a sweep writes anything: a server answers, a sqlite file can be written."""
    if uri.startswith(("http://", "https://")):
        check_server(uri)
    elif (path := sqlite_path(uri)) is not None:
        check_writable(path)


# ------------------------------------------------------------------ locks between processes


def _lock_file(key: str) -> Path:
    folder = Path(tempfile.gettempdir()) / f"ablate-locks-{os.getuid()}"
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder / (hashlib.sha256(key.encode()).hexdigest()[:24] + ".lock")


@contextlib.contextmanager
def waiting_lock(key: str) -> Iterator[None]:
    """Hold a machine-wide lock named `key`, waiting for it; released at exit or death."""
    if fcntl is None:
        yield
        return
    with _lock_file(key).open("a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


@contextlib.contextmanager
def exclusive(key: str, taken: str) -> Iterator[None]:
    """Hold a machine-wide lock named `key`, or raise StoreError(`taken` + who holds it).

    The kernel releases it when the process ends, however it ends (kill -9 included).
    """
    if fcntl is None:
        yield
        return
    with _lock_file(key).open("a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            if e.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            f.seek(0)
            holder = f.read().strip() or "another process"
            raise StoreError(f"{taken} ({holder}).") from None
        f.seek(0)
        f.truncate()
        f.write(f"pid {os.getpid()}")
        f.flush()
        try:
            yield
        finally:
            f.seek(0)
            f.truncate()
            fcntl.flock(f, fcntl.LOCK_UN)
