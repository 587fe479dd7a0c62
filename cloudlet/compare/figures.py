"""The figures of a compare.json, picked out and formatted the one way the terminal table,
the page and the plots all show them. Every figure may be missing (a quick run, a probe
that printed nothing, a workload that serves no HTTP): missing shows as a dash."""

from __future__ import annotations

from cloudlet.compare.stats import median, percentile

DASH = "—"
KINDS = ("container", "vm")
COLOURS = {"container": "#1f77b4", "vm": "#d62728", "host": "#7f7f7f"}

# key, label, unit, whether more is better (a time is better smaller)
PERF = [("cpu_s", "CPU loop (MD5 of 64 MiB)", "s", False),
        ("disk_write_mib_s", "disk write (64 MiB, fsync)", "MiB/s", True),
        ("disk_read_mib_s", "disk read (64 MiB, page cache)", "MiB/s", True),
        ("random_read_iops", "random 4 KiB reads (page cache)", "IOPS", True),
        ("random_write_iops", "random 4 KiB writes (each flushed)", "IOPS", True),
        ("rr_latency_ms", "request latency from the host (median)", "ms", False),
        ("throughput_req_s", "request throughput from the host", "req/s", True),
        ("peer_rr_latency_ms", "request latency between two of a kind (mean)", "ms", False),
        ("peer_throughput_req_s", "request throughput between two of a kind", "req/s", True)]
ISOLATION = [("kernel", "kernel"), ("seccomp", "seccomp mode"), ("seccomp_filters", "seccomp filters"),
             ("capabilities", "capabilities"), ("pids_visible", "PIDs visible"), ("mounts", "mounts"),
             ("syscalls_allowed", "syscalls its seccomp filter allows"), ("virtio_devices", "virtio devices")]


def number(x) -> str:
    """A figure with as many digits as tell something: 1,234 · 12.3 · 1.23 · 0.0123."""
    if x is None:
        return DASH
    if isinstance(x, int):
        return f"{x:,}"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    if abs(x) >= 0.1 or x == 0:
        return f"{x:.2f}"
    return f"{x:.3g}"


def unit(x, suffix: str) -> str:
    return DASH if x is None else f"{number(x)} {suffix}"


def size(nbytes) -> str:
    if nbytes is None:
        return DASH
    mib = nbytes / 2 ** 20
    return f"{mib / 1024:.2f} GiB" if mib >= 1024 else f"{number(mib)} MiB"


def kind(report: dict, name: str) -> dict:
    return (report.get("kinds") or {}).get(name) or {}


def label(report: dict, name: str) -> str:
    return kind(report, name).get("label") or name


def samples(k: dict, key: str) -> list[float]:
    return [x for x in k.get(key) or [] if x is not None]


def spread(k: dict, key: str) -> str:
    """Median / p95 of a list of seconds."""
    xs = samples(k, key)
    if not xs:
        return DASH
    return f"{unit(median(xs), 's')} / {unit(percentile(xs, 95), 's')}"


def idle(k: dict) -> dict:
    """The idle-memory figure at the largest count measured: the per-instance cost with the
    least share of one-off costs in it."""
    return max(k.get("memory") or [{}], key=lambda m: m.get("count") or 0)


def idle_mib(k: dict, key: str) -> str:
    m = idle(k)
    return DASH if m.get(key) is None else f"{unit(m[key], 'MiB')} ({m.get('count')} idle)"


def density(k: dict) -> str:
    d = k.get("density")
    if not d:
        return DASH
    fit = f", ≈{number(d['extrapolated'])} fit" if d.get("extrapolated") is not None else ""
    return f"{number(d.get('started'))} started{fit}"


def perf(k: dict, key: str):
    return (k.get("perf") or {}).get(key)


def perf_text(k: dict, key: str) -> str:
    return unit(perf(k, key), next(u for name, _, u, _ in PERF if name == key))


def iso(k: dict, key: str):
    return (k.get("isolation") or {}).get(key)


def iso_text(k: dict, key: str) -> str:
    value = iso(k, key)
    return DASH if value is None or value == "" else str(value)


def relative(report: dict, name: str, key: str) -> float | None:
    """The kind's perf figure as a fraction of the bare host's speed: 1 is as fast, 0.5 half
    as fast, whichever way the figure runs (seconds or MiB/s)."""
    ours, host = perf(kind(report, name), key), perf(kind(report, "host"), key)
    if not ours or not host:
        return None
    more_is_better = next(better for k, _, _, better in PERF if k == key)
    return ours / host if more_is_better else host / ours


def pair(k: dict, a: str, b: str, text) -> str:
    """Two figures in one cell, 'a / b', a dash when both are missing."""
    x, y = text(k, a), text(k, b)
    return DASH if x == y == DASH else f"{x} / {y}"


# The terminal summary: label, cell of one kind's figures, whether the bare host has it.
ROWS = [
    ("start median / p95", lambda k: spread(k, "start_s"), False),
    ("first response median / p95", lambda k: spread(k, "first_response_s"), False),
    ("idle PSS per instance", lambda k: idle_mib(k, "pss_mib"), False),
    ("MemAvailable drop per instance", lambda k: idle_mib(k, "available_drop_mib"), False),
    ("density", density, False),
    ("kernel", lambda k: iso_text(k, "kernel"), True),
    ("seccomp mode / filters", lambda k: pair(k, "seccomp", "seccomp_filters", iso_text), True),
    ("capabilities", lambda k: iso_text(k, "capabilities"), True),
    ("PIDs visible", lambda k: iso_text(k, "pids_visible"), True),
    ("mounts", lambda k: iso_text(k, "mounts"), True),
    ("virtio devices", lambda k: iso_text(k, "virtio_devices"), True),
    ("CPU loop", lambda k: perf_text(k, "cpu_s"), True),
    ("disk write / read", lambda k: pair(k, "disk_write_mib_s", "disk_read_mib_s", perf_text), True),
    ("random read / write 4 KiB", lambda k: pair(k, "random_read_iops", "random_write_iops", perf_text), True),
    ("requests from host: latency / rate", lambda k: pair(k, "rr_latency_ms", "throughput_req_s", perf_text),
     True),
    ("requests between two: latency / rate",
     lambda k: pair(k, "peer_rr_latency_ms", "peer_throughput_req_s", perf_text), True),
    ("size", lambda k: size(k.get("size_bytes")), False),
]
