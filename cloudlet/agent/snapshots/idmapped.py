"""Idmapped mounts (mount_setattr(2) with MOUNT_ATTR_IDMAP): an image layer shown with its
owners shifted into a user namespace's host range, without copying or chowning a byte of it.

The layers on disk belong to the host's ids (root is 0). A container whose root is host uid
100000 would see them owned by nobody and could not write /etc; through an idmapped mount
of each layer, uid 0 on disk reads as 100000, which the container's user namespace shows as
its own root. The same layer directory serves every container, each with its own mapping.
"""

from __future__ import annotations

import ctypes
import os
import subprocess
from pathlib import Path

from cloudlet.agent.mounts import bind

_libc = ctypes.CDLL(None, use_errno=True)
# x86_64 (and every other architecture since 5.x uses the same numbers for these)
_SYS_OPEN_TREE, _SYS_MOVE_MOUNT, _SYS_MOUNT_SETATTR = 428, 429, 442
_OPEN_TREE_CLONE = 1
_OPEN_TREE_CLOEXEC = os.O_CLOEXEC
_AT_EMPTY_PATH = 0x1000
_AT_FDCWD = -100
_MOVE_MOUNT_F_EMPTY_PATH = 0x4
_MOUNT_ATTR_IDMAP = 0x00100000


class _MountAttr(ctypes.Structure):
    _fields_ = [("attr_set", ctypes.c_uint64), ("attr_clr", ctypes.c_uint64),
                ("propagation", ctypes.c_uint64), ("userns_fd", ctypes.c_uint64)]


def _check(result: int, what: str) -> int:
    if result < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")
    return result


def _map_text(maps) -> str:
    return "".join(f"{m.container_id} {m.host_id} {m.size}\n" for m in maps)


def pin_userns(uid_map, gid_map, pin: Path) -> None:
    """A new user namespace with these mappings (IdMap lists), kept alive by a bind mount of
    it on the file pin (until pin is unmounted), for runc to join and mount_setattr to use."""
    # A child that unshares its user namespace, says so, and waits: we write its maps from
    # outside (as root in the parent namespace, setgroups need not be denied) and pin the
    # namespace before letting the child go.
    child = subprocess.Popen(["unshare", "--user", "--", "sh", "-c", "echo; read _"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        if child.stdout.readline() != b"\n":
            raise OSError(f"unshare --user exited {child.wait()}")
        for name, maps in (("uid_map", uid_map), ("gid_map", gid_map)):
            with open(f"/proc/{child.pid}/{name}", "w") as f:
                f.write(_map_text(maps))
        pin.touch()
        bind(f"/proc/{child.pid}/ns/user", str(pin))
    finally:
        child.stdin.close()
        child.wait()
        child.stdout.close()


def mount_idmapped(source: str, target: str, ns_fd: int) -> None:
    """A clone of the mount tree at source, shown through the user namespace ns_fd's
    mappings, attached at target (an existing directory)."""
    tree = _check(_libc.syscall(_SYS_OPEN_TREE, _AT_FDCWD, source.encode(), _OPEN_TREE_CLONE | _OPEN_TREE_CLOEXEC),
                  f"open_tree {source}")
    try:
        attr = _MountAttr(_MOUNT_ATTR_IDMAP, 0, 0, ns_fd)
        _check(_libc.syscall(_SYS_MOUNT_SETATTR, tree, b"", _AT_EMPTY_PATH, ctypes.byref(attr), ctypes.sizeof(attr)),
               f"idmapping {source}")
        _check(_libc.syscall(_SYS_MOVE_MOUNT, tree, b"", _AT_FDCWD, target.encode(), _MOVE_MOUNT_F_EMPTY_PATH),
               f"attaching {source} at {target}")
    finally:
        os.close(tree)
