"""Mark-and-sweep garbage collection of a content store.

What keeps a blob alive:

1. reachability from the caller's roots (tags) and the store's holders (the registry's
   blobs, see ContentStore.hold), following the caller's children function
   (index -> manifests, manifest -> config + layers);
2. a live lease (Lease in store.py) that wrote or added it: writers hold one across
   "write the blobs, then record the tag", the window in which a blob is referenced
   by nothing yet;
3. an ingest in progress that named the blob's digest up front;
4. its commit time: every commit (a repeated one too) stamps the blob's mtime, and
   only blobs stamped before the collection began, and at least min_age seconds
   before it, are removed. min_age is the grace period for writers that hold no
   lease, e.g. a registry client that pushes layers minutes before their manifest.

The whole collection runs under the store's exclusive lock, which every commit
takes shared: no blob can appear, or be re-committed, between the moment it is
judged garbage and its removal. Ingests keep writing meanwhile (only their final
rename waits), and an ingest whose digest was not known up front needs no
protection: it carries its own bytes and publishes them with its rename.

roots is a callable evaluated under the lock after the leases were read, so a
writer that releases its lease after recording its root is seen in one or the other.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable

from . import digests
from .store import ContentStore

Children = Callable[[str], Iterable[str]]


@dataclass
class GCResult:
    removed: list[str] = field(default_factory=list)
    freed_bytes: int = 0
    kept: int = 0
    stale_ingests: int = 0


def collect(store: ContentStore, roots: Callable[[], Iterable[str]], children: Children, *,
            min_age: float = 0.0, stale_ingest_age: float | None = 24 * 3600) -> GCResult:
    """Remove every blob not kept alive by the rules above; return what was done.

    children(digest) is only asked about blobs that exist. Ingests untouched for
    stale_ingest_age seconds are taken for abandoned and removed (None keeps them).
    """
    began = time.time_ns()
    cutoff = began - int(min_age * 1e9)
    result = GCResult()
    with store.exclusive_lock():
        keep = _leased(store, began / 1e9) | _expected_by_ingests(store, began, stale_ingest_age, result)
        keep |= set(roots()) | store.held()
        live = _mark(store, keep, children)
        for digest in list(store.list()):
            if digest in live:
                result.kept += 1
                continue
            path = store.path(digest)
            try:
                st = os.stat(path)
            except FileNotFoundError:
                continue
            if st.st_mtime_ns >= cutoff:
                result.kept += 1
                continue
            path.unlink()
            result.removed.append(digest)
            result.freed_bytes += st.st_size
    return result


def _mark(store: ContentStore, start: set[str], children: Children) -> set[str]:
    live: set[str] = set()
    todo = [d for d in start if d]
    while todo:
        digest = todo.pop()
        if digest in live:
            continue
        digests.validate(digest)
        live.add(digest)
        if store.exists(digest):
            todo.extend(c for c in children(digest) if c not in live)
    return live


def _leased(store: ContentStore, now: float) -> set[str]:
    keep: set[str] = set()
    for p in store.leases.iterdir():
        try:
            first, *held = p.read_text().splitlines()
            expiry = float(first)
        except (FileNotFoundError, ValueError):
            continue  # released meanwhile, or created and not yet written
        if expiry < now:
            p.unlink(missing_ok=True)
            continue
        keep.update(held)
    return keep


def _expected_by_ingests(store: ContentStore, now_ns: int, stale_age: float | None, result: GCResult) -> set[str]:
    keep: set[str] = set()
    for d in store.ingests.iterdir():
        try:
            touched = max(os.stat(d / "data").st_mtime_ns, os.stat(d).st_mtime_ns)
            meta = json.loads((d / "meta.json").read_text())
        except (FileNotFoundError, ValueError):
            continue  # committed or aborted meanwhile
        if stale_age is not None and now_ns - touched > stale_age * 1e9:
            shutil.rmtree(d, ignore_errors=True)
            result.stale_ingests += 1
            continue
        if meta.get("expected"):
            keep.add(meta["expected"])
    return keep
