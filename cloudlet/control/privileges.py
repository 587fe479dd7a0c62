"""Which tasks reach beyond their own namespaces into the host, and the container instance
attribute that lets them: ECS's own name for an agent that allows privileged containers.
The API refuses them on Fargate and places them only where the attribute is
(services/ecs/host_access.py); the task controller runs them without a user namespace
only there, and every other task in one."""

from __future__ import annotations

PRIVILEGED = "com.amazonaws.ecs.capability.privileged-container"
CONTAINED_CAPABILITIES = {"SYS_PTRACE"}  # Fargate's one: it reaches no further than the user namespace


def added_capabilities(c: dict) -> list[str]:
    caps = ((c.get("linuxParameters") or {}).get("capabilities") or {}).get("add") or []
    return [cap.upper().removeprefix("CAP_") for cap in caps]


def reaches_host(definition: dict) -> list[str]:
    """What in the definition reaches beyond the task's own namespaces (empty: nothing)."""
    found = []
    if definition.get("networkMode") == "host":
        found.append("networkMode host")
    for key in ("pidMode", "ipcMode"):
        if definition.get(key) == "host":
            found.append(f"{key} host")
    if any((v.get("host") or {}).get("sourcePath") for v in definition.get("volumes") or []):
        found.append("host volumes")
    for c in definition["containerDefinitions"]:
        linux = c.get("linuxParameters") or {}
        if c.get("privileged"):
            found.append(f"privileged container {c['name']}")
        if set(added_capabilities(c)) - CONTAINED_CAPABILITIES:
            found.append(f"added capabilities of {c['name']}")
        if linux.get("devices"):
            found.append(f"devices of {c['name']}")
    return found
