"""ECS task sets, for services of the EXTERNAL deployment controller: CreateTaskSet,
UpdateTaskSet, DeleteTaskSet, DescribeTaskSets and UpdateServicePrimaryTaskSet.

A task set carries what a deployment of ECS's own controller would (task definition, launch
type, network, load balancers) and a scale, the share of the service's desiredCount it keeps
running (computedDesiredCount, rounded up). The service controller runs each set's tasks
(startedBy: the set's id) and registers them in the set's target groups; an external
controller moves traffic by scaling sets up and down and by naming the primary one, whose
task definition, launch type, network and load balancers the service then shows."""

from __future__ import annotations

import json
import secrets

from cloudlet.control.records import public
from cloudlet.control.services import computed
from cloudlet.edge.errors import AWSError
from cloudlet.ids import now
from cloudlet.services.common import tags
from cloudlet.store.schema import ecs_services as table

from . import balancers, taskdefs
from .common import find_cluster, find_service, invalid
from .tasks import check_launch, launch_of, network_of

# what the primary task set gives the service it belongs to
PRIMARY_FIELDS = ("taskDefinition", "launchType", "capacityProviderStrategy", "platformVersion", "loadBalancers",
                  "networkConfiguration")


# cloudlet's own bound (AWS documents none): every set is in its service's record, which the
# service controller reads every round for all tenants
MAX_TASK_SETS = 20
# what a service of the EXTERNAL controller leaves to its task sets
_SET_BY_TASK_SETS = ("loadBalancers", "networkConfiguration", "launchType", "capacityProviderStrategy",
                     "platformVersion")


def external(body: dict) -> bool:
    return body.get("deploymentController", {}).get("type") == "EXTERNAL"


def _scale(given: dict | None) -> dict:
    scale = {"value": 100.0, "unit": "PERCENT", **(given or {})}
    if not 0 <= scale["value"] <= 100:
        raise invalid("The scale value must be between 0 and 100.")
    return {"value": float(scale["value"]), "unit": scale["unit"]}


def show_primary(body: dict) -> None:
    """The service's fields of its primary task set, once it has one."""
    primary = next((s for s in body["taskSets"] if s["status"] == "PRIMARY"), None)
    for key in PRIMARY_FIELDS if primary else ():
        body.pop(key, None)
        if primary.get(key) is not None:
            body[key] = primary[key]


def _refuse_set_by_task_sets(request, also: tuple[str, ...] = ()) -> None:
    for key in (*_SET_BY_TASK_SETS, *also):
        if request.get(key):
            raise invalid(f"{key} of a service of the EXTERNAL deployment controller is given by its task sets: "
                          "create a task set.")


def _grace(request, body: dict) -> None:
    given = request.get("healthCheckGracePeriodSeconds")
    if given is not None:  # checked as for a service behind load balancers: its task sets may be
        body["healthCheckGracePeriodSeconds"] = balancers.grace(given, [{}])


def external_fields(db, request) -> dict:
    """A new service of the EXTERNAL controller: no deployment, no task set yet; the task
    definition it names shown until a primary task set gives its own."""
    _refuse_set_by_task_sets(request)
    fields = {"taskSets": [], "deployments": [],
              "_run": {"network": None, "provider": None, "launch": None, "definitions": {}, "balancers": {}}}
    if request.get("taskDefinition"):
        fields["taskDefinition"] = taskdefs.find(db, request["taskDefinition"], active_only=True)["arn"]
    _grace(request, fields)
    return fields


def update_external(body: dict, request) -> None:
    """UpdateService of an EXTERNAL service: its desired count (each task set's share follows)
    and its grace period; the rest is its task sets'."""
    _refuse_set_by_task_sets(request, ("taskDefinition", "forceNewDeployment"))
    if request.get("desiredCount") is not None:
        if request["desiredCount"] < 0:
            raise invalid("desiredCount can't be negative.")
        body["desiredCount"] = request["desiredCount"]
        for task_set in body["taskSets"]:
            if task_set["status"] != "DRAINING":
                task_set["computedDesiredCount"] = computed(body["desiredCount"], task_set["scale"])
    _grace(request, body)


