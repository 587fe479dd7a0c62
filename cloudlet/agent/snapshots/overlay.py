"""Container root filesystems as overlayfs mounts of unpacked image layers.

Each snapshot lives in its own directory under the snapshotter's root:

    <root>/<key>/upper   the container's writes (absent for a read-only snapshot)
    <root>/<key>/work    overlayfs scratch space, must be on the upper's filesystem
    <root>/<key>/merged  the mount point handed to the runtime as the rootfs
    <root>/<key>/l/<n>   short links to the layers, only when the option string is too long

Nothing is remembered in memory: whether a snapshot is mounted is read from the
kernel, so a restarted agent can remove what an earlier one prepared.
"""

from __future__ import annotations

import ctypes
import errno
import os
import re
import shutil
import subprocess
from pathlib import Path

_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
_MS_RDONLY = 1
_MNT_DETACH = 2
# mount(2) copies at most one page of option data; longer strings are cut short by the
# kernel, so we must measure before we try.
_OPTIONS_MAX = os.sysconf("SC_PAGE_SIZE") - 1

_libc = ctypes.CDLL(None, use_errno=True)


class SnapshotError(Exception):
    pass


def _mount(source: str, target: str, fstype: str, flags: int, data: str) -> None:
    if _libc.mount(source.encode(), target.encode(), fstype.encode(), flags, data.encode()) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount {fstype} on {target}: {os.strerror(err)}")


def _umount(target: str) -> None:
    """Unmount target; a mount still in use is detached so that removal can go on."""
    if _libc.umount2(target.encode(), 0) == 0:
        return
    err = ctypes.get_errno()
    if err == errno.EINVAL:  # not a mount point (any more): nothing to do
        return
    if err == errno.EBUSY and _libc.umount2(target.encode(), _MNT_DETACH) == 0:
        return
    raise OSError(err, f"umount {target}: {os.strerror(err)}")


class Snapshotter:
    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def _dir(self, key: str) -> Path:
        if not _KEY.match(key):
            raise SnapshotError(f"invalid snapshot key {key!r}")
        return self.root / key

    def mountpoint(self, key: str) -> Path:
        return self._dir(key) / "merged"

    def upper(self, key: str) -> Path:
        """What a writable snapshot changed: the builder turns it into a layer."""
        return self._dir(key) / "upper"

    def is_mounted(self, key: str) -> bool:
        return os.path.ismount(self.mountpoint(key))

    def keys(self) -> list[str]:
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and _KEY.match(p.name))

    def prepare(self, key: str, layers: list[str | os.PathLike], *, readonly: bool = False,
                owner: tuple[int, int] | None = None) -> Path:
        """Mount layers (lowest first) at the snapshot's mount point and return it.

        A writable snapshot gets an empty upper directory of its own; a read-only one
        gets none and is mounted read-only, so nothing can be written even by root.
        owner (uid, gid) owns the upper directory, and so the root of the mount: a
        container in a user namespace needs its own root to own "/" to write there.
        Preparing a key that is already mounted returns it unchanged.
        """
        d = self._dir(key)
        merged = d / "merged"
        if os.path.ismount(merged):
            return merged
        lowers = [Path(p).resolve() for p in layers]
        for p in lowers:
            if not p.is_dir():
                raise SnapshotError(f"layer directory {p} does not exist")
        merged.mkdir(parents=True, exist_ok=True)
        if readonly or not lowers:
            # overlayfs wants two lowers when there is no upper, and one at least with
            # one: an empty bottom layer satisfies both (an image with no layers, too).
            empty = d / "empty"
            empty.mkdir(exist_ok=True)
            lowers.insert(0, empty)
        upper = work = None
        if not readonly:
            upper, work = d / "upper", d / "work"
            upper.mkdir(exist_ok=True)
            work.mkdir(exist_ok=True)
            if owner:
                os.chown(upper, *owner)
        try:
            self._mount_overlay(d, lowers, upper, work, readonly)
        except Exception:
            self.remove(key)
            raise
        return merged

    def _mount_overlay(self, d: Path, lowers: list[Path], upper, work, readonly: bool) -> None:
        # overlayfs lists the topmost layer first, the reverse of image order.
        def options(lower_names: list[str], up: str | None, wk: str | None) -> str:
            opts = "lowerdir=" + ":".join(reversed(lower_names))
            if up:
                opts += f",upperdir={up},workdir={wk}"
            return opts

        flags = _MS_RDONLY if readonly else 0
        opts = options([str(p) for p in lowers], upper and str(upper), work and str(work))
        if len(opts) <= _OPTIONS_MAX:
            _mount("overlay", str(d / "merged"), "overlay", flags, opts)
            return
        # Too long for one page: give each layer a short link inside the snapshot and
        # name everything relative to the snapshot directory, from a child process
        # whose working directory it is (chdir in this threaded process is not safe).
        links = d / "l"
        shutil.rmtree(links, ignore_errors=True)
        links.mkdir()
        names = []
        for i, p in enumerate(lowers):
            (links / str(i)).symlink_to(p)
            names.append(f"l/{i}")
        opts = options(names, upper and "upper", work and "work")
        if len(opts) > _OPTIONS_MAX:
            raise SnapshotError(f"{len(lowers)} layers are more than one overlay mount can stack")
        cmd = ["mount", "-n", "-i", "-t", "overlay", "-o", ("ro," if readonly else "") + opts, "overlay", "merged"]
        res = subprocess.run(cmd, cwd=d, capture_output=True, text=True)
        if res.returncode != 0:
            raise SnapshotError(f"overlay mount of {len(lowers)} layers failed: {res.stderr.strip()}")

    def remove(self, key: str) -> None:
        """Unmount and delete the snapshot; removing one that is gone is not an error."""
        d = self._dir(key)
        if not d.exists():
            return
        merged = d / "merged"
        if os.path.ismount(merged):
            _umount(str(merged))
        shutil.rmtree(d)
