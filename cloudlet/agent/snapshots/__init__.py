"""Container root filesystems: overlayfs mounts of unpacked image layers."""

from .overlay import Snapshotter, SnapshotError

__all__ = ["Snapshotter", "SnapshotError"]
