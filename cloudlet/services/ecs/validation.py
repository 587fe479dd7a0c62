"""Task definitions checked as ECS checks them at RegisterTaskDefinition, with its messages,
and filled in with the defaults DescribeTaskDefinition shows."""

from __future__ import annotations

import re

from .common import client_error
from .host_access import check_sysctls, fargate_refusal, required_attributes

_FAMILY = re.compile(r"^[a-zA-Z0-9_-]{1,255}$")
_CONTAINER_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,255}$")
MIN_CONTAINER_MEMORY = 6  # MiB: Docker's floor, which ECS enforces
NETWORK_MODES = ("bridge", "host", "awsvpc", "none")
# Fargate's task sizes: CPU units -> the memory sizes (MiB) offered with them.
FARGATE_SIZES = {
    256: [512, 1024, 2048],
    512: list(range(1024, 4097, 1024)),
    1024: list(range(2048, 8193, 1024)),
    2048: list(range(4096, 16385, 1024)),
    4096: list(range(8192, 30721, 1024)),
    8192: list(range(16384, 61441, 4096)),
    16384: list(range(32768, 122881, 8192)),
}
_UNITS = {"vcpu": 1024, "gb": 1024}


def task_size(value: str | None, what: str) -> int | None:
    """Task-level cpu/memory: "256", "1 vCPU", "0.5 vcpu", "2 GB" (ECS takes all of them)."""
    if value is None:
        return None
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(vcpu|gb)?\s*", str(value), re.IGNORECASE)
    if not m:
        raise client_error(f"Invalid '{what}' setting for task: {value!r}.")
    number = float(m.group(1)) * (_UNITS[m.group(2).lower()] if m.group(2) else 1)
    if number != int(number) or number <= 0:
        raise client_error(f"Invalid '{what}' setting for task: {value!r}.")
    return int(number)


def _check_container(c: dict, mode: str, task_memory: int | None, names: set[str]) -> dict:
    name = c.get("name", "")
    if not _CONTAINER_NAME.match(name):
        raise client_error("Container name should be 1-255 letters (uppercase and lowercase), numbers, hyphens, "
                           "and underscores.")
    if name in names:
        raise client_error(f"Duplicate container name '{name}'. Container names must be unique within a task "
                           "definition.")
    names.add(name)
    if not c.get("image"):
        raise client_error("Container.image should not be null or empty.")
    memory, reservation = c.get("memory"), c.get("memoryReservation")
    for field, value in (("memory", memory), ("memoryReservation", reservation)):
        if value is not None and value < MIN_CONTAINER_MEMORY:
            raise client_error(f"Invalid '{field}' setting for container '{name}'. The value must be at least "
                               f"{MIN_CONTAINER_MEMORY} MiB.")
    if memory is None and reservation is None and task_memory is None:
        raise client_error(f"Invalid setting for container '{name}'. At least one of 'memory' or "
                           "'memoryReservation' must be specified.")
    if memory is not None and reservation is not None and reservation > memory:
        raise client_error(f"Invalid setting for container '{name}'. 'memoryReservation' must be less than or "
                           "equal to 'memory'.")
    if task_memory is not None and (memory or reservation or 0) > task_memory:
        raise client_error(f"Invalid setting for container '{name}'. The container's 'memory' "
                           f"({memory or reservation} MiB) exceeds the task's memory ({task_memory} MiB).")
    if c.get("cpu") is not None and c["cpu"] < 0:
        raise client_error(f"Invalid 'cpu' setting for container '{name}'.")
    if c.get("healthCheck"):
        _check_health(name, c["healthCheck"])
    ports = []
    for pm in c.get("portMappings") or []:
        container_port, host_port = pm.get("containerPort"), pm.get("hostPort")
        if container_port is None or not 0 < container_port < 65536 or \
                (host_port is not None and not 0 <= host_port < 65536):
            raise client_error(f"Invalid port mapping for container '{name}': ports are 1-65535.")
        if mode in ("awsvpc", "host"):
            if host_port not in (None, container_port):
                raise client_error(f"When networkMode={mode}, the host ports and container ports in port "
                                   "mappings must match.")
            host_port = container_port
        ports.append({**pm, "containerPort": container_port, "hostPort": host_port if host_port is not None else 0,
                      "protocol": pm.get("protocol") or "tcp"})
    return {**c, "cpu": c.get("cpu", 0), "essential": c.get("essential", True), "portMappings": ports,
            "environment": c.get("environment") or [], "mountPoints": c.get("mountPoints") or [],
            "volumesFrom": c.get("volumesFrom") or [], "systemControls": c.get("systemControls") or []}


_HEALTH_RANGES = {"interval": (5, 300), "timeout": (2, 60), "retries": (1, 10), "startPeriod": (0, 300)}


def _check_health(name: str, check: dict) -> None:
    command = check.get("command") or []
    if len(command) < 2 or command[0] not in ("CMD", "CMD-SHELL"):
        raise client_error(f"Invalid 'healthCheck' setting for container '{name}': the command must start with "
                           "CMD or CMD-SHELL, followed by what to run.")
    for field, (low, high) in _HEALTH_RANGES.items():
        if check.get(field) is not None and not low <= check[field] <= high:
            raise client_error(f"Invalid 'healthCheck' setting for container '{name}': {field} must be between "
                               f"{low} and {high}.")


