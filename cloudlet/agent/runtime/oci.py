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

_ALL_CAPS = DEFAULT_CAPABILITIES + [
    "CAP_DAC_READ_SEARCH", "CAP_LINUX_IMMUTABLE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN",
    "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_LEASE", "CAP_AUDIT_CONTROL", "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
    "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
]


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


def _base_mounts(spec: ContainerSpec) -> list[dict]:
    nosuid_noexec_nodev = ["nosuid", "noexec", "nodev"]
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
    if spec.uid_map and spec.network != "none":
        # sysfs can only be mounted by the user namespace that owns the network
        # namespace; a joined or host netns belongs to the host's, so bind it instead.
        mounts.append({"destination": "/sys", "type": "none", "source": "/sys",
                       "options": ["rbind", "nosuid", "noexec", "nodev", "ro"]})
    else:
        mounts.append({"destination": "/sys", "type": "sysfs", "source": "sysfs",
                       "options": nosuid_noexec_nodev + ["ro"]})
    mounts.append({"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
                   "options": nosuid_noexec_nodev + ["relatime", "ro"]})
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
                 rlimits: list[dict], cgroups_path: str) -> dict:
    caps = capabilities(spec.cap_add, spec.cap_drop)
    own_uts = spec.network != "host"  # host networking shares the host's name too, as Docker
    hostname = (spec.hostname or spec.id[:12]) if own_uts else socket.gethostname()
    workdir = spec.workdir or spec.image_config.get("WorkingDir") or "/"
    cwd = posixpath.normpath(posixpath.join("/", workdir))
    namespaces = [{"type": t} for t in ("pid", "mount", "ipc")]
    if own_uts:
        namespaces.append({"type": "uts"})
    if spec.network == "none":
        namespaces.append({"type": "network"})
    elif spec.network != "host":
        namespaces.append({"type": "network", "path": spec.network})
    linux = {
        "namespaces": namespaces,
        "resources": linux_resources(spec.resources),
        "cgroupsPath": cgroups_path,
        "seccomp": default_profile(caps),
        "maskedPaths": MASKED_PATHS,
        "readonlyPaths": READONLY_PATHS,
    }
    if spec.uid_map:
        if not spec.gid_map:
            raise SpecError("a user namespace needs both uid and gid maps")
        namespaces.append({"type": "user"})
        linux["uidMappings"] = _id_maps(spec.uid_map)
        linux["gidMappings"] = _id_maps(spec.gid_map)
    config = {
        "ociVersion": "1.0.2",
        "process": process(process_args(spec), environment(spec, hostname, user), cwd, user,
                           caps, rlimits),
        "root": {"path": rootfs, "readonly": spec.readonly_rootfs},
        "mounts": _base_mounts(spec) + mounts,
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
