"""An OCI image's root file system as an AMI's root disk (`cloudlet image to-ami`): the
image's layers applied in order (whiteouts delete), cloudlet's guest files beside the
image's own files, never over its programs, and the image's Entrypoint and Cmd as the
process init runs (workload.py), in an ext4 qcow2 file like the built-in AMIs' (amis.py).

    <boot>/amis/image-<12 hex>.qcow2   named by the image's ID and by all that cloudlet adds
                                       (guest files, these modules, busybox, setpriv): made once

In the guest, besides the image's files:

    /usr/lib/cloudlet/bin/     Debian's static busybox (the image may have another libc, or
                               none) with a link per applet: init, sh, ip, wget, nc, acpid...
                               The agent's PATH ends with it: the image's own tools come first
    /usr/lib/cloudlet/lib/     the host's setpriv, its libraries and their loader (workload.py)
    /usr/lib/cloudlet/agent.sh, /etc/inittab, /etc/acpi*, /etc/cloudlet/    (guest_tree.py)
    /etc/cloudlet/workload     the image's process (workload.py)
    /sbin/init                 a link to busybox only where the image has none; the
                               initramfs starts /usr/lib/cloudlet/bin/init anyway (kernel.py)
"""

from __future__ import annotations

import contextlib
import math
import os
import posixpath
import shutil
import subprocess
import tempfile
from pathlib import Path

from cloudlet.agent.images import Budget, Image, ImageStore, flatten
from cloudlet.agent.runtime.users import path_in_root
from cloudlet.agent.vms.disks import GIB, Disks
from cloudlet.bootstrap import amis, busybox, guest_tree, trees, workload
from cloudlet.bootstrap.recipes import SUITE

BIN = "/usr/lib/cloudlet/bin"
LIB = "/usr/lib/cloudlet/lib"
PREFIX = "image-"


def _setpriv() -> tuple[str, list[str]]:
    program = shutil.which("setpriv")
    if program is None:
        raise amis.AMIError("setpriv is not installed (it comes with util-linux)")
    return program, trees.libraries(program)


def _tools(tree: Path, busybox_binary: Path) -> list[str]:
    """busybox and setpriv in cloudlet's directories; the command words that run setpriv."""
    guest_tree.directory(tree, BIN)
    guest_tree.copy(tree, f"{BIN}/busybox", busybox_binary)
    applets = subprocess.run([str(busybox_binary), "--list"], capture_output=True, text=True, check=True).stdout
    for applet in applets.split():
        if applet != "busybox":
            guest_tree.link(tree, f"{BIN}/{applet}", "busybox")
    program, libraries = _setpriv()
    guest_tree.directory(tree, LIB)
    guest_tree.copy(tree, f"{LIB}/setpriv", Path(program))
    for lib in libraries:
        guest_tree.copy(tree, f"{LIB}/{posixpath.basename(lib)}", Path(lib))  # the file, not the link
    loader = next(posixpath.basename(lib) for lib in libraries if posixpath.basename(lib).startswith("ld-"))
    return [f"{LIB}/{loader}", "--library-path", LIB, f"{LIB}/setpriv"]


def make_tree(images: ImageStore, image: Image, tree: Path, busybox_binary: Path) -> None:
    """The disk's files in tree (a path that does not exist yet), within the image store's
    limits on what an image may unpack to."""
    with contextlib.ExitStack() as stack:
        blobs = [stack.enter_context(images.content.open(layer.digest, verify=True)) for layer in image.layers]
        flatten(blobs, tree, diff_ids=image.config.diff_ids, budget=Budget(images.limits()))
    setpriv = _tools(tree, busybox_binary)
    if not os.path.lexists(path_in_root(tree, "/sbin") / "init"):
        guest_tree.link(tree, "/sbin/init", f"{BIN}/busybox")
    guest_tree.install(tree, "root", f"{BIN}/busybox")
    workload.install(tree, image.config.runtime, setpriv, f"{BIN}/env", f"{BIN}/sh")


def _gib(tree: Path) -> int:
    """The file system's size: the built-in AMIs' unless the image needs more."""
    used = sum(max(os.lstat(os.path.join(d, f)).st_size, 4096) for d, dirs, files in os.walk(tree)
               for f in dirs + files)
    return max(amis.ROOT_GIB, math.ceil(used * 1.25 / GIB) + 1)


def disk_name(image: Image, busybox_binary: Path) -> str:
    program, libraries = _setpriv()
    return PREFIX + amis.guest_digest(image.id.encode(), busybox_binary, Path(program), *map(Path, libraries),
                                      Path(__file__), Path(workload.__file__))


def root_disk(boot_dir: Path, images: ImageStore, image: Image) -> tuple[str, int]:
    """(the disk's name, its size in GiB) of the image's AMI, the disk made the first time.
    Raises AMIError, GuestTreeError, WorkloadError, or the image store's errors."""
    busybox_binary = busybox.binary(SUITE)
    name = disk_name(image, busybox_binary)
    target = amis.disk_path(boot_dir, name)
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
            tree = Path(tmp) / "tree"
            make_tree(images, image, tree, busybox_binary)
            amis.write_disk(tree, target, _gib(tree))
    return name, Disks.size(target) // GIB
