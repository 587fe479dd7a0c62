"""The measurements of `cloudlet compare`, each done the same way for both kinds
(kinds.Container, kinds.Instance): start, idle memory, density, what a probe sees inside,
and requests from the host."""

from __future__ import annotations

import http.client
import time
import urllib.request

from cloudlet.compare.measure import MIB, Timeout, memory_available, pss, rollup, until
from cloudlet.compare.probe import END, parse, script

BOOT_TIMEOUT = 300  # a VM under TCG on a loaded host is slow; one that never comes up fails the run
IDLE = 3  # seconds the instances idle before their memory is read
RESERVE = 0.25  # density stops where MemAvailable falls under this share of the host's memory
DENSITY_WAIT = 120  # ... or where one more does not come up in this long


def _load() -> str:
    return " ".join(open("/proc/loadavg").read().split()[:3])


def answers(address: str, port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://{address}:{port}/", timeout=1) as r:
            return r.status == 200
    except OSError:
        return False


def printed(kind, ident: str) -> bool:
    """A non-server workload's first output line is out: in its log (container) or on the
    console after init handed over to it (VM)."""
    text = kind.output(ident)
    if kind.kind == "vm":
        text = text.split("cloudlet-init: running", 1)[-1]
        lines = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith(("cloudlet-init:", "["))]
        return bool(lines)
    return bool(text.strip())


class Runner:
    """Launches, waits and removes, keeping every id it launched until it is gone, so that
    a failure or Ctrl-C anywhere still removes everything (clean_up)."""

    def __init__(self, port: int | None):
        self.port = port
        self.live: dict[str, object] = {}  # id -> its kind

    def launch(self, kind, count: int, probe: str | None = None) -> list[str]:
        ids = kind.launch(count, probe)
        self.live.update(dict.fromkeys(ids, kind))
        return ids

    def up(self, kind, ident: str, t0: float, timeout: float = BOOT_TIMEOUT) -> tuple[float, float, str]:
        """Seconds from t0 until it ran, and until it first answered; its address."""
        address = until(lambda: kind.address(ident), timeout, 0.05, f"{ident} running")
        running = time.perf_counter() - t0
        ready = (lambda: answers(address, self.port)) if self.port else (lambda: printed(kind, ident))
        until(ready, max(1.0, timeout - running), 0.05, f"{ident} answering")
        return running, time.perf_counter() - t0, address

    def remove(self, kind, ids: list[str], wait: bool = True) -> None:
        kind.remove(ids)
        if wait:
            for ident in ids:
                until(lambda: kind.gone(ident), BOOT_TIMEOUT, 0.2, f"{ident} gone")
                self.live.pop(ident, None)

    def clean_up(self) -> None:
        by_kind: dict[object, list[str]] = {}
        for ident, kind in self.live.items():
            by_kind.setdefault(kind, []).append(ident)
        for kind, ids in by_kind.items():
            try:
                self.remove(kind, ids)
            except Exception:  # one that will not go must not keep the others
                pass


def starts(runner: Runner, kind, runs: int, at_once: int = 1) -> tuple[list[float], list[float]]:
    """Start and first-response seconds of `runs` launches, `at_once` at a time."""
    started, answered = [], []
    done = 0
    while done < runs:
        count = min(at_once, runs - done)
        t0 = time.perf_counter()
        ids = runner.launch(kind, count)
        try:
            for ident in ids:  # in launch order: each one's times still count from t0
                running, first, _ = runner.up(kind, ident, t0)
                started.append(running)
                answered.append(first)
        finally:
            runner.remove(kind, ids)
        done += count
    return started, answered


def idle_memory(runner: Runner, kind, count: int, on_first=None) -> dict:
    """MiB per idle instance, `count` of them: host PSS of their processes and the drop of
    MemAvailable; on_first(ident, address) of the first runs while they idle, and what it
    gives is added."""
    before = memory_available()
    t0 = time.perf_counter()
    ids = runner.launch(kind, count)
    try:
        addresses = [runner.up(kind, ident, t0)[2] for ident in ids]
        time.sleep(IDLE)
        drop = before - memory_available()
        _, pss = rollup(p for ident in ids for p in kind.pids(ident))
        extra = on_first(ids[0], addresses[0]) if on_first else {}
        return {"count": count, "pss_mib": pss / count / MIB, "available_drop_mib": drop / count / MIB, **extra}
    finally:
        runner.remove(kind, ids)


def density(runner: Runner, kind, limit: int, total_mib: int, progress=lambda n: None) -> dict:
    """Instances started one after another until `limit` or until MemAvailable would fall
    under the reserve; MemAvailable after each, and how many this host would hold."""
    first = memory_available()
    counts, available, ids = [0], [first / MIB], []
    why = f"--density {limit}"
    try:
        while len(ids) < limit:
            if memory_available() / MIB < RESERVE * total_mib:
                why = f"MemAvailable under {RESERVE:.0%} of the host's memory"
                break
            t0 = time.perf_counter()
            [ident] = runner.launch(kind, 1)
            ids.append(ident)
            try:
                runner.up(kind, ident, t0, DENSITY_WAIT)
            except Timeout:  # the host's CPUs, not its memory, ran out first: that is the limit found
                ids.pop()
                runner.remove(kind, [ident])
                why = f"number {len(ids) + 1} was not up within {DENSITY_WAIT} s (load average {_load()})"
                break
            counts.append(len(ids))
            available.append(memory_available() / MIB)
            progress(len(ids))
        time.sleep(IDLE)
        available[-1] = memory_available() / MIB
        n = max(1, len(ids))
        # the larger of the two costs: MemAvailable also moves with what else the host does
        per = max((available[0] - available[-1]) / n, pss(p for ident in ids for p in kind.pids(ident)) / n / MIB)
        return {"counts": counts, "available_mib": available, "started": len(ids), "limit": why,
                "per_instance_mib": per, "extrapolated": int(available[0] / per) if per > 0 else None}
    finally:
        runner.remove(kind, ids)


def probe(runner: Runner, kind) -> dict:
    """What the probe script sees and times inside one instance of the kind; for a server,
    with a second instance of the kind, serving, as the peer its requests go to."""
    ids = runner.launch(kind, 1) if runner.port else []
    try:
        peer = runner.up(kind, ids[0], time.perf_counter())[2] if ids else None
        [ident] = runner.launch(kind, 1, probe=script(peer, runner.port))
        ids.append(ident)
        try:
            text = until(lambda: (out := kind.output(ident)) and END in out and out, BOOT_TIMEOUT, 0.2,
                         f"{ident}'s probe output")
        except Timeout:
            raise RuntimeError(f"the probe in {ident} printed no end: {kind.output(ident)[-300:]!r}") from None
        return parse(text)
    finally:
        runner.remove(kind, ids)


def requests(address: str, port: int, seconds: float = 2.0) -> dict:
    """GET / over one kept-alive connection from the host: the median round trip (ms) and
    requests per second."""
    conn = http.client.HTTPConnection(address, port, timeout=5)
    trips = []
    try:
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            conn.request("GET", "/")
            conn.getresponse().read()
            trips.append(time.perf_counter() - t0)
    finally:
        conn.close()
    trips.sort()
    return {"rr_latency_ms": trips[len(trips) // 2] * 1000, "throughput_req_s": len(trips) / sum(trips)}
