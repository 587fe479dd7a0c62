"""Blobs sealed at rest: nothing of the plaintext on disk, exact sizes and ranges across
chunk boundaries, resumed writes, other holders' keys, and damage that cannot pass."""

import hashlib
import os

import pytest

from cloudlet.agent.content import ContentStore, DigestMismatch, sealed
from cloudlet.agent.content.sealed import CHUNK, SealError


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@pytest.fixture
def store(tmp_path):
    return ContentStore(tmp_path / "content")


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, 2 * CHUNK, 2 * CHUNK + 12345])
def test_sizes_and_reads_at_chunk_edges(store, size):
    data = os.urandom(size)
    d = store.write(data)
    assert store.size(d) == size and store.read(d) == data
    with store.open(d) as f:
        for offset in {0, CHUNK - 3, CHUNK, CHUNK + 5, size - 1, size}:
            if 0 <= offset <= size:
                f.seek(offset)
                assert f.read(10) == data[offset:offset + 10]


def test_no_plaintext_on_disk(store):
    data = b"a very recognisable secret layer " * 1000
    d = store.write(data)
    raw = store.path(d).read_bytes()
    assert raw.startswith(sealed.MAGIC) and b"recognisable" not in raw
    assert (store.root / "key").stat().st_mode & 0o777 == 0o600


def test_a_suspended_write_resumes(store):
    data = os.urandom(CHUNK + 777)
    ing = store.ingest()
    ing.write(data[:CHUNK // 2])
    ing.suspend()
    assert b"" not in [(store.ingests / ing.id / "tail").read_bytes()]
    again = store.resume(ing.id)
    assert again.offset == CHUNK // 2
    again.write(data[CHUNK // 2:])
    assert again.commit(expected_digest=sha(data)) == sha(data)
    assert store.read(sha(data)) == data


def test_another_holder_reads_with_the_data_key(store, tmp_path):
    d = store.write(b"shared")
    key = store.data_key(d)
    with store.open(d, data_key=key) as f:
        assert f.read() == b"shared"
    with pytest.raises(SealError):
        store.open(d, data_key=sealed.new_key()).read()
    other = ContentStore(tmp_path / "other")  # another store's key does not open our blobs
    os.link(store.path(d), other.path(d))
    with pytest.raises(SealError):
        other.read(d)


def test_damage_is_detected(store):
    data = os.urandom(2 * CHUNK)
    d = store.write(data)
    path = store.path(d)
    raw = bytearray(path.read_bytes())
    raw[sealed.HEADER + 100] ^= 1
    path.chmod(0o644)
    path.write_bytes(bytes(raw))
    with pytest.raises(SealError):
        store.read(d)
    # Cut off the final (empty) chunk: the whole chunks still decrypt, the end does not.
    path.write_bytes(store_bytes := bytes(raw[:len(raw) - sealed.TAG]))
    assert len(store_bytes) % (CHUNK + sealed.TAG) == sealed.HEADER % (CHUNK + sealed.TAG)
    with pytest.raises((SealError, DigestMismatch)):
        store.read(d)


def test_blobs_written_before_sealing_still_read(store):
    data = b"written by an earlier cloudlet"
    store.path(sha(data)).write_bytes(data)
    assert store.read(sha(data)) == data and store.size(sha(data)) == len(data)
