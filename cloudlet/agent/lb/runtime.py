"""haproxy's runtime API: the stats socket (the current worker: stats, servers) and the
master socket (its processes, reloads). One command per connection, as haproxy answers a
non-interactive client and then closes."""

from __future__ import annotations

import csv
import io
import socket
import time
from pathlib import Path

from .errors import LbError



class Runtime:
    def __init__(self, stats: Path, master: Path):
        self.stats, self.master = stats, master

    def command(self, line: str, master: bool = False, timeout: float = 5) -> str:
        if "\n" in line or ";" in line:  # ; would chain a second command
            raise LbError(f"runtime command {line[:60]!r} has a separator")
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.settimeout(timeout)
                s.connect(str(self.master if master else self.stats))
                s.sendall(line.encode() + b"\n")
                s.shutdown(socket.SHUT_WR)
                chunks = []
                while chunk := s.recv(65536):
                    chunks.append(chunk)
        except OSError as e:
            raise LbError(f"haproxy's {'master' if master else 'stats'} socket does not answer: {e}") from None
        return b"".join(chunks).decode(errors="replace")

    def answers(self, master: bool = False) -> bool:
        try:
            return bool(self.command("show info" if not master else "show proc", master, timeout=1))
        except LbError:
            return False

    def change(self, line: str, ok: str = "") -> None:
        """A command that answers nothing (or starts with ok) when it worked, haproxy's reason
        otherwise."""
        out = self.command(line).strip()
        if out and not (ok and out.startswith(ok)):
            raise LbError(f"haproxy refused {line.split(' ', 3)[:3]}: {out}")

    def stat(self) -> list[dict[str, str]]:
        """`show stat`: one row per frontend, backend and server, by CSV column name."""
        text = self.command("show stat").lstrip("# ")
        return [row for row in csv.DictReader(io.StringIO(text)) if row.get("pxname")]

    def servers(self) -> dict[tuple[str, str], dict[str, str]]:
        """`show servers state`: (backend, server) -> its address, weights and admin state."""
        lines = self.command("show servers state").splitlines()
        header = next((line[2:].split() for line in lines if line.startswith("# be_id")), [])
        rows = [dict(zip(header, line.split())) for line in lines[1:] if line and not line.startswith("#")]
        return {(r["be_name"], r["srv_name"]): r for r in rows if "srv_name" in r}

    def processes(self) -> tuple[int, list[tuple[int, int]]]:
        """From the master: (reloads so far, [(worker pid, reloads it has lived through)])."""
        reloads, workers = -1, []
        for line in self.command("show proc", master=True).splitlines():
            parts = line.split()
            if len(parts) >= 3 and parts[0].isdigit() and parts[1] == "master":
                reloads = int(parts[2])
            elif len(parts) >= 3 and parts[0].isdigit() and parts[1] == "worker":
                workers.append((int(parts[0]), int(parts[2])))
        return reloads, workers

    def worker(self) -> int | None:
        """The worker that takes new connections: the one that has lived through no reload."""
        return next((pid for pid, reloads in self.processes()[1] if reloads == 0), None)

    def reload(self, timeout: float = 15) -> None:
        """A seamless reload: the master re-reads the config and starts a worker, which takes
        the listening sockets; old workers finish their connections and go."""
        before, _ = self.processes()
        self.command("reload", master=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            time.sleep(0.1)
            try:
                reloads, workers = self.processes()
            except LbError:  # the master re-executes itself: its socket is back in a moment
                continue
            if reloads > before and any(r == 0 for _, r in workers) and self.answers():
                return
        raise LbError("haproxy did not come back from a reload")
