"""Creating layer tars reproducibly: the same files give the same digests.

What varies between two runs over equal content is taken out: entries are written
sorted by name (parents first), owner names are left empty, uid/gid and mtimes can
be fixed, only xattrs that belong to the content are kept (not SELinux labels or
overlayfs bookkeeping), and the compressors write no timestamps (compression.py).

A layer can be made from files listed one by one (COPY), from whole trees (a base
image's root), or from an overlayfs upper directory, whose whiteouts (0:0 character
devices) and opaque directories (trusted.overlay.opaque=y) become OCI's ".wh." entries.
"""

from __future__ import annotations

import logging
import os
import stat
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from cloudlet.agent.content import digests

from .compression import Compressor
from .oci import LAYER_FOR_COMPRESSION, Descriptor
from .unpack import OPAQUE, OVERLAY_OPAQUE_XATTR, WHITEOUT_PREFIX, safe_path

log = logging.getLogger(__name__)

_KEPT_XATTRS = ("user.", "security.capability", "system.posix_acl_access", "system.posix_acl_default")
_CHUNK = 1 << 20


@dataclass(frozen=True)
class LayerInfo:
    digest: str  # of the bytes as stored (compressed)
    diff_id: str  # of the uncompressed tar, as the image config lists it
    size: int
    media_type: str

    def descriptor(self) -> Descriptor:
        return Descriptor(self.media_type, self.digest, self.size)


class _Counted:
    """The stored (compressed) bytes on their way out: hashed and counted."""

    def __init__(self, out: BinaryIO):
        self._out = out
        self.hash = digests.hasher()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.hash.update(data)
        self.size += len(data)
        self._out.write(data)
        return len(data)


class _Sink:
    """Takes the tar stream: hashes it (the DiffID) and hands it to the compressor."""

    def __init__(self, out: BinaryIO, compression: str | None):
        self.diff = digests.hasher()
        self.stored = _Counted(out)
        self._compressor = Compressor(compression, self.stored)

    def write(self, data) -> int:
        self.diff.update(data)
        self._compressor.write(bytes(data))
        return len(data)

    def close(self) -> None:
        self._compressor.close()


