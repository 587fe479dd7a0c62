"""One load balancer's HAProxy: started from a plan (master-worker, daemon), changed in place
where the runtime API can, reloaded seamlessly where it cannot, adopted when found running
(a pid file whose process is haproxy on our config, and a master socket that answers)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from .config import STATE, STATS, home_of, render
from .errors import LbError
from .plan import ProxyPlan
from .runtime import Runtime
from .servers import sync
from .stats import ServerHealth, counters, health

__all__ = ["LbError", "Proxy", "ServerHealth"]
CFG, PID, MASTER, SKELETON, HOME = "haproxy.cfg", "haproxy.pid", "master.sock", "skeleton.cfg", "netns"


class Proxy:
    def __init__(self, directory: Path, key: str):
        self.directory, self.key = Path(directory), key
        if len(str(self.directory / MASTER)) > 100:  # sun_path holds 108 bytes
            raise LbError(f"proxy directory {directory} is too long a path for its sockets")
        self.runtime = Runtime(self.directory / STATS, self.directory / MASTER)

    def apply(self, plan: ProxyPlan) -> None:
        running = self.running()
        home = self._file(HOME) or None if running else home_of(plan)
        rendered = render(plan, self.directory, home)
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not running:
            self._write(rendered)
            (self.directory / HOME).write_text(home or "")
            self._start(home)
        elif rendered.skeleton != self._file(SKELETON):
            self._write(rendered)
            (self.directory / STATE).write_text(self.runtime.command("show servers state"))
            self.runtime.reload()
        elif rendered.text != self._file(CFG):
            self._write(rendered)  # so that a later reload or restart has these servers too
        sync(self.runtime, plan, home)

    def health(self) -> dict[tuple[str, str], ServerHealth]:
        return health(self.runtime.stat())

    def counters(self) -> dict:
        return counters(self.runtime.stat())

    def running(self) -> bool:
        return self._pid() is not None and self.runtime.answers(master=True)

    def stop(self) -> None:
        pid = self._pid()
        if pid is not None:
            try:
                pids = [pid] + [worker for worker, _ in self.runtime.processes()[1]]
            except LbError:
                pids = [pid]
            _end(pids)
        shutil.rmtree(self.directory, ignore_errors=True)

    def _write(self, rendered) -> None:
        """The new config in place, once haproxy itself has found nothing wrong with it."""
        for name, body in rendered.bodies.items():
            (self.directory / name).write_bytes(body)
        (self.directory / STATE).touch()
        new = self.directory / f"{CFG}.new"
        new.write_text(rendered.text)
        check = subprocess.run(["haproxy", "-c", "-f", str(new)], capture_output=True, text=True, timeout=60)
        if check.returncode != 0:
            new.unlink()
            raise LbError(f"haproxy refused the plan: {_alerts(check.stderr + check.stdout)}")
        new.replace(self.directory / CFG)
        (self.directory / SKELETON).write_text(rendered.skeleton)
        for old in self.directory.glob("body-*"):
            if old.name not in rendered.bodies:
                old.unlink()

    def _start(self, home: str | None) -> None:
        d = self.directory
        command = ["haproxy", "-W", "-D", "-f", str(d / CFG), "-p", str(d / PID), "-S", f"{d / MASTER},mode,600"]
        if home:  # servers there, and binds, need no namespace keyword (see plan.ProxyPlan.netns)
            command = ["nsenter", f"--net=/run/netns/{home}", "--"] + command
        started = subprocess.run(command, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        if started.returncode != 0:
            raise LbError(f"haproxy did not start: {_alerts(started.stderr)}")
        deadline = time.monotonic() + 10
        while not (self.runtime.answers() and self.running()):
            if time.monotonic() > deadline:
                raise LbError("haproxy started but its sockets do not answer")
            time.sleep(0.05)

    def _pid(self) -> int | None:
        """The master's pid, if the process of the pid file is haproxy running our config."""
        try:
            pid = int(self._file(PID).split()[0])
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except (ValueError, IndexError, OSError):
            return None
        ours = b"haproxy" in os.path.basename(cmdline[0]) and str(self.directory / CFG).encode() in cmdline
        return pid if ours else None

    def _file(self, name: str) -> str:
        try:
            return (self.directory / name).read_text()
        except OSError:
            return ""


def _alerts(output: str) -> str:
    lines = [line for line in output.splitlines() if "ALERT" in line or "error" in line.lower()]
    return "; ".join(lines or output.splitlines()[-3:]).strip()


def _end(pids: list[int]) -> None:
    """The master first (it takes its workers down), then whatever of ours is left."""
    for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 2.0)):
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and any(_alive(pid) for pid in pids):
            time.sleep(0.05)
        if not any(_alive(pid) for pid in pids):
            return


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
