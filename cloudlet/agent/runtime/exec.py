"""Running another process in a running container (runc exec), output captured."""

from __future__ import annotations

import json
import os
import posixpath
import select
import subprocess
import time
import tty
import uuid
from dataclasses import dataclass
from pathlib import Path

from .errors import ContainerError
from .oci import write_json
from .runc import Runc
from .users import resolve_user


@dataclass
class ExecResult:
    exit_code: int
    stdout: bytes
    stderr: bytes


def exec_process(runc: Runc, cid: str, bundle: Path, rootfs: Path, args: list[str], *,
                 env: dict[str, str] | None = None, user: str | None = None,
                 workdir: str | None = None, stdin: bytes | None = None, tty: bool = False,
                 timeout: float | None = None) -> ExecResult:
    """The container's own process settings (capabilities, seccomp through the
    container, rlimits, env) with the given command, user and directory instead.
    With tty the process gets a terminal; its output (both streams) is in stdout."""
    if not args:
        raise ContainerError("exec needs a command")
    process = json.loads((bundle / "config.json").read_text())["process"]
    process["args"] = list(args)
    process["terminal"] = tty
    if env:
        merged = dict(item.split("=", 1) for item in process["env"])
        merged.update(env)
        process["env"] = [f"{k}={v}" for k, v in merged.items()]
    if user is not None:
        u = resolve_user(rootfs, user)
        process["user"] = {"uid": u.uid, "gid": u.gid, "additionalGids": u.additional_gids}
    if workdir is not None:
        process["cwd"] = posixpath.normpath(posixpath.join("/", workdir))
    path = bundle / f"exec-{uuid.uuid4().hex[:12]}.json"
    write_json(path, process)
    try:
        if tty:
            return _exec_tty(runc, cid, path, stdin, timeout)
        res = runc.exec(cid, path, timeout, stdin)
    except subprocess.TimeoutExpired as e:
        raise ContainerError(f"exec in {cid} did not finish within {timeout}s") from e
    finally:
        os.unlink(path)
    return ExecResult(exit_code=res.returncode, stdout=res.stdout, stderr=res.stderr)


def _exec_tty(runc: Runc, cid: str, process_json: Path, stdin: bytes | None,
              timeout: float | None) -> ExecResult:
    """runc only lends the container's terminal to a caller that has one itself (or
    detaches, and then nobody gets the exit code): so give it a pseudo-terminal of
    ours, and read what it relays until runc and the process let go."""
    master, slave = os.openpty()
    # raw from the start: runc makes its terminal raw only once it has attached, and output relayed
    # before that would have its line ends translated twice (\r\r\n)
    tty.setraw(slave)
    try:
        proc = subprocess.Popen([runc.binary, *runc.global_args, "exec", "--process", str(process_json), cid],
                                stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
    finally:
        os.close(slave)
    out = bytearray()
    deadline = None if timeout is None else time.monotonic() + timeout
    try:
        if stdin:
            os.write(master, stdin)
        while True:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and (left <= 0 or not select.select([master], [], [], left)[0]):
                proc.kill()
                raise subprocess.TimeoutExpired(proc.args, timeout)
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: every holder of the terminal's other side is gone
                break
            if not chunk:
                break
            out += chunk
    finally:
        os.close(master)
    proc.wait()
    return ExecResult(exit_code=proc.returncode, stdout=bytes(out), stderr=b"")
