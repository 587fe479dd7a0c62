"""Unpacking layer tars into directories, refusing anything that would leave them.

Two ways to treat OCI whiteouts (".wh.<name>" hides <name> of the layers below,
".wh..wh..opq" hides everything below in its directory):

- "overlay": each layer goes into a fresh directory of its own, to be stacked by
  overlayfs, so whiteouts become what overlayfs reads: a 0:0 character device and
  the trusted.overlay.opaque xattr (both need root, as overlayfs does);
- "apply": the layer is applied onto a tree holding the layers below, so whiteouts
  delete. Files the same layer adds survive its own whiteouts, as the spec says.

Safety: entry names that are absolute or contain ".." are refused, and so is any
entry that would be written through a symlink leading out of the tree: one with an
absolute target (outside on the host, whatever it means in a container) or a
relative one that climbs above the root. Symlinks that stay inside are followed
(lib -> usr/lib). Hard links must point to an entry inside the tree. Symlinks
themselves may point anywhere: they are data, read in the container's root. Device nodes are skipped (and
logged): an image has no business creating them, the runtime provides /dev. A Budget
(limits.py) given along is charged with every entry before anything of it is written.
"""

from __future__ import annotations

import contextlib
import errno
import io
import logging
import os
import secrets
import shutil
import stat
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from .compression import DecompressingReader
from .errors import LayerError
from .limits import Budget

log = logging.getLogger(__name__)

WHITEOUT_PREFIX = ".wh."
OPAQUE = ".wh..wh..opq"
OVERLAY_OPAQUE_XATTR = "trusted.overlay.opaque"
_MAX_SYMLINKS = 40
_CHUNK = 1 << 20
_IS_ROOT = os.geteuid() == 0


@dataclass
class UnpackResult:
    diff_id: str
    compression: str | None
    skipped: list[str] = field(default_factory=list)  # entries not created, with why


def unpack_layer(src: BinaryIO, dest: str | os.PathLike, *, expected_diff_id: str | None = None,
                 budget: Budget | None = None) -> UnpackResult:
    """Unpack a layer (plain, gzip or zstd tar) into dest, a new directory, for overlayfs.

    The layer is unpacked next to dest under a temporary name and renamed into place
    only once complete and its DiffID checked, so a failure leaves nothing behind.
    If another unpack of the same layer finished first, its directory is kept.
    """
    with new_dir(dest, keep_existing=True) as tmp:
        return unpack_into(src, tmp, expected_diff_id=expected_diff_id, budget=budget)


def unpack_into(src: BinaryIO, tmp: Path, *, expected_diff_id: str | None = None,
                budget: Budget | None = None) -> UnpackResult:
    """unpack_layer's work in a directory of new_dir's (several layers made all or nothing)."""
    return _extract(src, tmp, overlay=True, expected_diff_id=expected_diff_id, budget=budget)


def apply_layer(src: BinaryIO, root: str | os.PathLike, *, expected_diff_id: str | None = None,
                budget: Budget | None = None) -> UnpackResult:
    """Apply a layer onto a tree holding the layers below it, whiteouts deleting.

    This changes root in place; to get all-or-nothing, apply into a temporary copy
    (flatten does, for whole images).
    """
    return _extract(src, Path(root), overlay=False, expected_diff_id=expected_diff_id, budget=budget)


def flatten(layers: list[BinaryIO], dest: str | os.PathLike, *, diff_ids: list[str] | None = None,
            budget: Budget | None = None) -> list[UnpackResult]:
    """One directory with all layers applied in order (lowest first), made all or nothing."""
    with new_dir(dest) as tmp:
        return [apply_layer(f, tmp, expected_diff_id=diff_ids[i] if diff_ids else None, budget=budget)
                for i, f in enumerate(layers)]


def measure_layer(src: BinaryIO, budget: Budget) -> None:
    """Charge a layer's entries to budget without unpacking it: LayerError if it would not fit.
    The directories an unpack would make above entries are counted by their names."""
    dirs: set[str] = set()
    with _tar(src) as (_, tf):
        for member in tf:
            budget.charge(member)
            parent = safe_path(member.name).rpartition("/")[0]
            while parent and parent not in dirs:
                dirs.add(parent)
                budget.add(1)
                parent = parent.rpartition("/")[0]


