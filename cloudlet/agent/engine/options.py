"""`run` options as users write them (`-p 127.0.0.1:8080:80/udp`, `--memory 128m`,
`-v data:/var/lib/x:ro`), turned into plain values. Errors name the option and the value."""

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from cloudlet.agent.network import PortMapping
from cloudlet.agent.runtime import BindMount, Device, TmpfsMount, Ulimit, VolumeMount

_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}
_SIZE = re.compile(r"^(\d+(?:\.\d+)?)\s*([bkmgt]?)b?$", re.IGNORECASE)
_PORT = re.compile(r"^(?:(?P<ip>\d+\.\d+\.\d+\.\d+):)?(?:(?P<host>\d*):)?(?P<container>\d+)(?:/(?P<proto>tcp|udp))?$")


class OptionError(ValueError):
    pass


def size(text: str, option: str = "--memory") -> int:
    """Docker's sizes: 512, 128k, 128m, 1.5g (binary units)."""
    m = _SIZE.match(text.strip())
    if not m:
        raise OptionError(f"invalid size for {option}: {text!r} (e.g. 512m, 2g)")
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


def port(text: str) -> PortMapping:
    m = _PORT.match(text.strip())
    if not m:
        raise OptionError(f"invalid port mapping {text!r}: use [ip:][hostPort:]containerPort[/tcp|udp]")
    numbers = [int(m.group("container")), int(m.group("host") or 0)]
    if not 0 < numbers[0] < 65536 or not 0 <= numbers[1] < 65536:
        raise OptionError(f"invalid port mapping {text!r}: ports are 1-65535")
    return PortMapping(numbers[1], numbers[0], m.group("proto") or "tcp", m.group("ip") or "0.0.0.0")


def env_pair(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not name:
        raise OptionError(f"invalid environment variable {text!r}")
    if not sep:
        # Docker's `-e NAME` passes the caller's own value on.
        value = os.environ.get(name, "")
    return name, value


def env_file(path: str) -> list[tuple[str, str]]:
    pairs = []
    for line in Path(path).read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            pairs.append(env_pair(line))
    return pairs


def volume(text: str) -> BindMount | VolumeMount:
    """`/host:/ctr[:ro]` is a bind mount, `name:/ctr[:ro]` a named volume."""
    parts = text.split(":")
    if len(parts) not in (2, 3) or not parts[1].startswith("/") or (len(parts) == 3 and parts[2] not in ("ro", "rw")):
        raise OptionError(f"invalid volume {text!r}: use /host/path:/path[:ro] or name:/path[:ro]")
    readonly = len(parts) == 3 and parts[2] == "ro"
    if parts[0].startswith("/"):
        return BindMount(parts[0], parts[1], readonly)
    return VolumeMount(parts[0], parts[1], readonly)


def tmpfs(text: str) -> TmpfsMount:
    target, _, opts = text.partition(":")
    limit = None
    for opt in filter(None, opts.split(",")):
        key, _, value = opt.partition("=")
        if key == "size":
            limit = size(value, "--tmpfs size")
    return TmpfsMount(target, limit)


def ulimit(text: str) -> Ulimit:
    name, _, values = text.partition("=")
    soft, _, hard = values.partition(":")
    try:
        return Ulimit(name, int(soft), int(hard or soft))
    except ValueError:
        raise OptionError(f"invalid ulimit {text!r}: use name=soft[:hard]") from None


@dataclass
class RunOptions:
    image: str
    command: list[str] | None = None
    name: str | None = None
    entrypoint: list[str] | None = None
    env: dict[str, str] = field(default_factory=dict)
    ports: list[PortMapping] = field(default_factory=list)
    network: str = "bridge"  # "bridge", "none", "host" or a user network's name
    aliases: list[str] = field(default_factory=list)
    memory: int | None = None
    cpus: float | None = None
    cpu_shares: int | None = None
    pids_limit: int | None = None
    user: str | None = None
    workdir: str | None = None
    hostname: str | None = None
    mounts: list = field(default_factory=list)  # BindMount / VolumeMount
    tmpfs: list[TmpfsMount] = field(default_factory=list)
    ulimits: list[Ulimit] = field(default_factory=list)
    readonly_rootfs: bool = False
    cap_add: list[str] = field(default_factory=list)
    cap_drop: list[str] = field(default_factory=list)
    privileged: bool = False
    devices: list[Device] = field(default_factory=list)
    pid_mode: str | None = None  # "host"
    ipc_mode: str | None = None  # "host"
    sysctls: dict[str, str] = field(default_factory=dict)
    stop_signal: str | None = None
    stop_timeout: float = 10.0
    restart: tuple[str, int] = ("no", 0)  # policy and on-failure's maximum retries
    labels: dict[str, str] = field(default_factory=dict)
    # A user namespace: True for a host id range of the container's own, a key for one shared
    # by the containers given the same key (an ECS task's).
    userns: bool | str = False


def device(text: str) -> Device:
    """docker's --device: /host[:/container[:rwm]]."""
    parts = text.split(":")
    if not 1 <= len(parts) <= 3 or not parts[0].startswith("/"):
        raise OptionError(f"invalid device {text!r}: use /dev/host[:/dev/container[:rwm]]")
    return Device(parts[0], parts[1] if len(parts) > 1 and parts[1] else None, parts[2] if len(parts) > 2 else "rwm")


def restart_policy(text: str) -> tuple[str, int]:
    policy, _, count = text.partition(":")
    try:
        return policy, int(count) if count else 0
    except ValueError:
        raise OptionError(f"invalid restart policy {text!r}") from None
