"""EC2 instance boot (issue 6): time from RunInstances until (a) the guest's init runs and
(b) SSH answers, for the busybox and Debian AMIs, beside a raw QEMU boot of the same VM and
a container start, in the same run; and the memory an idle instance costs.

    .venv/bin/python -m bench.boot [--runs 5] [--idle 3]

1. cloudlet: boto3 against a `cloudlet up` on a free port (VPC pool 10.208.0.0/12 of its
   own), one instance at a time, with an ed25519 key pair (busybox: t3.nano, login root;
   debian: t3.micro, login admin). From the run_instances call until describe_instances,
   polled every 20 ms, says running (the console showed "cloudlet-init: running"), and
   until `ssh <login>@<address> true` (retried) succeeds. Each instance is terminated, and
   waited for, untimed. The kernel, initramfs and AMI disks are made first (Debian's with
   mmdebstrap, about a minute), so the figures are boots, not builds.
2. raw qemu: the QEMU command line cloudlet ran for that AMI's first instance (from
   /proc/<pid>/cmdline), without its network, QMP socket and daemonizing, on a fresh qcow2
   overlay of the same root disk: until its console says "cloudlet-init: running" (with no
   network the agent's metadata calls fail at once).
3. containers: `run --rm busybox true` end to end, cloudlet's CLI (through the same
   `cloudlet up`) beside podman, as bench/container_start.py measures it.
4. memory: --idle busybox instances running, then idle 5 s: the drop of MemAvailable per
   instance and the RSS and PSS of their QEMU processes, beside one raw qemu of the same VM.
"""

import argparse
import contextlib
import os
import re
import subprocess
import tempfile
import time
from pathlib import Path

from bench.container_start import Cloudlet, tear_down
from bench.peers import Podman
from cloudlet.agent.images import export_archive
from cloudlet.agent.vms import VMs, accelerator
from cloudlet.bootstrap import amis
from cloudlet.bootstrap.images import bootstrap
from cloudlet.bootstrap.kernel import busybox_initramfs, kernel
from cloudlet.compare.measure import MIB, memory_available, rollup, timed
from cloudlet.compare.stats import median
from cloudlet.control.instances import INIT_MARKER
from tests.e2e.server import Server
from tests.integration.engine_fixtures import EngineHome

TYPES = {"busybox": "t3.nano", "debian": "t3.micro"}
TIMEOUT = 180  # for each wait: a stuck boot fails its row instead of hanging the bench
IDLE = 5


