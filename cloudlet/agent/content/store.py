"""A store of immutable blobs named by their sha256 digest.

Layout under the root directory:

    blobs/sha256/<hex>      committed blobs, read-only, never modified in place, sealed
                            (encrypted, see sealed.py) under the store's key
    ingest/<id>/data        sealed bytes of a write in progress (one directory per writer)
    ingest/<id>/tail        a suspended write's plaintext short of a whole chunk
    ingest/<id>/meta.json   what the writer expects (digest), its lease, its wrapped data key
    key                     the store's key, which wraps every blob's data key (mode 0600)
    leases/<id>             digests protected from garbage collection (see gc.py)
    holders/<name>          digests another user of the store keeps (the registry): roots
    lock                    flock: shared while committing, exclusive while collecting

Every writer has its own temporary file and a commit is a rename on the same
filesystem, so any number of threads or processes may write the same blob at once:
each one verifies its own bytes, and whichever rename lands last leaves identical
content behind. Readers never see a partial blob.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import json
import os
import secrets
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterable, Iterator

from . import digests, sealed
from .digests import BlobNotFound, ContentError, DigestMismatch

_CHUNK = 1 << 20


@dataclass(frozen=True)
class BlobInfo:
    digest: str
    size: int
    committed_at: float  # seconds since the epoch of the latest commit of these bytes


class ContentStore:
    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self.blobs = self.root / "blobs" / digests.ALGORITHM
        self.ingests = self.root / "ingest"
        self.leases = self.root / "leases"
        self.holders = self.root / "holders"
        for d in (self.blobs, self.ingests, self.leases, self.holders):
            d.mkdir(parents=True, exist_ok=True)
        self._lockfile = self.root / "lock"
        self._lockfile.touch(exist_ok=True)
        self.key = sealed.key_file(self.root / "key")

    # -- locking: commits share, garbage collection and delete exclude ------------

    @contextlib.contextmanager
    def _locked(self, mode: int):
        # A fresh descriptor per use: flock locks belong to the open file description,
        # so this excludes other threads of this process as well as other processes.
        fd = os.open(self._lockfile, os.O_RDONLY | os.O_CLOEXEC)
        try:
            fcntl.flock(fd, mode)
            yield
        finally:
            os.close(fd)

    def shared_lock(self):
        return self._locked(fcntl.LOCK_SH)

    def exclusive_lock(self):
        return self._locked(fcntl.LOCK_EX)

    # -- reading ---------------------------------------------------------------

    def path(self, digest: str) -> Path:
        return self.blobs / digests.hex_of(digest)

    def exists(self, digest: str) -> bool:
        return self.path(digest).is_file()

    def _open_file(self, digest: str) -> BinaryIO:
        try:
            return open(self.path(digest), "rb")
        except FileNotFoundError:
            raise BlobNotFound(f"blob {digest} not found") from None

    def info(self, digest: str) -> BlobInfo:
        """Sizes are the plaintext's: what readers get."""
        with self._open_file(digest) as f:
            st = os.fstat(f.fileno())
            size = sealed.plain_size(st.st_size) if sealed.is_sealed(f) else st.st_size
        return BlobInfo(digest, size, st.st_mtime_ns / 1e9)

    def size(self, digest: str) -> int:
        return self.info(digest).size

    def open(self, digest: str, *, verify: bool = False, data_key: bytes | None = None) -> BinaryIO:
        """Open a blob for reading (seekable). With verify, reading it to the end raises
        DigestMismatch if the bytes on disk no longer hash to their name. data_key: the
        blob's key as another holder keeps it; the store's own key finds it otherwise.
        Blobs written before the store sealed them are read as they are."""
        f = self._open_file(digest)
        try:
            if sealed.is_sealed(f):
                key = data_key or sealed.header_key(f, self.key)
                f = io.BufferedReader(sealed.SealedReader(f, key, os.fstat(f.fileno()).st_size), sealed.CHUNK)
        except BaseException:
            f.close()
            raise
        return VerifyingReader(f, digest) if verify else f

    def data_key(self, digest: str) -> bytes:
        """A blob's own key, for a holder to keep wrapped under its own keys."""
        with self._open_file(digest) as f:
            if not sealed.is_sealed(f):
                raise ContentError(f"blob {digest} is not sealed")
            return sealed.header_key(f, self.key)

    def read(self, digest: str, *, verify: bool = True) -> bytes:
        """The whole blob; meant for small ones (manifests, configs)."""
        with self.open(digest, verify=verify) as f:
            return f.read()

    def list(self) -> Iterator[str]:
        for name in os.listdir(self.blobs):
            digest = f"{digests.ALGORITHM}:{name}"
            with contextlib.suppress(digests.InvalidDigest):
                yield digests.validate(digest)

    # -- writing ---------------------------------------------------------------

    def ingest(self, *, expected_digest: str | None = None, lease: "Lease | None" = None) -> "Ingest":
        """Start writing a blob. Naming the digest up front (when known) also keeps
        garbage collection from removing an existing copy while this write runs."""
        if expected_digest is not None:
            digests.validate(expected_digest)
        ingest_id = secrets.token_hex(16)
        d = self.ingests / ingest_id
        d.mkdir()
        try:
            key = sealed.new_key()
            with open(d / "data", "wb") as f:
                sealed.Sealer.start(f, key, self.key)
            # meta.json appears whole (rename) so that a collection sees the expected digest
            # of every ingest it sees at all.
            meta = {"expected": expected_digest, "lease": lease.id if lease else None,
                    "key": sealed.wrap(self.key, key).hex()}
            (d / "meta.tmp").write_text(json.dumps(meta))
            os.rename(d / "meta.tmp", d / "meta.json")
            return Ingest(self, ingest_id, expected_digest, lease, key)
        except BaseException:  # a full disk, say: no ingest is left half made
            shutil.rmtree(d, ignore_errors=True)
            raise

    def resume(self, ingest_id: str, *, lease: "Lease | None" = None) -> "Ingest":
        """Reopen a suspended ingest by id (an upload continued by a later request); the bytes
        already written are hashed again, since a hash state cannot be saved."""
        if not ingest_id.isalnum():
            raise ContentError(f"invalid ingest id {ingest_id!r}")
        d = self.ingests / ingest_id
        try:
            meta = json.loads((d / "meta.json").read_text())
        except FileNotFoundError:
            raise ContentError(f"ingest {ingest_id} not found (committed, aborted or expired)") from None
        if lease is None and meta.get("lease"):
            lease = Lease(self, meta["lease"])
        return Ingest(self, ingest_id, meta.get("expected"), lease, sealed.unwrap(self.key, bytes.fromhex(meta["key"])))

    def write(self, data: bytes, *, expected_digest: str | None = None, expected_size: int | None = None,
              lease: "Lease | None" = None) -> str:
        with self.ingest(expected_digest=expected_digest, lease=lease) as ing:
            ing.write(data)
            return ing.commit(expected_size=expected_size)

    def write_stream(self, src: BinaryIO, *, expected_digest: str | None = None,
                     expected_size: int | None = None, lease: "Lease | None" = None) -> str:
        with self.ingest(expected_digest=expected_digest, lease=lease) as ing:
            while chunk := src.read(_CHUNK):
                ing.write(chunk)
            return ing.commit(expected_size=expected_size)

    def delete(self, digest: str) -> bool:
        """Remove a blob; False if it was not there."""
        path = self.path(digest)
        with self.exclusive_lock():
            try:
                path.unlink()
            except FileNotFoundError:
                return False
        return True

    def hold(self, holder: str, held: Iterable[str]) -> None:
        """Replace the set of blobs `holder` keeps alive. Garbage collection treats them
        as roots (and keeps what they reference), so a second user of the store, the
        registry, shares its blobs without the first knowing about it."""
        if not holder.replace("-", "").replace("_", "").isalnum():
            raise ContentError(f"invalid holder name {holder!r}")
        lines = "".join(digests.validate(d) + "\n" for d in sorted(set(held)))
        tmp = self.holders / f".{holder}.{secrets.token_hex(6)}"
        tmp.write_text(lines)
        with self.shared_lock():  # a collection reads all holders at one moment
            os.replace(tmp, self.holders / holder)

    def held(self) -> set[str]:
        out: set[str] = set()
        for p in self.holders.iterdir():
            if not p.name.startswith("."):
                out.update(p.read_text().split())
        return out

    def lease(self, ttl: float = 3600.0) -> "Lease":
        return Lease.create(self, ttl)

    def _fsync_dir(self, d: Path) -> None:
        fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class Ingest:
    """One writer's blob in progress. Use as a context manager: leaving the block
    without a commit (an exception, say) aborts and removes the temporary file."""

    def __init__(self, store: ContentStore, ingest_id: str, expected: str | None, lease: "Lease | None",
                 key: bytes):
        self.store = store
        self.id = ingest_id
        self.expected = expected
        self.lease = lease
        self._dir = store.ingests / ingest_id
        self._hash = digests.hasher()
        # Unbuffered: writers hand us large chunks, and a suspended upload must find on
        # disk everything it was told was written.
        self._file = open(self._dir / "data", "r+b", buffering=0)
        # A resumed ingest: whole chunks are sealed in data, the rest was kept in tail.
        chunks = (os.fstat(self._file.fileno()).st_size - sealed.HEADER) // (sealed.CHUNK + sealed.TAG)
        for plain in sealed.decrypt_chunks(self._file, key, chunks):
            self._hash.update(plain)
        tail_file = self._dir / "tail"
        tail = tail_file.read_bytes() if tail_file.exists() else b""
        self._hash.update(tail)
        self._file.seek(sealed.HEADER + chunks * (sealed.CHUNK + sealed.TAG))
        self._file.truncate()
        self._sealer = sealed.Sealer(self._file, key, chunks, tail)
        self.offset = chunks * sealed.CHUNK + len(tail)
        self._done = False

    def __enter__(self) -> "Ingest":
        return self

    def __exit__(self, *exc) -> None:
        if not self._done:
            self.abort()

    def write(self, data: bytes) -> int:
        if self._done:
            raise ContentError(f"ingest {self.id} is already finished")
        self._sealer.write(data)
        self._hash.update(data)
        self.offset += len(data)
        return len(data)

    def commit(self, expected_digest: str | None = None, expected_size: int | None = None) -> str:
        """Verify, make durable and publish the blob; return its digest.

        On a digest or size mismatch the temporary file is removed and DigestMismatch
        raised: nothing of the write remains.
        """
        try:
            actual = self.verify(expected_digest, expected_size)
            self._sealer.finish()
            os.fsync(self._file.fileno())
        except BaseException:
            self.abort()
            raise
        self._file.close()
        final = self.store.path(actual)
        with self.store.shared_lock():
            if final.exists():
                # Same bytes committed by someone else: ours are redundant.
                os.unlink(self._dir / "data")
            else:
                os.rename(self._dir / "data", final)
                self.store._fsync_dir(final.parent)
            # The commit time is the lease of the last resort: collection spares what
            # was committed after it began or within its min_age (see gc.py).
            now = time.time_ns()
            os.utime(final, ns=(now, now))
            if self.lease:
                self.lease._record(actual)
        self._done = True
        shutil.rmtree(self._dir, ignore_errors=True)
        return actual

    def verify(self, expected_digest: str | None = None, expected_size: int | None = None) -> str:
        """The digest of what was written so far, after checking it against what the
        ingest was opened with and what is given here; DigestMismatch if it differs."""
        actual = digests.of_hasher(self._hash)
        for want in (self.expected, expected_digest):
            if want is not None and want != actual:
                raise DigestMismatch(f"content digest mismatch: expected {want}, got {actual}",
                                     expected=want, actual=actual)
        if expected_size is not None and expected_size != self.offset:
            raise DigestMismatch(f"content size mismatch: expected {expected_size} bytes, got {self.offset}",
                                 expected=str(expected_size), actual=str(self.offset))
        return actual

    def suspend(self) -> None:
        """Close without committing, to be continued with ContentStore.resume(id)."""
        self._done = True
        tmp = self._dir / "tail.tmp"
        tmp.write_bytes(bytes(self._sealer.tail))
        os.replace(tmp, self._dir / "tail")
        self._file.close()

    def abort(self) -> None:
        self._done = True
        self._file.close()
        shutil.rmtree(self._dir, ignore_errors=True)


