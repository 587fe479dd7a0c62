"""The built-in AMIs' root disks, made on this host: an ext4 file system in a qcow2 file,
which each instance's root volume overlays (copy on write). Both boot through the
initramfs of bootstrap/kernel.py, which hands over to busybox init on the disk; init runs
cloudlet's guest agent (guest_tree.py: network, metadata, the key pair's key, user-data)
and an SSH server.

    busybox   busybox-static and Dropbear (with its libraries, from the host): the fastest
    debian    Debian 12 from mmdebstrap, with OpenSSH, sudo, curl and wget; the key pair logs
              in as admin

    <boot>/amis/<name>-<hash>.qcow2     the disk, named by what went into it
    <boot>/amis/image-<hash>.qcow2      an OCI image's disk (image_amis.py), found here by its name
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

from cloudlet.bootstrap import debian, guest_tree, trees
from cloudlet.hostdeps import PROGRAMS

ROOT_GIB = 8  # the file system's size, and the smallest root volume, as AWS's Debian AMIs
DESCRIPTIONS = {
    "busybox": "cloudlet busybox: Debian's cloud kernel, busybox and Dropbear (boots in about a second)",
    "debian": "cloudlet Debian 12 (bookworm): Debian's cloud kernel, OpenSSH; log in as admin",
}
LOGIN = {"busybox": "root", "debian": "admin"}
IMPORTED = re.compile(r"image-[0-9a-f]{12}")  # the names of images' disks (image_amis.py)
# what scripts written for Debian's cloud images count on finding there (AWS's documentation
# reads the metadata service with curl): no cloud-init, python or man pages
DEBIAN_PACKAGES = ["openssh-server", "openssh-client", "sudo", "iproute2", "e2fsprogs", "procps", "less",
                   "ca-certificates", "curl", "wget", "netbase", "iputils-ping"]


_building = threading.Lock()  # one build at a time: instances starting together share it


class AMIError(RuntimeError):
    pass


def _run(args: list[str], **kwargs) -> None:
    res = subprocess.run(args, capture_output=True, text=True, **kwargs)
    if res.returncode != 0:
        raise AMIError(f"{args[0]} failed: {(res.stderr or res.stdout).strip()[-1000:]}")


def _program(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise AMIError(f"{name} is not installed (cloudlet setup installs {PROGRAMS[name]})")
    return path


def _write(path: Path, text: str, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)


def _guest_files(tree: Path, name: str) -> None:
    """busybox (the host's) as /bin/busybox and /sbin/init, and cloudlet's agent."""
    guest_tree.copy(tree, "/bin/busybox", Path(_program("busybox")))
    guest_tree.link(tree, "/sbin/init", "/bin/busybox")
    guest_tree.install(tree, LOGIN[name], "/bin/busybox")


def _busybox_tree(tree: Path) -> None:
    for d in ("bin", "sbin", "usr/bin", "usr/sbin", "etc", "root", "etc/dropbear"):
        (tree / d).mkdir(parents=True, exist_ok=True)
    listing = subprocess.run([_program("busybox"), "--list-full"], capture_output=True, text=True,
                             check=True).stdout
    for applet in listing.split():
        if applet != "bin/busybox" and not os.path.lexists(tree / applet):
            (tree / applet).symlink_to("/bin/busybox")
    dropbear = _program("dropbear")
    shutil.copy2(dropbear, tree / "usr/sbin/dropbear")
    for lib in trees.libraries(dropbear):
        (tree / lib.lstrip("/")).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(os.path.realpath(lib), tree / lib.lstrip("/"))
    _write(tree / "etc/passwd", "root:x:0:0:root:/root:/bin/sh\n")
    _write(tree / "etc/group", "root:x:0:\ntty:x:5:\n")
    _write(tree / "etc/shells", "/bin/sh\n")
    (tree / "root").chmod(0o700)


def _debian_tree(tree: Path, epoch: int) -> None:
    debian.debootstrap(tree, "bookworm", [], epoch)
    debian.install(tree, DEBIAN_PACKAGES, epoch)
    _run(["chroot", str(tree), "useradd", "--create-home", "--shell", "/bin/bash", "--groups", "sudo", "admin"])
    _write(tree / "etc/sudoers.d/admin", "admin ALL=(ALL) NOPASSWD:ALL\n", 0o440)
    for key in tree.glob("etc/ssh/ssh_host_*"):  # each instance makes its own (agent.sh)
        key.unlink()
    _write(tree / "etc/fstab", "")


def guest_digest(*extra: Path | bytes) -> str:
    """12 hex digits of a hash of cloudlet's guest files, the modules that lay them out and
    `extra` (files, or bytes): what names a disk, so that a change to any of them makes a new one."""
    h = hashlib.sha256()
    for part in [*sorted(guest_tree.GUEST.iterdir()), Path(__file__), Path(guest_tree.__file__), *extra]:
        h.update(part if isinstance(part, bytes) else part.read_bytes())
    return h.hexdigest()[:12]


def disk_path(boot_dir: Path, name: str) -> Path:
    return boot_dir / "amis" / f"{name}.qcow2"


def root_disk(boot_dir: Path, name: str) -> Path:
    """The AMI's root disk, made once (a few seconds for busybox; mmdebstrap for debian); an
    image's (image_amis.py) only when it was made, and never a path: a name is a name."""
    if IMPORTED.fullmatch(name):
        if not disk_path(boot_dir, name).is_file():
            raise AMIError(f"the root disk {name} is not on this host")
        return disk_path(boot_dir, name)
    if name not in DESCRIPTIONS:
        raise AMIError(f"no built-in AMI {name!r}")
    target = disk_path(boot_dir, f"{name}-{guest_digest(name.encode())}")
    with _building:
        if not target.exists():
            _build(target, name)
    return target


def _build(target: Path, name: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        tree = Path(tmp) / "tree"
        tree.mkdir()
        if name == "debian":
            _debian_tree(tree, epoch=0)
        else:
            _busybox_tree(tree)
        _guest_files(tree, name)
        write_disk(tree, target, ROOT_GIB)


def write_disk(tree: Path, target: Path, gib: int) -> None:
    """An ext4 file system of gib GiB holding tree, as the qcow2 file target (whole or not at all)."""
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        raw = Path(tmp) / "root.raw"
        # the inode tables and journal are written (as zeros) now, so the guest's kernel has
        # no lazy initialisation to do, and qemu-img keeps the zeros out of the qcow2 file
        _run(["mkfs.ext4", "-q", "-L", "cloudlet-root", "-E", "lazy_itable_init=0,lazy_journal_init=0,root_owner=0:0",
              "-d", str(tree), str(raw), f"{gib}G"])
        partial = Path(tmp) / "root.qcow2"
        _run(["qemu-img", "convert", "-f", "raw", "-O", "qcow2", str(raw), str(partial)])
        os.replace(partial, target)
