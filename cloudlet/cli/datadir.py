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
            holder = self._holder()
            os.close(self.fd)
            raise AlreadyRunning("cloudlet is already running on this data dir "
                                 f"(pid {holder.get('pid', '?')}, port {holder.get('port', '?')})") from None

    def _holder(self) -> dict:
        try:
            return json.loads(Path(self.path).read_text() or "{}")
        except ValueError:
            return {}

    def own(self, port: int) -> None:
        """Say who holds it, once the API's port is bound."""
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, json.dumps({"pid": os.getpid(), "port": port}).encode(), 0)
