"""Raw counters of a running VM, totals since its QEMU started: CPU time of its vCPU threads,
its tap's traffic, each drive's I/O, and whether QEMU answers and its guest runs. One QMP
round trip and a few /proc reads per reading; what they mean over a span is the caller's.

CPU time is that of the vCPU threads QEMU names (query-cpus-fast), not the whole process:
under TCG the translation and the translated code both run in those threads, while device
emulation (virtio queues, disk and tap I/O) runs in QEMU's main loop and I/O threads, which
the guest did not spend. A halted vCPU sleeps, so an idle guest costs its threads ~nothing."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

from .qmp import QMPError
from .vm import VMError, VMs

_TICK = os.sysconf("SC_CLK_TCK")


@dataclass
class Traffic:
    """A tap's counters as the host sees them: what it receives is what the guest sent."""
    rx_bytes: int
    rx_packets: int
    tx_bytes: int
    tx_packets: int


@dataclass
class Drive:
    rd_bytes: int
    wr_bytes: int
    rd_ops: int
    wr_ops: int
    rd_time_ns: int  # summed over operations: overlapping ones count each
    wr_time_ns: int
    idle_ns: int | None  # since the drive's last operation (None: none yet)


@dataclass
class Reading:
    at: float  # time.monotonic() of the reading
    pid: int | None  # QEMU's; None: not running
    answered: bool = False  # QMP replied
    run_state: str = ""  # QMP's guest run state: running, paused, io-error, guest-panicked, ...
    vcpus: int = 0
    cpu_seconds: float | None = None  # user + system time of the vCPU threads
    traffic: Traffic | None = None
    drives: dict[str, Drive] = field(default_factory=dict)  # by node name (the disk's id)


def _thread_seconds(pid: int, tid: int) -> float:
    with open(f"/proc/{pid}/task/{tid}/stat") as f:
        fields = f.read().rpartition(")")[2].split()  # the name before ")" may hold spaces
    return (int(fields[11]) + int(fields[12])) / _TICK  # utime, stime (fields 14 and 15 of stat)


def _traffic(pid: int, device: str) -> Traffic | None:
    """The tap's counters from QEMU's view of /proc/net/dev: it runs in the tap's namespace,
    so nothing needs to enter it."""
    try:
        with open(f"/proc/{pid}/net/dev") as f:
            for line in f.readlines()[2:]:
                name, _, data = line.partition(":")
                if name.strip() == device:
                    n = [int(x) for x in data.split()]
                    return Traffic(rx_bytes=n[0], rx_packets=n[1], tx_bytes=n[8], tx_packets=n[9])
    except FileNotFoundError:
        pass
    return None


def _drive(stats: dict) -> Drive:
    return Drive(stats["rd_bytes"], stats["wr_bytes"], stats["rd_operations"], stats["wr_operations"],
                 stats["rd_total_time_ns"], stats["wr_total_time_ns"], stats.get("idle_time_ns"))


def read(vms: VMs, vm_id: str) -> Reading:
    """The VM's counters now; a VM that is gone, or whose QEMU does not answer, gives a
    Reading that says so."""
    try:
        vm = vms.get(vm_id)
    except VMError:
        return Reading(time.monotonic(), None)
    if vm.pid is None:
        return Reading(time.monotonic(), None)
    try:
        status, cpus, blocks = vms.queries(vm_id, [("query-status", None), ("query-cpus-fast", None),
                                                    ("query-blockstats", None)])
    except (QMPError, OSError, ValueError):  # QEMU hung, or went away in between
        return Reading(time.monotonic(), vm.pid)
    reading = Reading(time.monotonic(), vm.pid, True, status["status"], len(cpus))
    try:
        # one thread for all vCPUs when QEMU runs TCG single-threaded: count it once
        reading.cpu_seconds = sum(_thread_seconds(vm.pid, tid) for tid in {c["thread-id"] for c in cpus})
    except (FileNotFoundError, ProcessLookupError):
        reading.cpu_seconds = None  # it ended since QMP answered
    if vm.tap:
        reading.traffic = _traffic(vm.pid, vm.tap)
    reading.drives = {b["node-name"]: _drive(b["stats"]) for b in blocks if b.get("node-name")}
    return reading
