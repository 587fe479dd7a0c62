"""Resource use of a running container, from its cgroup v1 files and its netns."""

from __future__ import annotations

import time
from dataclasses import dataclass

from .cgroups import Cgroup


@dataclass
class Stats:
    cpu_percent: float      # 100.0 = one CPU busy for the whole interval, as docker stats
    cpu_usage_ns: int       # total since start
    memory_usage: int       # bytes, page cache that can be dropped at once excluded
    memory_limit: int       # bytes; the host's memory when the container has no limit
    memory_percent: float
    pids: int
    net_rx_bytes: int
    net_tx_bytes: int


def _host_memory() -> int:
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    return 0


def _net_bytes(pid: int | None) -> tuple[int, int]:
    """Bytes through the container's interfaces other than loopback, read through its
    init process's view of /proc/net (so no need to enter the netns)."""
    if not pid:
        return 0, 0
    rx = tx = 0
    try:
        with open(f"/proc/{pid}/net/dev") as f:
            for line in f.readlines()[2:]:
                name, _, data = line.partition(":")
                if name.strip() == "lo":
                    continue
                fields = data.split()
                rx, tx = rx + int(fields[0]), tx + int(fields[8])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return rx, tx


@dataclass
class Counters:
    """A container's counters at one moment, for callers that keep the previous reading."""
    cpu_usage_ns: int  # total since start
    memory_usage: int  # bytes, as in Stats
    net_rx_bytes: int
    net_tx_bytes: int


def counters(cgroup: Cgroup) -> Counters | None:
    """Read from the cgroup alone (no runc call, which forks); None once the cgroup is gone."""
    procs = cgroup.read("pids", "cgroup.procs")
    if procs is None:
        return None
    s = cgroup.stats()
    rx, tx = _net_bytes(int(procs.split()[0]) if procs.split() else None)
    return Counters(s.cpu_usage_ns, s.memory_usage, rx, tx)


def sample(cgroup: Cgroup, pid: int | None, interval: float) -> Stats:
    """Two readings `interval` seconds apart: CPU % only exists over a span of time."""
    t0, first = time.monotonic(), cgroup.stats()
    time.sleep(interval)
    t1, s = time.monotonic(), cgroup.stats()
    cpu_percent = max(0.0, (s.cpu_usage_ns - first.cpu_usage_ns) / ((t1 - t0) * 1e9) * 100)
    host = _host_memory()
    limit = s.memory_limit if 0 < s.memory_limit < host else host
    rx, tx = _net_bytes(pid)
    return Stats(cpu_percent=round(cpu_percent, 2), cpu_usage_ns=s.cpu_usage_ns,
                 memory_usage=s.memory_usage, memory_limit=limit,
                 memory_percent=round(s.memory_usage / limit * 100, 2) if limit else 0.0,
                 pids=s.pids, net_rx_bytes=rx, net_tx_bytes=tx)
