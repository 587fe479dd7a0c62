"""What a caller asks for when it creates a container: plain values, no behaviour."""

from __future__ import annotations

from dataclasses import dataclass, field

# Docker's default capability set: enough for package managers, servers binding low
# ports and setuid programs, nothing that reaches outside the container.
DEFAULT_CAPABILITIES = [
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
]


@dataclass
class BindMount:
    source: str
    target: str
    readonly: bool = False


@dataclass
class VolumeMount:
    """A named volume: a directory under the runtime's root that outlives containers."""
    name: str
    target: str
    readonly: bool = False


@dataclass
class TmpfsMount:
    target: str
    size: int | None = None  # bytes
    mode: int = 0o1777


@dataclass
class Ulimit:
    name: str  # "nofile", "nproc", "core", ... (or "RLIMIT_NOFILE")
    soft: int
    hard: int


@dataclass
class IdMap:
    container_id: int
    host_id: int
    size: int


@dataclass
class Device:
    """A host device node made in the container (ECS linuxParameters.devices, docker --device)."""
    host_path: str
    container_path: str | None = None  # default: the host path
    permissions: str = "rwm"


@dataclass
class Resources:
    memory: int | None = None      # bytes; swap is set equal so the limit is a hard one
    cpus: float | None = None      # CPUs' worth of time per period (CFS quota)
    cpu_shares: int | None = None  # relative weight (cgroup v1 cpu.shares)
    pids_limit: int | None = None


@dataclass
class ContainerSpec:
    id: str
    layers: list[str]                       # unpacked layer directories, lowest first
    image_config: dict = field(default_factory=dict)  # the OCI image config's "config"
    name: str | None = None
    entrypoint: list[str] | None = None     # replaces the image's; [] clears it
    command: list[str] | None = None        # replaces the image's Cmd
    env: dict[str, str] = field(default_factory=dict)  # added to / overriding image Env
    user: str | None = None                 # "name", "uid", "uid:gid", "name:group"
    workdir: str | None = None
    hostname: str | None = None             # default: the first 12 characters of id
    network: str = "none"                   # "none" (own empty netns), "host", or a netns path
    uid_map: list[IdMap] = field(default_factory=list)  # non-empty: a user namespace
    gid_map: list[IdMap] = field(default_factory=list)
    userns: str | None = None               # a user namespace with a host id range of its own, shared
                                            # by the containers given the same key (a task's)
    readonly_rootfs: bool = False
    binds: list[BindMount] = field(default_factory=list)
    volumes: list[VolumeMount] = field(default_factory=list)
    tmpfs: list[TmpfsMount] = field(default_factory=list)
    ulimits: list[Ulimit] = field(default_factory=list)
    resources: Resources = field(default_factory=Resources)
    cap_add: list[str] = field(default_factory=list)
    cap_drop: list[str] = field(default_factory=list)
    privileged: bool = False                # every capability and device, no seccomp, /sys writable
    devices: list[Device] = field(default_factory=list)
    pid_mode: str | None = None             # "host": the host's pid namespace
    ipc_mode: str | None = None             # "host": the host's IPC namespace
    sysctls: dict[str, str] = field(default_factory=dict)  # namespaced kernel parameters
    stop_signal: str | None = None          # default: the image's StopSignal, else SIGTERM
    stop_timeout: float = 10.0
    restart_policy: str = "no"              # "no", "on-failure", "always", "unless-stopped"
    max_retries: int = 0                    # on-failure only; 0 = no limit
    labels: dict[str, str] = field(default_factory=dict)
