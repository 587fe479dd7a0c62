"""Root filesystem trees: a static busybox one, Debian ones from mmdebstrap, made
reproducible, and the difference of two trees as an OCI layer."""

import filecmp
import os
import shutil
import stat
import subprocess
from pathlib import Path

# Docker's slim images leave these out; so do we (copyright files stay, as Debian requires).
SLIM = ["path-exclude=/usr/share/man/*", "path-exclude=/usr/share/doc/*", "path-include=/usr/share/doc/*/copyright",
        "path-exclude=/usr/share/info/*", "path-exclude=/usr/share/locale/*", "path-exclude=/usr/share/lintian/*",
        "path-exclude=/usr/share/groff/*"]

# Files that differ from run to run without saying anything about the packages.
VOLATILE = ["var/cache/ldconfig/aux-cache", "var/lib/dpkg/status-old", "var/lib/dpkg/diversions-old",
            "var/cache/debconf/config.dat-old", "var/cache/debconf/templates.dat-old", "var/lib/apt/extended_states",
            "etc/shadow-", "etc/gshadow-", "etc/passwd-", "etc/group-", "etc/subuid-", "etc/subgid-"]
EMPTIED_DIRS = ["var/log", "var/cache/apt", "var/lib/apt/lists", "tmp", "var/tmp"]


def busybox(tree: Path) -> None:
    """/bin/busybox with a link per applet, and the users and dirs programs expect."""
    source = shutil.which("busybox")
    if source is None:
        raise FileNotFoundError("busybox not found: `cloudlet setup` installs busybox-static")
    for d in ("bin", "etc", "root", "tmp", "var/www", "home", "proc", "sys", "dev"):
        (tree / d).mkdir(parents=True, exist_ok=True)
    shutil.copy(source, tree / "bin/busybox")
    applets = subprocess.run([source, "--list"], capture_output=True, text=True, check=True).stdout.split()
    for name in applets:
        if name != "busybox" and not (tree / "bin" / name).exists():
            (tree / "bin" / name).symlink_to("busybox")
    (tree / "tmp").chmod(0o1777)
    (tree / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n")
    (tree / "etc/group").write_text("root:x:0:\nnogroup:x:65534:\n")


def debootstrap(tree: Path, suite: str, packages: list[str], epoch: int) -> None:
    """A minbase Debian root with `packages`, from the host's apt sources."""
    args = ["mmdebstrap", "--quiet", "--variant=minbase", "--mode=root", "--format=directory",
            *(f"--dpkgopt={opt}" for opt in SLIM)]
    if packages:
        args.append("--include=" + ",".join(packages))
    env = {**os.environ, "SOURCE_DATE_EPOCH": str(epoch)}
    try:
        proc = subprocess.run([*args, suite, str(tree)], capture_output=True, text=True, env=env)
    finally:
        unmount_below(tree)
    if proc.returncode != 0:
        raise RuntimeError(f"mmdebstrap failed: {proc.stderr.strip()[-2000:]}")
    normalize(tree)


def unmount_below(tree: Path) -> None:
    """mmdebstrap's root mode can leave /proc (and friends) of the new tree mounted in our
    namespace; a tree walked into a layer must hold only its own files."""
    root = os.path.realpath(tree)
    with open("/proc/self/mountinfo") as f:
        points = [line.split()[4].encode().decode("unicode_escape") for line in f]
    for point in sorted((p for p in points if p.startswith(root + "/")), key=len, reverse=True):
        subprocess.run(["umount", "-l", point], capture_output=True)


def normalize(tree: Path) -> None:
    for rel in VOLATILE:
        (tree / rel).unlink(missing_ok=True)
    for rel in EMPTIED_DIRS:
        d = tree / rel
        if d.is_dir():
            for child in d.iterdir():
                shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
    machine_id = tree / "etc/machine-id"
    if machine_id.exists():
        machine_id.write_text("")  # systemd makes one at first boot; a fixed one would be shared
    # Byte-code caches hold build times and are rebuilt on demand.
    for cache in sorted(tree.rglob("__pycache__"), reverse=True):
        shutil.rmtree(cache, ignore_errors=True)


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
    return added
