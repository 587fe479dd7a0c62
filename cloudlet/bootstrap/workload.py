"""An image's own process in an AMI made of it (image_amis.py): /etc/cloudlet/workload, the
shell script the guest agent runs once the network is up (guest/agent.sh workload), which
runs the image's Entrypoint and Cmd as its container would: with its Env (PATH and HOME
as Docker fills them in), in its WorkingDir, as its User (resolved against the image's own
/etc/passwd and /etc/group, numeric ids allowed, as runc does), the program looked up in
the image's PATH, its output on the console.

Everything the image's config holds is its author's: each value reaches the script through
shlex.quote only, an Env name that is not a shell identifier or a NUL byte anywhere is
refused, and so is a user the image does not know.

The guest has no tool of the image's to change users with (it may have no libc, or another
one), so the script runs the host's util-linux setpriv through the host's dynamic loader,
both copied with their libraries into a directory of cloudlet's; setpriv then runs busybox's
env (static), which clears the environment, sets the image's and executes the program by its
path (found here, so that no busybox applet of the same name stands in for it).
"""

from __future__ import annotations

import posixpath
import re
import shlex
from pathlib import Path

from cloudlet.agent.runtime.oci import DEFAULT_PATH
from cloudlet.agent.runtime.users import UserError, path_in_root, resolve_user
from cloudlet.bootstrap import guest_tree

PATH = "/etc/cloudlet/workload"

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_MAX_ID = 2 ** 32 - 2  # (uid_t)-1 means "unchanged"


class WorkloadError(ValueError):
    pass


def _strings(config: dict, key: str) -> list[str]:
    value = config.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise WorkloadError(f"the image's {key} is not a list of strings")
    for v in value:
        if "\0" in v:
            raise WorkloadError(f"the image's {key} has a NUL byte")
    return value


def environment(config: dict, home: str) -> dict[str, str | None]:
    """The process's environment, Docker's way: PATH and HOSTNAME first, the image's Env over
    them, HOME last if the image has none. None stands for the guest's host name."""
    env: dict[str, str | None] = {"PATH": DEFAULT_PATH, "HOSTNAME": None}
    for item in _strings(config, "Env"):
        name, _, value = item.partition("=")
        if not _NAME.fullmatch(name):
            raise WorkloadError(f"the image's Env has a variable whose name is not an identifier: {name!r}")
        env[name] = value
    env.setdefault("HOME", home)
    return env


def _program(tree: Path, name: str, path: str, workdir: str) -> str:
    """The guest's path of the program, as execvp would find it in the image."""
    if "/" in name:
        return posixpath.normpath(posixpath.join(workdir, name))
    for d in path.split(":"):
        candidate = posixpath.join(posixpath.join(workdir, d or "."), name)
        try:
            real = path_in_root(tree, candidate)
        except UserError:
            continue
        if real.is_file() and real.stat().st_mode & 0o111:
            return posixpath.normpath(candidate)
    raise WorkloadError(f'exec: "{name}": executable file not found in $PATH ({path})')


def install(tree: Path, config: dict, setpriv: list[str], env_program: str, shell: str) -> None:
    """The workload script of an image whose root is tree and whose config (the "config"
    member) is config, and its working directory if the image lacks it (runc makes it too);
    setpriv: the command words that run setpriv; env_program and shell: the guest's paths of
    busybox's env and sh."""
    args = _strings(config, "Entrypoint") + _strings(config, "Cmd")
    if not args:
        raise WorkloadError("the image has no Entrypoint or Cmd: nothing to run")
    workdir = config.get("WorkingDir") or "/"
    user_spec = config.get("User") or None
    for key, value in (("WorkingDir", workdir), ("User", user_spec or "")):
        if not isinstance(value, str) or "\0" in value:
            raise WorkloadError(f"the image's {key} is not a string without NUL bytes")
    workdir = posixpath.normpath(posixpath.join("/", workdir))
    try:
        user = resolve_user(tree, user_spec)
    except UserError as e:
        raise WorkloadError(f"the image's User: {e}") from None
    if max(user.uid, user.gid, *user.additional_gids) > _MAX_ID:
        raise WorkloadError(f"the image's User {user_spec!r} is out of range")
    env = environment(config, user.home)
    program = _program(tree, args[0], env["PATH"] or "", workdir)
    if "=" in program:
        raise WorkloadError(f"cannot run {program!r}: env would take a path with '=' for a variable")
    groups = f"--groups={','.join(map(str, user.additional_gids))}" if user.additional_gids else "--clear-groups"
    words = [*map(shlex.quote, setpriv), f"--reuid={user.uid}", f"--regid={user.gid}", groups, "--",
             shlex.quote(env_program), "-i",
             *('"HOSTNAME=$(hostname)"' if value is None else shlex.quote(f"{name}={value}")
               for name, value in env.items()),
             *map(shlex.quote, [program, *args[1:]])]
    try:
        real = path_in_root(tree, workdir)  # an image's /app may be a link to where its files are
    except UserError as e:
        raise WorkloadError(f"the image's WorkingDir: {e}") from None
    if not real.is_dir():
        if real.exists():
            raise WorkloadError(f"the image's WorkingDir {workdir} is not a directory")
        try:
            real.mkdir(parents=True)
        except OSError as e:
            raise WorkloadError(f"the image's WorkingDir {workdir} cannot be made: {e.strerror}") from None
    guest_tree.write(tree, PATH, f"#!{shell}\n"
                     "# The image's Entrypoint and Cmd, with its Env, WorkingDir and User, as its container runs them\n"
                     "# (made by `cloudlet image to-ami`; every value below is the image's, quoted)\n"
                     f"cd -- {shlex.quote(workdir)} || exit 1\n"
                     f"exec {' '.join(words)}\n", 0o755)
