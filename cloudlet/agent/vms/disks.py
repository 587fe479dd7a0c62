"""VM disks as qcow2 files, through qemu-img. A disk either stands alone or overlays one
base image (an AMI's root disk, which never changes): copies flatten everything above the
base into the new file, so no disk ever depends on another one that could be deleted.

    <root>/<id>.qcow2
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

_ID = re.compile(r"^[a-z]+-[0-9a-f]{8,17}$")
GIB = 1024 ** 3


class DiskError(Exception):
    pass


def _img(*args: str) -> str:
    res = subprocess.run(["qemu-img", *args], capture_output=True, text=True)
    if res.returncode != 0:
        raise DiskError(f"qemu-img {args[0]} failed: {res.stderr.strip()[-500:]}")
    return res.stdout


class Disks:
    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, disk_id: str) -> Path:
        if not _ID.match(disk_id):
            raise DiskError(f"invalid disk id {disk_id!r}")
        return self.root / f"{disk_id}.qcow2"

    def _publish(self, partial: Path, disk_id: str) -> Path:
        os.replace(partial, self.path(disk_id))
        return self.path(disk_id)

    def create(self, disk_id: str, size_gib: int, base: Path | None = None) -> Path:
        """A new disk of size_gib: empty, or writing over base (copy on write)."""
        partial = self.path(disk_id).with_suffix(".partial")
        _img("create", "-q", "-f", "qcow2", *(["-b", str(base), "-F", "qcow2"] if base else []),
             str(partial), str(size_gib * GIB))
        return self._publish(partial, disk_id)

    def copy(self, source: Path, disk_id: str, size_gib: int | None = None) -> Path:
        """A copy of source (a disk a VM may have open, paused by the caller: -U) that keeps
        only source's base image under it, grown to size_gib if that is bigger."""
        base = self.base(source)
        partial = self.path(disk_id).with_suffix(".partial")
        _img("convert", "-U", "-O", "qcow2", *(["-B", str(base), "-F", "qcow2"] if base else []),
             str(source), str(partial))
        if size_gib and size_gib * GIB > self.size(partial):
            _img("resize", "-q", str(partial), str(size_gib * GIB))
        return self._publish(partial, disk_id)

    @staticmethod
    def base(path: Path) -> Path | None:
        """The bottom of path's backing chain (None if it stands alone)."""
        chain = json.loads(_img("info", "-U", "--output=json", "--backing-chain", str(path)))
        return Path(chain[-1]["filename"]) if len(chain) > 1 else None

    @staticmethod
    def size(path: Path) -> int:
        return json.loads(_img("info", "-U", "--output=json", str(path)))["virtual-size"]

    def remove(self, disk_id: str) -> None:
        self.path(disk_id).unlink(missing_ok=True)
