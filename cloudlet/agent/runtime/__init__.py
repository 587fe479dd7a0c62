"""Containers on this host: OCI bundles run by runc under conmon, cgroup v1 limits,
logs, exec, stats, and re-adoption of what an earlier agent started."""

from .errors import ContainerConflict, ContainerError, ContainerNotFound, OCIError
from .events import Event
from .exec import ExecResult
from .logs import LogLine
from .runtime import ContainerState, Runtime
from .spec import (BindMount, ContainerSpec, Device, IdMap, Resources, TmpfsMount, Ulimit,
                   VolumeMount)
from .stats import Stats

__all__ = [
    "BindMount", "ContainerConflict", "ContainerError", "ContainerNotFound", "ContainerSpec",
    "ContainerState", "Device", "Event", "ExecResult", "IdMap", "LogLine", "OCIError", "Resources", "Runtime",
    "Stats", "TmpfsMount", "Ulimit", "VolumeMount",
]
