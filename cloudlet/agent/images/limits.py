"""How much of the disk one image may take once unpacked: bytes of file content and
entries (files, directories, links of every kind), so that an image cannot fill the host
with a small download (gzip packs zeros a thousand to one, zstd more).

An image store keeps its limits in limits.json beside its tags, {"max_bytes": N,
"max_files": N}. A limit it leaves out is derived from the disk the layers unpack on, at
the moment an unpack starts: what is free there, short of a reserve of a tenth of the
disk (of its bytes, of its inodes) that no image may take.
"""

from __future__ import annotations

import json
import os
import tarfile
from dataclasses import dataclass
from pathlib import Path

from .errors import LayerError

RESERVE = 0.10
FILES_WITHOUT_INODE_COUNT = 1_000_000  # where the filesystem counts no inodes (btrfs)
FILE_NAME = "limits.json"


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    max_files: int
    source: str  # where they come from, told with a refusal so that one knows what to change

    @classmethod
    def of(cls, root: Path, disk: Path) -> "Limits":
        """The limits of the image store at root, whose layers unpack onto disk."""
        path = Path(root) / FILE_NAME
        try:
            kept = json.loads(path.read_text())
        except FileNotFoundError:
            kept = {}
        except ValueError as e:
            raise LayerError(f"the image store's {FILE_NAME} is not JSON: {e}") from None
        if not isinstance(kept, dict):
            raise LayerError(f"the image store's {FILE_NAME} is not a JSON object")
        st = os.statvfs(disk)
        free = max(0, (st.f_bavail - int(st.f_blocks * RESERVE)) * st.f_frsize)
        files = max(0, st.f_favail - int(st.f_files * RESERVE)) if st.f_files else FILES_WITHOUT_INODE_COUNT
        # Told to whoever pulled the image, a tenant maybe: no paths of the host's.
        derived = "max_bytes" not in kept or "max_files" not in kept
        source = f"set in the image store's {FILE_NAME}" if not derived else \
            f"derived from the free disk space less a reserve of {RESERVE:.0%}; the image store's {FILE_NAME} " \
            "may set them"
        try:
            return cls(int(kept.get("max_bytes", free)), int(kept.get("max_files", files)), source)
        except (TypeError, ValueError):
            raise LayerError(f"the image store's {FILE_NAME}: max_bytes and max_files must be numbers") from None


class Budget:
    """What the unpacking of one image has taken so far, refused before it passes a limit:
    nothing is written for an entry the limits do not allow."""

    def __init__(self, limits: Limits):
        self.limits = limits
        self.bytes = 0
        self.files = 0

    def charge(self, member: tarfile.TarInfo) -> None:
        self.add(1, member.size if member.isreg() else 0)

    def add(self, files: int, size: int = 0) -> None:
        """Entries the layer makes without naming them (the directories above one) too."""
        files, size = self.files + files, self.bytes + size
        if files > self.limits.max_files:
            raise LayerError(f"the image unpacks to more than {self.limits.max_files} files, its limit on this "
                             f"host (max_files, {self.limits.source})")
        if size > self.limits.max_bytes:
            raise LayerError(f"the image unpacks to more than {_size(self.limits.max_bytes)}, its limit on this "
                             f"host (max_bytes, {self.limits.source})")
        self.files, self.bytes = files, size


def _size(n: int) -> str:
    return f"{n} bytes ({n / (1 << 20):.1f} MiB)"
