"""`cloudlet compare`: one image run both ways on this host — as an ECS FARGATE task and as
an EC2 instance of an AMI made from it — through a running cloudlet's APIs, measured side
by side; the report's dict (its layout: docs/compare.md)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from cloudlet import progress
from cloudlet.compare import kinds, phases, stats
from cloudlet.compare.measure import host
from cloudlet.compare.probe import SCRIPT, parse


@dataclass
class Options:
    image: str = "nginx"
    runs: int = 5
    parallel: int = 3
    density: int = 10
    quick: bool = False
    profile: str | None = None
    region: str | None = None
    endpoint_url: str | None = None
    data_dir: Path | None = None

    def __post_init__(self):
        if self.quick:  # about a minute: fewer runs, no warm-up, none at once, memory at 2 only, no density
            self.runs, self.parallel, self.density = min(self.runs, 3), 0, 0


def _port(config: dict) -> int | None:
    """The workload's HTTP port: the image's first exposed TCP port, None for a non-server."""
    ports = sorted(int(p.split("/")[0]) for p in (config.get("ExposedPorts") or {}) if p.endswith("/tcp"))
    return ports[0] if ports else None


def _ami_name(image: str) -> str:
    return f"{kinds.NAME}/" + re.sub(r"[^A-Za-z0-9./_-]", "_", image)[:100]


def _to_ami(ec2, opts: Options) -> str:
    """The image's AMI, made now by `cloudlet image to-ami` (as a user would; its disk is
    kept, so a second compare of the same image only registers it again)."""
    name = _ami_name(opts.image)
    for old in ec2.describe_images(Owners=["self"], Filters=[{"Name": "name", "Values": [name]}])["Images"]:
        ec2.deregister_image(ImageId=old["ImageId"])  # it may be of an older build of the image
    args = [str(Path(sys.executable).parent / "cloudlet"), "image", "to-ami", opts.image, "--name", name]
    for flag, value in (("--profile", opts.profile), ("--region", opts.region),
                        ("--endpoint-url", opts.endpoint_url), ("--data-dir", opts.data_dir)):
        if value:
            args += [flag, str(value)]
    res = subprocess.run(args, capture_output=True, text=True, env={**os.environ, "CLOUDLET_LOCAL": "1"})
    if res.returncode != 0 or not res.stdout.strip():
        raise RuntimeError(f"cloudlet image to-ami {opts.image}: {(res.stderr or res.stdout).strip()[-500:]}")
    return res.stdout.split()[-1]


def _bare_host() -> dict:
    """The probe on the host itself, in a scratch directory: the floor both kinds add to."""
    with tempfile.TemporaryDirectory(prefix="cloudlet-compare-", dir="/var/tmp") as scratch:
        out = subprocess.run(["sh", "-c", SCRIPT], capture_output=True, text=True, timeout=300,
                             env={**os.environ, "PROBE_DIR": scratch}).stdout
    return parse(out)


def _kind_figures(runner, kind, opts: Options, port: int | None, total_mib: int) -> dict:
    name = kind.label
    figures: dict = {"label": kind.label}
    if not opts.quick:  # (a quick run's median takes the one slow first start in its stride)
        with progress.step(f"{name}: warm-up"):
            phases.starts(runner, kind, 1)  # the first run fills caches (image unpacked, disk pages read)
    with progress.step(f"{name}: {opts.runs} starts, one at a time"):
        figures["start_s"], figures["first_response_s"] = phases.starts(runner, kind, opts.runs)
    figures["parallel_start_s"] = figures["parallel_first_response_s"] = []
    if opts.parallel > 1:
        with progress.step(f"{name}: {opts.runs} starts, {opts.parallel} at a time"):
            figures["parallel_start_s"], figures["parallel_first_response_s"] = phases.starts(
                runner, kind, max(opts.runs, opts.parallel), opts.parallel)
    seen: dict = {}

    def while_idle(ident: str, address: str) -> dict:
        seen["syscalls_allowed"] = kind.syscalls_allowed(ident)
        if port:
            seen.update(phases.requests(address, port))
        return {}

    figures["memory"] = []
    for count in [2] if opts.quick else sorted({1, max(2, opts.parallel)}):
        with progress.step(f"{name}: idle memory of {count}"):
            figures["memory"].append(phases.idle_memory(runner, kind, count,
                                                        None if figures["memory"] else while_idle))
    figures["density"] = None
    if opts.density:
        with progress.step(f"{name}: density, up to {opts.density}"):
            figures["density"] = phases.density(runner, kind, opts.density, total_mib,
                                                lambda n: progress.detail(f"{n} running"))
    with progress.step(f"{name}: the probe inside"):
        found = phases.probe(runner, kind)
    figures["isolation"] = {**found["isolation"], "syscalls_allowed": seen.get("syscalls_allowed")}
    figures["perf"] = {**found["perf"], "rr_latency_ms": seen.get("rr_latency_ms"),
                       "throughput_req_s": seen.get("throughput_req_s")}
    return figures


def _fits(memory_mib: int, idle: dict) -> int:
    """How many idle instances the host's memory would hold, from the larger of their two
    costs (at a few instances, MemAvailable moves by more than a container costs)."""
    return int(memory_mib / max(idle["pss_mib"], idle["available_drop_mib"], 0.1))


def _summary(report: dict) -> dict:
    out = {"host": report["host"], "accelerator": report["accelerator"]}
    for key in ("container", "vm"):
        k = report["kinds"][key]
        density = k["density"]
        out[key] = {"start_median_s": stats.median(k["start_s"]),
                    "first_response_median_s": stats.median(k["first_response_s"]),
                    "idle_pss_mib": k["memory"][0]["pss_mib"],
                    "density": (density["extrapolated"] or density["started"]) if density else
                    _fits(report["host"]["memory_mib"], k["memory"][-1]),
                    "kernel": k["isolation"]["kernel"]}
    return out


def compare(opts: Options, ami_bytes, clients: dict, engine) -> dict:
    """Every figure of the report; `clients`: botocore clients by service name; ami_bytes(ami):
    the AMI's disk bytes."""
    from cloudlet.agent.vms import accelerator

    started = time.time()
    machine = host()
    report: dict = {"version": 1, "started": datetime.fromtimestamp(started, timezone.utc).isoformat(),
                    "image": opts.image, "runs": opts.runs, "parallel": opts.parallel, "quick": opts.quick,
                    "host": machine, "accelerator": accelerator()}
    runner = phases.Runner(None)
    network = container = None
    try:
        with progress.step(f"AMI of {opts.image} (cloudlet image to-ami)"):
            report["ami"] = _to_ami(clients["ec2"], opts)  # it makes the image first if need be, as RunTask would
        image = engine.images.get(opts.image)
        runner.port = port = _port(image.config.runtime)
        network = kinds.Network(clients["ec2"], port)
        container = kinds.Container(clients["ecs"], clients["logs"], engine, network, opts.image,
                                    clients["sts"].get_caller_identity()["Account"])
        vm = kinds.Instance(clients["ec2"], opts.data_dir, network, report["ami"])
        report["kinds"] = {"container": _kind_figures(runner, container, opts, port, machine["memory_mib"]),
                           "vm": _kind_figures(runner, vm, opts, port, machine["memory_mib"])}
        with progress.step("the probe on the bare host"):
            report["kinds"]["host"] = {"label": "this host, bare", **_bare_host()}
        report["kinds"]["container"]["size_bytes"] = image.size
        report["kinds"]["vm"]["size_bytes"] = ami_bytes(report["ami"])
        report["summary"] = _summary(report)
        report["seconds"] = time.time() - started
        return report
    finally:
        # a second Ctrl-C must not leave half of it behind
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            with progress.step("removing what the compare started"):
                runner.clean_up()
                if container:
                    container.close()
                if network:
                    _retry(network.remove)
        finally:
            signal.signal(signal.SIGINT, previous)


def _retry(remove, seconds: float = 60) -> None:
    """A security group stays in use until the last interface of what used it is gone."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return remove()
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)
