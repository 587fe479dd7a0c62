"""Errors of the container runtime, for callers to map onto their own (AWS's, the CLI's)."""


class ContainerError(Exception):
    """Anything that kept a container operation from happening, in words a person can act on."""


class ContainerNotFound(ContainerError):
    pass


class ContainerConflict(ContainerError):
    """The container is in the wrong state for the operation (e.g. removing a running one)."""


class OCIError(ContainerError):
    """runc or conmon failed; the message carries their own explanation."""
