"""The network layer's truth on disk: networks and endpoints in one JSON file, changed
only under an exclusive lock so concurrent CLI processes and the server agree."""

import contextlib
import fcntl
import ipaddress
import json
import os
from pathlib import Path


class State:
    def __init__(self, root: Path):
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.file = root / "state.json"
        self.lock_file = root / "lock"
        self.lock_file.touch(exist_ok=True)

    def read(self) -> dict:
        try:
            data = json.loads(self.file.read_text())
        except FileNotFoundError:
            data = {}
        data.setdefault("networks", {})
        data.setdefault("endpoints", {})
        data.setdefault("services", {})  # "address:port" guests ask -> "address:port" of the host's
        data.setdefault("routers", {})   # VPC key -> {"index"} (routers.py)
        data.setdefault("ports", {})     # ENI -> {"router", "device", "netns", ...}: plugged into a router
        return data

    @contextlib.contextmanager
    def locked(self):
        """The state to change; written back atomically when the block ends without error."""
        fd = os.open(self.lock_file, os.O_RDONLY | os.O_CLOEXEC)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            data = self.read()
            yield data
            tmp = self.file.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
            os.replace(tmp, self.file)
        finally:
            os.close(fd)


def allocate(subnet: str, taken: set[str]) -> str:
    """The lowest free host address after the gateway (the first one)."""
    net = ipaddress.ip_network(subnet)
    hosts = net.hosts()
    next(hosts)  # the gateway
    for address in hosts:
        if str(address) not in taken:
            return str(address)
    raise LookupError(f"no free address left in {subnet}")


def gateway(subnet: str) -> str:
    return str(next(ipaddress.ip_network(subnet).hosts()))


def free_subnet(pool: str, used: list[str], prefix: int = 24) -> str:
    used_nets = [ipaddress.ip_network(u) for u in used]
    for candidate in ipaddress.ip_network(pool).subnets(new_prefix=prefix):
        if not any(candidate.overlaps(u) for u in used_nets):
            return str(candidate)
    raise LookupError(f"no free /{prefix} left in {pool}")
