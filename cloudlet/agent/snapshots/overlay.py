"""Container root filesystems as overlayfs mounts of unpacked image layers.

Each snapshot lives in its own directory under the snapshotter's root:

    <root>/<key>/upper   the container's writes (absent for a read-only snapshot)
    <root>/<key>/work    overlayfs scratch space, must be on the upper's filesystem
    <root>/<key>/merged  the mount point handed to the runtime as the rootfs
    <root>/<key>/l/<n>   short links to the layers, only when the option string is too long
    <root>/<key>/idmapped/<n>   the layers shown through a user namespace's mappings

With `mounts` given, mount points are <mounts>/<key> instead: a directory anyone may
pass through (0711) outside a private data dir, because a container in a user namespace
resolves its root's path as an unprivileged host uid. overlayfs reaches its layers, upper
and work dirs with the credentials of whoever mounted it, so those stay private.

Nothing is remembered in memory: whether a snapshot is mounted is read from the
kernel, so a restarted agent can remove what an earlier one prepared.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
from pathlib import Path

from cloudlet.agent.mounts import MS_RDONLY, mount, umount

from .idmapped import mount_idmapped

_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
# mount(2) copies at most one page of option data; longer strings are cut short by the
# kernel, so we must measure before we try.
_OPTIONS_MAX = os.sysconf("SC_PAGE_SIZE") - 1

class SnapshotError(Exception):
    pass


def _passable_dirs(path: Path) -> None:
    """path and the parents it needs, each searchable by anyone (listing stays private)."""
    if path.is_dir():
        return
    _passable_dirs(path.parent)
    path.mkdir(exist_ok=True)
    path.chmod(0o711)


class Snapshotter:
    def __init__(self, root: str | os.PathLike, mounts: str | os.PathLike | None = None):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.mounts = Path(mounts) if mounts else None

    def _dir(self, key: str) -> Path:
        if not _KEY.match(key):
            raise SnapshotError(f"invalid snapshot key {key!r}")
        return self.root / key

    def mountpoint(self, key: str) -> Path:
        return self.mounts / self._dir(key).name if self.mounts else self._dir(key) / "merged"

    def upper(self, key: str) -> Path:
        """What a writable snapshot changed: the builder turns it into a layer."""
        return self._dir(key) / "upper"

    def is_mounted(self, key: str) -> bool:
        return os.path.ismount(self.mountpoint(key))

    def keys(self) -> list[str]:
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and _KEY.match(p.name))

    def prepare(self, key: str, layers: list[str | os.PathLike], *, readonly: bool = False,
                owner: tuple[int, int] | None = None, userns: str | None = None) -> Path:
        """Mount layers (lowest first) at the snapshot's mount point and return it.

        A writable snapshot gets an empty upper directory of its own; a read-only one
        gets none and is mounted read-only, so nothing can be written even by root.
        owner (uid, gid) owns the upper directory, and so the root of the mount: a
        container in a user namespace needs its own root to own "/" to write there.
        userns (a user namespace's file, see idmapped.pin_userns) shows every layer's
        owners shifted into that namespace's host range.
        Preparing a key that is already mounted returns it unchanged.
        """
        d = self._dir(key)
        merged = self.mountpoint(key)
        if os.path.ismount(merged):
            return merged
        lowers = [Path(p).resolve() for p in layers]
        for p in lowers:
            if not p.is_dir():
                raise SnapshotError(f"layer directory {p} does not exist")
        d.mkdir(exist_ok=True)
        if self.mounts:
            _passable_dirs(self.mounts)
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
            if userns:
                lowers = self._idmapped(d, lowers, userns)
            self._mount_overlay(d, merged, lowers, upper, work, readonly)
        except Exception:
            self.remove(key)
            raise
        return merged

    @staticmethod
    def _idmapped(d: Path, lowers: list[Path], userns: str) -> list[Path]:
        out = []
        ns = os.open(userns, os.O_RDONLY | os.O_CLOEXEC)
        try:
            for i, layer in enumerate(lowers):
                target = d / "idmapped" / str(i)
                target.mkdir(parents=True, exist_ok=True)
                umount(str(target))  # one left from before a reboot's unmount of the root alone
                mount_idmapped(str(layer), str(target), ns)
                out.append(target)
        finally:
            os.close(ns)
        return out

    def _mount_overlay(self, d: Path, merged: Path, lowers: list[Path], upper, work, readonly: bool) -> None:
        # overlayfs lists the topmost layer first, the reverse of image order.
        def options(lower_names: list[str], up: str | None, wk: str | None) -> str:
            opts = "lowerdir=" + ":".join(reversed(lower_names))
            if up:
                opts += f",upperdir={up},workdir={wk}"
            return opts

        flags = MS_RDONLY if readonly else 0
        opts = options([str(p) for p in lowers], upper and str(upper), work and str(work))
        if len(opts) <= _OPTIONS_MAX:
            mount("overlay", str(merged), "overlay", flags, opts)
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
        cmd = ["mount", "-n", "-i", "-t", "overlay", "-o", ("ro," if readonly else "") + opts, "overlay", str(merged)]
        res = subprocess.run(cmd, cwd=d, capture_output=True, text=True)
        if res.returncode != 0:
            raise SnapshotError(f"overlay mount of {len(lowers)} layers failed: {res.stderr.strip()}")

    def remove(self, key: str) -> None:
        """Unmount and delete the snapshot; removing one that is gone is not an error."""
        d = self._dir(key)
        merged = self.mountpoint(key)
        if os.path.ismount(merged):
            umount(str(merged))
        if self.mounts and merged.is_dir():
            merged.rmdir()
            with contextlib.suppress(OSError):  # the last one out takes the engine's dir along
                self.mounts.rmdir()
        if not d.exists():
            return
        for lower in sorted((d / "idmapped").glob("*")):
            umount(str(lower))  # a bind mount: ismount cannot tell, umount says EINVAL if not
        shutil.rmtree(d)
