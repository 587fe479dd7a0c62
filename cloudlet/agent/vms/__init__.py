"""Virtual machines on this host: QEMU microVMs, one process each, controlled through QMP."""

from .vm import VM, VMError, VMs, accelerator

__all__ = ["VM", "VMError", "VMs", "accelerator"]
