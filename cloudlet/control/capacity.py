"""What container instances have left for EC2 tasks, counted from the tasks placed on them
(never stored), for placement and for DescribeContainerInstances alike.

Every RunTask reads all of its cluster's instances and live tasks; parsing their JSON bodies
was most of what a placement cost (a thousand instances: tens of milliseconds). What placement
needs of a body is kept by the body's text (its length and hash, never the text: Python's
string hash is keyed per process, so a tenant cannot make two bodies collide), and a body
is parsed again only once its text changed."""

from __future__ import annotations

import json

from cloudlet.store.schema import ecs_container_instances as table
from cloudlet.store.schema import ecs_tasks

from .placement import Instance, Need

_MOST = 20_000  # entries in each memo; past it, it starts again (bodies of tasks long stopped)
_instances: dict[tuple[int, int], tuple] = {}
_tasks: dict[tuple[int, int], tuple] = {}


def task_need(body: dict) -> tuple[int, int, set[int]]:
    """CPU units, MiB and static host ports a task takes from its container instance."""
    definition = body["_run"]["definition"]
    containers = definition["containerDefinitions"]
    cpu = int(definition.get("cpu") or sum(c.get("cpu", 0) for c in containers))
    memory = int(definition.get("memory") or sum(c.get("memory") or c.get("memoryReservation") or 0
                                                 for c in containers))
    ports = set()
    if definition["networkMode"] in ("bridge", "host"):
        ports = {p["hostPort"] for c in containers for p in c.get("portMappings") or [] if p.get("hostPort")}
    return cpu, memory, ports


def need_of(definition: dict, group: str) -> Need:
    """What a task of this definition asks of the instance it is placed on."""
    cpu, memory, ports = task_need({"_run": {"definition": definition}})
    return Need(cpu, memory, ports, group, [a["name"] for a in definition.get("requiresAttributes") or []])


def registered(body: dict) -> dict[str, object]:
    out = {}
    for r in body["registeredResources"]:
        out[r["name"]] = r["integerValue"] if r["type"] == "INTEGER" else set(r.get("stringSetValue") or [])
    return out



def live_tasks(db, cluster: str) -> list[dict]:
    rows = db.select(ecs_tasks, ecs_tasks.c.cluster == cluster, ecs_tasks.c.last_status != "STOPPED")
    return [json.loads(r["body"]) for r in rows]


def _memo(memo: dict, text: str, make):
    key = (len(text), hash(text))
    found = memo.get(key)
    if found is None:
        if len(memo) >= _MOST:
            memo.clear()
        found = memo[key] = make(json.loads(text))
    return found


def _placed(body: dict) -> tuple:
    cpu, memory, ports = task_need(body)
    running = body["lastStatus"] == "RUNNING"
    return body.get("containerInstanceArn"), cpu, memory, frozenset(ports), body["group"], running


def usage(db, cluster: str) -> dict[str, dict]:
    """Per container instance ARN: cpu, memory, ports, task groups and counts its live tasks take."""
    out: dict[str, dict] = {}
    for text in db.column(ecs_tasks.c.body, ecs_tasks.c.cluster == cluster, ecs_tasks.c.last_status != "STOPPED"):
        arn, cpu, memory, ports, group, running = _memo(_tasks, text, _placed)
        if not arn:
            continue
        u = out.setdefault(arn, {"cpu": 0, "memory": 0, "ports": set(), "groups": {}, "running": 0, "pending": 0})
        u["cpu"] += cpu
        u["memory"] += memory
        u["ports"] |= ports
        u["groups"][group] = u["groups"].get(group, 0) + 1
        u["running" if running else "pending"] += 1
    return out


def _capacity(body: dict) -> tuple:
    reg = registered(body)
    return (body["containerInstanceArn"], body["ec2InstanceId"], reg["CPU"], reg["MEMORY"],
            frozenset(int(p) for p in reg.get("PORTS", set())), {a["name"]: a.get("value") for a in body["attributes"]})


def placeable(db, cluster: str) -> list[Instance]:
    """The cluster's ACTIVE instances with what remains on them, for control/placement.py."""
    used = usage(db, cluster)
    out = []
    for text in db.column(table.c.body, table.c.cluster == cluster, table.c.status == "ACTIVE"):
        arn, ec2_id, cpu, memory, ports, attributes = _memo(_instances, text, _capacity)
        u = used.get(arn, {"cpu": 0, "memory": 0, "ports": set(), "groups": {}})
        # fresh objects: placement takes what it places from them
        out.append(Instance(arn, ec2_id, cpu - u["cpu"], memory - u["memory"], set(ports) | u["ports"],
                            dict(attributes), dict(u["groups"])))
    return out
