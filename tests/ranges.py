"""The host's address ranges, shared out among the test processes that run side by side (the
two xdist workers, a second pytest beside them): each process holds one of SLOTS slots for
its life (an flock), and within its slot hands out the ranges in turn. Chosen at random,
two servers alive at once picked the same link pool now and then (1 in 128): their routers'
uplinks then had the same address, mark and routing table, and the one made first lost the
way back from its metadata services."""

import fcntl
import collections
import itertools
import os
from pathlib import Path

SLOTS = 8
LOCKS = Path("/tmp/cloudlet-test-slots")
_held: dict[str, int] = {}
_serials = collections.defaultdict(itertools.count)  # one per kind of range


def slot() -> int:
    if "slot" not in _held:
        LOCKS.mkdir(exist_ok=True)
        for i in range(SLOTS):
            fd = os.open(LOCKS / str(i), os.O_CREAT | os.O_RDWR, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            _held["slot"] = i  # the fd stays open: the lock lasts as long as this process
            break
        else:
            raise RuntimeError(f"all {SLOTS} test range slots in {LOCKS} are held by other processes")
    return _held["slot"]


def _take(kind: str, count: int) -> int:
    """The next of this slot's count values of kind (of SLOTS * count in all)."""
    return slot() * count + next(_serials[kind]) % count


def link_pool() -> str:
    """A /26 of 169.254.192.0/19: room for 16 routers' uplinks."""
    n = _take("link", 16)
    return f"169.254.{192 + n // 4}.{n % 4 * 64}/26"


def engine_subnet() -> tuple[str, str]:
    """(default network's subnet, user networks' pool): the two /25s of a /24 of its slot's
    /16, 10.150 + slot: low in 10.144.0.0/12, the VPC pool whose default VPCs take 10.159
    and down (every /16 of 10.0.0.0/8 is some test's VPC pool)."""
    n = _take("subnet", 256)
    second, third = 150 + n // 256, n % 256
    return f"10.{second}.{third}.0/25", f"10.{second}.{third}.128/25"


def public_pool(prefix: int = 24) -> str:
    """A public pool in 198.18.0.0/15 (benchmarking addresses, routed nowhere): a /24 of it,
    or a smaller block of one."""
    n = _take("public", 512 // SLOTS)
    return f"198.{18 + n // 256}.{n % 256}.0/{prefix}"


def outside_link() -> int:
    """The base of a /30 of TEST-NET-2 (198.51.100.0/24) for an "outside" namespace's link."""
    return _take("outside", 64 // SLOTS) * 4
