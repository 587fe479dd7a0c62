"""OCI runtime bundle config.json from an image config and run options.

Facts from the OCI runtime spec (config.md, config-linux.md) and runc's defaults; the
isolation choices (capabilities, masked paths, no-new-privileges) follow Docker's.
"""

from __future__ import annotations

import json
import os
import posixpath
import signal as _signal
import socket
import threading

from .cgroups import linux_resources
from .devices import device_config
from .seccomp import default_profile
from .spec import DEFAULT_CAPABILITIES, ContainerSpec
from .users import User

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# /proc and /sys entries that reveal or change the host: hidden, or read-only.
MASKED_PATHS = [
    "/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
    "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
    "/sys/firmware", "/sys/devices/virtual/powercap",
]
READONLY_PATHS = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]



# in the kernel's numbering (capability.h), which /proc/<pid>/status's masks follow
_CAP_NUMBERS = [
    "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "SETPCAP",
    "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER",
    "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT", "SYS_NICE",
    "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD", "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP",
    "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF",
    "CHECKPOINT_RESTORE",
]


_ALL_CAPS = DEFAULT_CAPABILITIES + [c for c in ("CAP_" + n for n in _CAP_NUMBERS) if c not in DEFAULT_CAPABILITIES]


def host_capabilities() -> list[str]:
    """Every capability this process may hand on (its bounding set): what a privileged
    container gets, as Docker's does; a host that lacks one (no CAP_SYS_RESOURCE inside a
    sandbox) would make runc fail asking for it."""
    with open("/proc/self/status") as f:
        mask = int(next(line for line in f if line.startswith("CapBnd:")).split()[1], 16)
    return ["CAP_" + name for bit, name in enumerate(_CAP_NUMBERS) if mask >> bit & 1]


class SpecError(ValueError):
    pass


def _cap(name: str) -> str:
    name = name.upper()
    return name if name.startswith("CAP_") or name == "ALL" else "CAP_" + name


def capabilities(add: list[str], drop: list[str]) -> list[str]:
    add_set, drop_set = {_cap(c) for c in add}, {_cap(c) for c in drop}
    for c in (add_set | drop_set) - {"ALL"} - set(_ALL_CAPS):
        raise SpecError(f"unknown capability {c}")
    caps = [] if "ALL" in drop_set else [c for c in DEFAULT_CAPABILITIES if c not in drop_set]
    extra = _ALL_CAPS if "ALL" in add_set else sorted(add_set - {"ALL"})
    return caps + [c for c in extra if c not in caps and c not in drop_set]


def process_args(spec: ContainerSpec) -> list[str]:
    """Docker's rule: a new entrypoint drops the image's Cmd unless a command is given."""
    image = spec.image_config
    entrypoint = spec.entrypoint if spec.entrypoint is not None else (image.get("Entrypoint") or [])
    if spec.command is not None:
        cmd = spec.command
    elif spec.entrypoint is not None:
        cmd = []
    else:
        cmd = image.get("Cmd") or []
    args = list(entrypoint) + list(cmd)
    if not args:
        raise SpecError("no command: the image has no Entrypoint or Cmd and none was given")
    return args


def environment(spec: ContainerSpec, hostname: str, user: User) -> list[str]:
    env: dict[str, str] = {"PATH": DEFAULT_PATH, "HOSTNAME": hostname}
    for item in spec.image_config.get("Env") or []:
        k, _, v = item.partition("=")
        env[k] = v
    env.update(spec.env)
    env.setdefault("HOME", user.home)
    return [f"{k}={v}" for k, v in env.items()]


def stop_signal(spec: ContainerSpec) -> int:
    name = spec.stop_signal or spec.image_config.get("StopSignal") or "SIGTERM"
    return parse_signal(name)


def parse_signal(name: str | int) -> int:
    if isinstance(name, int) or str(name).isdigit():
        return int(name)
    upper = str(name).upper()
    try:
        return int(getattr(_signal, upper if upper.startswith("SIG") else "SIG" + upper))
    except AttributeError:
        raise SpecError(f"unknown signal {name!r}") from None


def process(args, env, cwd, user: User, caps: list[str], rlimits: list[dict]) -> dict:
    """The process section; exec reuses it so an exec'd process is confined alike."""
    return {
        "terminal": False,
        "user": {"uid": user.uid, "gid": user.gid, "additionalGids": user.additional_gids},
        "args": args,
        "env": env,
        "cwd": cwd,
        "capabilities": {"bounding": caps, "effective": caps, "permitted": caps},
        "rlimits": rlimits,
        "noNewPrivileges": True,
    }


