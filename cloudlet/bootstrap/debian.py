"""Debian trees: mmdebstrap makes the base, apt-get in a chroot of a copy of it adds the
packages of the images on top; both slimmed like Docker's -slim images and stripped of
what differs from one run to the next.

Both run inside `unshare --mount`: whatever they mount (mmdebstrap's /proc and /dev in
the tree, our binds) lives in a private mount namespace and is gone when it ends, even
if we are killed, so a tree walked into a layer never reaches into the host.
"""

import collections
import fnmatch
import os
import shlex
import shutil
import subprocess
from pathlib import Path

from cloudlet import progress
from cloudlet.bootstrap.sources import Source

# dpkg's path rules of Docker's slim images (the last rule that matches wins); written
# into the image so that packages installed later stay slim too. Copyright files stay,
# as Debian's licences require.
SLIM_RULES = ["path-exclude=/usr/share/man/*", "path-exclude=/usr/share/doc/*",
              "path-include=/usr/share/doc/*/copyright", "path-exclude=/usr/share/info/*",
              "path-exclude=/usr/share/locale/*", "path-exclude=/usr/share/lintian/*",
              "path-exclude=/usr/share/groff/*"]

# Docker's apt settings for images: no translated package descriptions, no caches.
APT_SLIM = """Acquire::Languages "none";
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb || true"; };
"""

CONFIG_FILES = {"etc/dpkg/dpkg.cfg.d/slim": "\n".join(SLIM_RULES) + "\n", "etc/apt/apt.conf.d/slim": APT_SLIM}

# Files that differ from run to run without saying anything about the packages.
VOLATILE = ["var/cache/ldconfig/aux-cache", "var/lib/dpkg/status-old", "var/lib/dpkg/diversions-old",
            "var/cache/debconf/config.dat-old", "var/cache/debconf/templates.dat-old", "etc/shadow-", "etc/gshadow-",
            "etc/passwd-", "etc/group-", "etc/subuid-", "etc/subgid-",
            "etc/apt/apt.conf.d/99mmdebstrap"]  # the build's own apt options (its retries)
# Logs, caches and the apt index of the build; /dev gets the runtime's own.
EMPTIED_DIRS = ["var/log", "var/cache/apt", "var/lib/apt/lists", "tmp", "var/tmp", "dev"]
# The host's, copied in by mmdebstrap (the runtime bind-mounts the container's own on them),
# and an id that must not be shared by every container of the image.
EMPTIED_FILES = ["etc/hostname", "etc/resolv.conf", "etc/machine-id"]

# Merged /usr the way debootstrap (and Docker's debian images) make it: symlinks and the
# usr-is-merged package, instead of the usrmerge package, which pulls in all of perl.
MERGED_USR = Path("/usr/share/mmdebstrap/hooks/merged-usr")

PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
PROXY_VARS = ("http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY")

# Runs in a new mount and pid namespace: devices and the host's resolver for apt, then the
# install in the chroot. No service starts (policy-rc.d), and any process left over dies
# with the namespace.
INSTALL = """set -e
tree=$1; shift
mount -t tmpfs -o mode=755 dev "$tree/dev"
for d in null zero full random urandom tty; do : > "$tree/dev/$d"; mount --bind "/dev/$d" "$tree/dev/$d"; done
ln -s /proc/self/fd "$tree/dev/fd"
mount --bind /etc/resolv.conf "$tree/etc/resolv.conf"
chroot "$tree" apt-get -o Acquire::Retries=3 update -qq
chroot "$tree" apt-get -o Acquire::Retries=3 install -y -q --no-install-recommends "$@"
"""


def _env(epoch: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in PROXY_VARS}
    return {**env, "PATH": PATH, "LC_ALL": "C.UTF-8", "DEBIAN_FRONTEND": "noninteractive",
            "SOURCE_DATE_EPOCH": str(epoch)}


