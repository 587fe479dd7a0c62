"""Start-to-exit time of `true` in a busybox container: cloudlet's engine (API and CLI)
beside podman and raw runc, measured in the same run on the same image.

    .venv/bin/python -m bench.container_start [--runs 20]

The image comes from `cloudlet image bootstrap busybox`; podman gets the very same image
through an OCI archive, raw runc the same tree unpacked once (no overlay, no cgroup
limits, no monitor: the floor). Everything runs with no network, so that the figures
compare container set-up, not network set-up; cloudlet's bridge network is a row of its own.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cloudlet.agent.engine import Engine, RunOptions
from cloudlet.agent.images import export_archive
from cloudlet.bootstrap.images import bootstrap
from tests.integration.engine_fixtures import EngineHome


def timed(runs: int, once) -> list[float]:
    once()  # warm caches (page cache, layer unpack) before measuring
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        once()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def engine_run(eng: Engine, network: str):
    def once():
        c = eng.run(RunOptions(image="busybox", command=["true"], network=network))
        assert eng.runtime.wait(c.id) == 0
        eng.remove(c.id)
    return once


def cli_run(home: EngineHome):
    def once():
        assert home.cli("run", "--rm", "--network", "none", "busybox", "true").returncode == 0
    return once


def podman_run(root: Path, archive: Path):
    env = dict(os.environ)
    base = ["podman", "--root", str(root / "root"), "--runroot", str(root / "run"), "--runtime", "runc",
            "--cgroup-manager", "cgroupfs", "--events-backend", "none"]
    subprocess.run([*base, "load", "-i", str(archive)], check=True, capture_output=True, env=env)

    def once():
        # podman asks for nofile and nproc limits above this host's hard limits, which
        # cannot be raised here; pin them below.
        subprocess.run([*base, "run", "--rm", "--network", "none", "--ulimit", "nofile=1024:1024",
                        "--ulimit", "nproc=1024:1024", "busybox", "true"], check=True,
                       capture_output=True, env=env)
    return once, lambda: subprocess.run([*base, "system", "reset", "-f"], capture_output=True, env=env)


def runc_run(root: Path, eng: Engine):
    bundle = root / "bundle"
    rootfs = bundle / "rootfs"
    rootfs.mkdir(parents=True)
    for layer in eng.images.layer_dirs(eng.images.get("busybox")):
        shutil.copytree(layer, rootfs, symlinks=True, dirs_exist_ok=True)
    subprocess.run(["runc", "spec"], cwd=bundle, check=True)
    spec = json.loads((bundle / "config.json").read_text())
    spec["process"].update(args=["true"], terminal=False)
    (bundle / "config.json").write_text(json.dumps(spec))
    state = root / "runc-state"
    counter = iter(range(10**6))

    def once():
        subprocess.run(["runc", "--root", str(state), "run", f"bench-{next(counter)}"], cwd=bundle, check=True,
                       capture_output=True)
    return once


def row(name: str, samples: list[float]) -> str:
    samples = sorted(samples)
    p95 = samples[min(len(samples) - 1, int(len(samples) * 0.95))]
    return f"{name:<34}{statistics.median(samples):>10.1f}{p95:>10.1f}"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    home = EngineHome()
    scratch = Path(tempfile.mkdtemp(prefix="clbench", dir="/var/tmp"))
    cleanups = []
    try:
        eng = home.engine()
        bootstrap(eng.images, ["busybox"])
        archive = scratch / "busybox.tar"
        export_archive(eng.images, ["busybox"], archive)
        print(f"busybox `true`, start to exit, {args.runs} runs, {os.cpu_count()} cores")
        print(f"{'':<34}{'p50 ms':>10}{'p95 ms':>10}")
        print(row("cloudlet engine, network none", timed(args.runs, engine_run(eng, "none"))), flush=True)
        print(row("cloudlet engine, bridge network", timed(args.runs, engine_run(eng, "bridge"))), flush=True)
        print(row("cloudlet CLI (`cloudlet run --rm`)", timed(args.runs, cli_run(home))), flush=True)
        if shutil.which("podman"):
            once, reset = podman_run(scratch / "podman", archive)
            cleanups.append(reset)
            print(row("podman run --rm", timed(args.runs, once)), flush=True)
        else:
            print("podman not installed: `cloudlet setup` installs it", file=sys.stderr)
        print(row("raw runc run (no overlay/monitor)", timed(args.runs, runc_run(scratch, eng))), flush=True)
    finally:
        for cleanup in cleanups:
            cleanup()
        home.destroy()
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
