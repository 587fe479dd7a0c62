"""What container instances have left for EC2 tasks, counted from the tasks placed on them
(never stored), for placement and for DescribeContainerInstances alike.

Every RunTask needs all of its cluster's instances and live tasks; reading and parsing their
JSON bodies was most of what a placement cost (a thousand instances: tens of milliseconds).
The cluster's instances are kept whole, by the cluster's fleet stamp, which every change to
them renews in its own transaction. What placement needs of a live task is kept by the
body's text (its length and hash, never the text: Python's string hash is keyed per process,
so a tenant cannot make two bodies collide), and a body is parsed again only once its text
changed."""

from __future__ import annotations

import json
import secrets

from cloudlet.store.schema import ecs_container_instances as table
from cloudlet.store.schema import ecs_clusters, ecs_tasks

from .placement import Instance, Need

_MOST = 20_000  # entries in the memo of tasks; past it, it starts again (bodies of tasks long stopped)
_tasks: dict[tuple[int, int], tuple] = {}
_fleets: dict[tuple[str, str, str], tuple[str, list[tuple]]] = {}  # cluster -> (stamp, capacities)


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


def fleet_changed(db, cluster: str) -> None:
    """Call in the transaction that changes the cluster's container instances. A random stamp,
    not a counter: one a rolled-back transaction showed is never shown again."""
    db.update(ecs_clusters, ecs_clusters.c.name == cluster, fleet_stamp=secrets.token_hex(8))


def _fleet(db, cluster: dict) -> list[tuple]:
    key = (db.account_id, db.region, cluster["name"])
    kept = _fleets.get(key)
    if kept and cluster["fleet_stamp"] and kept[0] == cluster["fleet_stamp"]:
        return kept[1]
    texts = db.column(table.c.body, table.c.cluster == cluster["name"], table.c.status == "ACTIVE")
    capacities = [_capacity(json.loads(text)) for text in texts]
    _fleets[key] = cluster["fleet_stamp"], capacities
    return capacities


def placeable(db, cluster: dict) -> list[Instance]:
    """The cluster's ACTIVE instances with what remains on them, for control/placement.py.
    cluster: its row, read in the caller's transaction."""
    used = usage(db, cluster["name"])
    out = []
    for arn, ec2_id, cpu, memory, ports, attributes in _fleet(db, cluster):
        u = used.get(arn, {"cpu": 0, "memory": 0, "ports": set(), "groups": {}})
        # fresh objects: placement takes what it places from them
        out.append(Instance(arn, ec2_id, cpu - u["cpu"], memory - u["memory"], set(ports) | u["ports"],
                            dict(attributes), dict(u["groups"])))
    return out
