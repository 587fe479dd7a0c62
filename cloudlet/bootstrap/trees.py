"""Root filesystem trees: a static busybox one, and the difference of two trees as an
OCI layer."""

import filecmp
import os
import shutil
import stat
import struct
import subprocess
from pathlib import Path

PT_INTERP = 3


def is_static(path: str) -> bool:
    """True for an ELF executable that names no dynamic loader (no PT_INTERP header)."""
    with open(path, "rb") as f:
        head = f.read(64)
        if head[:4] != b"\x7fELF":
            return False
        order = "<" if head[5] == 1 else ">"
        if head[4] == 2:  # 64-bit
            phoff, = struct.unpack_from(order + "Q", head, 0x20)
            size, count = struct.unpack_from(order + "HH", head, 0x36)
        else:
            phoff, = struct.unpack_from(order + "I", head, 0x1C)
            size, count = struct.unpack_from(order + "HH", head, 0x2A)
        f.seek(phoff)
        table = f.read(size * count)
    return all(struct.unpack_from(order + "I", table, i * size)[0] != PT_INTERP for i in range(count))


def libraries(program: str) -> list[str]:
    """The shared libraries a dynamically linked program loads, its loader among them, as ldd names them."""
    listing = subprocess.run(["ldd", program], capture_output=True, text=True, check=True).stdout
    found = (next((part for part in line.split() if part.startswith("/")), None) for line in listing.splitlines())
    return [lib for lib in found if lib]


def busybox(tree: Path, source: Path) -> None:
    """/bin/busybox (`source`, a static one: bootstrap/busybox.py) with a link per applet,
    and the users and dirs programs expect."""
    for d in ("bin", "etc", "root", "tmp", "var/www", "home", "proc", "sys", "dev"):
        (tree / d).mkdir(parents=True, exist_ok=True)
    shutil.copy(source, tree / "bin/busybox")
    (tree / "bin/busybox").chmod(0o755)
    applets = subprocess.run([str(source), "--list"], capture_output=True, text=True, check=True).stdout.split()
    for name in applets:
        if name != "busybox" and not (tree / "bin" / name).exists():
            (tree / "bin" / name).symlink_to("busybox")
    (tree / "tmp").chmod(0o1777)
    (tree / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n")
    (tree / "etc/group").write_text("root:x:0:\nnogroup:x:65534:\n")  # nobody's group, named as in Debian


def _same(a: Path, b: Path) -> bool:
    sa, sb = os.lstat(a), os.lstat(b)
    if (sa.st_mode, sa.st_uid, sa.st_gid) != (sb.st_mode, sb.st_uid, sb.st_gid):
        return False
    if stat.S_ISLNK(sa.st_mode):
        return os.readlink(a) == os.readlink(b)
    if stat.S_ISREG(sa.st_mode):
        return sa.st_size == sb.st_size and filecmp.cmp(a, b, shallow=False)
    return True


def diff(lower: Path, upper: Path, writer) -> int:
    """Add to `writer` what turns `lower` into `upper`: new and changed entries, and a
    whiteout for each entry `upper` no longer has. Returns how many entries it added."""
    added = 0
    for dirpath, dirnames, filenames in os.walk(upper):
        dirnames.sort()
        rel_dir = os.path.relpath(dirpath, upper)
        for name in sorted(dirnames + filenames):
            rel = os.path.normpath(os.path.join(rel_dir, name))
            old = lower / rel
            if not os.path.lexists(old) or not _same(old, upper / rel):
                writer.add(rel, upper / rel)
                added += 1
    for dirpath, dirnames, filenames in os.walk(lower):
        rel_dir = os.path.relpath(dirpath, lower)
        for name in sorted(dirnames + filenames):
            rel = os.path.normpath(os.path.join(rel_dir, name))
            if not os.path.lexists(upper / rel):
                writer.add_whiteout(rel)
                added += 1
                if name in dirnames:
                    dirnames.remove(name)  # one whiteout hides the whole directory
            elif name in dirnames and (os.path.islink(upper / rel) or not os.path.isdir(upper / rel)):
                dirnames.remove(name)  # replaced by a file or link, which hides it whole
    return added