def _base_mounts(spec: ContainerSpec, userns_path: str | None) -> list[dict]:
    nosuid_noexec_nodev = ["nosuid", "noexec", "nodev"]
    ro = [] if spec.privileged else ["ro"]  # a privileged container may write /sys, as Docker's
    mounts = [
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
         "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
        {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
         "options": nosuid_noexec_nodev + ["mode=1777", "size=65536k"]},
        {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
         "options": nosuid_noexec_nodev},
    ]
    if spec.uid_map and (spec.network == "host" or spec.network != "none" and not userns_path):
        # sysfs can only be mounted by the user namespace that owns the network namespace;
        # the host's, or one joined outside a user namespace of ours, belongs to the host's.
        mounts.append({"destination": "/sys", "type": "none", "source": "/sys",
                       "options": ["rbind", "nosuid", "noexec", "nodev"] + ro})
    else:
        mounts.append({"destination": "/sys", "type": "sysfs", "source": "sysfs",
                       "options": nosuid_noexec_nodev + ro})
    mounts.append({"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
                   "options": nosuid_noexec_nodev + ["relatime"] + ro})
    return mounts


def user_mounts(binds: list[tuple[str, str, bool]], tmpfs) -> list[dict]:
    """binds: (host source, container target, readonly). Parents mount before children,
    so shorter targets go first whatever order they were given in."""
    out = []
    for source, target, readonly in binds:
        out.append({"destination": target, "type": "none", "source": source,
                    "options": ["rbind", "rprivate"] + (["ro"] if readonly else [])})
    for t in tmpfs:
        opts = ["nosuid", "nodev", f"mode={t.mode:o}"] + ([f"size={t.size}"] if t.size else [])
        out.append({"destination": t.target, "type": "tmpfs", "source": "tmpfs", "options": opts})
    for m in out:
        if not posixpath.isabs(m["destination"]):
            raise SpecError(f"mount target {m['destination']!r} must be an absolute path")
        m["destination"] = posixpath.normpath(m["destination"])
    return sorted(out, key=lambda m: m["destination"].count("/"))


def _id_maps(maps) -> list[dict]:
    return [{"containerID": m.container_id, "hostID": m.host_id, "size": m.size} for m in maps]


def build_config(spec: ContainerSpec, *, rootfs: str, user: User, mounts: list[dict],
                 rlimits: list[dict], cgroups_path: str, userns_path: str | None = None) -> dict:
    """userns_path: a user namespace to join (its network namespace too belongs to it);
    without it, runc makes one with the spec's maps."""
    caps = host_capabilities() if spec.privileged else capabilities(spec.cap_add, spec.cap_drop)
    own_uts = spec.network != "host"  # host networking shares the host's name too, as Docker
    hostname = (spec.hostname or spec.id[:12]) if own_uts else socket.gethostname()
    workdir = spec.workdir or spec.image_config.get("WorkingDir") or "/"
    cwd = posixpath.normpath(posixpath.join("/", workdir))
    namespaces = [{"type": "mount"}]
    for kind, mode in (("pid", spec.pid_mode), ("ipc", spec.ipc_mode)):
        if mode not in (None, "host"):
            raise SpecError(f"unsupported {kind} mode {mode!r}")
        if mode is None:
            namespaces.append({"type": kind})
    if own_uts:
        namespaces.append({"type": "uts"})
    if spec.network == "none":
        namespaces.append({"type": "network"})
    elif spec.network != "host":
        namespaces.append({"type": "network", "path": spec.network})
    resources = linux_resources(spec.resources)
    nodes, rules = device_config(spec.devices, spec.privileged)
    resources["devices"] += rules
    linux = {
        "namespaces": namespaces,
        "resources": resources,
        "cgroupsPath": cgroups_path,
        "devices": nodes,
        "sysctl": dict(spec.sysctls),
    }
    if not spec.privileged:  # Docker's --privileged: no seccomp filter, nothing of /proc hidden
        linux.update(seccomp=default_profile(caps), maskedPaths=MASKED_PATHS, readonlyPaths=READONLY_PATHS)
    if spec.uid_map:
        if not spec.gid_map:
            raise SpecError("a user namespace needs both uid and gid maps")
        namespaces.insert(0, {"type": "user", **({"path": userns_path} if userns_path else {})})
        linux["uidMappings"] = _id_maps(spec.uid_map)
        linux["gidMappings"] = _id_maps(spec.gid_map)
    config = {
        "ociVersion": "1.0.2",
        "process": process(process_args(spec), environment(spec, hostname, user), cwd, user,
                           caps, rlimits),
        "root": {"path": rootfs, "readonly": spec.readonly_rootfs},
        "mounts": _base_mounts(spec, userns_path) + mounts,
        "linux": linux,
        "annotations": {f"org.cloudlet.label.{k}": v for k, v in spec.labels.items()},
    }
    if own_uts:
        config["hostname"] = hostname
    return config


def write_json(path, data: dict) -> None:
    """Written whole or not at all: runc must never read half a config."""
    tmp = f"{path}.{os.getpid()}.{threading.get_ident()}.tmp"
    with open(tmp, "w") as f:
        json.dump(data, f)
    os.replace(tmp, path)
