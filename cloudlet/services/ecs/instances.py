"""ECS container instances: capacity that EC2 tasks are placed on. `cloudlet up --cluster NAME`
registers this host with its real CPUs and memory; RegisterContainerInstance registers more
(all of it runs on this host's engine: an instance is a share of it to place tasks on).
What remains on an instance is counted from the tasks placed there, never stored."""

from __future__ import annotations

import json
import os
import secrets

from cloudlet.config import zones
from cloudlet.control.capacity import fleet_changed, live_tasks, placeable, registered, usage
from cloudlet.control.placement import PlacementError, member_of
from cloudlet.ids import now
from cloudlet.services.common import pagination
from cloudlet.store.schema import ecs_container_instances as table
from cloudlet.store.schema import ecs_tasks

from .common import find_cluster, invalid
from .host_access import strip_granted

RESERVED_PORTS = ["22", "2375", "2376", "51678", "51679"]  # what the ECS agent keeps for itself
AGENT = {"agentVersion": "1.89.0", "agentHash": "cloudlet", "dockerVersion": "runc"}


def _resource(name: str, value) -> dict:
    if isinstance(value, int):
        return {"name": name, "type": "INTEGER", "doubleValue": 0.0, "longValue": 0, "integerValue": value}
    return {"name": name, "type": "STRINGSET", "doubleValue": 0.0, "longValue": 0, "integerValue": 0,
            "stringSetValue": sorted(value, key=int)}


