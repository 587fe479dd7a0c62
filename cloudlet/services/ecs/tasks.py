"""ECS tasks: RunTask records what should run and answers at once (PROVISIONING); the task
controller (cloudlet/control/tasks.py) makes it so and writes back what happened. StopTask
only asks; DescribeTasks and ListTasks read what is recorded."""

from __future__ import annotations

import json

from cloudlet.control.capacity import need_of, placeable
from cloudlet.control.placement import PlacementError, place
from cloudlet.control.records import new_task, public
from cloudlet.edge.errors import AWSError
from cloudlet.ids import now
from cloudlet.services.common import pagination, tags
from cloudlet.services.ec2.security_groups import find_group, resolve_groups
from cloudlet.services.ec2.vpcs import find_subnet
from cloudlet.store.schema import ecs_tasks as table

from . import taskdefs
from .common import find_cluster, invalid

MAX_COUNT = 10
MAX_SUBNETS, MAX_GROUPS = 16, 5  # what an awsvpcConfiguration may name, as ECS documents


def launch_of(request, cluster: dict) -> tuple[str, str | None]:
    """(launch type, capacity provider) from the request or the cluster's default strategy."""
    strategy = request.get("capacityProviderStrategy") or ([] if request.get("launchType") else
                                                           json.loads(cluster["default_strategy"]))
    if request.get("launchType") and request.get("capacityProviderStrategy"):
        raise invalid("Specifying both a launch type and capacity provider strategy is not supported. Remove one "
                      "and try again.")
    if strategy:
        provider = max(strategy, key=lambda s: (s.get("base", 0), s.get("weight", 0)))["capacityProvider"]
        if provider not in ("FARGATE", "FARGATE_SPOT"):
            raise invalid(f"The specified capacity provider '{provider}' does not exist.")
        return "FARGATE", provider
    return request.get("launchType") or "EC2", None


def check_launch(definition: dict, launch: str) -> None:
    """A task definition runs on FARGATE only if it says it is compatible."""
    if launch == "FARGATE" and "FARGATE" not in definition["compatibilities"]:
        raise invalid("Task definition does not support launch_type FARGATE.")


def _ec2_refusal(what: str, name: str, look_up):
    """ECS's answer when EC2 refuses what awsvpcConfiguration names: EC2's message inside its own."""
    try:
        return look_up()
    except AWSError as e:
        raise invalid(f"Error retrieving {what} information for [{name}]: {e.message} (ErrorCode: {e.code})") from None


def network_of(db, request, definition: dict, pool: str, launch: str) -> dict:
    """The task's network notes, which the task controller makes its ENI from: for awsvpc, the
    subnet, its security groups ([{GroupId, GroupName}], the VPC's default group when none is
    named) and whether it gets a public IP (assignPublicIp, Fargate only)."""
    mode = definition["networkMode"]
    config = (request.get("networkConfiguration") or {}).get("awsvpcConfiguration")
    if mode != "awsvpc":
        if config:
            raise invalid("Network Configuration is not valid for the given networkMode of this task definition.")
        return {"mode": mode}
    if not config:
        raise invalid("Network Configuration must be provided when networkMode 'awsvpc' is specified.")
    subnet_ids = config.get("subnets") or []
    if not subnet_ids:
        raise invalid("subnets can not be empty.")
    if len(subnet_ids) > MAX_SUBNETS:
        raise invalid(f"subnets can have at most {MAX_SUBNETS} items.")
    found = [_ec2_refusal("subnet", s, lambda s=s: find_subnet(db, s, pool)) for s in subnet_ids]
    first = found[0]
    for subnet in found[1:]:
        if subnet["vpc_id"] != first["vpc_id"]:
            raise invalid(f"Subnets {first['subnet_id']} and {subnet['subnet_id']} are not in the same VPC.")
    group_ids = list(dict.fromkeys(config.get("securityGroups") or []))
    if len(group_ids) > MAX_GROUPS:
        raise invalid(f"securityGroups can have at most {MAX_GROUPS} items.")
    for group_id in group_ids:  # one that exists in another VPC is not found in this one, as on AWS
        _ec2_refusal("security group", group_id, lambda g=group_id: (
            find_group(db, pool, group_id=g), resolve_groups(db, first["vpc_id"], [g])))
    public = config.get("assignPublicIp") or "DISABLED"  # the model's enum: the edge refused anything else
    if public == "ENABLED" and launch != "FARGATE":
        raise invalid("Assign public IP is not supported for this launch type.")
    return {"mode": mode, "subnet": first["subnet_id"], "cidr": first["cidr"], "zone": first["zone"],
            "securityGroups": resolve_groups(db, first["vpc_id"], group_ids), "assignPublicIp": public == "ENABLED"}


def check_overrides(definition: dict, overrides: dict) -> None:
    names = {c["name"] for c in definition["containerDefinitions"]}
    for o in overrides.get("containerOverrides") or []:
        if o.get("name") not in names:
            raise invalid(f"Override for container named {o.get('name')} is not a container in the TaskDefinition.")


