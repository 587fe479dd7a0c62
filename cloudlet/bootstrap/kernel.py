"""What a microVM boots, made from Debian packages: the Debian cloud kernel, unpacked from its
bzImage into a plain ELF vmlinux (QEMU's microvm boots that directly through PVH, skipping
the decompressor, which crawls under TCG), and a busybox initramfs.

    <root>/kernel/<version>/vmlinux       the kernel, named by the package's version
    <root>/kernel/<version>/modules/      the virtio modules the cloud kernel builds as modules
    <root>/kernel/<version>/initramfs-<hash>.gz   busybox-static, those modules, an /init
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import struct
import subprocess
import tempfile
from pathlib import Path

KERNEL_PACKAGE = "linux-image-cloud-amd64"
ELF = b"\x7fELF"
# Loaded in this order: each needs the ones before it (virtio_ring before virtio, too).
# virtio_pci: volumes attached while the VM runs are PCIe hot-plugged; button and evdev:
# the ACPI power button, which a stop presses so the guest shuts down cleanly; virtio_balloon:
# the guest hands the memory it frees back to the host (free page reporting).
MODULES = ["drivers/virtio/virtio_ring.ko", "drivers/virtio/virtio.ko", "drivers/virtio/virtio_mmio.ko",
           "drivers/virtio/virtio_pci_legacy_dev.ko", "drivers/virtio/virtio_pci_modern_dev.ko",
           "drivers/virtio/virtio_pci.ko", "net/core/failover.ko", "drivers/net/net_failover.ko",
           "drivers/net/virtio_net.ko", "drivers/block/virtio_blk.ko", "drivers/acpi/button.ko",
           "drivers/input/evdev.ko", "drivers/virtio/virtio_balloon.ko"]


class KernelError(RuntimeError):
    pass


def _run(args: list[str], cwd: Path | None = None) -> str:
    res = subprocess.run(args, cwd=cwd, capture_output=True, text=True)
    if res.returncode != 0:
        raise KernelError(f"{' '.join(args[:2])} failed: {res.stderr.strip()[-500:]}")
    return res.stdout


def _package() -> tuple[str, str]:
    """(the kernel image package the metapackage depends on, its version)."""
    for line in _run(["apt-cache", "depends", KERNEL_PACKAGE]).splitlines():
        if line.strip().startswith("Depends: linux-image-"):
            name = line.split(":", 1)[1].strip()
            version = _run(["apt-cache", "policy", name]).split("Candidate:", 1)[1].split()[0]
            return name, version
    raise KernelError(f"apt knows no kernel behind {KERNEL_PACKAGE} (apt-get update?)")


def unpack_bzimage(bzimage: bytes) -> bytes:
    """The ELF kernel inside a bzImage: its compressed payload, found by the boot protocol's
    header fields (payload_offset and payload_length), decompressed."""
    setup_sectors = bzimage[0x1F1] or 4
    offset, length = struct.unpack_from("<II", bzimage, 0x248)
    start = (setup_sectors + 1) * 512 + offset
    payload = bzimage[start:start + length]
    if payload.startswith(b"\x02\x21\x4c\x18"):  # LZ4's legacy frame, which Debian's cloud kernel uses
        out = subprocess.run(["lz4", "-dc"], input=payload, capture_output=True).stdout
    elif payload.startswith(b"\x1f\x8b"):
        out = gzip.decompress(payload)
    else:
        raise KernelError(f"unsupported kernel compression (payload starts {payload[:4].hex()})")
    if not out.startswith(ELF):
        raise KernelError("the bzImage's payload is not an ELF kernel")
    return out


def kernel(root: Path) -> Path:
    """The cloud kernel's vmlinux, downloaded and unpacked once per package version."""
    name, version = _package()
    target = root / "kernel" / version / "vmlinux"
    if target.exists() and all((target.parent / "modules" / Path(m).name).exists() for m in MODULES):
        return target
    with tempfile.TemporaryDirectory(dir=root if root.exists() else None) as tmp:
        _run(["apt-get", "download", f"{name}={version}"], cwd=Path(tmp))
        deb = next(Path(tmp).glob("*.deb"))
        _run(["dpkg-deb", "-x", str(deb), str(Path(tmp) / "tree")])
        bzimage = next((Path(tmp) / "tree" / "boot").glob("vmlinuz-*")).read_bytes()
        target.parent.mkdir(parents=True, exist_ok=True)
        (target.parent / "modules").mkdir(exist_ok=True)
        kernel_tree = next((Path(tmp) / "tree" / "lib" / "modules").iterdir()) / "kernel"
        for module in MODULES:
            shutil.copy2(kernel_tree / module, target.parent / "modules" / Path(module).name)
        partial = target.with_suffix(".partial")
        partial.write_bytes(unpack_bzimage(bzimage))
        os.replace(partial, target)
    return target