class TaskSets:
    def _external_service(self, db, request) -> tuple[dict, dict]:
        cluster = find_cluster(db, request.get("cluster"))
        body = json.loads(find_service(db, cluster["name"], request["service"])["body"])
        if not external(body):
            raise invalid("Amazon ECS only supports task set management on services configured to use external "
                          "deployment controllers.")
        return cluster, body

    def _save(self, db, cluster: dict, body: dict) -> None:
        show_primary(body)
        db.update(table, table.c.cluster == cluster["name"], table.c.name == body["serviceName"],
                  body=json.dumps(body), updated_at=now())

    @staticmethod
    def _find(body: dict, ref: str) -> dict:
        found = next((s for s in body["taskSets"] if ref in (s["id"], s["taskSetArn"], s["id"].split("/")[-1])), None)
        if found is None:
            raise AWSError("TaskSetNotFoundException", "The specified task set does not exist.")
        return found

    def create_task_set(self, ctx, request):
        with ctx.write() as db:
            cluster, body = self._external_service(db, request)
            if body["status"] != "ACTIVE":
                raise AWSError("ServiceNotActiveException", "Service was not ACTIVE.")
            run = body["_run"]
            token = request.get("clientToken")
            if token and token in run.setdefault("tokens", {}):
                return {"taskSet": public(self._find(body, run["tokens"][token]))}
            if len(body["taskSets"]) >= MAX_TASK_SETS:
                raise AWSError("LimitExceededException", f"A service can have at most {MAX_TASK_SETS} task sets: "
                               "delete one first.")
            definition = json.loads(taskdefs.find(db, request["taskDefinition"], active_only=True)["body"])
            launch, provider = launch_of(request, cluster)
            check_launch(definition, launch)
            network = network_of(db, request, definition, self.config.vpc_pool, launch)
            behind = balancers.check(db, request.get("loadBalancers"), definition)
            scale = _scale(request.get("scale"))
            set_id = f"ecs-svc/{secrets.randbelow(10**19):019d}"
            arn = ctx.arn("ecs", f"task-set/{cluster['name']}/{body['serviceName']}/{set_id.split('/')[1]}")
            stamp = now()
            task_set = {"id": set_id, "taskSetArn": arn, "serviceArn": body["serviceArn"], "clusterArn": cluster["arn"],
                        "status": "ACTIVE", "taskDefinition": definition["taskDefinitionArn"],
                        "computedDesiredCount": computed(body["desiredCount"], scale), "pendingCount": 0,
                        "runningCount": 0, "createdAt": stamp, "updatedAt": stamp, "launchType": launch,
                        "networkConfiguration": request.get("networkConfiguration"), "loadBalancers": behind,
                        "serviceRegistries": [], "scale": scale, "stabilityStatus": "STABILIZING",
                        "stabilityStatusAt": stamp}
            if launch == "FARGATE":
                task_set.update(platformVersion="1.4.0", platformFamily="Linux")
            if provider:
                task_set["capacityProviderStrategy"] = request.get("capacityProviderStrategy")
            if request.get("externalId"):
                task_set["externalId"] = request["externalId"]
            body["taskSets"].append(task_set)
            run["definitions"][set_id] = definition
            run.setdefault("networks", {})[set_id] = network
            run.setdefault("providers", {})[set_id] = provider
            run.setdefault("balancers", {})[set_id] = behind
            if token:
                run["tokens"][token] = set_id
            if request.get("tags"):
                tags.put(db, arn, "task-set", tags.from_pairs(request["tags"], "key", "value"))
            self._save(db, cluster, body)
        self.wake_controller()
        return {"taskSet": public(task_set)}

    def _change(self, ctx, request, member: str, change) -> dict:
        """The task set request[member] names, changed by change(body, task_set) and saved."""
        with ctx.write() as db:
            cluster, body = self._external_service(db, request)
            task_set = self._find(body, request[member])
            change(body, task_set)
            self._save(db, cluster, body)
        self.wake_controller()
        return {"taskSet": public(task_set)}

    def update_task_set(self, ctx, request):
        def rescale(body: dict, task_set: dict) -> None:
            if task_set["status"] == "DRAINING":
                raise invalid("The task set is being deleted and cannot be updated.")
            scale = _scale(request["scale"])
            task_set.update(scale=scale, updatedAt=now(), computedDesiredCount=computed(body["desiredCount"], scale))
        return self._change(ctx, request, "taskSet", rescale)

    def update_service_primary_task_set(self, ctx, request):
        def make_primary(body: dict, task_set: dict) -> None:
            if task_set["status"] == "DRAINING":
                raise invalid("A task set that is being deleted cannot be the primary task set.")
            for other in body["taskSets"]:
                if other["status"] == "PRIMARY":
                    other.update(status="ACTIVE", updatedAt=now())
            task_set.update(status="PRIMARY", updatedAt=now())
        return self._change(ctx, request, "primaryTaskSet", make_primary)

    def delete_task_set(self, ctx, request):
        def drain(body: dict, task_set: dict) -> None:
            if (task_set["computedDesiredCount"] or task_set["runningCount"] or task_set["pendingCount"]) and \
                    not request.get("force"):
                raise invalid("The task set cannot be deleted while it has tasks or is scaled above 0: scale it "
                              "to 0 first, or delete it with force.")
            task_set.update(status="DRAINING", computedDesiredCount=0, updatedAt=now())
        return self._change(ctx, request, "taskSet", drain)

    def describe_task_sets(self, ctx, request):
        with ctx.read() as db:
            _, body = self._external_service(db, request)
            wanted = request.get("taskSets")
            found, failures = [], []
            for ref in wanted if wanted is not None else [s["id"] for s in body["taskSets"]]:
                try:
                    task_set = public(self._find(body, ref))
                except AWSError:
                    failures.append({"arn": ref, "reason": "MISSING"})
                    continue
                if "TAGS" in (request.get("include") or []):
                    task_set["tags"] = tags.to_pairs(tags.get(db, task_set["taskSetArn"]), "key", "value")
                found.append(task_set)
        return {"taskSets": found, "failures": failures}