def _check_logging(c: dict, fargate: bool, request: dict) -> None:
    driver = (c.get("logConfiguration") or {}).get("logDriver")
    if fargate and driver not in (None, "awslogs", "splunk", "awsfirelens"):
        raise client_error(f"Log driver {driver} is not supported on Fargate.")
    if driver != "awslogs":
        return
    options = c["logConfiguration"].get("options") or {}
    required = ["awslogs-group", "awslogs-region"] + (["awslogs-stream-prefix"] if fargate else [])
    for name in required:
        if not options.get(name):
            raise client_error(f"Log driver awslogs option '{name}' should not be null or empty.")
    if fargate and not request.get("executionRoleArn"):
        raise client_error("Fargate requires task definition to have execution role ARN to support log driver "
                           "awslogs.")


def check(request: dict) -> dict:
    """The definition to store (without family/revision bookkeeping); ClientException if
    ECS would refuse it."""
    family = request["family"]
    if not _FAMILY.match(family):
        raise client_error("Family contains invalid characters or is too long: up to 255 letters (uppercase and "
                           "lowercase), numbers, hyphens, and underscores are allowed.")
    requires = request.get("requiresCompatibilities") or []
    fargate = "FARGATE" in requires
    mode = request.get("networkMode") or ("awsvpc" if fargate else "bridge")
    if mode not in NETWORK_MODES:
        raise client_error(f"Network mode {mode} is not supported.")
    cpu, memory = task_size(request.get("cpu"), "cpu"), task_size(request.get("memory"), "memory")
    if fargate:
        if mode != "awsvpc":
            raise client_error("Fargate only supports network mode \u2018awsvpc\u2019.")
        if cpu is None:
            raise client_error("Fargate requires task definition to have 'cpu' defined at the task level.")
        if memory is None:
            raise client_error("Fargate requires task definition to have 'memory' defined at the task level.")
        if memory not in FARGATE_SIZES.get(cpu, []):
            raise client_error(f"No Fargate configuration exists for given values: {cpu} CPU, {memory} memory. "
                               "See the Amazon ECS documentation for the valid combinations.")
    containers = request.get("containerDefinitions") or []
    if not containers:
        raise client_error("Container list cannot be empty.")
    names: set[str] = set()
    checked = [_check_container(c, mode, memory, names) for c in containers]
    for c in checked:
        check_sysctls(c, mode)
    refusal = fargate_refusal(request, checked)
    if fargate and refusal:
        raise refusal
    if not any(c["essential"] for c in checked):
        raise client_error("Task definition must have at least one essential container.")
    if cpu is not None and sum(c["cpu"] for c in checked) > cpu:
        raise client_error("The total 'cpu' of all containers exceeds the task's 'cpu'.")
    volumes = {v.get("name") for v in request.get("volumes") or []}
    for v in request.get("volumes") or []:
        if not v.get("name"):
            raise client_error("Volume name should not be null or empty.")
        if fargate and (v.get("host") or {}).get("sourcePath"):
            raise client_error(f"Invalid volume '{v['name']}': host volumes with a sourcePath are not supported "
                               "by the Fargate launch type.")
    for c in checked:
        for source in c.get("volumesFrom") or []:
            if source.get("sourceContainer") not in names or source.get("sourceContainer") == c["name"]:
                raise client_error(f"Invalid 'volumesFrom' setting for container '{c['name']}': container "
                                   f"'{source.get('sourceContainer')}' is not defined in the task definition.")
    for c in checked:
        for dep in c.get("dependsOn") or []:
            if dep.get("containerName") not in names or dep.get("containerName") == c["name"]:
                raise client_error(f"Invalid container dependency for container '{c['name']}': container "
                                   f"'{dep.get('containerName')}' is not defined in the task definition.")
            if dep.get("condition") not in ("START", "COMPLETE", "SUCCESS", "HEALTHY"):
                raise client_error(f"Invalid condition '{dep.get('condition')}' in the dependsOn of container "
                                   f"'{c['name']}'.")
            if dep["condition"] == "HEALTHY" and not next(x for x in checked
                                                            if x["name"] == dep["containerName"]).get("healthCheck"):
                raise client_error(f"Container '{dep['containerName']}' must have a healthCheck for container "
                                   f"'{c['name']}' to depend on it being HEALTHY.")
        for mp in c["mountPoints"]:
            if mp.get("sourceVolume") not in volumes:
                raise client_error(f"Invalid 'mountPoints' setting for container '{c['name']}': volume "
                                   f"'{mp.get('sourceVolume')}' is not defined in the task definition.")
        _check_logging(c, fargate, request)
    compatibilities = ["EC2"] + (["FARGATE"] if mode == "awsvpc" and cpu and memory in
                                 FARGATE_SIZES.get(cpu, []) and refusal is None else [])
    out = {"containerDefinitions": checked, "family": family, "networkMode": mode,
           "volumes": request.get("volumes") or [], "placementConstraints": request.get("placementConstraints") or [],
           "compatibilities": compatibilities, "requiresCompatibilities": requires or None}
    for key in ("taskRoleArn", "executionRoleArn", "pidMode", "ipcMode", "runtimePlatform", "ephemeralStorage"):
        if request.get(key) is not None:
            out[key] = request[key]
    out["requiresAttributes"] = required_attributes(out)
    if cpu is not None:
        out["cpu"] = str(cpu)
    if memory is not None:
        out["memory"] = str(memory)
    return out
