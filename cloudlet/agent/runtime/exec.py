"""Running another process in a running container (runc exec), output captured."""

from __future__ import annotations

import json
import os
import posixpath
import subprocess
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
                 workdir: str | None = None, stdin: bytes | None = None,
                 timeout: float | None = None) -> ExecResult:
    """The container's own process settings (capabilities, seccomp through the
    container, rlimits, env) with the given command, user and directory instead."""
    if not args:
        raise ContainerError("exec needs a command")
    process = json.loads((bundle / "config.json").read_text())["process"]
    process["args"] = list(args)
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
        res = runc.exec(cid, path, timeout, stdin)
    except subprocess.TimeoutExpired as e:
        raise ContainerError(f"exec in {cid} did not finish within {timeout}s") from e
    finally:
        os.unlink(path)
    return ExecResult(exit_code=res.returncode, stdout=res.stdout, stderr=res.stderr)