class Lease:
    """Protects the blobs written under it (and any added) from garbage collection
    until it is released or its time to live runs out (a crashed writer's lease
    expires on its own). Take one around "write blobs, then record what refers to
    them" so that a collection in between cannot take the blobs away.

    The file holds the expiry time on its first line and one digest per line after.
    """

    def __init__(self, store: ContentStore, lease_id: str):
        self.store = store
        self.id = lease_id
        self.path = store.leases / lease_id

    @classmethod
    def create(cls, store: ContentStore, ttl: float) -> "Lease":
        lease = cls(store, secrets.token_hex(16))
        lease.path.write_text(f"{time.time() + ttl}\n")
        return lease

    def __enter__(self) -> "Lease":
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    def add(self, digest: str) -> bool:
        """Protect an existing blob; False (and nothing protected) if it is absent."""
        with self.store.shared_lock():
            if not self.store.exists(digest):
                return False
            self._record(digest)
        return True

    def _record(self, digest: str) -> None:
        # Called under the store's shared lock, so a collection never reads half a line.
        with open(self.path, "a") as f:
            f.write(digests.validate(digest) + "\n")

    def release(self) -> None:
        self.path.unlink(missing_ok=True)


class VerifyingReader(io.RawIOBase):
    """Hashes what is read and checks the digest when the end is reached."""

    def __init__(self, f: BinaryIO, digest: str):
        self._f = f
        self._digest = digest
        self._hash = digests.hasher()
        self._checked = False

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        n = self._f.readinto(b)
        if n:
            self._hash.update(memoryview(b)[:n])
        elif not self._checked and len(b):
            self._checked = True
            actual = digests.of_hasher(self._hash)
            if actual != self._digest:
                raise DigestMismatch(f"stored blob {self._digest} is corrupt: its bytes hash to {actual}",
                                     expected=self._digest, actual=actual)
        return n

    def close(self) -> None:
        self._f.close()
        super().close()
