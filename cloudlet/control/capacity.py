"""What container instances have left for EC2 tasks, counted from the tasks placed on them
(never stored), for placement and for DescribeContainerInstances alike."""

from __future__ import annotations

import json

from cloudlet.store.schema import ecs_container_instances as table
from cloudlet.store.schema import ecs_tasks

from .placement import Instance, Need


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


def usage(tasks: list[dict]) -> dict[str, dict]:
    """Per container instance ARN: cpu, memory, ports, task groups and counts its tasks take."""
    out: dict[str, dict] = {}
    for t in tasks:
        arn = t.get("containerInstanceArn")
        if not arn:
            continue
        cpu, memory, ports = task_need(t)
        u = out.setdefault(arn, {"cpu": 0, "memory": 0, "ports": set(), "groups": {}, "running": 0, "pending": 0})
        u["cpu"] += cpu
        u["memory"] += memory
        u["ports"] |= ports
        u["groups"][t["group"]] = u["groups"].get(t["group"], 0) + 1
        u["running" if t["lastStatus"] == "RUNNING" else "pending"] += 1
    return out


def placeable(db, cluster: str) -> list[Instance]:
    """The cluster's ACTIVE instances with what remains on them, for control/placement.py."""
    used = usage(live_tasks(db, cluster))
    out = []
    for row in db.select(table, table.c.cluster == cluster, table.c.status == "ACTIVE"):
        body = json.loads(row["body"])
        reg = registered(body)
        u = used.get(body["containerInstanceArn"], {"cpu": 0, "memory": 0, "ports": set(), "groups": {}})
        out.append(Instance(body["containerInstanceArn"], body["ec2InstanceId"], reg["CPU"] - u["cpu"],
                            reg["MEMORY"] - u["memory"], {int(p) for p in reg.get("PORTS", set())} | u["ports"],
                            {a["name"]: a.get("value") for a in body["attributes"]}, dict(u["groups"])))
    return out
