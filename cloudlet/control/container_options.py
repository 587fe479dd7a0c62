"""What the engine is asked for, for one container of an ECS task: its image, command,
environment, limits, mounts and privileges, from the task definition and the task's
overrides. Everything but the tasks that reach the host (privileges.py) runs in a user
namespace with a host id range of the task's own."""

from __future__ import annotations

import re

from cloudlet.agent.engine import RunOptions
from cloudlet.agent.network import PortMapping
from cloudlet.agent.runtime import BindMount, Device, TmpfsMount, Ulimit, VolumeMount

from .privileges import reaches_host

TASK_LABEL = "com.amazonaws.ecs.task-arn"
TASK_METADATA_ADDRESS = "169.254.170.2"  # the ECS task metadata endpoint (services/ecs/task_metadata.py)


def metadata_uris(task_id: str, container: str) -> dict[str, str]:
    """The environment a task's container finds its metadata endpoint by (versions 4 and 3)."""
    return {"ECS_CONTAINER_METADATA_URI_V4": f"http://{TASK_METADATA_ADDRESS}/v4/{task_id}-{container}",
            "ECS_CONTAINER_METADATA_URI": f"http://{TASK_METADATA_ADDRESS}/v3/{task_id}-{container}"}


def run_options(body: dict, c: dict, image: str, override: dict, name: str, secrets_env: dict) -> RunOptions:
    run = body["_run"]
    mode = run["network"]["mode"]
    memory = override.get("memory") or c.get("memory") or c.get("memoryReservation") or \
        (int(body["memory"]) if body.get("memory") else None)
    task_id = body["taskArn"].rsplit("/", 1)[1]
    # host networking has no DNAT of the endpoint: the host's own 169.254.170.2 is not ours to take
    env = metadata_uris(task_id, c["name"]) if mode != "host" else {}
    env.update({e["name"]: e["value"] for e in c.get("environment") or []})
    env.update({e["name"]: e["value"] for e in override.get("environment") or []})
    env.update(secrets_env)
    ports = [PortMapping(p["hostPort"], p["containerPort"], p["protocol"]) for p in c.get("portMappings") or []] \
        if mode == "bridge" else []
    cpu = override.get("cpu", c.get("cpu", 0))
    linux = c.get("linuxParameters") or {}
    caps = linux.get("capabilities") or {}
    definition = run["definition"]
    host = bool(reaches_host(definition))  # only ever on an instance that allows it (_start)
    return RunOptions(
        image=image, name=name, command=override.get("command") or c.get("command"),
        entrypoint=c.get("entryPoint"), env=env, ports=ports,
        network={"awsvpc": "none", "bridge": "bridge"}.get(mode, mode),
        memory=memory * 2**20 if memory else None, cpu_shares=max(2, cpu) if cpu else None,
        cpus=int(body["cpu"]) / 1024 if body.get("cpu") else None,
        user=c.get("user"), workdir=c.get("workingDirectory"),
        hostname=c.get("hostname") if mode in ("bridge", "none") else None,
        readonly_rootfs=bool(c.get("readonlyRootFilesystem")),
        ulimits=[Ulimit(u["name"], u["softLimit"], u["hardLimit"]) for u in c.get("ulimits") or []],
        mounts=_mounts(body, c), cap_add=caps.get("add") or [], cap_drop=caps.get("drop") or [],
        privileged=bool(c.get("privileged")) and host, devices=[_device(d) for d in linux.get("devices") or []],
        pid_mode="host" if definition.get("pidMode") == "host" else None,
        ipc_mode="host" if definition.get("ipcMode") == "host" else None,
        sysctls={s["namespace"]: s["value"] for s in c.get("systemControls") or []},
        userns=False if host else task_id,
        tmpfs=[TmpfsMount(t["containerPath"], t["size"] * 2**20) for t in linux.get("tmpfs") or []],
        stop_timeout=float(c.get("stopTimeout") or 30),
        labels={TASK_LABEL: body["taskArn"], "com.amazonaws.ecs.container-name": c["name"],
                "com.amazonaws.ecs.cluster": body["clusterArn"],
                "com.amazonaws.ecs.task-definition-family": run["definition"]["family"],
                **(c.get("dockerLabels") or {})})


def _mounts(body: dict, c: dict, read_only: bool = False) -> list:
    """mountPoints (and those of volumesFrom's containers) as engine mounts: a host volume
    is a bind mount, a shared docker volume a named volume, any other a volume of the
    task's own, which goes with it."""
    definition = body["_run"]["definition"]
    volumes = {v["name"]: v for v in definition.get("volumes") or []}
    out = []
    for mp in c.get("mountPoints") or []:
        volume, readonly = volumes[mp["sourceVolume"]], read_only or bool(mp.get("readOnly"))
        if (volume.get("host") or {}).get("sourcePath"):
            out.append(BindMount(volume["host"]["sourcePath"], mp["containerPath"], readonly))
        elif (volume.get("dockerVolumeConfiguration") or {}).get("scope") == "shared":
            out.append(VolumeMount(volume["name"], mp["containerPath"], readonly))
        else:
            out.append(VolumeMount(task_volume(body, volume["name"]), mp["containerPath"], readonly))
    for source in c.get("volumesFrom") or []:
        other = next(x for x in definition["containerDefinitions"] if x["name"] == source["sourceContainer"])
        out += _mounts(body, other, read_only or bool(source.get("readOnly")))
    return out


_DEVICE_PERMISSIONS = {"read": "r", "write": "w", "mknod": "m"}


def _device(d: dict) -> Device:
    access = "".join(_DEVICE_PERMISSIONS[p] for p in d.get("permissions") or ["read", "write", "mknod"])
    return Device(d["hostPath"], d.get("containerPath"), access)


def task_volume(body: dict, name: str) -> str:
    """The engine volume behind a task-scoped ECS volume."""
    return f"ecs-{body['taskArn'].rsplit('/', 1)[1][:12]}-{re.sub(r'[^A-Za-z0-9_.-]', '-', name)}"