def host_resources() -> tuple[int, int]:
    """This host's CPU units (1,024 per CPU) and memory in MiB, less what the host keeps."""
    with open("/proc/meminfo") as f:
        total_kib = int(next(line for line in f if line.startswith("MemTotal:")).split()[1])
    return (os.cpu_count() or 1) * 1024, max(256, total_kib // 1024 - 512)


def register(db, cluster: dict, *, cpu: int, memory: int, ec2_instance_id: str | None = None,
             zone: str | None = None, instance_type: str = "cloudlet.host", attributes=()) -> dict:
    """A new container instance (or the same one again, by its EC2 instance id)."""
    ec2_instance_id = ec2_instance_id or f"i-{secrets.token_hex(9)[:17]}"
    zone = zone or zones(db.region)[0]["ZoneName"]
    for row in db.select(table, table.c.cluster == cluster["name"], table.c.status != "INACTIVE"):
        if json.loads(row["body"])["ec2InstanceId"] == ec2_instance_id:
            instance_id = row["instance_id"]
            break
    else:
        instance_id = secrets.token_hex(16)
    arn = f"arn:aws:ecs:{db.region}:{db.account_id}:container-instance/{cluster['name']}/{instance_id}"
    attrs = {"ecs.availability-zone": zone, "ecs.instance-type": instance_type, "ecs.os-type": "linux",
             "ecs.cpu-architecture": "x86_64", "ecs.ami-id": "ami-cloudlet"}
    attrs.update({a["name"]: a.get("value") for a in attributes})
    body = {"containerInstanceArn": arn, "ec2InstanceId": ec2_instance_id, "version": 1, "versionInfo": AGENT,
            "registeredResources": [_resource("CPU", cpu), _resource("MEMORY", memory),
                                    _resource("PORTS", RESERVED_PORTS), _resource("PORTS_UDP", [])],
            "status": "ACTIVE", "agentConnected": True, "attributes": [{"name": k, "value": v} for k, v in
                                                                       sorted(attrs.items())],
            "registeredAt": now(), "attachments": [], "tags": []}
    db.delete(table, table.c.instance_id == instance_id)
    db.insert(table, cluster=cluster["name"], instance_id=instance_id, status="ACTIVE", body=json.dumps(body))
    fleet_changed(db, cluster["name"])
    return body


class ContainerInstances:
    def _describe_instance(self, body: dict, used: dict) -> dict:
        reg = registered(body)
        u = used.get(body["containerInstanceArn"], {"cpu": 0, "memory": 0, "ports": set(), "running": 0,
                                                    "pending": 0})
        remaining = [_resource("CPU", reg["CPU"] - u["cpu"]), _resource("MEMORY", reg["MEMORY"] - u["memory"]),
                     _resource("PORTS", sorted({*reg["PORTS"], *map(str, u["ports"])}, key=int)),
                     _resource("PORTS_UDP", [])]
        return {**body, "remainingResources": remaining, "runningTasksCount": u["running"],
                "pendingTasksCount": u["pending"]}

    def register_container_instance(self, ctx, request):
        try:
            identity = json.loads(request.get("instanceIdentityDocument") or "{}")
            if not isinstance(identity, dict):
                raise ValueError("not an object")
        except ValueError:
            raise invalid("instanceIdentityDocument is not a valid instance identity document.") from None
        # what the agent says the instance has, where it says it (a resource may lack its name or
        # value): the host's own figures otherwise
        total = {r.get("name"): r.get("integerValue") for r in request.get("totalResources") or []}
        cpu, memory = (value if isinstance(value, int) and value > 0 else host
                       for value, host in zip((total.get("CPU"), total.get("MEMORY")), host_resources()))
        with ctx.write() as db:
            cluster = find_cluster(db, request.get("cluster"))
            body = register(db, cluster, cpu=cpu, memory=memory,
                            ec2_instance_id=identity.get("instanceId"), zone=identity.get("availabilityZone"),
                            instance_type=identity.get("instanceType") or "cloudlet.host",
                            attributes=strip_granted(request.get("attributes") or []))
            return {"containerInstance": self._describe_instance(body, {})}

    def _instances(self, db, cluster: str, refs: list[str]) -> tuple[list[tuple[dict, dict]], list[dict]]:
        found, failures = [], []
        for ref in refs:
            row = db.one(table, table.c.cluster == cluster, table.c.instance_id == ref.rsplit("/", 1)[-1])
            if row is None:
                failures.append({"arn": ref, "reason": "MISSING"})
            else:
                found.append((row, json.loads(row["body"])))
        return found, failures

    def describe_container_instances(self, ctx, request):
        with ctx.read() as db:
            cluster = find_cluster(db, request.get("cluster"))
            found, failures = self._instances(db, cluster["name"], request["containerInstances"])
            used = usage(db, cluster["name"])
        return {"containerInstances": [self._describe_instance(body, used) for _, body in found], "failures": failures}

    def list_container_instances(self, ctx, request):
        with ctx.read() as db:
            cluster = find_cluster(db, request.get("cluster"))
            rows = db.select(table, table.c.cluster == cluster["name"])
            instances = {i.arn: i for i in placeable(db, cluster)}
        status = request.get("status")
        bodies = [json.loads(r["body"]) for r in rows if r["status"] != "INACTIVE" and
                  (not status or r["status"] == status)]
        if request.get("filter"):
            try:
                holds = member_of(request["filter"])
            except PlacementError as e:
                raise invalid(str(e)) from None
            bodies = [b for b in bodies if b["containerInstanceArn"] in instances and
                      holds(instances[b["containerInstanceArn"]])]
        page, token = pagination.page([b["containerInstanceArn"] for b in bodies], lambda a: a,
                                      request.get("nextToken"), request.get("maxResults"), default=100, maximum=100)
        return {"containerInstanceArns": page, "nextToken": token}

    def update_container_instances_state(self, ctx, request):
        status = request["status"]
        if status not in ("ACTIVE", "DRAINING"):
            raise invalid("Container instances can only be set ACTIVE or DRAINING.")
        with ctx.write() as db:
            cluster = find_cluster(db, request.get("cluster"))
            found, failures = self._instances(db, cluster["name"], request["containerInstances"])
            for row, body in found:
                body["status"] = status
                body["version"] += 1
                db.update(table, table.c.instance_id == row["instance_id"], status=status, body=json.dumps(body))
            fleet_changed(db, cluster["name"])
            used = usage(db, cluster["name"])
        self.wake_controller()
        return {"containerInstances": [self._describe_instance(body, used) for _, body in found], "failures": failures}

    def deregister_container_instance(self, ctx, request):
        with ctx.write() as db:
            cluster = find_cluster(db, request.get("cluster"))
            found, _ = self._instances(db, cluster["name"], [request["containerInstance"]])
            if not found:
                raise invalid("The referenced container instance was not found.")
            row, body = found[0]
            used = usage(db, cluster["name"]).get(body["containerInstanceArn"])
            if used and not request.get("force"):
                raise invalid("The specified container instance has tasks; deregister it with force, or stop them.")
            body.update(status="INACTIVE", agentConnected=False)
            db.update(table, table.c.instance_id == row["instance_id"], status="INACTIVE", body=json.dumps(body))
            fleet_changed(db, cluster["name"])
            if used:
                for t in live_tasks(db, cluster["name"]):
                    if t.get("containerInstanceArn") == body["containerInstanceArn"]:
                        t.update(desiredStatus="STOPPED", stopCode="TaskFailedToStart" if t["lastStatus"] != "RUNNING"
                                 else "UserInitiated", stoppedReason="Container instance deregistered",
                                 stoppingAt=now())
                        db.update(ecs_tasks, ecs_tasks.c.task_id == t["taskArn"].rsplit("/", 1)[1],
                                  desired_status="STOPPED", body=json.dumps(t))
        self.wake_controller()
        return {"containerInstance": self._describe_instance(body, {})}