@contextlib.contextmanager
def new_dir(dest: str | os.PathLike, *, keep_existing: bool = False):
    """Yield a temporary sibling of dest to fill: renamed to dest if the block succeeds,
    removed if it fails, so dest never exists half made. With keep_existing, a dest
    that appeared meanwhile (the same layer unpacked by someone else) is kept."""
    dest = Path(dest)
    tmp = dest.parent / f".{dest.name}.tmp-{secrets.token_hex(6)}"
    tmp.mkdir(parents=True)
    try:
        yield tmp
        try:
            os.rename(tmp, dest)
        except OSError as e:
            if not keep_existing or e.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                raise
            shutil.rmtree(tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def safe_path(name: str, what: str = "layer entry") -> str:
    """The entry's path relative to the tree's root, or LayerError if it could leave it."""
    if name.startswith("/"):
        raise LayerError(f"{what} {name!r} has an absolute path")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise LayerError(f"{what} {name!r} leads outside its tree ('..')")
    return "/".join(parts)


@contextlib.contextmanager
def _tar(src: BinaryIO):
    """(the layer's decompressing reader, the tar read from it), tar errors as LayerError."""
    reader = DecompressingReader(src)
    try:
        with tarfile.open(fileobj=io.BufferedReader(reader, _CHUNK), mode="r|",
                          encoding="utf-8", errors="surrogateescape") as tf:
            yield reader, tf
    except tarfile.TarError as e:
        raise LayerError(f"layer is not a valid tar archive: {e}") from None


def _extract(src: BinaryIO, root: Path, *, overlay: bool, expected_diff_id: str | None,
             budget: Budget | None) -> UnpackResult:
    extractor = _Extractor(root, overlay, budget)
    with _tar(src) as (reader, tf):
        for member in tf:
            if budget:
                budget.charge(member)  # before anything of the entry is written
            extractor.add(tf, member)
        diff_id = reader.diff_id()
    if expected_diff_id is not None and diff_id != expected_diff_id:
        raise LayerError(f"layer DiffID mismatch: the image config says {expected_diff_id}, "
                         f"the layer's uncompressed bytes hash to {diff_id}")
    extractor.finish()
    return UnpackResult(diff_id, reader.compression, extractor.skipped)


class _Extractor:
    def __init__(self, root: Path, overlay: bool, budget: Budget | None):
        self.root = root
        self.overlay = overlay
        self.budget = budget
        self.seen: set[str] = set()  # paths (relative, resolved) this layer wrote
        self.dirs: list[tuple[Path, tarfile.TarInfo]] = []  # metadata applied last
        self.skipped: list[str] = []

    # -- paths -----------------------------------------------------------------

    def _resolve(self, rel: str, name: str) -> list[str]:
        """Components of rel's real location inside the tree, following symlinks as a
        chroot would; directories missing on the way are created."""
        todo = [p for p in rel.split("/") if p][::-1]
        done: list[str] = []
        hops = 0
        while todo:
            part = todo.pop()
            if part == ".":
                continue
            if part == "..":
                if not done:
                    raise LayerError(f"layer entry {name!r} would be written through a symlink that climbs "
                                     "out of the layer")
                done.pop()
                continue
            path = self.root.joinpath(*done, part)
            try:
                st = os.lstat(path)
            except FileNotFoundError:
                if self.budget:
                    self.budget.add(1)
                os.mkdir(path, 0o755)
                done.append(part)
                self.seen.add("/".join(done))
                continue
            if stat.S_ISLNK(st.st_mode):
                hops += 1
                if hops > _MAX_SYMLINKS:
                    raise LayerError(f"layer entry {name!r}: too many levels of symlinks")
                target = os.readlink(path)
                if target.startswith("/"):
                    raise LayerError(f"layer entry {name!r} would be written through symlink "
                                     f"{'/'.join(done + [part])} -> {target}, which leads outside the layer")
                todo.extend(p for p in reversed(target.split("/")) if p)
            elif stat.S_ISDIR(st.st_mode):
                done.append(part)
            else:
                raise LayerError(f"layer entry {name!r}: {'/'.join(done + [part])} is not a directory")
        return done

    def _locate(self, rel: str, name: str) -> tuple[Path, str]:
        """(real path, real relative path) of an entry: its parent resolved, itself not."""
        parent, _, base = rel.rpartition("/")
        real = self._resolve(parent, name) + [base]
        return self.root.joinpath(*real), "/".join(real)

    # -- entries ---------------------------------------------------------------

    def add(self, tf: tarfile.TarFile, m: tarfile.TarInfo) -> None:
        rel = safe_path(m.name)
        if not rel:
            if m.isdir():
                self.dirs.append((self.root, m))  # the layer's root directory itself
            return
        base = rel.rpartition("/")[2]
        if base.startswith(WHITEOUT_PREFIX):
            self._whiteout(rel, base, m.name)
            return
        path, real = self._locate(rel, m.name)
        if m.isdir():
            if not path.is_dir() or path.is_symlink():
                self._remove(path)
                os.mkdir(path, 0o700)
            self.dirs.append((path, m))
        elif m.isreg():
            self._remove(path)
            self._write_file(tf, m, path)
        elif m.issym():
            self._remove(path)
            os.symlink(m.linkname, path)
            self._metadata(path, m)
        elif m.islnk():
            self._hardlink(m, path)
        elif m.isfifo():
            self._remove(path)
            os.mkfifo(path, 0o600)
            self._metadata(path, m)
        else:
            kind = "device node" if m.ischr() or m.isblk() else f"entry of tar type {m.type!r}"
            log.info("layer entry %s skipped: %s", m.name, kind)
            self.skipped.append(f"{m.name}: {kind} not created")
            return
        self.seen.add(real)

    def _write_file(self, tf: tarfile.TarFile, m: tarfile.TarInfo, path: Path) -> None:
        data = tf.extractfile(m)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        with open(fd, "wb") as out:
            while chunk := data.read(_CHUNK):
                out.write(chunk)
        self._metadata(path, m)

    def _hardlink(self, m: tarfile.TarInfo, path: Path) -> None:
        target_rel = safe_path(m.linkname, "layer hard link target")
        target, _ = self._locate(target_rel, m.name)
        if target == path:
            return
        try:
            st = os.lstat(target)
        except FileNotFoundError:
            raise LayerError(f"layer entry {m.name!r} is a hard link to {m.linkname!r}, which the layer does not contain") from None
        if stat.S_ISDIR(st.st_mode):
            raise LayerError(f"layer entry {m.name!r} is a hard link to a directory")
        self._remove(path)
        os.link(target, path, follow_symlinks=False)

    def _whiteout(self, rel: str, base: str, name: str) -> None:
        parent_rel = rel.rpartition("/")[0]
        parent_parts = self._resolve(parent_rel, name)
        parent = self.root.joinpath(*parent_parts)
        if base == OPAQUE:
            self._opaque(parent, parent_parts)
            return
        if base.startswith(WHITEOUT_PREFIX * 2):
            return  # AUFS bookkeeping (.wh..wh.plnk and the like), meaningless here
        hidden = base[len(WHITEOUT_PREFIX):]
        real = "/".join(parent_parts + [hidden])
        if real in self.seen:
            return  # a whiteout never hides what its own layer adds
        path = parent / hidden
        self._remove(path)
        if self.overlay:
            try:
                os.mknod(path, stat.S_IFCHR | 0o600, os.makedev(0, 0))
            except PermissionError:
                raise LayerError("unpacking whiteouts for overlayfs needs root (CAP_MKNOD)") from None

    def _opaque(self, parent: Path, parts: list[str]) -> None:
        if self.overlay:
            try:
                os.setxattr(parent, OVERLAY_OPAQUE_XATTR, b"y", follow_symlinks=False)
            except PermissionError:
                raise LayerError("unpacking opaque directories for overlayfs needs root (trusted.* xattrs)") from None
            return
        # Everything below the directory that this layer did not write goes, at any
        # depth: a directory this layer wrote into keeps only what the layer put there.
        kept = set(self.seen)
        for p in self.seen:
            while "/" in p:
                p = p.rpartition("/")[0]
                kept.add(p)
        todo = [(parent, "/".join(parts))]
        while todo:
            d, prefix = todo.pop()
            for child in os.listdir(d):
                rel = f"{prefix}/{child}" if prefix else child
                if rel not in kept:
                    self._remove(d / child)
                elif (d / child).is_dir() and not (d / child).is_symlink():
                    todo.append((d / child, rel))

    @staticmethod
    def _remove(path: Path) -> None:
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return
        if stat.S_ISDIR(st.st_mode):
            shutil.rmtree(path)
        else:
            os.unlink(path)

    # -- metadata --------------------------------------------------------------

    def _metadata(self, path: Path, m: tarfile.TarInfo) -> None:
        link = m.issym()
        if _IS_ROOT:
            os.chown(path, m.uid, m.gid, follow_symlinks=False)
        if not link:
            # After chown, which clears set-id bits.
            os.chmod(path, m.mode & 0o7777)
        self._xattrs(path, m)
        os.utime(path, (m.mtime, m.mtime), follow_symlinks=False)

    def _xattrs(self, path: Path, m: tarfile.TarInfo) -> None:
        for key, value in m.pax_headers.items():
            if not key.startswith("SCHILY.xattr."):
                continue
            name = key[len("SCHILY.xattr."):]
            if name.startswith("trusted.overlay."):
                # Would steer overlayfs (opaque, redirect, origin) from inside an image.
                self.skipped.append(f"{m.name}: xattr {name} ignored")
                continue
            try:
                os.setxattr(path, name, value.encode("utf-8", "surrogateescape"), follow_symlinks=False)
            except OSError as e:
                log.debug("xattr %s on %s not set: %s", name, m.name, e)
                self.skipped.append(f"{m.name}: xattr {name} not set ({e.strerror})")

    def finish(self) -> None:
        # Deepest first, so that a directory's mtime is set after its children are
        # written and a read-only one is made so only once it is full.
        for path, m in reversed(self.dirs):
            self._metadata(path, m)
