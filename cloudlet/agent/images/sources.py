"""Reading files out of an image archive (a tar, plain or compressed) or a layout directory,
refusing any name that would reach outside it."""

from __future__ import annotations

import os
import posixpath
import tarfile
from pathlib import Path
from typing import BinaryIO

from .errors import ArchiveError, LayerError
from .oci import MAX_DOCUMENT
from .unpack import safe_path


class Source:
    def exists(self, name: str) -> bool:
        raise NotImplementedError

    def open(self, name: str) -> BinaryIO:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def __enter__(self) -> "Source":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def read_document(self, name: str) -> bytes:
        with self.open(name) as f:
            data = f.read(MAX_DOCUMENT + 1)
        if len(data) > MAX_DOCUMENT:
            raise ArchiveError(f"{name} in the archive is larger than {MAX_DOCUMENT} bytes")
        return data


def _clean(name: str) -> str:
    try:
        return safe_path(name, "archive entry")
    except LayerError as e:
        raise ArchiveError(str(e)) from None


class DirSource(Source):
    def __init__(self, root: str | os.PathLike):
        self.root = Path(root).resolve()

    def _path(self, name: str) -> Path:
        path = (self.root / _clean(name)).resolve()
        if path != self.root and self.root not in path.parents:
            raise ArchiveError(f"{name} in the image layout is a symlink leading outside it")
        return path

    def exists(self, name: str) -> bool:
        return self._path(name).is_file()

    def open(self, name: str) -> BinaryIO:
        try:
            return open(self._path(name), "rb")
        except (FileNotFoundError, IsADirectoryError):
            raise ArchiveError(f"{name} is missing from the image layout") from None


class TarSource(Source):
    """Random access to a tar's members; every member name is checked up front, so an
    archive with a traversal anywhere in it is refused as a whole."""

    _MAX_LINK_HOPS = 8

    def __init__(self, src: str | os.PathLike | BinaryIO):
        try:
            if isinstance(src, (str, os.PathLike)):
                self._tf = tarfile.open(src, "r:*")
            else:
                self._tf = tarfile.open(fileobj=src, mode="r:*")
            members = self._tf.getmembers()
        except (tarfile.TarError, OSError, EOFError) as e:
            raise ArchiveError(f"not a readable tar archive: {e}") from None
        self._members: dict[str, tarfile.TarInfo] = {}
        for m in members:
            name = _clean(m.name)
            if m.islnk():
                _clean(m.linkname)
            self._members[name] = m

    def close(self) -> None:
        self._tf.close()

    def _member(self, name: str) -> tarfile.TarInfo | None:
        name = _clean(name)
        for _ in range(self._MAX_LINK_HOPS):
            m = self._members.get(name)
            if m is None or not (m.issym() or m.islnk()):
                return m
            # docker save links a layer shared by two images: "<id>/layer.tar -> ../<id2>/layer.tar".
            target = m.linkname if m.islnk() else posixpath.join(posixpath.dirname(name), m.linkname)
            name = _clean(posixpath.normpath(target))
        raise ArchiveError(f"{name} in the archive: too many links")

    def exists(self, name: str) -> bool:
        m = self._member(name)
        return m is not None and m.isreg()

    def open(self, name: str) -> BinaryIO:
        m = self._member(name)
        if m is None or not m.isreg():
            raise ArchiveError(f"{name} is missing from the archive")
        return self._tf.extractfile(m)


def open_source(src: str | os.PathLike | BinaryIO) -> Source:
    if isinstance(src, (str, os.PathLike)) and Path(src).is_dir():
        return DirSource(src)
    return TarSource(src)
