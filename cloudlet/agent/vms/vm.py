"""microVMs: qemu-system-x86_64 -M microvm booting an ELF kernel through PVH, one daemonized
process per VM, its serial console in a file, controlled through QMP.

    <root>/<id>/vm.json       how it was started (for a restarted agent)
    <root>/<id>/qemu.pid      QEMU's pid (it daemonizes: it outlives the agent)
    <root>/<id>/qmp.sock      its QMP socket
    <root>/<id>/console.log   what the guest wrote to its serial port
    <root>/<id>/slots.json    which disk is in which hot-plug slot

Disks given at start are virtio-mmio devices (the guest's /dev/vda, vdb, ... in order).
Volumes go in PCIe hot-plug slots, at start or while the VM runs (attach/detach); each
disk's serial is its id, which the guest reads in /sys/block/vdX/serial.

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
SLOTS = 8  # PCIe root ports for hot-plugged volumes


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
class Disk:
    id: str  # a QEMU node name, and the serial the guest sees (dashes dropped: 20 characters at most)
    path: str  # a qcow2 file

    @property
    def serial(self) -> str:
        return self.id.replace("-", "")[:20]

    def args(self, device: str, bus: str | None = None) -> list[str]:
        return ["-blockdev", f"driver=qcow2,node-name={self.id},discard=unmap,file.driver=file,"
                f"file.filename={self.path}",
                "-device", f"{device},drive={self.id},serial={self.serial},id=dev-{self.id}"
                + (f",bus={bus}" if bus else "")]


@dataclass
class VM:
    id: str
    kernel: str
    initrd: str | None
    memory_mib: int
    vcpus: int
    cmdline: str
    accel: str
    tap: str | None = None  # its network card's tap device (in the namespace QEMU runs in)
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
              memory_mib: int = 256, vcpus: int = 1, cmdline: str = "", tap: str | None = None,
              netns: str | None = None, mac: str | None = None, disks: list[Disk] = (),
              volumes: list[Disk] = ()) -> VM:
        """Boot a VM; tap: a tap device for its virtio network card (microvm: virtio-mmio),
        with that MAC, in the network namespace netns (its VPC router's: QEMU runs there);
        disks: its fixed disks, in order; volumes: hot-pluggable disks it starts with."""
        if len(volumes) > SLOTS:
            raise VMError(f"at most {SLOTS} volumes can be attached to VM {vm_id}")
        d = self._dir(vm_id)
        if self._pid(vm_id) is not None:
            raise VMError(f"VM {vm_id} is already running")
        d.mkdir(exist_ok=True)
        (d / "console.log").unlink(missing_ok=True)
        khz = _tsc_khz()
        vm = VM(vm_id, str(kernel), str(initrd) if initrd else None, memory_mib, vcpus,
                # pcie_ports=native: microvm's ACPI tables do not hand hot-plug to the OS otherwise.
                # tsc=reliable: the clocksource watchdog checks the TSC (the host's own, under TCG)
                # against jiffies, which lose ticks while a busy host runs a TCG guest late; it took
                # the TSC for unstable and kept time with those jiffies, seconds a minute behind.
                # (The wall clock is right at boot: the RTC, which -rtc's default keeps on the
                # host's clock, or kvm-clock under KVM.)
                " ".join(filter(None, ["console=ttyS0 reboot=t panic=-1 pcie_ports=native tsc=reliable",
                                       f"tsc_early_khz={khz}" if khz else "", cmdline])), accelerator(), tap)
        (d / "vm.json").write_text(json.dumps(asdict(vm)))
        args = ["nsenter", f"--net={netns}", "--"] if netns else []
        args += ["qemu-system-x86_64", "-M", "microvm,pcie=on,acpi=on", "-accel", vm.accel, "-m", str(memory_mib),
                "-smp", str(vcpus), "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
                "-kernel", vm.kernel, "-append", vm.cmdline, "-serial", f"file:{d / 'console.log'}",
                "-qmp", f"unix:{d / 'qmp.sock'},server=on,wait=off", "-pidfile", str(d / "qemu.pid"),
                "-daemonize"]
        if vm.initrd:
            args += ["-initrd", vm.initrd]
        if tap:
            args += ["-netdev", f"tap,id=net0,ifname={tap},script=no,downscript=no",
                     "-device", "virtio-net-device,netdev=net0" + (f",mac={mac}" if mac else "")]
        if vm.accel == "kvm":
            args += ["-cpu", "host"]
        # memory the guest frees goes back to the host, so an idle VM costs what it uses
        args += ["-device", "virtio-balloon-device,free-page-reporting=on"]
        for disk in disks:
            args += disk.args("virtio-blk-device")
        for n in range(SLOTS):
            args += ["-device", f"pcie-root-port,id=rp{n},bus=pcie.0,chassis={n + 1},slot={n}"]
        for n, disk in enumerate(volumes):
            args += disk.args("virtio-blk-pci", f"rp{n}")
        self._save_slots(vm_id, {n: disk for n, disk in enumerate(volumes)})
        res = subprocess.run(args, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        if res.returncode != 0:
            raise VMError(f"qemu did not start VM {vm_id}: {res.stderr.strip()}")
        return self.get(vm_id)

    def _pid(self, vm_id: str) -> int | None:
        """QEMU's pid if that process still runs QEMU for this VM."""
        try:
            pid = int((self._dir(vm_id) / "qemu.pid").read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        return pid if self._runs(vm_id, pid) else None

    def _runs(self, vm_id: str, pid: int) -> bool:
        """Whether pid is (still) this VM's QEMU: an exiting QEMU removes its pid file
        before the process is gone."""
        try:
            return str(self._dir(vm_id)).encode() in Path(f"/proc/{pid}/cmdline").read_bytes()
        except FileNotFoundError:
            return False

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

    def queries(self, vm_id: str, calls: list[tuple[str, dict | None]]) -> list:
        """Several QMP commands in one round trip."""
        return qmp.commands(str(self._dir(vm_id) / "qmp.sock"), calls)

    def _slots(self, vm_id: str) -> dict[int, Disk]:
        try:
            saved = json.loads((self._dir(vm_id) / "slots.json").read_text())
        except FileNotFoundError:
            return {}
        return {int(n): Disk(**disk) for n, disk in saved.items()}

    def _save_slots(self, vm_id: str, slots: dict[int, Disk]) -> None:
        partial = self._dir(vm_id) / "slots.json.partial"
        partial.write_text(json.dumps({n: asdict(disk) for n, disk in slots.items()}))
        os.replace(partial, self._dir(vm_id) / "slots.json")

    def volumes(self, vm_id: str) -> list[Disk]:
        return list(self._slots(vm_id).values())

    def attach(self, vm_id: str, disk: Disk) -> None:
        """Hot-plug a volume into a free slot of a running VM."""
        slots = self._slots(vm_id)
        if any(d.id == disk.id for d in slots.values()):
            return
        free = next((n for n in range(SLOTS) if n not in slots), None)
        if free is None:
            raise VMError(f"VM {vm_id} has no free slot for a volume")
        self.query(vm_id, "blockdev-add", {"driver": "qcow2", "node-name": disk.id, "discard": "unmap",
                                           "file": {"driver": "file", "filename": disk.path}})
        try:
            self.query(vm_id, "device_add", {"driver": "virtio-blk-pci", "id": f"dev-{disk.id}", "drive": disk.id,
                                             "bus": f"rp{free}", "serial": disk.serial})
        except qmp.QMPError:
            self.query(vm_id, "blockdev-del", {"node-name": disk.id})
            raise
        slots[free] = disk
        self._save_slots(vm_id, slots)

    def detach(self, vm_id: str, disk_id: str, timeout: float = 30.0) -> None:
        """Unplug a volume: the guest is asked (PCIe's attention button: it lets go after ~5 s)."""
        slots = self._slots(vm_id)
        slot = next((n for n, d in slots.items() if d.id == disk_id), None)
        if slot is None:
            return
        if self._pid(vm_id) is not None:
            try:
                self.query(vm_id, "device_del", {"id": f"dev-{disk_id}"})
            except qmp.QMPError as e:
                if "not found" not in str(e):
                    raise
            deadline = time.monotonic() + timeout
            while True:  # the node is in use until the device is gone
                try:
                    self.query(vm_id, "blockdev-del", {"node-name": disk_id})
                    break
                except qmp.QMPError as e:
                    if "not found" in str(e).lower():
                        break
                    if time.monotonic() > deadline:
                        raise VMError(f"the guest of VM {vm_id} did not let go of {disk_id}") from None
                time.sleep(0.1)
        del slots[slot]
        self._save_slots(vm_id, slots)

    def stop(self, vm_id: str, grace: float = 20.0, force: bool = False) -> None:
        """Power the VM off: the ACPI power button, for the guest to shut down cleanly and
        write out what it holds, then QMP quit once grace runs out (at once if force), then
        SIGKILL."""
        pid = self._pid(vm_id)
        if pid is None:
            return
        if not force:
            try:
                self.query(vm_id, "system_powerdown")
                deadline = time.monotonic() + grace
                while self._runs(vm_id, pid) and time.monotonic() < deadline:
                    time.sleep(0.05)
            except qmp.QMPError:
                pass
        try:
            self.query(vm_id, "quit")
        except qmp.QMPError:
            pass
        deadline = time.monotonic() + 10
        while self._runs(vm_id, pid):
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
            time.sleep(0.02)

    def remove(self, vm_id: str, force: bool = False) -> None:
        self.stop(vm_id, force=force)
        shutil.rmtree(self._dir(vm_id), ignore_errors=True)
