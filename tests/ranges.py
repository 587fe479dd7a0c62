"""The host's address ranges, shared out among the test processes that run side by side (the
two xdist workers, a second pytest beside them) and among the engines of one process.

Each process holds one of SLOTS slots for its life (an flock) and hands out the ranges of its
slot in turn, skipping those an engine of its own still holds (released when the engine is
taken down) and link pools with an address on the host already (a process before it left
them). Chosen at random, two engines alive at once picked the same link pool now and then:
their routers' uplinks had the same address, mark and routing table, and the one made first
lost the way back from its metadata services."""

import collections
import fcntl
import itertools
import os
import subprocess
from pathlib import Path

SLOTS = 8
LOCKS = Path("/tmp/cloudlet-test-slots")
_slot: list[int] = []
_serials = collections.defaultdict(itertools.count)  # one per kind of range
_held = collections.defaultdict(set)  # kind -> what engines of this process hold


def slot() -> int:
    if not _slot:
        LOCKS.mkdir(exist_ok=True)
        for i in range(SLOTS):
            fd = os.open(LOCKS / str(i), os.O_CREAT | os.O_RDWR, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            _slot.append(i)  # the fd stays open: the lock lasts as long as this process
            break
        else:
            raise RuntimeError(f"all {SLOTS} test range slots in {LOCKS} are held by other processes")
    return _slot[0]


def _take(kind: str, count: int, render, busy=lambda value: False) -> str:
    """The next of this slot's count ranges of kind (render(n): the range, for n of
    0..SLOTS * count) that is neither held nor busy; held until release()."""
    start = next(_serials[kind])
    for i in range(count):
        value = render(slot() * count + (start + i) % count)
        if value not in _held[kind] and not busy(value):
            _held[kind].add(value)
            return value
    raise RuntimeError(f"all {count} {kind} ranges of test slot {slot()} are taken")


def hold(kind: str, value: str) -> None:
    """Held again: an engine released and started again (a server restarted on its data dir)."""
    _held[kind].add(value)


def release(kind: str, value: str) -> None:
    _held[kind].discard(value)


def _on_host(pool: str) -> bool:
    return bool(subprocess.run(["ip", "-o", "-4", "addr", "show", "to", pool], capture_output=True,
                               text=True).stdout.strip())


def link_pool() -> str:
    """A /26 of 169.254.0.0/17 (512 of them, clear of the metadata services' 169.254.169.254
    and 169.254.170.2): room for 16 routers' uplinks."""
    return _take("link", 512 // SLOTS, lambda n: f"169.254.{n // 4}.{n % 4 * 64}/26", _on_host)


def engine_subnet() -> str:
    """A /24 of its slot's /16, 10.150 + slot, for an engine's default network and user
    networks (its two /25s): low in 10.144.0.0/12, the VPC pool whose default VPCs take 10.159
    and down (every /16 of 10.0.0.0/8 is some test's VPC pool)."""
    return _take("subnet", 256, lambda n: f"10.{150 + n // 256}.{n % 256}.0/24")


def public_pool(prefix: int = 24) -> str:
    """A public pool in 198.18.0.0/15 (benchmarking addresses, routed nowhere): a /24 of it, or
    a smaller block at the /24's start (what release() takes back is the /24)."""
    block = _take("public", 512 // SLOTS, lambda n: f"198.{18 + n // 256}.{n % 256}.0/24")
    return block.replace("/24", f"/{prefix}")


def outside_link() -> str:
    """A /30 of TEST-NET-2 (198.51.100.0/24) for an "outside" namespace's link."""
    return _take("outside", 64 // SLOTS, lambda n: f"198.51.100.{n * 4}/30")
