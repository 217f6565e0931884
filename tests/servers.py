"""Start and stop real throwaway servers (PostgreSQL, MLflow) on 127.0.0.1 for tests.

Everything here raises :class:`ServerError` with a readable message when a server
cannot be found or started; the pytest fixtures in ``conftest.py`` turn that into
``pytest.fail`` (never a skip).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

PG_HINT = "Install the PostgreSQL server binaries with: bash .ci/postgres.sh"
PG_GLOB = "/usr/lib/postgresql/*/bin"
PG_SUPERUSER = "postgres"
PG_DATABASE = "ablate"
PG_OS_USER = "postgres"  # system user that runs the cluster when we are root

MLFLOW_ENV = {
    "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
    "MLFLOW_DISABLE_TELEMETRY": "true",
}

_DB_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_PORT_IN_USE = ("address already in use", "could not bind", "could not create any tcp/ip sockets")


class ServerError(RuntimeError):
    """A test server could not be found, started or used."""


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now (small race by nature)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    """True if something accepts TCP connections on ``host:port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def log_tail(path: Path, lines: int = 40) -> str:
    """The last ``lines`` lines of a log file, or a note that it is missing."""
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return f"<no log at {path}: {exc}>"
    return "\n".join(text.splitlines()[-lines:])


def process_group_rss(pgid: int) -> tuple[int, int]:
    """Total resident memory (bytes) and number of live processes in process group ``pgid``."""
    total, count = 0, 0
    for stat_path in glob.glob("/proc/[0-9]*/stat"):
        try:
            stat = Path(stat_path).read_text()
            # Fields after the ")" closing comm: state ppid pgrp ...
            if int(stat.rsplit(")", 1)[1].split()[2]) != pgid:
                continue
            status = Path(stat_path).with_name("status").read_text()
        except (OSError, IndexError, ValueError):
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) * 1024
                count += 1
                break
    return total, count


def _version_key(bindir: str) -> tuple[int, ...]:
    version = Path(bindir).parent.name
    return tuple(int(p) for p in re.findall(r"\d+", version)) or (0,)


# --------------------------------------------------------------------------- PostgreSQL


def find_pg_bindir(path: str | None = None, pattern: str = PG_GLOB) -> Path:
    """Directory holding ``initdb``/``pg_ctl``: from ``PATH`` first, else the highest
    version under ``/usr/lib/postgresql/*/bin``. Raises :class:`ServerError` if none."""
    tried: list[str] = []
    found = shutil.which("initdb", path=path)
    if found:
        bindir = Path(os.path.realpath(found)).parent
        if (bindir / "pg_ctl").is_file():
            return bindir
        tried.append(f"{found} (no pg_ctl beside {bindir})")
    else:
        tried.append(f"initdb in PATH={path if path is not None else os.environ.get('PATH', '')}")
    candidates = sorted(glob.glob(pattern), key=_version_key, reverse=True)
    for cand in candidates:
        if (Path(cand) / "initdb").is_file() and (Path(cand) / "pg_ctl").is_file():
            return Path(cand)
    tried.append(f"{pattern} (found: {candidates or 'nothing'})")
    raise ServerError(
        "PostgreSQL server binaries (initdb, pg_ctl) not found. Tried: "
        + "; ".join(tried)
        + f". {PG_HINT}"
    )


def _ensure_os_user(name: str) -> pwd.struct_passwd:
    """Return the passwd entry of ``name``, creating a system user if missing (root only)."""
    try:
        return pwd.getpwnam(name)
    except KeyError:
        pass
    cmd = ["useradd", "--system", "--no-create-home", "--shell", "/bin/sh", name]
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise ServerError(f"could not create system user {name!r}: {shlex.join(cmd)}: {res.stderr}")
    return pwd.getpwnam(name)


