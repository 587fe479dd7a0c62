"""runc, called as a program with a state root of our own, and conmon around it.

conmon is the long-lived part: it runs `runc create`, keeps the container's stdio,
writes the k8s-file log and, when the container ends, its exit code to a file. It
double-forks, so nothing of it depends on the agent process staying alive.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import time
from pathlib import Path

from .errors import OCIError


def find_binary(name: str, *fallbacks: str) -> str:
    found = shutil.which(name) or next((p for p in fallbacks if os.access(p, os.X_OK)), None)
    if not found:
        raise OCIError(f"{name} is not installed (cloudlet setup installs it)")
    return found


class Runc:
    def __init__(self, state_root: Path, binary: str | None = None):
        self.state_root = state_root
        self.binary = binary or find_binary("runc", "/usr/sbin/runc", "/usr/bin/runc")

    @property
    def global_args(self) -> list[str]:
        return ["--root", str(self.state_root)]

    def _run(self, *args: str, check: bool = True, timeout: float = 30) -> subprocess.CompletedProcess:
        res = subprocess.run([self.binary, *self.global_args, *args], capture_output=True,
                             text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        if check and res.returncode != 0:
            raise OCIError(f"runc {args[0]}: {_runc_message(res.stderr)}")
        return res

    def state(self, cid: str) -> dict | None:
        """runc's view ("created", "running", "paused", "stopped"), or None if it has none."""
        res = self._run("state", cid, check=False)
        if res.returncode != 0:
            return None
        return json.loads(res.stdout)

    def list(self) -> dict[str, dict]:
        for _ in range(5):
            res = self._run("list", "--format", "json", check=False)
            if res.returncode == 0:
                return {st["id"]: st for st in json.loads(res.stdout) or []}
            # runc lists its state dirs, then reads each: one deleted in between fails the lot.
            if "no such file or directory" not in res.stderr:
                break
        raise OCIError(f"runc list: {_runc_message(res.stderr)}")

    def start(self, cid: str) -> None:
        self._run("start", cid)

    def kill(self, cid: str, sig: int, all_processes: bool = False) -> bool:
        """False when there was no running process left to signal."""
        res = self._run("kill", *(["--all"] if all_processes else []), cid, str(sig), check=False)
        return res.returncode == 0

    def delete(self, cid: str) -> None:
        res = self._run("delete", "--force", cid, check=False)
        if res.returncode != 0 and "does not exist" not in res.stderr:
            raise OCIError(f"runc delete: {_runc_message(res.stderr)}")

    def exec(self, cid: str, process_json: Path, timeout: float | None, stdin: bytes | None):
        return subprocess.run([self.binary, *self.global_args, "exec", "--process", str(process_json), cid],
                              input=stdin, stdin=None if stdin is not None else subprocess.DEVNULL,
                              capture_output=True, timeout=timeout)


def _runc_message(stderr: str) -> str:
    """runc logs logfmt lines (level=error msg="..."); the msg is what a person needs."""
    msgs = []
    for line in stderr.strip().splitlines():
        _, sep, rest = line.partition('msg="')
        msgs.append(rest.rsplit('"', 1)[0].replace('\\"', '"') if sep else line)
    return "; ".join(msgs) or "failed"


class Conmon:
    def __init__(self, runc: Runc, binary: str | None = None):
        self.runc = runc
        self.binary = binary or find_binary("conmon", "/usr/bin/conmon", "/usr/libexec/podman/conmon")

    def launch(self, *, cid: str, name: str, bundle: Path, log_path: Path, exit_dir: Path,
               socket_dir: Path, timeout: float = 30) -> int:
        """Have conmon create the container (not start it); returns the container's pid."""
        persist = bundle / "persist"
        persist.mkdir(exist_ok=True)
        r, w = os.pipe()
        args = [
            self.binary, "--api-version", "1", "-c", cid, "-u", cid, "-n", name,
            "-r", self.runc.binary, *(f"--runtime-arg={a}" for a in self.runc.global_args),
            "-b", str(bundle), "-p", str(bundle / "pidfile"), "-P", str(bundle / "conmon.pid"),
            "-l", f"k8s-file:{log_path}", "--log-level", "error",
            "--exit-dir", str(exit_dir), "--persist-dir", str(persist),
            "--socket-dir-path", str(socket_dir),
            # conmon would sync(2) the whole host at every container exit otherwise.
            "--no-sync-log",
        ]
        env = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"), "_OCI_SYNCPIPE": str(w)}
        try:
            with open(bundle / "conmon.err", "wb") as err:
                # conmon's first process returns once its daemon child is forked off.
                # cwd: conmon writes its "oom" marker file relative to it.
                proc = subprocess.Popen(args, pass_fds=(w,), env=env, stdin=subprocess.DEVNULL,
                                        stdout=err, stderr=err, start_new_session=True, cwd=bundle)
            os.close(w)
            w = -1
            proc.wait(timeout)
            msg = _read_sync(r, timeout)
        finally:
            os.close(r)
            if w != -1:
                os.close(w)
        if msg is None:
            detail = (bundle / "conmon.err").read_text(errors="replace").strip()
            raise OCIError(f"conmon gave no start result for {cid}: {detail or 'no output'}")
        pid = msg.get("data", -1)
        if pid <= 0:
            raise OCIError(f"creating container {cid}: {_runc_message(msg.get('message', ''))}")
        return pid


def _read_sync(fd: int, timeout: float) -> dict | None:
    """conmon writes one JSON object per line to the sync pipe: {"data": pid} once the
    container is created, {"data": -1, "message": ...} if creating it failed."""
    deadline = time.monotonic() + timeout
    buf = b""
    while b"\n" not in buf:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            return None
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        buf += chunk
    line = buf.split(b"\n", 1)[0].strip()
    return json.loads(line) if line else None


def conmon_pid(pidfile: Path, cid: str) -> int | None:
    """conmon's pid if it still runs: checked by its command line, since after a
    reboot the number may belong to someone else."""
    try:
        pid = int(pidfile.read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (FileNotFoundError, ValueError, ProcessLookupError):
        return None
    return pid if b"conmon" in cmdline[0] and cid.encode() in cmdline else None


def wait_conmon_gone(pidfile: Path, cid: str, timeout: float = 5.0) -> None:
    """conmon exits by itself once the container has; give it a moment before the
    bundle it works in is removed, and end it if it hangs on."""
    deadline = time.monotonic() + timeout
    while (pid := conmon_pid(pidfile, cid)) is not None:
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            return
        time.sleep(0.01)
