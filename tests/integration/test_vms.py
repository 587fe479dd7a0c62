"""microVMs for real: the Debian cloud kernel unpacked to an ELF and a busybox initramfs, booted
under QEMU's microvm (TCG here, KVM where the CPU has vmx/svm), the serial console in a file,
QMP answering, a VM that outlives the object that started it, and a stop that leaves no QEMU."""

import time
from pathlib import Path

import pytest

from cloudlet.agent.vms import VMs, accelerator
from cloudlet.bootstrap.kernel import busybox_initramfs, kernel
from tests.hostcaps import need_binaries, need_root

pytestmark = [pytest.mark.root, pytest.mark.qemu]


@pytest.fixture(scope="module")
def boot_files(tmp_path_factory):
    need_root()  # apt-get download
    need_binaries("qemu-system-x86_64", "lz4", "busybox", "apt-get")
    root = tmp_path_factory.mktemp("kernels")
    vmlinux = kernel(root)
    return vmlinux, busybox_initramfs(vmlinux)


def until(predicate, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_microvm_boots_to_init_and_stops(boot_files, tmp_path):
    vmlinux, initrd = boot_files
    assert vmlinux.read_bytes()[:4] == b"\x7fELF"
    vms = VMs(tmp_path / "vms")
    started = time.monotonic()
    vm = vms.start("vm-test", vmlinux, initrd, memory_mib=128)
    try:
        assert vm.status == "running" and vm.accel == accelerator()
        until(lambda: "cloudlet-init: running" in vms.console("vm-test"))
        print(f"booted to init in {time.monotonic() - started:.2f} s under {vm.accel}")
        assert "Linux version" in vms.console("vm-test")  # the kernel's own boot log
        assert vms.query("vm-test", "query-status")["status"] == "running"
        assert VMs(tmp_path / "vms").get("vm-test").status == "running"  # found again from its files
    finally:
        vms.stop("vm-test")
    assert vms.get("vm-test").status == "stopped"
    proc = Path(f"/proc/{vm.pid}/cmdline")
    assert not proc.exists() or proc.read_bytes() == b""  # gone, or a zombie for init to reap
    vms.remove("vm-test")
    assert vms.list() == []