@dataclass
class PostgresServer:
    """A private PostgreSQL cluster in ``root``, listening on 127.0.0.1:``port``."""

    root: Path
    bindir: Path
    port: int
    os_user: str | None  # run commands as this user (when we are root), else as ourselves
    user: str = PG_SUPERUSER
    database: str = PG_DATABASE
    startup_s: float = 0.0

    @property
    def datadir(self) -> Path:
        """The cluster's data directory."""
        return self.root / "data"

    @property
    def sockdir(self) -> Path:
        """Directory of the unix socket (kept private, inside ``root``)."""
        return self.root / "sock"

    @property
    def log_path(self) -> Path:
        """Server log written by ``pg_ctl -l``."""
        return self.root / "postgres.log"

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the test database."""
        return self.url_for(self.database)

    def url_for(self, database: str) -> str:
        """SQLAlchemy URL of ``database`` on this cluster."""
        return (
            f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"  # as the README spells it
        )

    def cmd(self, *args: str) -> list[str]:
        """Argument list running a PostgreSQL binary as the right OS user."""
        argv = [str(self.bindir / args[0]), *args[1:]]
        if self.os_user is None:
            return argv
        if shutil.which("runuser"):
            return ["runuser", "-u", self.os_user, "--", *argv]
        return ["su", "-s", "/bin/sh", self.os_user, "-c", shlex.join(argv)]

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run a PostgreSQL binary; raise :class:`ServerError` with its output on failure."""
        argv = self.cmd(*args)
        try:
            res = subprocess.run(
                argv,
                cwd=self.root,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
                stdin=subprocess.DEVNULL,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ServerError(f"{shlex.join(argv)} failed: {exc}") from exc
        if res.returncode != 0:
            raise ServerError(
                f"{shlex.join(argv)} exited {res.returncode}\n{res.stdout}\n{res.stderr}".rstrip()
            )
        return res

    def stop(self) -> None:
        """Stop the cluster (``pg_ctl stop -m fast``), killing the postmaster if that fails."""
        if not (self.datadir / "postmaster.pid").exists():
            return
        with contextlib.suppress(ServerError):
            self.run("pg_ctl", "stop", "-D", str(self.datadir), "-m", "fast", "-w", "-t", "20")
            return
        with contextlib.suppress(OSError, ValueError, IndexError):
            pid = int((self.datadir / "postmaster.pid").read_text().split()[0])
            os.kill(pid, signal.SIGKILL)


def _pg_config(port: int, sockdir: Path) -> str:
    return (
        "\n# --- throwaway test cluster (tests/servers.py)\n"
        "listen_addresses = '127.0.0.1'\n"
        f"port = {port}\n"
        f"unix_socket_directories = '{sockdir}'\n"
        "fsync = off\n"
        "synchronous_commit = off\n"
        "full_page_writes = off\n"
        "shared_buffers = '32MB'\n"
        "max_connections = 100\n"
    )


def create_database(admin_url: str, name: str, *, replace: bool = True) -> None:
    """``CREATE DATABASE name`` on the server of ``admin_url`` (dropping it first if
    ``replace``)."""
    if not _DB_NAME_RE.match(name):
        raise ValueError(
            f"bad database name {name!r}: use [A-Za-z_][A-Za-z0-9_]*, at most 63 chars"
        )
    try:
        import sqlalchemy as sa
    except ImportError as exc:  # pragma: no cover - sqlalchemy comes with mlflow/optuna
        raise ServerError(f"sqlalchemy missing: {exc}") from exc
    try:
        engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    except ImportError as exc:
        raise ServerError(
            f"PostgreSQL driver missing ({exc}); install it: pip install -e '.[test]'"
        ) from exc
    try:
        with engine.connect() as conn:
            if replace:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()


def fresh_db(url: str, name: str) -> str:
    """Create (or re-create, empty) database ``name`` on the server of ``url``; return its URL."""
    import sqlalchemy as sa

    base = sa.make_url(url)
    create_database(base.set(database="postgres").render_as_string(hide_password=False), name)
    return base.set(database=name).render_as_string(hide_password=False)


def _start_cluster(server: PostgresServer, timeout: float) -> None:
    config = server.datadir / "postgresql.conf"
    with config.open("a") as f:
        f.write(_pg_config(server.port, server.sockdir))
    server.run(
        "pg_ctl",
        "start",
        "-D",
        str(server.datadir),
        "-l",
        str(server.log_path),
        "-w",
        "-t",
        str(int(timeout)),
        timeout=timeout + 10,
    )


@contextlib.contextmanager
def postgres_running(timeout: float = 60, retries: int = 3) -> Iterator[PostgresServer]:
    """Run a private PostgreSQL cluster for the duration of the ``with`` block.

    ``initdb`` into a fresh temp dir (under the system temp dir, so that the
    ``postgres`` user can reach it when we are root), ``pg_ctl start`` on a free
    loopback port with trust auth, create database ``ablate``. On exit: ``pg_ctl stop
    -m fast`` and remove the dir, also when the block raised.
    """
    t0 = time.monotonic()
    bindir = find_pg_bindir()
    root = Path(tempfile.mkdtemp(prefix="ablate-pg-"))
    server = PostgresServer(root=root, bindir=bindir, port=0, os_user=None)
    try:
        try:
            _setup_cluster(server, timeout, retries)
        except ServerError as exc:
            raise ServerError(
                f"PostgreSQL test cluster (bindir {bindir}, run as "
                f"{server.os_user or 'current user'}) failed: {exc}\n{PG_HINT}"
            ) from exc
        server.startup_s = time.monotonic() - t0
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def _setup_cluster(server: PostgresServer, timeout: float, retries: int) -> None:
    """initdb, start on a free port (retrying if it was taken), create the database."""
    (server.root / "sock").mkdir()
    if os.geteuid() == 0:
        entry = _ensure_os_user(PG_OS_USER)
        server.os_user = entry.pw_name
        for p in (server.root, server.root / "sock"):
            os.chown(p, entry.pw_uid, entry.pw_gid)
    server.run(
        "initdb",
        "-D",
        str(server.datadir),
        "-U",
        server.user,
        "--auth=trust",
        "--encoding=UTF8",
        "--locale=C",
        "--no-sync",
    )
    for attempt in range(retries):
        server.port = free_port()
        try:
            _start_cluster(server, timeout)
            break
        except ServerError as exc:
            tail = log_tail(server.log_path)
            if attempt == retries - 1 or not any(s in tail.lower() for s in _PORT_IN_USE):
                raise ServerError(f"{exc}\n--- {server.log_path} (tail):\n{tail}") from exc
    create_database(server.url_for("postgres"), server.database)


# --------------------------------------------------------------------------- MLflow


@dataclass
class MlflowServer:
    """A running ``mlflow server`` subprocess and where it keeps its data."""

    url: str
    port: int
    root: Path
    process: subprocess.Popen[bytes]
    startup_s: float = 0.0
    argv: list[str] = field(default_factory=list)

    @property
    def backend_store_uri(self) -> str:
        """SQLite backend store of this server."""
        return f"sqlite:///{self.root / 'mlflow.db'}"

    @property
    def artifacts_dir(self) -> Path:
        """Where the server stores proxied artifact uploads."""
        return self.root / "artifacts"

    @property
    def log_path(self) -> Path:
        """The server's combined stdout/stderr."""
        return self.root / "mlflow-server.log"

    def rss(self) -> tuple[int, int]:
        """Total RSS in bytes and process count of the server's process group."""
        return process_group_rss(self.process.pid)

    def stop(self, grace_s: float = 5.0) -> None:
        """SIGTERM the process group, SIGKILL it after ``grace_s`` seconds."""
        stop_process_group(self.process, grace_s)


def stop_process_group(proc: subprocess.Popen[bytes], grace_s: float = 5.0) -> None:
    """Terminate the process group led by ``proc`` (started with ``start_new_session``)."""
    for sig, wait_s in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=wait_s)
        except subprocess.TimeoutExpired:
            continue
        # Leader gone: make sure no worker of the group survived it.
        if process_group_rss(proc.pid)[1] == 0:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        return


