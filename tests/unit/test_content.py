"""Content store: round trips, verification, concurrent writers, garbage collection."""

import hashlib
import io
import os
import threading
import time

import pytest

from cloudlet.agent.content import (BlobNotFound, ContentError, ContentStore, DigestMismatch, InvalidDigest, collect,
                                    sealed)


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@pytest.fixture
def store(tmp_path):
    return ContentStore(tmp_path / "content")


def leftovers(store):
    return sorted(os.listdir(store.ingests))


def test_round_trip_and_info(store):
    data = os.urandom(3 * (1 << 20) + 7)
    with store.ingest() as ing:
        for i in range(0, len(data), 65536):
            ing.write(data[i:i + 65536])
        digest = ing.commit(expected_digest=sha(data), expected_size=len(data))
    assert digest == sha(data)
    assert store.path(digest) == store.root / "blobs" / "sha256" / digest.split(":")[1]
    assert store.exists(digest) and store.size(digest) == len(data)
    info = store.info(digest)
    assert info.size == len(data) and abs(info.committed_at - time.time()) < 60
    assert store.read(digest) == data
    with store.open(digest, verify=True) as f:
        assert f.read(10) == data[:10]
    assert list(store.list()) == [digest]
    assert leftovers(store) == []


def test_digest_mismatch_leaves_nothing(store):
    ing = store.ingest()
    ing.write(b"hello")
    with pytest.raises(DigestMismatch, match="expected sha256:0+, got " + sha(b"hello")):
        ing.commit(expected_digest="sha256:" + "0" * 64)
    assert list(store.list()) == [] and leftovers(store) == []
    with pytest.raises(DigestMismatch, match="size mismatch"):
        store.write_stream(io.BytesIO(b"hello"), expected_size=4)
    with pytest.raises(DigestMismatch):
        store.write(b"x", expected_digest=sha(b"y"))
    assert list(store.list()) == [] and leftovers(store) == []


def test_abort_and_exception_remove_the_temp_file(store):
    ing = store.ingest()
    ing.write(b"partial")
    ing.abort()
    with pytest.raises(RuntimeError):
        with store.ingest() as ing:
            ing.write(b"partial")
            raise RuntimeError("client went away")
    assert leftovers(store) == [] and list(store.list()) == []


def test_resume_continues_an_upload(store):
    ing = store.ingest()
    ing.write(b"first half, ")
    ing.suspend()
    again = store.resume(ing.id)
    assert again.offset == 12
    again.write(b"second half")
    assert again.commit() == sha(b"first half, second half")


def test_verified_read_detects_corruption(store):
    digest = store.write(b"original bytes")
    path = store.path(digest)
    os.chmod(path, 0o644)
    path.write_bytes(b"tampered bytes")
    assert store.read(digest, verify=False) == b"tampered bytes"
    with pytest.raises(DigestMismatch, match="corrupt"):
        store.read(digest)


def test_missing_and_invalid(store):
    with pytest.raises(BlobNotFound):
        store.read(sha(b"nope"))
    with pytest.raises(BlobNotFound):
        store.size(sha(b"nope"))
    for bad in ("sha256:abc", "md5:" + "0" * 32, "sha256:" + "A" * 64, "../../etc/passwd"):
        with pytest.raises(InvalidDigest):
            store.exists(bad)
    assert store.delete(sha(b"nope")) is False


def test_delete(store):
    digest = store.write(b"bye")
    assert store.delete(digest) and not store.exists(digest)


def test_concurrent_ingest_of_the_same_blob(store):
    data = os.urandom(1 << 20)
    results, errors = [], []
    barrier = threading.Barrier(8)

    def push():
        try:
            with store.ingest() as ing:
                barrier.wait()
                for i in range(0, len(data), 100_000):
                    ing.write(data[i:i + 100_000])
                results.append(ing.commit(expected_digest=sha(data)))
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=push) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert results == [sha(data)] * 8
    assert store.read(sha(data)) == data
    assert leftovers(store) == []


