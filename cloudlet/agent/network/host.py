"""The host commands networking drives (`ip`, `nft`, sysctls), run and checked in one place."""

import ctypes
import ipaddress
import os
import subprocess
import threading
from pathlib import Path

from cloudlet.agent.mounts import bind


class NetworkError(Exception):
    pass


def run(*args: str, input: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(args, input=input, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise NetworkError(f"{' '.join(args)}: {proc.stderr.strip() or proc.stdout.strip()}")
    return proc


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return run("ip", *args, check=check)


def nft(script: str, check: bool = True) -> subprocess.CompletedProcess:
    return run("nft", "-f", "-", input=script, check=check)


RESOLV_CONF = "/etc/resolv.conf"


def nameservers() -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """The host's DNS servers: a range that holds one is never routed into a VPC, or the
    host's own lookups would go to whoever has that address there."""
    try:
        lines = Path(RESOLV_CONF).read_text().splitlines()
    except OSError:
        return []
    found = []
    for line in lines:
        words = line.split()
        if len(words) >= 2 and words[0] == "nameserver":
            try:
                found.append(ipaddress.ip_address(words[1].split("%")[0]))
            except ValueError:
                continue
    return found


def link_exists(name: str) -> bool:
    return Path("/sys/class/net", name).exists()


def sysctl(key: str, value: str) -> None:
    Path("/proc/sys", *key.split(".")).write_text(value)


_CLONE_NEWNET = 0x40000000


def netns_sysctls(netns_path: str, values: dict[str, str]) -> None:
    """Set sysctls (dotted names) inside the network namespace at netns_path.

    A thread of our own joins the namespace (setns changes only the calling thread, and
    /proc/sys/net shows the namespace of whoever opens it) and ends there, so no other
    thread ever runs in it and no `ip netns exec` process is spawned."""
    libc = ctypes.CDLL(None, use_errno=True)
    failure: list[BaseException] = []

    def inside() -> None:
        try:
            fd = os.open(netns_path, os.O_RDONLY | os.O_CLOEXEC)
            try:
                if libc.setns(fd, _CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), f"setns {netns_path}")
            finally:
                os.close(fd)
            for key, value in values.items():
                sysctl(key, value)
        except BaseException as e:  # handed to the caller's thread
            failure.append(e)

    worker = threading.Thread(target=inside, name="netns-sysctl")
    worker.start()
    worker.join()
    if failure:
        raise NetworkError(f"sysctls in {netns_path}: {failure[0]}")


def new_netns_in(userns: str, name: str) -> None:
    """A named network namespace (/run/netns/<name>, as `ip netns add` makes) that belongs to
    the user namespace whose file userns is: its root may then enter it (runc exec joins
    the user namespace first) and bind low ports, while the host keeps every capability."""
    child = subprocess.Popen(["nsenter", f"--user={userns}", "--", "unshare", "--net", "--", "sh", "-c", "echo; read _"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    pin = Path("/run/netns", name)
    try:
        if child.stdout.readline() != b"\n":
            raise NetworkError(f"a network namespace in {userns}: {child.stderr.read().decode().strip()}")
        pin.parent.mkdir(parents=True, exist_ok=True)
        pin.touch()
        bind(f"/proc/{child.pid}/ns/net", str(pin))
    except OSError as e:
        pin.unlink(missing_ok=True)
        raise NetworkError(f"pinning network namespace {name}: {e}") from None
    finally:
        child.stdin.close()
        child.wait()
        child.stdout.close()
        child.stderr.close()
