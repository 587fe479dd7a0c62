"""The probe `cloudlet compare` runs inside a container, inside a VM and on the bare host: a
POSIX shell script (busybox's applets or Debian's coreutils both do), so that the same
image can run it every way, and what it prints, read back.

What it shows from inside: the kernel seen, the seccomp mode and filters over it, the
capabilities it holds, the processes and mounts it can see, the devices it has (virtio
ones are a VM's device model); and three timings: a CPU-bound loop (MD5 of zeros),
writing a file to the root file system and flushing it, and reading it back (from the
page cache: a container may not drop the host's caches, so no kind does)."""

from __future__ import annotations

import re

BEGIN, END = "cloudlet-probe: begin", "cloudlet-probe: end"
CPU_MIB, DISK_MIB = 64, 64
SCRIPT = f"""
t() {{ cut -d' ' -f1 /proc/uptime; }}
D=${{PROBE_DIR:-/}}
[ -d /sys/bus ] || mount -t sysfs sysfs /sys 2>/dev/null
echo "{BEGIN}"
echo "probe kernel $(uname -r)"
grep -E '^(Seccomp|Seccomp_filters|CapEff):' /proc/self/status | sed 's/^/probe status /'
echo "probe pids $(ls -d /proc/[0-9]* 2>/dev/null | wc -l)"
echo "probe mounts $(wc -l < /proc/self/mounts)"
echo "probe virtio $(ls /sys/bus/virtio/devices 2>/dev/null | wc -l)"
echo "probe devices $(ls /dev | tr '\\n' ' ')"
a=$(t); dd if=/dev/zero bs=1048576 count={CPU_MIB} 2>/dev/null | md5sum >/dev/null; b=$(t)
echo "probe cpu $a $b"
a=$(t); dd if=/dev/zero of="$D/cloudlet-probe.bin" bs=1048576 count={DISK_MIB} conv=fsync 2>/dev/null; b=$(t)
echo "probe disk_write $a $b"
a=$(t); dd if="$D/cloudlet-probe.bin" of=/dev/null bs=1048576 2>/dev/null; b=$(t)
echo "probe disk_read $a $b"
rm -f "$D/cloudlet-probe.bin"
echo "{END}"
"""
_LINE = re.compile(r"^probe (\w+) ?(.*)$")


def _span(value: str) -> float | None:
    """Seconds between two /proc/uptime readings (10 ms resolution); at least one tick."""
    try:
        a, b = (float(x) for x in value.split())
    except ValueError:
        return None
    return max(b - a, 0.01)


def _number(value: str | None, base: int = 10) -> int | None:
    """A figure the probe printed; None for one missing or garbled (the workload shares the
    output, and may print anything)."""
    try:
        return int(value, base) if value else None
    except ValueError:
        return None


def parse(output: str) -> dict:
    """{"isolation": {...}, "perf": {...}} from the last complete probe in output (a log or
    a console also holds other lines: the kernel's, init's); KeyError when there is none."""
    start, end = output.rfind(BEGIN), output.rfind(END)
    if start < 0 or end < start:
        raise KeyError("no complete probe output")
    fields: dict[str, str] = {}
    status: dict[str, str] = {}
    for raw in output[start:end].splitlines():
        m = _LINE.match(raw.strip())
        if not m:
            continue
        if m[1] == "status":
            key, _, value = m[2].partition(":")
            status[key.strip()] = value.strip()
        else:
            fields[m[1]] = m[2].strip()
    cap = _number(status.get("CapEff"), 16)
    isolation = {"kernel": fields.get("kernel", ""), "seccomp": _number(status.get("Seccomp")),
                 "seccomp_filters": _number(status.get("Seccomp_filters")),
                 "capabilities": None if cap is None else bin(cap).count("1"),
                 "pids_visible": _number(fields.get("pids")), "mounts": _number(fields.get("mounts")),
                 "virtio_devices": _number(fields.get("virtio")), "devices": fields.get("devices", "").split()}
    cpu, write, read = (_span(fields.get(k, "")) for k in ("cpu", "disk_write", "disk_read"))
    perf = {"cpu_s": cpu, "disk_write_mib_s": DISK_MIB / write if write else None,
            "disk_read_mib_s": DISK_MIB / read if read else None}
    return {"isolation": isolation, "perf": perf}