def _tree(store):
    """Blobs shaped like an image: index -> manifest -> config + layer; plus garbage."""
    config, layer, garbage = store.write(b"config"), store.write(b"layer"), store.write(b"garbage")
    manifest = store.write(f"manifest {config} {layer}".encode())
    index = store.write(f"index {manifest}".encode())
    graph = {index: [manifest], manifest: [config, layer]}
    return graph, index, garbage


def test_gc_keeps_reachable_blobs(store):
    graph, index, garbage = _tree(store)
    asked = []

    def children(d):
        asked.append(d)
        return graph.get(d, [])

    result = collect(store, lambda: [index], children)
    # disk bytes: the sealed file's header and its one chunk's tag besides the plaintext
    assert result.removed == [garbage] and result.freed_bytes == sealed.HEADER + len(b"garbage") + sealed.TAG
    assert sorted(store.list()) == sorted([index, *graph[index], *graph[graph[index][0]]])
    assert set(asked) == set(store.list())
    assert collect(store, lambda: [], children).kept == 0


def test_gc_keeps_what_holders_hold_and_their_children(store):
    graph, index, garbage = _tree(store)
    store.hold("registry", [index])
    store.hold("other", [garbage])
    assert collect(store, list, lambda d: graph.get(d, [])).removed == []
    store.hold("other", [])  # replaced: the holder keeps nothing any more
    assert collect(store, list, lambda d: graph.get(d, [])).removed == [garbage]
    assert store.held() == {index}
    with pytest.raises(ContentError):
        store.hold("../escape", [index])


def test_gc_min_age_spares_recent_blobs(store):
    _, _, garbage = _tree(store)
    assert collect(store, list, lambda d: [], min_age=3600).removed == []
    assert store.exists(garbage)


def test_gc_spares_in_flight_and_leased_blobs(store):
    old = store.write(b"being pushed again")
    in_flight = store.ingest(expected_digest=old)
    in_flight.write(b"being pushed ")
    with store.lease() as lease:
        leased = store.write(b"written under a lease", lease=lease)
        existing = store.write(b"added to a lease")
        assert lease.add(existing)
        assert not lease.add(sha(b"absent"))
        result = collect(store, list, lambda d: [])
        assert result.removed == []
    # The in-flight ingest finishes after a collection: its blob is there.
    in_flight.write(b"again")
    assert in_flight.commit() == old
    assert sorted(collect(store, list, lambda d: []).removed) == sorted([old, leased, existing])


def test_gc_waits_for_commits_and_spares_blobs_committed_after_it_began(store):
    """A commit racing a collection either lands before (and is judged by its
    references) or after; it is never removed for being committed during it."""
    started = threading.Event()
    digest_box = []

    def roots():
        started.set()
        # While we hold the collection's lock, a commit must wait for us.
        t = threading.Thread(target=lambda: digest_box.append(store.write(b"late commit")))
        t.start()
        t.join(0.3)
        assert t.is_alive(), "a commit went through during a collection"
        roots.thread = t
        return []

    collect(store, roots, lambda d: [])
    roots.thread.join()
    assert store.exists(digest_box[0])


def test_gc_recommit_refreshes_a_blob(store):
    digest = store.write(b"same bytes")
    os.utime(store.path(digest), (1, 1))
    store.write(b"same bytes")
    assert collect(store, list, lambda d: [], min_age=60).removed == []


def test_gc_removes_stale_ingests_and_expired_leases(store):
    ing = store.ingest()
    ing.write(b"abandoned")
    ing.suspend()
    for p in (store.ingests / ing.id / "data", store.ingests / ing.id):
        os.utime(p, (1, 1))
    lease = store.lease(ttl=-1)
    store.write(b"under an expired lease", lease=lease)
    result = collect(store, list, lambda d: [])
    assert result.stale_ingests == 1 and leftovers(store) == []
    assert len(result.removed) == 1 and not lease.path.exists()