class Tasks:
    def run_task(self, ctx, request):
        count = request.get("count") or 1
        if not 1 <= count <= MAX_COUNT:
            raise invalid(f"count must be between 1 and {MAX_COUNT}.")
        with ctx.write() as db:
            cluster = find_cluster(db, request.get("cluster"))
            row = taskdefs.find(db, request["taskDefinition"], active_only=True)
            definition = json.loads(row["body"])
            launch, provider = launch_of(request, cluster)
            check_launch(definition, launch)
            network = network_of(db, request, definition, self.config.vpc_pool, launch)
            overrides = request.get("overrides") or {}
            check_overrides(definition, overrides)
            group = request.get("group") or f"family:{definition['family']}"
            if launch == "FARGATE":
                hosts, failures = [None] * count, []
            else:
                hosts, failures = self._place(db, cluster, definition, group, count, request)
            tasks = [new_task(db, cluster, definition, network, provider=provider, overrides=overrides, group=group,
                              started_by=request.get("startedBy"), tags_given=request.get("tags"),
                              instance_arn=host.arn if host else None) for host in hosts]
            for task in tasks if request.get("tags") else []:
                tags.put(db, task["taskArn"], "task", tags.from_pairs(request["tags"], "key", "value"))
        self.wake_controller()
        return {"tasks": [public(t) for t in tasks], "failures": failures}

    def start_task(self, ctx, request):
        """A task on each container instance named: no strategy chooses, but it must fit."""
        refs = request["containerInstances"]
        if not 1 <= len(refs) <= MAX_COUNT:
            raise invalid(f"containerInstances must name between 1 and {MAX_COUNT} container instances.")
        with ctx.write() as db:
            cluster = find_cluster(db, request.get("cluster"))
            definition = json.loads(taskdefs.find(db, request["taskDefinition"], active_only=True)["body"])
            network = network_of(db, request, definition, self.config.vpc_pool, "EC2")
            overrides = request.get("overrides") or {}
            check_overrides(definition, overrides)
            group = request.get("group") or f"family:{definition['family']}"
            by_id = {i.arn.rsplit("/", 1)[1]: i for i in placeable(db, cluster)}
            tasks, failures = [], []
            for ref in refs:
                instance = by_id.get(ref.rsplit("/", 1)[-1])
                if instance is None:
                    failures.append({"arn": ref, "reason": "MISSING"})
                    continue
                _, refused = place([instance], need_of(definition, group), 1, [],
                                   request.get("placementConstraints") or [])
                if refused:
                    failures += refused
                    continue
                tasks.append(new_task(db, cluster, definition, network, provider=None, overrides=overrides,
                                      group=group, started_by=request.get("startedBy"),
                                      tags_given=request.get("tags"), instance_arn=instance.arn))
        self.wake_controller()
        return {"tasks": [public(t) for t in tasks], "failures": failures}

    def _place(self, db, cluster: dict, definition: dict, group: str, count: int, request) -> tuple[list, list]:
        """Container instances for `count` EC2 tasks, and ECS's failures for those left over."""
        instances = placeable(db, cluster)
        if not instances:
            return [], [{"arn": cluster["arn"], "reason": "No Container Instances were found in your cluster."}]
        constraints = (request.get("placementConstraints") or []) + definition.get("placementConstraints", [])
        try:
            return place(instances, need_of(definition, group), count,
                         request.get("placementStrategy") or [{"type": "random"}], constraints)
        except PlacementError as e:
            raise invalid(str(e)) from None

    def describe_tasks(self, ctx, request):
        tasks, failures = [], []
        with ctx.read() as db:
            cluster = find_cluster(db, request.get("cluster"))
            for ref in request["tasks"]:
                task_id = ref.rsplit("/", 1)[-1]
                row = db.one(table, table.c.task_id == task_id, table.c.cluster == cluster["name"])
                if row is None:
                    failures.append({"arn": ref, "reason": "MISSING"})
                else:
                    tasks.append(public(json.loads(row["body"])))
        return {"tasks": tasks, "failures": failures}

    def list_tasks(self, ctx, request):
        desired = request.get("desiredStatus") or "RUNNING"
        with ctx.read() as db:
            cluster = find_cluster(db, request.get("cluster"))
            rows = db.select(table, table.c.cluster == cluster["name"], table.c.desired_status == desired)
        bodies = [json.loads(r["body"]) for r in rows]
        if request.get("family"):
            bodies = [b for b in bodies if b["group"] == f"family:{request['family']}" or
                      taskdefs.parse_ref(b["taskDefinitionArn"])[0] == request["family"]]
        if request.get("startedBy"):
            bodies = [b for b in bodies if b.get("startedBy") == request["startedBy"]]
        if request.get("launchType"):
            bodies = [b for b in bodies if b["launchType"] == request["launchType"]]
        page, token = pagination.page(bodies, lambda b: b["taskArn"], request.get("nextToken"),
                                      request.get("maxResults"), default=100, maximum=100)
        return {"taskArns": [b["taskArn"] for b in page], "nextToken": token}

    def stop_task(self, ctx, request):
        task_id = request["task"].rsplit("/", 1)[-1]
        with ctx.write() as db:
            cluster = find_cluster(db, request.get("cluster"))
            row = db.one(table, table.c.task_id == task_id, table.c.cluster == cluster["name"])
            if row is None:
                raise invalid("The referenced task was not found.")
            body = json.loads(row["body"])
            if body["desiredStatus"] != "STOPPED":
                body.update(desiredStatus="STOPPED", stopCode="UserInitiated", stoppingAt=now(),
                            stoppedReason=request.get("reason") or "Task stopped by user",
                            version=body["version"] + 1)
                db.update(table, table.c.task_id == task_id, desired_status="STOPPED", body=json.dumps(body),
                          updated_at=now())
        self.wake_controller()
        return {"task": public(body)}
