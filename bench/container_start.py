"""Container start and density: cloudlet beside podman and raw runc, in the same run, on
the same busybox image.

    .venv/bin/python -m bench.container_start [--runs 50] [--density 100,500]

1. Start: from the call until the container's process runs (a detached `sleep`: each
   tool returns once it has started it); where cloudlet's goes, step by step (the
   client's own time, then each step the engine marks); then `run --rm true` end to
   end, as a user types it. cloudlet's CLI goes to a `cloudlet up` this bench starts
   (its fork server), and once more with CLOUDLET_LOCAL=1 (everything in the one process).
2. Density: N idle containers (`sleep`), and the host memory each costs: the drop of
   MemAvailable per container, and the proportional set size (PSS) of its processes
   on the host (conmon and the container's own).

The image comes from `cloudlet image bootstrap busybox`; podman gets the very same image
through an OCI archive; raw runc the same tree, unpacked once (no overlay, no limits,
no monitor, no seccomp: the floor). The density rows use no network, so that they
measure containers, not veths.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.peers import Podman, RawRunc
from cloudlet.agent.engine import Engine, RunOptions
from cloudlet.agent.images import export_archive
from cloudlet.agent.steps import recording
from cloudlet.bootstrap.images import bootstrap
from cloudlet.compare.measure import memory_available, pss, timed
from cloudlet.compare.stats import median, percentile
from tests.e2e.server import Server
from tests.integration.engine_fixtures import EngineHome

SLEEP = ["sleep", "86400"]
CLOUDLET = str(Path(sys.executable).parent / "cloudlet")  # the venv's, as `make up` installs it


def row(name: str, samples: list[float]) -> str:
    return f"{name:<44}{min(samples):>9.1f}{median(samples):>9.1f}{percentile(samples, 95):>9.1f}"


class Cloudlet:
    def __init__(self, home: EngineHome):
        self.home = home
        self.eng = home.engine()
        self.env = {**os.environ, "CLOUDLET_DATA_DIR": str(home.data_dir)}

    def cli(self, *args: str, local: bool = False) -> str:
        env = {**self.env, "CLOUDLET_LOCAL": "1"} if local else self.env
        return subprocess.run([CLOUDLET, *args], env=env, check=True, capture_output=True, text=True).stdout

    def start_api(self) -> str:
        return self.eng.run(RunOptions(image="busybox", command=SLEEP, network="none")).id

    def remove(self, cid: str) -> None:
        self.eng.remove(cid, force=True)


# issue 17's goals: cloudlet's median against a peer's, at most this many times it
GOALS = [("cloudlet run --rm --network none (up)", "podman run --rm --network none", 0.5),
         ("cloudlet run --rm --network none (up)", "runc run (raw)", 2.0),
         ("cloudlet run --rm (up, bridge)", "podman run --rm (bridge)", 0.4)]


def goal(ours: str, mine: float, theirs: str, peer: float, limit: float) -> str:
    ratio = mine / peer
    return f"  {ours} / {theirs}: {ratio:.2f}x (goal <= {limit}x: {'met' if ratio <= limit else 'missed'})"


def density(name: str, count: int, start, processes, remove) -> str:
    """Start `count` idle containers, measure, remove them."""
    before = memory_available()
    ids = []
    t0 = time.perf_counter()
    try:
        for _ in range(count):
            ids.append(start())
        started = time.perf_counter() - t0
        time.sleep(2)  # let the last ones settle
        drop = (before - memory_available()) / count
        per_pss = pss(p for i in ids for p in processes(i)) / count
        return f"{name:<30}{count:>6}{started / count * 1000:>10.1f}{drop / 2**20:>14.2f}{per_pss / 2**20:>12.2f}"
    finally:
        for i in ids:
            remove(i)


def breakdown(runs: int, cl: Cloudlet) -> dict[str, list[float]]:
    """Milliseconds of each step the engine marks (agent/steps.py) in a detached start
    through its API, with what the marks leave out as "the rest of the engine"."""
    samples: dict[str, list[float]] = {}
    for i in range(runs + 1):  # the first warms the caches, as timed() does
        with recording() as marks:
            t0 = time.perf_counter()
            cid = cl.start_api()
            total = time.perf_counter() - t0
        cl.remove(cid)
        marks["the rest of the engine (records, events)"] = total - sum(marks.values())
        marks["engine API, total"] = total
        for name, seconds in marks.items() if i else ():
            samples.setdefault(name, []).append(seconds * 1000)
    return samples


def cloudlet_pids(eng: Engine, cid: str) -> list[int]:
    conmon = int((eng.runtime.containers / cid / "conmon.pid").read_text())
    return [conmon, eng.runtime.state(cid).pid]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--density", default="100,500", help="container counts for the memory rows")
    args = parser.parse_args()
    counts = [int(n) for n in args.density.split(",") if n]
    home = EngineHome()
    scratch = Path(tempfile.mkdtemp(prefix="clbench", dir="/var/tmp"))
    server = podman = None
    try:
        cl = Cloudlet(home)
        bootstrap(cl.eng.images, ["busybox"])
        server = Server(scratch / "up")
        server.data_dir = home.data_dir
        server.start()
        archive = scratch / "busybox.tar"
        export_archive(cl.eng.images, ["busybox"], archive)
        podman = Podman(scratch / "podman", archive) if shutil.which("podman") else None
        runc = RawRunc(scratch / "runc", cl.eng.images.layer_dirs(cl.eng.images.get("busybox")))
        runs = args.runs

        print(f"busybox, {runs} runs each, {os.cpu_count()} cores; milliseconds")
        print(f"{'call -> process running (detached sleep)':<44}{'min':>9}{'median':>9}{'p95':>9}")
        print(row("cloudlet engine API, no network", timed(runs, cl.start_api, cl.remove)), flush=True)
        print(row("cloudlet run -d --network none (up)", timed(
            runs, lambda: cl.cli("run", "-d", "--network", "none", "busybox", *SLEEP).strip(), cl.remove)), flush=True)
        print(row("cloudlet run -d (up, bridge)", timed(
            runs, lambda: cl.cli("run", "-d", "busybox", *SLEEP).strip(), cl.remove)), flush=True)
        if podman:
            print(row("podman run -d --network none", timed(runs, lambda: podman.start("none"), podman.remove)))
            print(row("podman run -d (bridge)", timed(runs, lambda: podman.start(None), podman.remove)), flush=True)
        print(row("runc run -d (raw)", timed(runs, runc.start, runc.remove)), flush=True)

        print(f"{'where a detached start goes (no network)':<44}{'min':>9}{'median':>9}{'p95':>9}")
        print(row("client and fork server (image --help, up)", timed(runs, lambda: cl.cli("image", "--help"))))
        print(row("client alone (image --help, local)", timed(runs, lambda: cl.cli("image", "--help", local=True))))
        for name, samples in breakdown(runs, cl).items():
            print(row(f"  {name}", samples), flush=True)

        print(f"{'run --rm busybox true, end to end':<44}{'min':>9}{'median':>9}{'p95':>9}")
        measures = {"cloudlet run --rm (up, bridge)": lambda: cl.cli("run", "--rm", "busybox", "true"),
                    "cloudlet run --rm --network none (up)":
                        lambda: cl.cli("run", "--rm", "--network", "none", "busybox", "true"),
                    "cloudlet run --rm --network none (local)":
                        lambda: cl.cli("run", "--rm", "--network", "none", "busybox", "true", local=True)}
        if podman:
            measures["podman run --rm (bridge)"] = lambda: podman.run_true(None)
            measures["podman run --rm --network none"] = lambda: podman.run_true("none")
        measures["runc run (raw)"] = runc.run_true
        end_to_end = {}
        for name, measure in measures.items():
            end_to_end[name] = timed(runs, measure)
            print(row(name, end_to_end[name]), flush=True)
        for ours, theirs, limit in GOALS:
            if theirs in end_to_end:
                print(goal(ours, median(end_to_end[ours]), theirs, median(end_to_end[theirs]), limit))

        print(f"{'idle containers (sleep), no network':<30}{'count':>6}{'ms each':>10}"
              f"{'MiB each':>14}{'PSS MiB':>12}")
        for count in counts:
            print(density("cloudlet", count, cl.start_api, lambda cid: cloudlet_pids(cl.eng, cid), cl.remove),
                  flush=True)
        if podman:
            print(density("podman", counts[0], lambda: podman.start("none"), podman.pids, podman.remove), flush=True)
    finally:
        tear_down(podman, server, home, scratch)


def tear_down(podman, server, home: EngineHome, scratch: Path) -> None:
    """Everything a bench stood up, peers first (whichever of them it got to)."""
    if podman:
        podman.reset()
    if server:
        server.stop()
    home.destroy()
    shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
