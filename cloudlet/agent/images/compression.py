"""Layer compression: told apart by magic bytes, undone as a stream, done reproducibly.

Media types lie often enough (Docker archives call uncompressed tars .tar.gzip), so
what a layer is made of is read from its first bytes. Decompression is incremental
(zlib / zstandard objects fed chunk by chunk) so that one code path serves both the
unpacker, which wants a file to read a tar from, and importers, which hash the
uncompressed bytes (the DiffID) while the compressed ones are being stored.
"""

from __future__ import annotations

import io
import zlib
from typing import BinaryIO, Iterator

import zstandard

from cloudlet.agent.content import digests

from .errors import LayerError

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_CHUNK = 1 << 20
_PIECE = 1 << 20  # the most uncompressed bytes one step of decompression makes
_ZSTD_SLICE = 512  # compressed bytes per step: at most 129 blocks of zstd, 16 MiB and a bit


def detect(head: bytes) -> str | None:
    """"gzip", "zstd" or None (taken for a plain tar) from a layer's first bytes."""
    if head.startswith(GZIP_MAGIC):
        return "gzip"
    if head.startswith(ZSTD_MAGIC):
        return "zstd"
    return None


class Decompressor:
    """Feed compressed chunks, get uncompressed bytes; finish() insists the stream ended.

    Both formats allow several members/frames one after another (pigz, zstd -T):
    when one ends, the next starts from the bytes left over. The output comes in pieces
    of bounded size, whatever the ratio: a layer's is its author's choice, and a megabyte
    of gzip is a gigabyte of zeros (of zstd, tens of gigabytes).
    """

    def __init__(self, kind: str | None):
        self.kind = kind
        self._obj = self._new()

    def _new(self):
        if self.kind == "gzip":
            return zlib.decompressobj(16 + zlib.MAX_WBITS)
        if self.kind == "zstd":
            return zstandard.ZstdDecompressor().decompressobj()
        return None

    def feed(self, data: bytes) -> Iterator[bytes]:
        if self._obj is None:
            yield data
            return
        try:
            yield from self._gzip(data) if self.kind == "gzip" else self._zstd(data)
        except (zlib.error, zstandard.ZstdError) as e:
            raise LayerError(f"corrupt {self.kind} data in layer: {e}") from None

    def _gzip(self, data: bytes) -> Iterator[bytes]:
        while True:
            out = self._obj.decompress(data, _PIECE)
            if out:
                yield out
            if self._obj.eof:
                data = self._obj.unused_data
                if not data.strip(b"\0"):
                    return  # zero padding after the last member, as gzip(1) tolerates
                self._obj = self._new()
                continue
            data = self._obj.unconsumed_tail
            if not data and len(out) < _PIECE:
                return  # else output held back by the bound comes with a call without input

    def _zstd(self, data: bytes) -> Iterator[bytes]:
        # zstd takes no bound on its output, and four bytes of input can be a block of
        # 128 KiB: the input goes in in slices small enough to bound each piece.
        view, at = memoryview(data), 0
        while at < len(view):
            if self._obj.eof:  # a frame ended: what follows is another one, or padding
                if not bytes(view[at:]).strip(b"\0"):
                    return
                self._obj = self._new()
            out = self._obj.decompress(view[at:at + _ZSTD_SLICE])
            at += _ZSTD_SLICE
            if self._obj.eof:
                view, at = memoryview(self._obj.unused_data + bytes(view[at:])), 0
            if out:
                yield out

    def finish(self) -> None:
        if self._obj is not None and not self._obj.eof:
            raise LayerError(f"corrupt {self.kind} data in layer: the stream ends before its end marker")


class DecompressingReader(io.RawIOBase):
    """A readable file of a layer's uncompressed bytes, hashing them for the DiffID."""

    def __init__(self, src: BinaryIO):
        self._src = src
        head = src.read(4)
        self._dec = Decompressor(detect(head))
        self.compression = self._dec.kind
        self._hash = digests.hasher()
        self._pieces = self._uncompressed(head)
        self._buf = b""
        self._pos = 0

    def _uncompressed(self, head: bytes) -> Iterator[bytes]:
        yield from self._dec.feed(head)
        while chunk := self._src.read(_CHUNK):
            yield from self._dec.feed(chunk)
        self._dec.finish()

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        while self._pos >= len(self._buf):
            self._buf, self._pos = next(self._pieces, None), 0
            if self._buf is None:
                self._buf = b""
                return 0
        n = min(len(b), len(self._buf) - self._pos)
        b[:n] = self._buf[self._pos:self._pos + n]
        self._hash.update(b[:n])
        self._pos += n
        return n

    def diff_id(self) -> str:
        """sha256 of everything uncompressed; reads what the caller left (tar padding)."""
        while self.readinto(bytearray(_CHUNK)):
            pass
        return digests.of_hasher(self._hash)


class DiffIDHasher:
    """Hashes the uncompressed form of a layer fed to it in compressed chunks."""

    def __init__(self):
        self._head = b""
        self._dec: Decompressor | None = None
        self._hash = digests.hasher()

    def update(self, chunk: bytes) -> None:
        if self._dec is None:
            self._head += chunk
            if len(self._head) < 4:
                return
            chunk, self._head = self._head, b""
            self._dec = Decompressor(detect(chunk))
        for piece in self._dec.feed(chunk):
            self._hash.update(piece)

    def diff_id(self) -> tuple[str, str | None]:
        """(DiffID, compression found)."""
        if self._dec is None:  # fewer than four bytes: cannot be compressed
            self._dec = Decompressor(None)
            self._hash.update(self._head)
        self._dec.finish()
        return digests.of_hasher(self._hash), self._dec.kind


class Compressor:
    """Reproducible compression: same input, same bytes (no timestamps, no names,
    fixed levels, one thread)."""

    def __init__(self, kind: str | None, out: BinaryIO):
        self.kind = kind
        self._out = out
        if kind == "gzip":
            # zlib's own gzip header carries mtime 0 and no file name, unlike gzip.GzipFile's.
            self._obj = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        elif kind == "zstd":
            self._obj = zstandard.ZstdCompressor(level=3, threads=0).compressobj()
        elif kind is None:
            self._obj = None
        else:
            raise ValueError(f"unknown compression {kind!r}")

    def write(self, data: bytes) -> int:
        self._out.write(self._obj.compress(data) if self._obj else data)
        return len(data)

    def close(self) -> None:
        if self._obj:
            self._out.write(self._obj.flush())
