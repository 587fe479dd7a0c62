"""mount(2) and umount2(2) for the mounts the agent makes itself: container roots (overlay),
idmapped layers, and the files that keep namespaces alive (nsfs bind mounts)."""

from __future__ import annotations

import ctypes
import errno
import os

_libc = ctypes.CDLL(None, use_errno=True)
MS_RDONLY = 1
MS_BIND = 4096
_MNT_DETACH = 2


def mount(source: str, target: str, fstype: str, flags: int = 0, data: str = "") -> None:
    if _libc.mount(source.encode(), target.encode(), fstype.encode(), flags, data.encode()) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount {fstype or source} on {target}: {os.strerror(err)}")


def bind(source: str, target: str) -> None:
    mount(source, target, "", MS_BIND)


def umount(target: str) -> None:
    """Unmount target; a mount still in use is detached so that removal can go on, and a
    path that is no mount point (bind mounts of one file system fool os.path.ismount) is fine."""
    if _libc.umount2(target.encode(), 0) == 0:
        return
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOENT):  # not a mount point (any more), or gone: nothing to do
        return
    if err == errno.EBUSY and _libc.umount2(target.encode(), _MNT_DETACH) == 0:
        return
    raise OSError(err, f"umount {target}: {os.strerror(err)}")
