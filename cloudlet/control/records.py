"""A new ECS task's record, as RunTask and the service controller create it: the Task that
DescribeTasks shows, PROVISIONING, plus the "_run" notes the task controller works from."""

from __future__ import annotations

import json
import secrets

from cloudlet.ids import now
from cloudlet.store.schema import ecs_tasks


class TaskFailed(Exception):
    """The task cannot start: (stop code, reason of the task, reason of the container)."""

    def __init__(self, reason: str, container: str | None = None):
        super().__init__(reason)
        self.reason, self.container = reason, container


def public(body: dict) -> dict:
    """A task or service as the API shows it (the controllers' notes left out)."""
    return {k: v for k, v in body.items() if not k.startswith("_")}


def _containers(definition: dict, task_arn: str) -> list[dict]:
    prefix = task_arn.replace(":task/", ":container/")
    out = []
    for c in definition["containerDefinitions"]:
        entry = {"containerArn": f"{prefix}/{secrets.token_hex(16)}", "taskArn": task_arn, "name": c["name"],
                 "image": c["image"], "lastStatus": "PENDING", "networkInterfaces": [], "networkBindings": [],
                 "cpu": str(c.get("cpu", 0))}
        for key in ("memory", "memoryReservation"):
            if c.get(key) is not None:
                entry[key] = str(c[key])
        if c.get("healthCheck"):
            entry["healthStatus"] = "UNKNOWN"
        out.append(entry)
    return out


def new_task(db, cluster: dict, definition: dict, network: dict, *, provider: str | None, overrides: dict,
             group: str | None, started_by: str | None, tags_given: list[dict] | None = None,
             instance_arn: str | None = None) -> dict:
    """Insert a task of definition into the cluster: a FARGATE one, or an EC2 one placed on
    the container instance instance_arn; returns its body."""
    task_id = secrets.token_hex(16)
    arn = f"arn:aws:ecs:{db.region}:{db.account_id}:task/{cluster['name']}/{task_id}"
    body = {
        "taskArn": arn, "clusterArn": cluster["arn"], "taskDefinitionArn": definition["taskDefinitionArn"],
        "lastStatus": "PROVISIONING", "desiredStatus": "RUNNING", "launchType": "EC2" if instance_arn else "FARGATE",
        "platformFamily": "Linux",
        "cpu": definition.get("cpu"), "memory": definition.get("memory"), "createdAt": now(), "version": 1,
        "group": group or f"family:{definition['family']}", "connectivity": "CONNECTING", "startedBy": started_by,
        "overrides": {"containerOverrides": overrides.get("containerOverrides") or [],
                      "inferenceAcceleratorOverrides": []},
        "containers": _containers(definition, arn), "attachments": [], "tags": tags_given or [],
        "enableExecuteCommand": False, "ephemeralStorage": {"sizeInGiB": 20},
        "_run": {"definition": definition, "network": network, "containers": {}},
    }
    if instance_arn:
        body["containerInstanceArn"] = instance_arn
    else:
        body.update(capacityProviderName=provider or "FARGATE", platformVersion="1.4.0")
    if any(c.get("healthCheck") for c in definition["containerDefinitions"]):
        body["healthStatus"] = "UNKNOWN"
    if network["mode"] == "awsvpc":
        body["availabilityZone"] = network["zone"]
        body["attachments"] = [{"id": secrets.token_hex(16), "type": "ElasticNetworkInterface",
                                "status": "PRECREATED", "details": [{"name": "subnetId", "value": network["subnet"]}]}]
    db.insert(ecs_tasks, task_id=task_id, cluster=cluster["name"], desired_status="RUNNING",
              last_status="PROVISIONING", body=json.dumps(body), updated_at=now())
    return body