# The initramfs's init: the modules, then the root disk the kernel command line names
# (cloudlet.root=), whose init takes over: cloudlet's own where the disk has one beside the
# image's (an image's AMI, bootstrap/image_amis.py, whose /sbin/init may be the image's),
# else /sbin/init (the built-in AMIs', bootstrap/amis.py). Without a disk, it says it runs
# and waits for the power button: a VM that boots only to init.
INIT = """#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in %s; do insmod /lib/modules/$m.ko || echo "cloudlet-init: insmod $m failed"; done
for kv in $(cat /proc/cmdline); do case $kv in cloudlet.root=*) ROOT=${kv#cloudlet.root=};; esac; done
if [ -n "$ROOT" ]; then
    mkdir -p /newroot
    if mount -t ext4 "$ROOT" /newroot; then
        for d in proc sys dev; do mount --move /$d /newroot/$d; done
        init=/sbin/init
        [ -e /newroot/usr/lib/cloudlet/bin/init ] && init=/usr/lib/cloudlet/bin/init
        exec switch_root /newroot $init
    fi
    echo "cloudlet-init: cannot mount the root disk $ROOT"
fi
mkdir -p /etc/acpi && printf '#!/bin/sh\\nexec poweroff -f\\n' > /etc/acpi/power && chmod +x /etc/acpi/power
printf 'PWRB power\\nPWRF power\\n' > /etc/acpid.conf
acpid -c /etc/acpi -a /etc/acpid.conf
echo "cloudlet-init: running after $(cut -d' ' -f1 /proc/uptime) s"
while true; do sleep 3600; done
""" % " ".join(Path(m).stem for m in MODULES)


def busybox_initramfs(vmlinux: Path) -> Path:
    """A gzipped newc initramfs of busybox-static, the kernel's virtio modules and INIT, made
    once per kernel (and per INIT: a changed one is a new file)."""
    target = vmlinux.parent / f"initramfs-{hashlib.sha256(INIT.encode()).hexdigest()[:12]}.gz"
    if target.exists():
        return target
    busybox = shutil.which("busybox")
    if busybox is None:
        raise KernelError("busybox is not installed (cloudlet setup installs busybox-static)")
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "tree"
        for d in ("bin", "proc", "sys", "dev", "lib/modules"):
            (tree / d).mkdir(parents=True)
        shutil.copy2(busybox, tree / "bin" / "busybox")
        for module in (vmlinux.parent / "modules").iterdir():
            shutil.copy2(module, tree / "lib" / "modules" / module.name)
        (tree / "init").write_text(INIT)
        (tree / "init").chmod(0o755)
        names = "\n".join(sorted(str(p.relative_to(tree)) for p in tree.rglob("*"))) + "\n"
        archive = subprocess.run([busybox, "cpio", "-o", "-H", "newc"], cwd=tree, input=names.encode(),
                                 capture_output=True, check=True).stdout
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".partial")
        partial.write_bytes(gzip.compress(archive, mtime=0))
        os.replace(partial, target)
    return target
