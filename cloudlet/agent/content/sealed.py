"""Blobs encrypted at rest: AES-256-GCM in chunks, each blob under a data key of its own.

    file   = MAGIC | wrapped data key (12-byte nonce + 48 bytes) | chunk*
    chunk  = AES-256-GCM(data key, nonce = chunk number, AAD = "more" | "last")
             of CHUNK plaintext bytes (fewer in the last chunk, which may be empty)

The data key is wrapped (AES-GCM) by the store's own key, so the store opens any blob;
other holders (the registry's repositories) keep the data key wrapped under keys of
their own. Chunks make ranges cheap (chunk i starts at a known offset) and the AAD marks
the last one, so a file cut short or with chunks reordered fails to decrypt rather than
reading as a shorter blob.
"""

from __future__ import annotations

import io
import os
import time
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .digests import ContentError

MAGIC = b"CLB1"
CHUNK = 1 << 20
TAG = 16
KEY = 32
_WRAPPED = 12 + KEY + TAG
HEADER = len(MAGIC) + _WRAPPED
_MORE, _LAST = b"more", b"last"


class SealError(ContentError):
    """Bytes that do not decrypt: tampered with, cut short, or under another key."""


def new_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def key_file(path: Path) -> bytes:
    """A key kept in a file only its owner may read, made on first use (by whichever
    process gets there first: the others read it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(100):
            key = path.read_bytes()
            if len(key) == KEY:
                return key
            time.sleep(0.01)  # its maker is still writing it
        raise ContentError(f"{path} is not a key ({len(key)} bytes)") from None
    key = new_key()
    with os.fdopen(fd, "wb") as f:
        f.write(key)
        f.flush()
        os.fsync(f.fileno())
    return key


def wrap(kek: bytes, key: bytes) -> bytes:
    nonce = os.urandom(12)
    return nonce + AESGCM(kek).encrypt(nonce, key, b"wrap")


def unwrap(kek: bytes, wrapped: bytes) -> bytes:
    try:
        return AESGCM(kek).decrypt(wrapped[:12], wrapped[12:], b"wrap")
    except InvalidTag:
        raise SealError("a data key does not unwrap under this key") from None


def _nonce(index: int) -> bytes:
    return index.to_bytes(12, "big")


def plain_size(file_size: int) -> int:
    """The plaintext size of a sealed file of file_size bytes."""
    body = file_size - HEADER
    chunks = max(1, -(-body // (CHUNK + TAG)))
    return body - chunks * TAG


def is_sealed(f: BinaryIO) -> bool:
    start = f.tell()
    magic = f.read(len(MAGIC))
    f.seek(start)
    return magic == MAGIC


def header_key(f: BinaryIO, store_key: bytes) -> bytes:
    """The data key of a sealed file, unwrapped with the store's key."""
    f.seek(len(MAGIC))
    return unwrap(store_key, f.read(_WRAPPED))


class Sealer:
    """Encrypts a stream of plaintext into a sealed file, chunk by chunk. The plaintext
    not yet making a full chunk is kept in `tail` (saved by a suspended ingest)."""

    def __init__(self, f: BinaryIO, key: bytes, chunks_done: int = 0, tail: bytes = b""):
        self._f = f
        self._aead = AESGCM(key)
        self.chunks = chunks_done
        self.tail = bytearray(tail)

    @staticmethod
    def start(f: BinaryIO, key: bytes, store_key: bytes) -> "Sealer":
        f.write(MAGIC + wrap(store_key, key))
        return Sealer(f, key)

    def write(self, data: bytes) -> None:
        self.tail += data
        while len(self.tail) >= CHUNK:
            self._emit(bytes(self.tail[:CHUNK]), _MORE)
            del self.tail[:CHUNK]

    def finish(self) -> None:
        self._emit(bytes(self.tail), _LAST)
        self.tail.clear()

    def _emit(self, plain: bytes, aad: bytes) -> None:
        left = memoryview(self._aead.encrypt(_nonce(self.chunks), plain, aad))
        while left:
            # An unbuffered file takes part of a write when the disk fills up: write again,
            # so that the disk's ENOSPC is raised rather than the rest of a chunk lost.
            left = left[self._f.write(left):]
        self.chunks += 1


def decrypt_chunks(f: BinaryIO, key: bytes, count: int):
    """The plaintext of the first count full chunks of an unfinished sealed file."""
    aead = AESGCM(key)
    f.seek(HEADER)
    for index in range(count):
        try:
            yield aead.decrypt(_nonce(index), f.read(CHUNK + TAG), _MORE)
        except InvalidTag:
            raise SealError(f"chunk {index} of an unfinished blob does not decrypt") from None


class SealedReader(io.RawIOBase):
    """Seekable plaintext view of a sealed file."""

    def __init__(self, f: BinaryIO, key: bytes, file_size: int):
        self._f = f
        self._aead = AESGCM(key)
        self.size = plain_size(file_size)
        self._last = self.size // CHUNK  # the final chunk holds the remainder, maybe nothing
        self._pos = 0
        self._cached: tuple[int, bytes] | None = None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self.size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def _chunk(self, index: int) -> bytes:
        if self._cached and self._cached[0] == index:
            return self._cached[1]
        self._f.seek(HEADER + index * (CHUNK + TAG))
        sealed = self._f.read(CHUNK + TAG)
        try:
            plain = self._aead.decrypt(_nonce(index), sealed, _LAST if index == self._last else _MORE)
        except InvalidTag:
            raise SealError(f"chunk {index} does not decrypt: the blob file is damaged") from None
        self._cached = (index, plain)
        return plain

    def readinto(self, b) -> int:
        if self._pos >= self.size:
            if len(b):
                self._chunk(self._last)  # at the end, the final chunk must be there, marked last
            return 0
        index, start = divmod(self._pos, CHUNK)
        plain = self._chunk(index)[start:start + len(b)]
        n = len(plain)
        memoryview(b)[:n] = plain
        self._pos += n
        return n

    def close(self) -> None:
        self._f.close()
        super().close()
