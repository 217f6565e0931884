"""What cannot work on a cluster, refused before anything is submitted.

Every SLURM task is a worker on some node. So the Optuna storage and the tracking
store must be one place every node reaches (a database or tracking server, or a file
on a shared filesystem), and the data must be at a path every node can read. Each
check raises `LaunchError` (exit 2) with one line saying what to use instead.
"""

from __future__ import annotations

import os
import shutil
import socket
import urllib.parse
from pathlib import Path

from ablate.errors import AblateError
from ablate.store import mask_password

# Filesystem types (the third field of /proc/mounts) that several machines mount at once.
SHARED_FS = frozenset(
    {
        "nfs", "nfs4", "lustre", "gpfs", "beegfs", "cephfs", "ceph", "glusterfs",
        "fuse.glusterfs", "fuse.cephfs", "fuse.beegfs", "panfs", "wekafs", "fuse.weka",
        "orangefs", "pvfs2", "afs", "cifs", "smb3", "fuse.sshfs", "virtiofs", "9p",
    }
)  # fmt: skip
LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1", "0.0.0.0", ""})
OVERRIDE = "--shared-fs"
MOUNTS = Path("/proc/mounts")


class LaunchError(AblateError):
    """A launch that cannot work on a cluster, or a scheduler that refused it. Exit 2."""


def fs_type(path: Path, mounts: Path = MOUNTS) -> str:
    """Filesystem type of the mount holding `path` (its nearest existing folder), by the
    longest matching mount point in /proc/mounts; "unknown" where that cannot be read."""
    p = path.expanduser().absolute()
    while not p.exists() and p != p.parent:
        p = p.parent
    p = p.resolve()
    try:
        lines = mounts.read_text().splitlines()
    except OSError:
        return "unknown"
    best, kind = "", "unknown"
    for line in lines:
        fields = line.split()
        if len(fields) < 3:
            continue
        point = fields[1].replace("\\040", " ")  # /proc/mounts escapes spaces
        inside = point == "/" or str(p) == point or str(p).startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):
            best, kind = point, fields[2]
    return kind


def is_shared(path: Path, mounts: Path = MOUNTS) -> bool:
    """True when `path` lies on a filesystem type that several machines mount."""
    return fs_type(path, mounts) in SHARED_FS


def check_shared_file(what: str, path: Path, shared_fs: bool, mounts: Path = MOUNTS) -> None:
    """`path` must be on a shared filesystem, unless the user says so (`--shared-fs`)."""
    if shared_fs:
        return
    kind = fs_type(path, mounts)
    if kind not in SHARED_FS:
        raise LaunchError(
            f"{what} {path} is on {kind} (its filesystem type in /proc/mounts), which only this "
            "machine sees: put it on a shared filesystem (nfs, lustre, gpfs, beegfs, cephfs...), use a database, "
            f"or pass {OVERRIDE} if every node sees this path."
        )


def check_storage(storage: str | None, shared_fs: bool, mounts: Path = MOUNTS) -> None:
    """The Optuna storage every worker shares: a database, or a journal on a shared
    filesystem; never sqlite (one process only) and never the local default."""
    if not storage:
        raise LaunchError(
            "--storage is required: the workers share the sweep through it, e.g. "
            "postgresql://USER:PASS@HOST/DB or journal:/shared/fs/sweep.journal."
        )
    if storage.startswith("sqlite:"):
        raise LaunchError(
            f"--storage {mask_password(storage)}: sqlite is for one process on one machine; "
            "use postgresql://USER:PASS@HOST/DB or journal:/shared/fs/sweep.journal."
        )
    if storage.startswith("journal:") or storage.endswith(".journal"):
        path = Path(storage.removeprefix("journal:")).expanduser().absolute()
        check_shared_file("--storage journal file", path, shared_fs, mounts)


def check_tracking(uri: str | None, shared_fs: bool, mounts: Path = MOUNTS) -> None:
    """The tracking store every worker logs to: a tracking server (or a database);
    never a sqlite file, and a file store only on a shared filesystem."""
    if not uri:
        raise LaunchError(
            "--tracking-uri is required (or $MLFLOW_TRACKING_URI): the workers log to one "
            "MLflow tracking server, e.g. http://HOST:5000."
        )
    if uri.startswith("sqlite:"):
        raise LaunchError(
            f"--tracking-uri {mask_password(uri)}: a sqlite store is one machine's file; "
            "on a cluster use an MLflow tracking server, e.g. --tracking-uri http://HOST:5000."
        )
    scheme = urllib.parse.urlsplit(uri).scheme
    if scheme in ("", "file"):
        path = Path(urllib.parse.urlsplit(uri).path if scheme else uri).expanduser().absolute()
        check_shared_file("--tracking-uri folder", path, shared_fs, mounts)


def resolve_data(source: str | None, cwd: Path) -> Path | None:
    """The data path the workers get: absolute (a relative one is resolved against
    `cwd`) and existing; None where the data is torchvision's download."""
    if source is None:
        return None
    path = Path(source).expanduser()
    path = path if path.is_absolute() else (cwd / path)
    path = Path(os.path.normpath(path))
    if not path.exists():
        raise LaunchError(
            f"data {source!r} is not there (resolved to {path}): the nodes read the data at "
            "this path; pass --data with a path every node can read."
        )
    return path


def host_of(url: str) -> str | None:
    """The host of a network URL (postgresql://u:p@HOST/db, http://HOST:5000), else None."""
    parts = urllib.parse.urlsplit(url)
    if not parts.netloc:
        return None
    return parts.hostname or ""


def check_reachable_hosts(urls: dict[str, str], nodes: list[str], here: str) -> None:
    """A URL naming this machine by loopback (localhost, 127.0.0.1) reaches each node
    itself, not this machine: refused unless the only node is this machine."""
    if not nodes or set(nodes) <= {here}:
        return
    for option, url in urls.items():
        host = host_of(url)
        if host is not None and (host in LOOPBACK or host.startswith("127.")):
            raise LaunchError(
                f"{option} {mask_password(url)} names this machine as {host or 'localhost'}, "
                f"which on the nodes ({', '.join(nodes[:3])}{'...' if len(nodes) > 3 else ''}) "
                f"means the node itself: use this machine's network name ({socket.getfqdn()})."
            )


def require(program: str) -> str:
    """The full path of a SLURM command, or the refusal that names it."""
    found = shutil.which(program)
    if found is None:
        raise LaunchError(
            f"{program} is not on the PATH: run `ablate launch slurm` on a SLURM login node "
            "(where sbatch, squeue and scancel are), or load SLURM's module first."
        )
    return found