class LayerWriter:
    """Collect entries, then close() writes them sorted and returns the layer's digests.

    mtime: one timestamp for every entry (None keeps each file's own); uid/gid: the
    owner of every entry (None keeps each file's own).
    """

    def __init__(self, out: BinaryIO, *, compression: str | None = "gzip", mtime: int | None = 0,
                 uid: int | None = None, gid: int | None = None):
        self._out = out
        self.compression = compression
        self.mtime = mtime
        self.uid, self.gid = uid, gid
        self._entries: dict[str, Path | None] = {}  # arcname -> host path, None for markers

    def add(self, arcname: str, path: str | os.PathLike) -> None:
        """One file, directory (not its contents), symlink or fifo, named arcname in the layer."""
        name = safe_path(arcname)
        if not name:
            raise ValueError("a layer entry needs a name; the layer's root is implicit")
        self._entries[name] = Path(path)

    def add_tree(self, root: str | os.PathLike, prefix: str = "", *, overlay_upper: bool = False) -> None:
        """Everything under root (not root itself), named prefix/<relative path>.

        With overlay_upper, root is an overlayfs upper directory: whiteout devices and
        opaque directories become OCI whiteouts.
        """
        root = Path(root)
        prefix = safe_path(prefix)
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            rel_dir = os.path.relpath(dirpath, root)
            rel_dir = "" if rel_dir == "." else rel_dir
            for name in sorted(dirnames + filenames):
                path = Path(dirpath, name)
                arc = "/".join(p for p in (prefix, rel_dir, name) if p)
                st = os.lstat(path)
                if overlay_upper and stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:
                    self.add_whiteout(arc)
                    continue
                self._entries[arc] = path
                if overlay_upper and stat.S_ISDIR(st.st_mode) and _opaque(path):
                    self.add_opaque(arc)

    def add_whiteout(self, arcname: str) -> None:
        """Hide arcname of the layers below."""
        parent, _, base = safe_path(arcname).rpartition("/")
        self._entries["/".join(p for p in (parent, WHITEOUT_PREFIX + base) if p)] = None

    def add_opaque(self, dirname: str) -> None:
        """Hide everything the layers below have in directory dirname."""
        self._entries["/".join(p for p in (safe_path(dirname), OPAQUE) if p)] = None

    def close(self) -> LayerInfo:
        sink = _Sink(self._out, self.compression)
        links: dict[tuple[int, int], str] = {}
        with tarfile.open(fileobj=sink, mode="w|", format=tarfile.PAX_FORMAT,
                          encoding="utf-8", errors="surrogateescape") as tf:
            for name in sorted(self._entries):
                path = self._entries[name]
                if path is None:
                    tf.addfile(self._info(name, tarfile.REGTYPE, 0o644))
                    continue
                self._add_path(tf, name, path, links)
        sink.close()
        return LayerInfo(digests.of_hasher(sink.stored.hash), digests.of_hasher(sink.diff), sink.stored.size,
                         LAYER_FOR_COMPRESSION[self.compression])

    def _info(self, name: str, kind: bytes, mode: int, st: os.stat_result | None = None) -> tarfile.TarInfo:
        ti = tarfile.TarInfo(name)
        ti.type = kind
        ti.mode = mode
        ti.uid = self.uid if self.uid is not None else (st.st_uid if st else 0)
        ti.gid = self.gid if self.gid is not None else (st.st_gid if st else 0)
        ti.uname = ti.gname = ""
        ti.mtime = self.mtime if self.mtime is not None else (int(st.st_mtime) if st else 0)
        return ti

    def _add_path(self, tf: tarfile.TarFile, name: str, path: Path, links: dict) -> None:
        st = os.lstat(path)
        mode = stat.S_IMODE(st.st_mode)
        fmt = stat.S_IFMT(st.st_mode)
        if fmt == stat.S_IFREG and st.st_nlink > 1 and (st.st_dev, st.st_ino) in links:
            ti = self._info(name, tarfile.LNKTYPE, mode, st)
            ti.linkname = links[(st.st_dev, st.st_ino)]
            tf.addfile(ti)
            return
        if fmt == stat.S_IFREG:
            links.setdefault((st.st_dev, st.st_ino), name)
            ti = self._info(name, tarfile.REGTYPE, mode, st)
            ti.size = st.st_size
        elif fmt == stat.S_IFDIR:
            ti = self._info(name, tarfile.DIRTYPE, mode, st)
        elif fmt == stat.S_IFLNK:
            ti = self._info(name, tarfile.SYMTYPE, 0o777, st)
            ti.linkname = os.readlink(path)
        elif fmt == stat.S_IFIFO:
            ti = self._info(name, tarfile.FIFOTYPE, mode, st)
        elif fmt in (stat.S_IFCHR, stat.S_IFBLK):
            ti = self._info(name, tarfile.CHRTYPE if fmt == stat.S_IFCHR else tarfile.BLKTYPE, mode, st)
            ti.devmajor, ti.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
        else:
            log.info("layer: %s skipped (a socket has no place in an image)", path)
            return
        ti.pax_headers = _xattrs(path)
        if fmt == stat.S_IFREG:
            with open(path, "rb") as f:
                tf.addfile(ti, f)
        else:
            tf.addfile(ti)


def _opaque(path: Path) -> bool:
    try:
        return os.getxattr(path, OVERLAY_OPAQUE_XATTR, follow_symlinks=False) == b"y"
    except OSError:
        return False


def _xattrs(path: Path) -> dict[str, str]:
    try:
        names = os.listxattr(path, follow_symlinks=False)
    except OSError:
        return {}
    out = {}
    for name in sorted(names):
        if name.startswith(_KEPT_XATTRS):
            try:
                value = os.getxattr(path, name, follow_symlinks=False)
            except OSError:
                continue
            out[f"SCHILY.xattr.{name}"] = value.decode("utf-8", "surrogateescape")
    return out
