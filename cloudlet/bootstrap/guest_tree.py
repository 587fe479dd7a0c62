"""cloudlet's guest files in an AMI's root tree, the same in every AMI: busybox init
(guest/inittab) runs cloudlet's guest agent (guest/agent.sh: network, metadata, the key
pair's key, user-data, an image's own process, an SSH server), and acpid turns the power
button into a clean shutdown. `busybox` is where the AMI keeps its busybox: /bin/busybox
in the built-in AMIs (amis.py), a private directory in an image's (image_amis.py), whose
own /bin/sh, if any, stays its own.

An image's tree is its author's: its symlinks may point anywhere (/etc -> /etc, meant for
the guest, would be the host's here). So every path is resolved inside the tree as the
guest will resolve it (an absolute link starts again at the tree's root), and the entry at
the end of the path is replaced, never written through.
"""

from __future__ import annotations

import os
import posixpath
import shutil
from pathlib import Path

from cloudlet.agent.runtime.users import UserError, path_in_root

GUEST = Path(__file__).with_name("guest")


class GuestTreeError(RuntimeError):
    pass


def _place(tree: Path, path: str) -> Path:
    """Where the guest's absolute `path` is in tree: its directory made, and what was at
    the path itself removed unless it is a directory."""
    try:
        parent = path_in_root(tree, posixpath.dirname(path))
        parent.mkdir(parents=True, exist_ok=True)
    except (UserError, FileExistsError, NotADirectoryError) as e:
        raise GuestTreeError(f"the image has no usable directory for {path}: {e}") from None
    target = parent / posixpath.basename(path)
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        target.unlink()
    return target


def directory(tree: Path, path: str, mode: int = 0o755) -> Path:
    target = _place(tree, path)
    if not target.is_dir():
        target.mkdir(mode)
    return target


def write(tree: Path, path: str, text: str, mode: int = 0o644) -> None:
    target = _place(tree, path)
    if target.is_dir():
        raise GuestTreeError(f"the image has a directory where cloudlet's {path} goes")
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, mode)
    with open(fd, "w") as f:
        f.write(text)
    os.chmod(target, mode)  # whatever the umask


def copy(tree: Path, path: str, source: Path) -> None:
    """A host file into the tree, its mode kept."""
    target = _place(tree, path)
    if target.is_dir():
        raise GuestTreeError(f"the image has a directory where cloudlet's {path} goes")
    shutil.copy2(source, target)


def link(tree: Path, path: str, to: str) -> None:
    target = _place(tree, path)
    if target.is_dir():
        raise GuestTreeError(f"the image has a directory where cloudlet's {path} goes")
    target.symlink_to(to)


def install(tree: Path, login: str, busybox: str) -> None:
    """The agent, init's table and acpid's configuration; busybox (the guest's path of it)
    must be in the tree already, with its `sh` beside it."""
    shell = posixpath.join(posixpath.dirname(busybox), "sh")

    def ours(text: str) -> str:
        return text.replace("#!/bin/sh", f"#!{shell}", 1).replace("/bin/busybox", busybox)

    write(tree, "/etc/inittab", ours((GUEST / "inittab").read_text()))
    write(tree, "/usr/lib/cloudlet/agent.sh", ours((GUEST / "agent.sh").read_text()), 0o755)
    write(tree, "/etc/cloudlet/login", login + "\n")
    # the power button (a stop) shuts the guest down through init: processes end, the disk is synced
    write(tree, "/etc/acpi/power", ours("#!/bin/sh\nexec /bin/busybox poweroff\n"), 0o755)
    write(tree, "/etc/acpid.conf", "PWRB power\nPWRF power\n")
    for d in ("/proc", "/sys", "/dev", "/run", "/tmp", "/var/lib/cloudlet", "/var/log"):
        directory(tree, d)
