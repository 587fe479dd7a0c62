"""microVM boot: time from starting a VM until its init runs (the console says so), for the
busybox initramfs on Debian's cloud kernel, through cloudlet's VM layer beside the same
QEMU command run raw, in the same run. EC2's RunInstances and SSH rows come with the EC2
API (issue 6); this measures the VMM part they will stand on.

    .venv/bin/python -m bench.boot [--runs 5]
"""

import argparse
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from cloudlet.agent.vms import VMs, accelerator
from cloudlet.bootstrap.kernel import busybox_initramfs, kernel

MARKER = "cloudlet-init: running"


def until_marker(read, timeout: float = 120) -> float:
    t0 = time.perf_counter()
    while MARKER not in read():
        if time.perf_counter() - t0 > timeout:
            raise RuntimeError("the guest's init never ran")
        time.sleep(0.005)
    return time.perf_counter() - t0


def cloudlet_boot(vms: VMs, vmlinux: Path, initrd: Path, n: int) -> float:
    t0 = time.perf_counter()
    vms.start(f"bench-{n}", vmlinux, initrd, memory_mib=128)
    try:
        until_marker(lambda: vms.console(f"bench-{n}"))
        return time.perf_counter() - t0
    finally:
        vms.remove(f"bench-{n}")


def raw_boot(vmlinux: Path, initrd: Path, cmdline: str, scratch: Path) -> float:
    console = scratch / "raw.log"
    console.unlink(missing_ok=True)
    t0 = time.perf_counter()
    proc = subprocess.Popen(["qemu-system-x86_64", "-M", "microvm", "-accel", accelerator(), "-m", "128",
                             "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot", "-kernel",
                             str(vmlinux), "-initrd", str(initrd), "-append", cmdline, "-serial",
                             f"file:{console}"], stdin=subprocess.DEVNULL)
    try:
        until_marker(lambda: console.read_text(errors="replace") if console.exists() else "")
        return time.perf_counter() - t0
    finally:
        proc.kill()
        proc.wait()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="clboot", dir="/var/tmp") as tmp:
        scratch = Path(tmp)
        vmlinux = kernel(scratch)
        initrd = busybox_initramfs(vmlinux)
        vms = VMs(scratch / "vms")
        ours = [cloudlet_boot(vms, vmlinux, initrd, n) for n in range(args.runs)]
        vms.start("probe", vmlinux, initrd, memory_mib=128)  # for the same kernel command line as cloudlet's
        cmdline = vms.get("probe").cmdline
        vms.remove("probe")
        raw = [raw_boot(vmlinux, initrd, cmdline, scratch) for _ in range(args.runs)]
    print(f"busybox initramfs on the Debian cloud kernel, {args.runs} boots each, accelerator {accelerator()}")
    print(f"{'start -> init running':<34}{'min s':>9}{'median s':>10}")
    for name, samples in (("cloudlet VMs.start", ours), ("raw qemu-system-x86_64", raw)):
        print(f"{name:<34}{min(samples):>9.2f}{statistics.median(samples):>10.2f}")


if __name__ == "__main__":
    main()