def mlflow_argv(port: int, root: Path, backend_store_uri: str | None = None) -> list[str]:
    """Argument list of ``mlflow server`` for a one-worker server keeping its data in ``root``."""
    return [
        sys.executable,
        "-m",
        "mlflow",
        "server",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--backend-store-uri",
        backend_store_uri or f"sqlite:///{root / 'mlflow.db'}",
        "--serve-artifacts",
        "--artifacts-destination",
        str(root / "artifacts"),
    ]


def _wait_healthy(server: MlflowServer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    health = f"{server.url}/health"
    while time.monotonic() < deadline:
        code = server.process.poll()
        if code is not None:
            raise ServerError(f"mlflow server exited with {code} before answering {health}")
        try:
            with urllib.request.urlopen(health, timeout=2) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise ServerError(f"mlflow server did not answer {health} within {timeout:.0f} s")


def start_mlflow_server(
    root: Path, timeout: float = 60, retries: int = 3, backend_store_uri: str | None = None
) -> MlflowServer:
    """Start ``mlflow server`` on a free loopback port with its data under ``root`` and
    wait for ``/health``. The caller must call :meth:`MlflowServer.stop`."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "artifacts").mkdir(exist_ok=True)
    env = {**os.environ, **MLFLOW_ENV}
    for attempt in range(retries):
        t0 = time.monotonic()
        port = free_port()
        argv = mlflow_argv(port, root, backend_store_uri)
        log_path = root / "mlflow-server.log"
        with log_path.open("ab") as log:
            log.write(f"\n$ {shlex.join(argv)}\n".encode())
            log.flush()
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=root,
                env=env,
                start_new_session=True,
            )
        server = MlflowServer(url=f"http://127.0.0.1:{port}", port=port, root=root, process=proc)
        server.argv = argv
        try:
            _wait_healthy(server, timeout)
        except ServerError as exc:
            server.stop()
            tail = log_tail(log_path)
            if attempt < retries - 1 and any(s in tail.lower() for s in _PORT_IN_USE):
                continue
            raise ServerError(
                f"{exc}\n$ {shlex.join(argv)}\n--- {log_path} (tail):\n{tail}"
            ) from exc
        server.startup_s = time.monotonic() - t0
        return server
    raise ServerError("unreachable")  # pragma: no cover


@contextlib.contextmanager
def mlflow_server_running(root: Path, timeout: float = 60) -> Iterator[MlflowServer]:
    """Run an MLflow tracking server for the duration of the ``with`` block."""
    server = start_mlflow_server(root, timeout=timeout)
    try:
        yield server
    finally:
        server.stop()
