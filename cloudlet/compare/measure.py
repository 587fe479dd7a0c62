"""What `cloudlet compare` and the benches measure with: clocks around calls, the host's
memory, the memory a set of processes costs, and the host itself.

One copy for all of them (bench/boot.py, bench/container_start.py and cloudlet/compare), so
that a figure in a bench and the same figure in a report are the same measurement."""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path

MIB = 2 ** 20


class Timeout(RuntimeError):
    pass


def timed(runs: int, once, after=None) -> list[float]:
    """Milliseconds per call of once(), `runs` of them after one untimed warm-up call (it
    fills caches: page cache, unpacked layers); after(result) cleans up, untimed."""
    out = []
    for i in range(runs + 1):
        t0 = time.perf_counter()
        result = once()
        elapsed = (time.perf_counter() - t0) * 1000
        if after:
            after(result)
        if i:
            out.append(elapsed)
    return out


def until(probe, timeout: float, interval: float, what: str):
    """probe()'s first true value, asked every `interval` s; Timeout naming `what` after
    `timeout` s."""
    deadline = time.monotonic() + timeout
    while not (got := probe()):
        if time.monotonic() > deadline:
            raise Timeout(f"{what}: not within {timeout:.0f} s")
        time.sleep(interval)
    return got


def memory_available() -> int:
    """MemAvailable, in bytes: what the host could still give without swapping."""
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no MemAvailable in /proc/meminfo")


def rollup(pids) -> tuple[int, int]:
    """The RSS and the proportional set size (PSS: each shared page divided among the
    processes that map it) of the processes, in bytes; processes gone meanwhile count 0."""
    rss = pss = 0
    for pid in pids:
        try:
            text = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except (FileNotFoundError, ProcessLookupError):
            continue
        fields = dict(line.split(":", 1) for line in text.splitlines()[1:])
        rss += int(fields["Rss"].split()[0]) * 1024
        pss += int(fields["Pss"].split()[0]) * 1024
    return rss, pss


def pss(pids) -> int:
    return rollup(pids)[1]


def host() -> dict:
    """The host the figures were measured on."""
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.machine())
    total = next(int(line.split()[1]) // 1024 for line in Path("/proc/meminfo").read_text().splitlines()
                 if line.startswith("MemTotal:"))
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_mib": total, "kernel": platform.release()}
