"""cgroup v1 limits (as OCI resources for runc to apply) and reading them back.

runc creates, joins and limits the container's cgroups; this module only names the
path, translates our Resources into the OCI section, reads the accounting files for
stats and OOM kills, and removes directories a crashed runc might have left behind.
"""

from __future__ import annotations

import errno
import os
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from .spec import Resources

CFS_PERIOD_US = 100_000  # the kernel's default period; quota is a share of it
PARENT = "cloudlet"


@cache
def mountpoints() -> dict[str, Path]:
    """Controller name -> where its v1 hierarchy is mounted (co-mounted controllers such
    as "cpu,cpuacct" appear under each name)."""
    found: dict[str, Path] = {}
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            sep = fields.index("-")
            if fields[sep + 1] != "cgroup":
                continue
            for opt in fields[sep + 3].split(","):
                if opt in ("cpu", "cpuacct", "memory", "pids", "cpuset", "devices", "freezer",
                           "blkio", "net_cls", "net_prio", "perf_event", "hugetlb", "rdma", "misc") \
                        or opt.startswith("name="):
                    found.setdefault(opt, Path(fields[4]))
    return found


def has_swap_accounting() -> bool:
    mem = mountpoints().get("memory")
    return bool(mem and (mem / "memory.memsw.limit_in_bytes").exists())


def linux_resources(res: Resources) -> dict:
    # runc adds its own allowlist of safe devices (null, zero, tty, ...) after this rule.
    out: dict = {"devices": [{"allow": False, "access": "rwm"}]}
    if res.memory is not None:
        if res.memory < 6 * 1024 * 1024:
            raise ValueError("memory limit must be at least 6 MiB")
        out["memory"] = {"limit": res.memory}
        if has_swap_accounting():
            # v1 "swap" is memory+swap: equal to the limit means no swap at all, so going
            # over the limit ends in the OOM killer rather than in slow swapping.
            out["memory"]["swap"] = res.memory
    cpu = {}
    if res.cpu_shares is not None:
        cpu["shares"] = res.cpu_shares
    if res.cpus is not None:
        if res.cpus <= 0:
            raise ValueError("cpus must be more than 0")
        cpu["quota"] = max(1000, int(res.cpus * CFS_PERIOD_US))
        cpu["period"] = CFS_PERIOD_US
    if cpu:
        out["cpu"] = cpu
    if res.pids_limit is not None:
        out["pids"] = {"limit": res.pids_limit}
    return out


@dataclass
class CgroupStats:
    cpu_usage_ns: int
    memory_usage: int
    memory_limit: int
    pids: int
    oom_kills: int


class Cgroup:
    def __init__(self, path: str):
        self.path = path.strip("/")  # the OCI cgroupsPath, e.g. "/cloudlet/<id>"

    def dir(self, controller: str) -> Path | None:
        base = mountpoints().get(controller)
        return base / self.path if base else None

    def read(self, controller: str, name: str) -> str | None:
        d = self.dir(controller)
        try:
            return (d / name).read_text() if d else None
        except (FileNotFoundError, ProcessLookupError):
            return None

    def _int(self, controller: str, name: str) -> int:
        text = self.read(controller, name)
        return int(text.split()[0]) if text and text.strip() else 0

    def _keyed(self, controller: str, name: str) -> dict[str, int]:
        text = self.read(controller, name) or ""
        return {k: int(v) for k, v in (line.split() for line in text.splitlines() if line.strip())}

    def oom_kills(self) -> int:
        return self._keyed("memory", "memory.oom_control").get("oom_kill", 0)

    def stats(self) -> CgroupStats:
        # Page cache the kernel can drop at once is not the container's "use": subtract
        # inactive files, as docker stats does.
        usage = self._int("memory", "memory.usage_in_bytes")
        inactive = self._keyed("memory", "memory.stat").get("total_inactive_file", 0)
        return CgroupStats(
            cpu_usage_ns=self._int("cpuacct", "cpuacct.usage"),
            memory_usage=max(0, usage - inactive),
            memory_limit=self._int("memory", "memory.limit_in_bytes"),
            pids=self._int("pids", "pids.current"),
            oom_kills=self.oom_kills(),
        )

    def exists(self) -> list[str]:
        return [c for c in mountpoints() if (d := self.dir(c)) is not None and d.is_dir()]

    def remove(self, timeout: float = 2.0) -> None:
        """rmdir in every hierarchy; a group whose last process is still exiting is busy
        for a moment, so retry until timeout."""
        deadline = time.monotonic() + timeout
        for controller in self.exists():
            d = self.dir(controller)
            while True:
                try:
                    os.rmdir(d)
                    break
                except FileNotFoundError:
                    break
                except OSError as e:
                    if e.errno != errno.EBUSY or time.monotonic() > deadline:
                        raise
                    time.sleep(0.02)