def _run(what: str, args: list[str], epoch: int) -> None:
    """args, each line they print shown as what the step under way is doing (progress.py)."""
    tail: collections.deque[str] = collections.deque(maxlen=40)
    with subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, errors="replace", env=_env(epoch)) as proc:
        for line in proc.stdout:
            tail.append(line.rstrip("\n"))
            progress.detail(f"{what}: {line}")
    if proc.returncode != 0:
        raise RuntimeError(f"{what} failed: {chr(10).join(tail).strip()[-2000:]}")


def debootstrap(tree: Path, suite: str, sources: list[Source], epoch: int) -> None:
    """A minbase Debian root from `sources` (mmdebstrap's default mirrors when empty)."""
    stage = tree.with_name(tree.name + ".config")
    for rel, text in CONFIG_FILES.items():
        (stage / rel).parent.mkdir(parents=True, exist_ok=True)
        (stage / rel).write_text(text)
        (stage / rel).chmod(0o644)
    # The slim rules go in before anything is installed, so dpkg honours them from the start.
    hook = f'cp -r {shlex.quote(str(stage))}/. "$1"'
    try:
        _run("mmdebstrap", ["unshare", "--mount", "mmdebstrap", "--variant=minbase", "--mode=root",
                            "--format=directory", f"--setup-hook={hook}",
                            "--aptopt=Acquire::Retries 3",  # a mirror's hiccup is not a failed build
                            *([f"--hook-dir={MERGED_USR}"] if MERGED_USR.is_dir() else []), suite, str(tree),
                            *(s.line() for s in sources)], epoch)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    normalize(tree)


def install(tree: Path, packages: list[str], epoch: int) -> None:
    """apt-get install `packages` into `tree`, a Debian root made by debootstrap()."""
    policy = tree / "usr/sbin/policy-rc.d"
    policy.write_text("#!/bin/sh\nexit 101\n")
    policy.chmod(0o755)
    _empty(tree / "etc/resolv.conf")  # where the host's goes, for apt; empty in the image as before
    try:
        _run("apt-get install", ["unshare", "--mount", "--pid", "--fork", "--kill-child",
                                 f"--mount-proc={tree}/proc", "sh", "-c", INSTALL, "sh", str(tree), *packages], epoch)
    finally:
        policy.unlink()
    normalize(tree)


def _empty(path: Path) -> None:
    """An empty plain file, replacing a symlink too: no write may go through one to the host."""
    path.unlink(missing_ok=True)
    path.write_text("")
    path.chmod(0o644)


def normalize(tree: Path) -> None:
    """Take out what varies between runs and what slim images leave out."""
    for rel in VOLATILE:
        (tree / rel).unlink(missing_ok=True)
    for rel in EMPTIED_DIRS:
        d = tree / rel
        if d.is_dir() and not d.is_symlink():
            for child in d.iterdir():
                shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
    for rel in EMPTIED_FILES:
        if os.path.lexists(tree / rel):
            _empty(tree / rel)
    # Byte-code caches hold build times and are rebuilt on demand.
    for cache in sorted(tree.rglob("__pycache__"), reverse=True):
        shutil.rmtree(cache, ignore_errors=True)
    slim(tree)


def _excluded(path: str) -> bool:
    excluded = False
    for rule in SLIM_RULES:
        kind, pattern = rule.split("=", 1)
        if fnmatch.fnmatchcase(path, pattern):  # as in dpkg, `*` matches `/` too
            excluded = kind == "path-exclude"
    return excluded


def slim(tree: Path) -> None:
    """Remove what SLIM_RULES exclude: mmdebstrap's first extraction of the essential
    packages does not go through dpkg, so its files are there regardless (handing the
    rules to mmdebstrap as --dpkgopt would filter them, but makes it three times slower)."""
    for dirpath, dirnames, filenames in os.walk(tree / "usr/share", topdown=False):
        rel = "/" + os.path.relpath(dirpath, tree)
        for name in filenames:
            if _excluded(f"{rel}/{name}"):
                os.unlink(os.path.join(dirpath, name))
        for name in dirnames:
            path = os.path.join(dirpath, name)
            if not _excluded(f"{rel}/{name}"):
                continue
            if os.path.islink(path):
                os.unlink(path)
            elif not os.listdir(path):  # a directory stays while an included file needs it
                os.rmdir(path)
