"""What a task definition may ask of the host under it.

On AWS a FARGATE task has a micro-VM to itself, and an EC2 task runs on the customer's own
instance; here every task of every account shares this one host. So:

- FARGATE definitions are held to Fargate's rules at RegisterTaskDefinition, with ECS's
  messages: no privileged containers, no added capabilities but SYS_PTRACE, no devices,
  no pidMode but "task", no ipcMode, no host volumes, only namespaced sysctls.
- A definition that reaches the host (control/privileges.py) requires the container
  instance attribute PRIVILEGED. Only this host's container instance, registered by its
  operator with `cloudlet up --cluster NAME --allow-privileged`, has it; a tenant cannot
  give it to an instance it registers. Other EC2 tasks are placed elsewhere or refused as
  ECS refuses them: ATTRIBUTE.
- Everything else runs in a user namespace of its own (control/tasks.py).
"""

from __future__ import annotations

from cloudlet.control.privileges import CONTAINED_CAPABILITIES, PRIVILEGED, added_capabilities, reaches_host

from .common import client_error

# Docker's (and so ECS's) namespaced kernel parameters: the IPC namespace's and the network's.
IPC_SYSCTLS = {"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall", "kernel.shmmax",
               "kernel.shmmni", "kernel.shm_rmid_forced"}


def _fargate(what: str):
    return client_error(f"Tasks using the Fargate launch type do not support {what}.")


def check_sysctls(c: dict, mode: str) -> None:
    for control in c.get("systemControls") or []:
        name = control.get("namespace") or ""
        network = name.startswith("net.")
        if not (network or name in IPC_SYSCTLS or name.startswith("fs.mqueue.")):
            raise client_error(f"Invalid 'systemControls' setting for container '{c['name']}': {name!r} is not a "
                               "namespaced kernel parameter.")
        if network and mode == "host":
            raise client_error(f"Invalid 'systemControls' setting for container '{c['name']}': network namespace "
                               "systemControls are not supported with the host network mode.")


def fargate_refusal(request: dict, containers: list[dict]):
    """ECS's ClientException for the first thing Fargate does not run, or None."""
    pid = request.get("pidMode")
    if pid and pid != "task":
        return client_error(f"Tasks using the Fargate launch type do not support pidMode '{pid}'. The supported "
                            "value for pidMode is 'task'.")
    if request.get("ipcMode"):
        return _fargate("ipcMode")
    if request.get("placementConstraints"):
        return _fargate("placementConstraints")
    for v in request.get("volumes") or []:
        if (v.get("host") or {}).get("sourcePath"):
            return client_error(f"Invalid volume '{v.get('name')}': host volumes with a sourcePath are not "
                                "supported by the Fargate launch type.")
    for c in containers:
        linux = c.get("linuxParameters") or {}
        if c.get("privileged"):
            return _fargate("privileged mode")
        for cap in added_capabilities(c):
            if cap not in CONTAINED_CAPABILITIES:
                return client_error(f"Tasks using the Fargate launch type do not support adding the {cap} "
                                    "capability. Only SYS_PTRACE can be added.")
        for key, what in (("devices", "devices"), ("sharedMemorySize", "sharedMemorySize"), ("tmpfs", "tmpfs"),
                          ("maxSwap", "maxSwap"), ("swappiness", "swappiness")):
            if linux.get(key) is not None and linux.get(key) != []:
                return _fargate(f"the '{what}' linuxParameters setting")
        for key in ("links", "dockerSecurityOptions", "extraHosts", "dnsServers", "dnsSearchDomains"):
            if c.get(key):
                return _fargate(f"the '{key}' container setting")
        if c.get("disableNetworking"):
            return _fargate("the 'disableNetworking' container setting")
    return None


def required_attributes(definition: dict) -> list[dict]:
    return [{"name": PRIVILEGED}] if reaches_host(definition) else []


def strip_granted(attributes: list[dict]) -> list[dict]:
    """A tenant's attributes for an instance it registers, less what only the operator grants."""
    return [a for a in attributes if a.get("name") != PRIVILEGED]
