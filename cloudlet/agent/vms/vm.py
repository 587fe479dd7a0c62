"""microVMs: qemu-system-x86_64 -M microvm booting an ELF kernel through PVH, one daemonized
process per VM, its serial console in a file, controlled through QMP.

    <root>/<id>/vm.json       how it was started (for a restarted agent)
    <root>/<id>/qemu.pid      QEMU's pid (it daemonizes: it outlives the agent)
    <root>/<id>/qmp.sock      its QMP socket
    <root>/<id>/console.log   what the guest wrote to its serial port

KVM where the CPU offers hardware virtualization; TCG otherwise. A /dev/kvm without vmx or
svm (PVM, on these machines) runs stock guests thousands of times slower than TCG.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from . import qmp

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class VMError(Exception):
    pass


def accelerator() -> str:
    """"kvm" where the CPU shows vmx or svm and /dev/kvm exists, else "tcg"."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line for line in f if line.startswith("flags")), "").split()
    except OSError:
        flags = []
    return "kvm" if ("vmx" in flags or "svm" in flags) and os.path.exists("/dev/kvm") else "tcg"


def _tsc_khz() -> int | None:
    """The host TSC's rate: a PVH guest without it may hang calibrating against the PIT."""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("cpu MHz"):
                return int(float(line.split(":")[1]) * 1000)
    return None


@dataclass
class VM:
    id: str
    kernel: str
    initrd: str | None
    memory_mib: int
    vcpus: int
    cmdline: str
    accel: str
    status: str = "stopped"  # "running" or "stopped"
    pid: int | None = None


class VMs:
    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def _dir(self, vm_id: str) -> Path:
        if not _ID.match(vm_id):
            raise VMError(f"invalid VM id {vm_id!r}")
        return self.root / vm_id

    def start(self, vm_id: str, kernel: str | os.PathLike, initrd: str | os.PathLike | None = None, *,
              memory_mib: int = 256, vcpus: int = 1, cmdline: str = "", tap: str | None = None) -> VM:
        """Boot a VM; tap: a tap device for its virtio network card (microvm: virtio-mmio)."""
        d = self._dir(vm_id)
        if self._pid(vm_id) is not None:
            raise VMError(f"VM {vm_id} is already running")
        d.mkdir(exist_ok=True)
        (d / "console.log").unlink(missing_ok=True)
        khz = _tsc_khz()
        vm = VM(vm_id, str(kernel), str(initrd) if initrd else None, memory_mib, vcpus,
                " ".join(filter(None, ["console=ttyS0 reboot=t panic=-1",
                                       f"tsc_early_khz={khz}" if khz else "", cmdline])), accelerator())
        (d / "vm.json").write_text(json.dumps(asdict(vm)))
        args = ["qemu-system-x86_64", "-M", "microvm", "-accel", vm.accel, "-m", str(memory_mib),
                "-smp", str(vcpus), "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
                "-kernel", vm.kernel, "-append", vm.cmdline, "-serial", f"file:{d / 'console.log'}",
                "-qmp", f"unix:{d / 'qmp.sock'},server=on,wait=off", "-pidfile", str(d / "qemu.pid"),
                "-daemonize"]
        if vm.initrd:
            args += ["-initrd", vm.initrd]
        if tap:
            args += ["-netdev", f"tap,id=net0,ifname={tap},script=no,downscript=no",
                     "-device", "virtio-net-device,netdev=net0"]
        if vm.accel == "kvm":
            args += ["-cpu", "host"]
        res = subprocess.run(args, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        if res.returncode != 0:
            raise VMError(f"qemu did not start VM {vm_id}: {res.stderr.strip()}")
        return self.get(vm_id)

    def _pid(self, vm_id: str) -> int | None:
        """QEMU's pid if that process still runs QEMU for this VM."""
        try:
            pid = int((self._dir(vm_id) / "qemu.pid").read_text().strip())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (FileNotFoundError, ValueError):
            return None
        return pid if str(self._dir(vm_id)).encode() in cmdline else None

    def get(self, vm_id: str) -> VM:
        try:
            vm = VM(**json.loads((self._dir(vm_id) / "vm.json").read_text()))
        except FileNotFoundError:
            raise VMError(f"no such VM: {vm_id}") from None
        vm.pid = self._pid(vm_id)
        vm.status = "running" if vm.pid else "stopped"
        return vm

    def list(self) -> list[VM]:
        return [self.get(d.name) for d in sorted(self.root.iterdir()) if (d / "vm.json").exists()]

    def console(self, vm_id: str) -> str:
        try:
            return (self._dir(vm_id) / "console.log").read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def query(self, vm_id: str, command: str, arguments: dict | None = None):
        return qmp.command(str(self._dir(vm_id) / "qmp.sock"), command, arguments)

    def stop(self, vm_id: str, timeout: float = 10.0) -> None:
        """Power the VM off: QMP quit, then SIGKILL if QEMU does not go within timeout."""
        pid = self._pid(vm_id)
        if pid is None:
            return
        try:
            self.query(vm_id, "quit")
        except qmp.QMPError:
            pass
        deadline = time.monotonic() + timeout
        while self._pid(vm_id) is not None:
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
            time.sleep(0.02)

    def remove(self, vm_id: str) -> None:
        self.stop(vm_id)
        shutil.rmtree(self._dir(vm_id), ignore_errors=True)
