"""Host device nodes in a container: those a spec names (docker --device, ECS
linuxParameters.devices) or, for a privileged container, all of the host's, as Docker
gives them. Each becomes a node runc makes in the container's /dev and a cgroup rule
that lets the container use that one device."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from .errors import ContainerError
from .spec import Device

# Made by runc or mounted for every container already; a privileged one gets the host's others.
_OWN = {"/dev/console", "/dev/ptmx", "/dev/pts", "/dev/shm", "/dev/mqueue", "/dev/null", "/dev/zero",
        "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty"}


def _node(host_path: str, container_path: str, permissions: str) -> tuple[dict, dict]:
    try:
        st = os.stat(host_path)
    except FileNotFoundError:
        raise ContainerError(f"device {host_path} does not exist on this host") from None
    if stat.S_ISCHR(st.st_mode):
        kind = "c"
    elif stat.S_ISBLK(st.st_mode):
        kind = "b"
    else:
        raise ContainerError(f"{host_path} is not a device")
    if not permissions or set(permissions) - set("rwm"):
        raise ContainerError(f"invalid device permissions {permissions!r}: use a combination of r, w and m")
    major, minor = os.major(st.st_rdev), os.minor(st.st_rdev)
    node = {"path": container_path, "type": kind, "major": major, "minor": minor,
            "fileMode": stat.S_IMODE(st.st_mode), "uid": st.st_uid, "gid": st.st_gid}
    rule = {"allow": True, "type": kind, "major": major, "minor": minor, "access": permissions}
    return node, rule


def _host_devices() -> list[Device]:
    out = []
    for dirpath, dirnames, filenames in os.walk("/dev"):
        dirnames[:] = [d for d in dirnames if os.path.join(dirpath, d) not in _OWN]
        for name in filenames:
            path = os.path.join(dirpath, name)
            mode = os.lstat(path).st_mode
            if path not in _OWN and (stat.S_ISCHR(mode) or stat.S_ISBLK(mode)):
                out.append(Device(path))
    return out


def device_config(devices: list[Device], privileged: bool) -> tuple[list[dict], list[dict]]:
    """(linux.devices, linux.resources.devices rules to add) for the spec's devices."""
    nodes, rules = [], []
    for d in (_host_devices() if privileged else []) + list(devices):
        target = d.container_path or d.host_path
        if not Path(target).is_absolute():
            raise ContainerError(f"device path {target!r} must be absolute")
        node, rule = _node(d.host_path, target, d.permissions)
        nodes.append(node)
        rules.append(rule)
    if privileged:
        rules = [{"allow": True, "access": "rwm"}]
    return nodes, rules
