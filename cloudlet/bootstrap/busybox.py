"""The busybox image's /bin/busybox: Debian's busybox-static of the next release (trixie).

Not the host's bookworm one (1:1.35.0-4): Debian built that without FEATURE_WGET_TIMEOUT,
and busybox's wget then still takes `-T` as a number but hands getopt32 a NULL place to
store it, so `wget -T 5 URL` (what health checks and scripts written for Docker Hub's
busybox say) dies of a segmentation fault, exit 139, before it even parses the URL.
Debian turned the option on in 1:1.36.1-5; trixie's build has a working `-T`, as Docker
Hub's busybox does. The package is static, so it runs on a bookworm host as in the image.

Fetched once per host with apt-get (kept in CACHE: every data dir's store, and every test's,
takes it from there), under its own lists and cache (the host's apt state is not touched),
from the host's Debian mirror, checked against Debian's keyring.
"""

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from cloudlet.bootstrap import sources, trees

SUITE = "trixie"
PACKAGE = "busybox-static"
KEYRING = Path("/usr/share/keyrings/debian-archive-keyring.gpg")
CACHE = (Path("/var/cache/cloudlet") if os.geteuid() == 0 else Path.home() / ".cache/cloudlet") / f"{PACKAGE}-{SUITE}"


def _source_list(host_suite: str) -> str:
    """The host's Debian archive for `host_suite`, with the suite swapped for SUITE."""
    archives = [s for s in sources.host_sources(host_suite) if s.suite == host_suite]
    if not archives:
        raise RuntimeError(f"the host's apt sources name no Debian {host_suite} mirror to take {PACKAGE} "
                           f"({SUITE}) from")
    signed = f" [signed-by={KEYRING}]" if KEYRING.is_file() else ""
    return "".join(f"deb{signed} {s.uri} {SUITE} main\n" for s in archives)


def _apt(work: Path, *args: str) -> None:
    options = {"Dir::Etc::SourceList": work / "sources.list", "Dir::Etc::SourceParts": work / "parts",
               "Dir::State::Lists": work / "lists", "Dir::State::Status": work / "status",
               "Dir::Cache": work / "cache", "APT::Sandbox::User": "root", "Acquire::Languages": "none",
               "Acquire::Retries": "3",
               "APT::Update::Error-Mode": "any"}  # an index that could not be fetched fails the update
    command = ["apt-get", "-q", *(f"-o{k}={v}" for k, v in options.items()), *args]
    res = subprocess.run(command, cwd=work, capture_output=True, text=True)
    if res.returncode != 0:
        raise RuntimeError(f"apt-get {args[0]} of {PACKAGE} ({SUITE}) failed: {res.stderr.strip()[-1000:]}")


def binary(host_suite: str, cache: Path = CACHE) -> Path:
    """The static busybox the image gets: `cache`/busybox, downloaded the first time."""
    target = cache / "busybox"
    if target.is_file():
        return target
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        work = Path(tmp)
        for d in ("parts", "lists/partial", "cache/archives/partial"):
            (work / d).mkdir(parents=True)
        (work / "status").write_text("")
        (work / "sources.list").write_text(_source_list(host_suite))
        _apt(work, "update")
        _apt(work, "download", f"{PACKAGE}/{SUITE}")
        deb = next(work.glob("*.deb"))
        subprocess.run(["dpkg-deb", "-x", str(deb), str(work / "tree")], check=True, capture_output=True)
        found = work / "tree/usr/bin/busybox"
        if not trees.is_static(str(found)):
            raise RuntimeError(f"{deb.name} has no static /usr/bin/busybox")
        shutil.copy(found, work / "busybox")
        os.replace(work / "busybox", target)  # whole or not at all, even when two bootstraps race
    return target