class Ec2:
    """The EC2 API of one `cloudlet up`, with a key pair."""

    def __init__(self, server: Server, key: Path):
        self.api = server.client("ec2")
        self.vms = server.data_dir / "vms"
        self.key = key
        key.write_text(self.api.create_key_pair(KeyName="bench", KeyType="ed25519")["KeyMaterial"])
        key.chmod(0o600)

    def ami(self, name: str) -> str:
        return self.api.describe_images(Owners=["amazon"], Filters=[
            {"Name": "name", "Values": [f"cloudlet-{name}"]}])["Images"][0]["ImageId"]

    def run(self, name: str, count: int = 1) -> list[str]:
        return [i["InstanceId"] for i in self.api.run_instances(
            ImageId=self.ami(name), InstanceType=TYPES[name], KeyName="bench", MinCount=count,
            MaxCount=count)["Instances"]]

    def wait(self, iid: str, state: str, interval: float) -> dict:
        deadline = time.monotonic() + TIMEOUT
        while True:
            instance = self.api.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]
            if instance["State"]["Name"] == state:
                return instance
            # an instance whose VM ended will not come up: fail now, with the console's last words
            if instance["State"]["Name"] in ("stopped", "terminated") or time.monotonic() > deadline:
                console = (self.api.get_console_output(InstanceId=iid).get("Output") or "").strip()
                raise RuntimeError(f"{iid} is {instance['State']['Name']}, not {state} "
                                   f"{instance['StateTransitionReason']}; console: {console[-200:]!r}")
            time.sleep(interval)

    def terminate(self, iids: list[str]) -> None:
        self.api.terminate_instances(InstanceIds=iids)
        for iid in iids:
            self.wait(iid, "terminated", 0.1)

    def ssh(self, login: str, address: str) -> None:
        deadline = time.monotonic() + TIMEOUT
        while (res := subprocess.run(
                ["ssh", "-i", str(self.key), "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                 "-o", "BatchMode=yes", "-o", "ConnectTimeout=2", f"{login}@{address}", "true"],
                stdin=subprocess.DEVNULL, capture_output=True, text=True)).returncode != 0:
            if time.monotonic() > deadline:
                raise RuntimeError(f"ssh {login}@{address} failed for {TIMEOUT} s: {res.stderr.strip()[-200:]}")
            time.sleep(0.05)

    def qemu_pid(self, iid: str) -> int:
        return int((self.vms / iid / "qemu.pid").read_text())


def boots(ec2: Ec2, name: str, runs: int) -> tuple[list[float], list[float], list[str]]:
    """Seconds until running and until SSH answers, for each boot, and the QEMU command line
    of the first."""
    running, ssh, qemu = [], [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        [iid] = ec2.run(name)
        try:
            address = ec2.wait(iid, "running", 0.02)["PrivateIpAddress"]
            running.append(time.perf_counter() - t0)
            ec2.ssh(amis.LOGIN[name], address)
            ssh.append(time.perf_counter() - t0)
            qemu = qemu or Path(f"/proc/{ec2.qemu_pid(iid)}/cmdline").read_text().split("\0")[:-1]
        finally:
            ec2.terminate([iid])
    return running, ssh, qemu


def raw_command(cloudlet: list[str], disk: Path, console: Path) -> list[str]:
    """cloudlet's QEMU command line on another disk and console, without the VM's network,
    QMP socket, pid file and daemonizing."""
    groups = []  # [option, its values...]: no value of cloudlet's starts with "-"
    for arg in cloudlet[1:]:
        if arg.startswith("-"):
            groups.append([arg])
        else:
            groups[-1].append(arg)
    out = cloudlet[:1]
    for option, *values in groups:
        if option in ("-daemonize", "-qmp", "-pidfile", "-netdev") or any(v.startswith("virtio-net") for v in values):
            continue
        if option == "-serial":
            values = [f"file:{console}"]
        elif option == "-blockdev":  # t3 types have no instance store: the root volume is the only one
            values = [re.sub(r"file\.filename=[^,]+", f"file.filename={disk}", values[0])]
        elif option == "-append":
            values = [" ".join(w for w in values[0].split() if not w.startswith(("cloudlet.ip=", "cloudlet.gw=")))]
        out += [option, *values]
    return out


@contextlib.contextmanager
def raw_vm(cloudlet: list[str], root: Path, scratch: Path):
    """A plain QEMU of cloudlet's command line on a new overlay of root; yields its process
    and the seconds until its init ran."""
    disk, console = scratch / "raw.qcow2", scratch / "raw.log"
    console.unlink(missing_ok=True)
    disk.unlink(missing_ok=True)
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", str(root), "-F", "qcow2", str(disk)], check=True)
    t0 = time.perf_counter()
    proc = subprocess.Popen(raw_command(cloudlet, disk, console), stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        while INIT_MARKER not in (console.read_text(errors="replace") if console.exists() else ""):
            if proc.poll() is not None:
                raise RuntimeError(f"raw qemu exited {proc.returncode}: {proc.stderr.read().strip()[-200:]}")
            if time.perf_counter() - t0 > TIMEOUT:
                raise RuntimeError(f"the raw VM's init did not run within {TIMEOUT} s")
            time.sleep(0.005)
        yield proc, time.perf_counter() - t0
    finally:
        proc.kill()
        proc.wait()


def idle_instances(ec2: Ec2, count: int) -> tuple[float, float, float]:
    """MiB each of `count` idle busybox instances: MemAvailable drop, QEMU's RSS and PSS."""
    before = memory_available()
    iids = ec2.run("busybox", count)
    try:
        for iid in iids:
            ec2.wait(iid, "running", 0.1)
        time.sleep(IDLE)
        drop = before - memory_available()
        rss, pss = rollup(ec2.qemu_pid(iid) for iid in iids)
    finally:
        ec2.terminate(iids)
    return drop / count / MIB, rss / count / MIB, pss / count / MIB


def idle_raw(qemu: list[str], root: Path, scratch: Path) -> tuple[float, float, float]:
    before = memory_available()
    with raw_vm(qemu, root, scratch) as (proc, _):
        time.sleep(IDLE)
        drop = before - memory_available()
        rss, pss = rollup([proc.pid])
    return drop / MIB, rss / MIB, pss / MIB


def raw_boots(qemu: list[str], root: Path, scratch: Path, runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        with raw_vm(qemu, root, scratch) as (_, seconds):
            samples.append(seconds)
    return samples


def attempt(measure, *args):
    """measure(*args), or "failed: <reason>" (the Debian AMI may not build or boot yet)."""
    try:
        return measure(*args)
    except Exception as e:
        lines = str(e).strip().splitlines() or [type(e).__name__]
        return "failed: " + " ... ".join(dict.fromkeys([lines[0], lines[-1]]))[:300]


def line(name: str, result, unit: float = 1) -> str:
    if isinstance(result, str):
        return f"{name:<48}{result}"
    return f"{name:<48}{min(result) / unit:>9.2f}{median(result) / unit:>10.2f}"


def memory_line(name: str, result) -> str:
    if isinstance(result, str):
        return f"{name:<48}{result}"
    return f"{name:<48}" + "".join(f"{v:>12.1f}" for v in result)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--idle", type=int, default=3, help="idle busybox instances for the memory rows")
    args = parser.parse_args()
    home = EngineHome()
    scratch = Path(tempfile.mkdtemp(prefix="clboot", dir="/var/tmp"))
    server = podman = None
    try:
        images = home.engine().images
        bootstrap(images, ["busybox"])
        boot_dir = home.data_dir / "boot"  # where the server's controllers look for them
        busybox_initramfs(kernel(boot_dir))
        roots = {name: attempt(amis.root_disk, boot_dir, name) for name in TYPES}
        server = Server(scratch / "up", args=("--vpc-pool", "10.208.0.0/12"))
        server.data_dir = home.data_dir  # the server runs containers in home's engine (and its networks)
        server.start()
        ec2 = Ec2(server, scratch / "key")

        init, ssh, raw, qemu = {}, {}, {}, {}
        for name, root in roots.items():
            measured = root if isinstance(root, str) else attempt(boots, ec2, name, args.runs)
            if isinstance(measured, str):
                init[name] = ssh[name] = raw[name] = measured
            else:
                init[name], ssh[name], qemu[name] = measured
                raw[name] = attempt(raw_boots, qemu[name], root, scratch, args.runs)
        idle = attempt(idle_instances, ec2, args.idle)
        idle_raw_vm = attempt(idle_raw, qemu["busybox"], roots["busybox"], scratch) if "busybox" in qemu \
            else init["busybox"]

        cl = Cloudlet(home)
        archive = scratch / "busybox.tar"
        export_archive(images, ["busybox"], archive)
        podman = Podman(scratch / "podman", archive)
        containers = {"cloudlet run --rm (up, bridge)": timed(args.runs, lambda: cl.cli("run", "--rm", "busybox",
                                                                                         "true")),
                      "podman run --rm (bridge)": timed(args.runs, lambda: podman.run_true(None))}

        print(f"{args.runs} runs each, accelerator {accelerator()}, {os.cpu_count()} cores; seconds")
        print(f"{'start -> guest init running':<48}{'min':>9}{'median':>10}")
        for name in TYPES:
            print(line(f"cloudlet-{name} RunInstances ({TYPES[name]})", init[name]))
            print(line("  raw qemu, same kernel and disk, no network", raw[name]))
        print(f"{'start -> ssh true succeeds':<48}{'min':>9}{'median':>10}")
        for name in TYPES:
            print(line(f"cloudlet-{name} RunInstances ({TYPES[name]})", ssh[name]))
        print(f"{'container start: run --rm busybox true':<48}{'min':>9}{'median':>10}")
        for name, samples in containers.items():
            print(line(name, samples, unit=1000))  # timed() gives milliseconds
        print(f"{f'idle busybox VM ({IDLE} s idle); MiB each':<48}{'MemAvail':>12}{'RSS':>12}{'PSS':>12}")
        print(memory_line(f"cloudlet, {args.idle} t3.nano instances", idle))
        print(memory_line("raw qemu, same VM, no network", idle_raw_vm))
    finally:
        if server:
            server.stop()
        vms = VMs(home.data_dir / "vms")  # an instance's VM outlives the server by design
        for vm in vms.list():
            vms.remove(vm.id, force=True)
        tear_down(podman, server, home, scratch)


if __name__ == "__main__":
    main()
