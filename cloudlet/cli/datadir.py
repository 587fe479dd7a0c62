"""One `cloudlet up` per data dir: the first holds a lock on it for as long as it runs, and
says in the lock file who it is; a second one reads that and leaves without touching
anything (not the store, not ~/.aws, not the live server's fork-server socket)."""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path

LOCK_NAME = "server.lock"


class AlreadyRunning(Exception):
    pass


class ServerLock:
    def __init__(self, data_dir: Path):
        self.path = Path(data_dir) / LOCK_NAME
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(self.path)
            os.close(self.fd)
            raise AlreadyRunning("cloudlet is already running on this data dir "
                                 f"(pid {holder.get('pid', '?')}, port {holder.get('port', '?')})") from None

    def own(self, port: int) -> None:
        """Say who holds it, once the API's port is bound."""
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, json.dumps({"pid": os.getpid(), "port": port}).encode(), 0)


def _holder(path: Path) -> dict:
    try:
        return json.loads(Path(path).read_text() or "{}")
    except (ValueError, FileNotFoundError):
        return {}


def holder_pid(data_dir: Path) -> int | None:
    """The pid of the `cloudlet up` holding data_dir's lock, if the process that the lock file
    names has that file open: a pid written by an earlier server (the next one has the lock
    before it writes its own) may be anyone's by now."""
    path = Path(data_dir) / LOCK_NAME
    pid = _holder(path).get("pid")
    try:
        fds = list(Path(f"/proc/{pid}/fd").iterdir()) if isinstance(pid, int) else []
        return pid if any(os.path.realpath(fd) == str(path.resolve()) for fd in fds) else None
    except OSError:  # it is gone
        return None
