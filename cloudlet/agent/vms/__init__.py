"""Virtual machines on this host: QEMU microVMs, one process each, controlled through QMP."""

from .disks import DiskError, Disks
from .vm import VM, Disk, VMError, VMs, accelerator

__all__ = ["VM", "Disk", "DiskError", "Disks", "VMError", "VMs", "accelerator"]
