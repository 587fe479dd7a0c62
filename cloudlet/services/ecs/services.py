"""ECS services: what should keep running, recorded here; the service controller
(cloudlet/control/services.py) keeps the count, rolls deployments and writes the events."""

from __future__ import annotations

import json
import re
import secrets

from cloudlet.control.records import public
from cloudlet.edge.errors import AWSError
from cloudlet.ids import now
from cloudlet.services.common import pagination, tags
from cloudlet.store.schema import ecs_services as table

from . import balancers, taskdefs
from .common import find_cluster, find_service, invalid
from .task_sets import external, external_fields, update_external
from .tasks import check_launch, launch_of, network_of

_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,255}$")


def _deployment_config(given: dict | None, current: dict | None = None) -> dict:
    config = {"deploymentCircuitBreaker": {"enable": False, "rollback": False}, "maximumPercent": 200,
              "minimumHealthyPercent": 100, **(current or {}), **(given or {})}
    if not 0 <= config["minimumHealthyPercent"] <= 100:
        raise invalid("minimumHealthyPercent must be between 0 and 100.")
    # With neither room above nor below the desired count, no task could ever be replaced.
    if config["maximumPercent"] < 100 or config["maximumPercent"] <= config["minimumHealthyPercent"]:
        raise invalid("maximumPercent must be at least 100 and greater than minimumHealthyPercent.")
    return config


def _configure(body: dict, request) -> None:
    if request.get("deploymentConfiguration"):
        body["deploymentConfiguration"] = _deployment_config(request["deploymentConfiguration"],
                                                             body["deploymentConfiguration"])


def new_deployment(definition: dict, desired: int, network_config, launch: str) -> dict:
    stamp = now()
    return {"id": f"ecs-svc/{secrets.randbelow(10**19):019d}", "status": "PRIMARY",
            "taskDefinition": definition["taskDefinitionArn"], "desiredCount": desired, "pendingCount": 0,
            "runningCount": 0, "failedTasks": 0, "createdAt": stamp, "updatedAt": stamp, "launchType": launch,
            "platformVersion": "1.4.0", "networkConfiguration": network_config, "rolloutState": "IN_PROGRESS",
            "rolloutStateReason": "ECS deployment ecs-svc in progress."}


def _controller(request) -> str:
    """ECS's own deployment controller, or EXTERNAL (task sets); CODE_DEPLOY deploys through
    CodeDeploy, which cloudlet has not, and a service of its would never run a task."""
    kind = (request.get("deploymentController") or {}).get("type") or "ECS"
    if kind == "CODE_DEPLOY":
        raise invalid("The CODE_DEPLOY deployment controller is not supported here: cloudlet has no CodeDeploy. Use "
                      "the ECS or the EXTERNAL deployment controller.")
    return kind


class Services:
    def create_service(self, ctx, request):
        name = request["serviceName"]
        if not _NAME.match(name):
            raise invalid("Service name must be 1-255 letters, numbers, hyphens and underscores.")
        controller = _controller(request)
        if controller == "ECS" and not request.get("taskDefinition"):
            raise invalid("A task definition is required for a service that uses the ECS deployment controller.")
        strategy = request.get("schedulingStrategy") or "REPLICA"
        desired = request.get("desiredCount")
        if controller == "EXTERNAL":
            if strategy == "DAEMON":
                raise invalid("The DAEMON scheduling strategy is not supported with the EXTERNAL deployment "
                              "controller.")
            desired = desired or 0  # only the service's name is required: its task sets' scale does the rest
        if strategy == "REPLICA" and desired is None:
            raise invalid("desiredCount is required for services with the REPLICA scheduling strategy.")
        if strategy == "DAEMON":
            if desired is not None:
                raise invalid("The daemon scheduling strategy does not support a desired count for services.")
            desired = 0  # one task per container instance: the controller counts them
        if desired < 0:
            raise invalid("desiredCount can't be negative.")
        with ctx.write() as db:
            cluster = find_cluster(db, request.get("cluster"))
            existing = db.one(table, table.c.cluster == cluster["name"], table.c.name == name)
            if existing is not None and existing["status"] != "INACTIVE":
                raise invalid("Creation of service was not idempotent.")
            arn = ctx.arn("ecs", f"service/{cluster['name']}/{name}")
            body = {
                "serviceArn": arn, "serviceName": name, "clusterArn": cluster["arn"], "serviceRegistries": [],
                "status": "ACTIVE", "desiredCount": desired, "runningCount": 0, "pendingCount": 0,
                "deploymentConfiguration": _deployment_config(request.get("deploymentConfiguration")),
                "events": [], "createdAt": now(), "placementConstraints": request.get("placementConstraints") or [],
                "placementStrategy": request.get("placementStrategy") or [], "schedulingStrategy": strategy,
                "deploymentController": {"type": controller}, "createdBy": ctx.caller_arn,
                "enableECSManagedTags": bool(request.get("enableECSManagedTags")),
                "propagateTags": request.get("propagateTags") or "NONE", "enableExecuteCommand": False,
            }
            body.update(self._deployed(db, request, cluster, strategy, desired) if controller == "ECS" else
                        external_fields(db, request))
            if existing is None:
                db.insert(table, cluster=cluster["name"], name=name, status="ACTIVE", body=json.dumps(body),
                          updated_at=now())
            else:
                db.update(table, table.c.cluster == cluster["name"], table.c.name == name, status="ACTIVE",
                          body=json.dumps(body), updated_at=now())
            if request.get("tags"):
                tags.put(db, arn, "service", tags.from_pairs(request["tags"], "key", "value"))
        self.wake_controller()
        return {"service": public(body)}

    def _deployed(self, db, request, cluster: dict, strategy: str, desired: int) -> dict:
        """The fields of a service of ECS's own controller: its first deployment and what it runs."""
        definition = json.loads(taskdefs.find(db, request["taskDefinition"], active_only=True)["body"])
        launch, provider = launch_of(request, cluster)
        if launch == "FARGATE" and strategy == "DAEMON":
            raise invalid("The DAEMON scheduling strategy does not support the FARGATE launch type.")
        check_launch(definition, launch)
        network = network_of(db, request, definition, self.config.vpc_pool, launch)
        behind = balancers.check(db, request.get("loadBalancers"), definition)
        grace = balancers.grace(request.get("healthCheckGracePeriodSeconds"), behind)
        deployment = new_deployment(definition, desired, request.get("networkConfiguration"), launch)
        fields = {"loadBalancers": behind, "launchType": launch, "platformVersion": "1.4.0", "platformFamily": "Linux",
                  "taskDefinition": definition["taskDefinitionArn"], "deployments": [deployment],
                  "networkConfiguration": request.get("networkConfiguration"),
                  "_run": {"network": network, "provider": provider, "launch": launch,
                           "definitions": {deployment["id"]: definition}, "balancers": {deployment["id"]: behind}}}
        if grace is not None:
            fields["healthCheckGracePeriodSeconds"] = grace
        return fields

    def update_service(self, ctx, request):
        with ctx.write() as db:
            cluster = find_cluster(db, request.get("cluster"))
            row = find_service(db, cluster["name"], request["service"])
            body = json.loads(row["body"])
            if body["status"] != "ACTIVE":
                raise AWSError("ServiceNotActiveException", "Service was not ACTIVE.")
            if request.get("deploymentController") and request["deploymentController"].get("type") != \
                    body["deploymentController"]["type"]:
                raise invalid("The deployment controller of a service cannot be changed here.")
            if external(body):
                update_external(body, request)
                _configure(body, request)
            else:
                self._redeploy(db, body, request)
            db.update(table, table.c.cluster == cluster["name"], table.c.name == row["name"], body=json.dumps(body),
                      updated_at=now())
        self.wake_controller()
        return {"service": public(body)}

    def _redeploy(self, db, body: dict, request) -> None:
        """UpdateService of a service of ECS's own controller: its count, network, grace period,
        and a new deployment where its task definition, network or load balancers change."""
        if request.get("desiredCount") is not None and body["schedulingStrategy"] == "REPLICA":
            if request["desiredCount"] < 0:
                raise invalid("desiredCount can't be negative.")
            body["desiredCount"] = request["desiredCount"]
        _configure(body, request)
        if request.get("networkConfiguration"):
            definition = json.loads(taskdefs.find(db, body["taskDefinition"])["body"])
            body["_run"]["network"] = network_of(db, request, definition, self.config.vpc_pool, body["launchType"])
            body["networkConfiguration"] = request["networkConfiguration"]
        changed = request.get("taskDefinition") and \
            taskdefs.find(db, request["taskDefinition"], active_only=True)["arn"] != body["taskDefinition"]
        rebalance = request.get("loadBalancers") is not None  # ECS deploys a changed configuration
        if changed or request.get("forceNewDeployment") or request.get("networkConfiguration") or rebalance:
            definition = json.loads(taskdefs.find(db, request.get("taskDefinition") or body["taskDefinition"],
                                                  active_only=True)["body"])
            check_launch(definition, body["launchType"])
            # the new definition must still have the containers and ports the service is behind
            body["loadBalancers"] = balancers.check(
                db, request["loadBalancers"] if rebalance else body["loadBalancers"], definition)
            for d in body["deployments"]:
                d["status"] = "ACTIVE"
            deployment = new_deployment(definition, body["desiredCount"], body["networkConfiguration"],
                                        body["launchType"])
            body["deployments"].insert(0, deployment)
            body["taskDefinition"] = definition["taskDefinitionArn"]
            body["_run"]["definitions"][deployment["id"]] = definition
            body["_run"].setdefault("balancers", {})[deployment["id"]] = body["loadBalancers"]
        grace = balancers.grace(request.get("healthCheckGracePeriodSeconds"), body["loadBalancers"],
                                body.get("healthCheckGracePeriodSeconds"))
        body.pop("healthCheckGracePeriodSeconds", None)
        if grace is not None:
            body["healthCheckGracePeriodSeconds"] = grace
        body["deployments"][0]["desiredCount"] = body["desiredCount"]

    def delete_service(self, ctx, request):
        with ctx.write() as db:
            cluster = find_cluster(db, request.get("cluster"))
            row = find_service(db, cluster["name"], request["service"])
            body = json.loads(row["body"])
            if body["desiredCount"] > 0 and not request.get("force"):
                raise invalid("The service cannot be stopped while it is scaled above 0.")
            body.update(status="DRAINING", desiredCount=0)
            for d in body["deployments"]:
                d["desiredCount"] = 0
            db.update(table, table.c.cluster == cluster["name"], table.c.name == row["name"], status="DRAINING",
                      body=json.dumps(body), updated_at=now())
        self.wake_controller()
        return {"service": public(body)}

    def describe_services(self, ctx, request):
        services, failures = [], []
        with ctx.read() as db:
            cluster = find_cluster(db, request.get("cluster"))
            for ref in request["services"]:
                row = db.one(table, table.c.cluster == cluster["name"], table.c.name == ref.rsplit("/", 1)[-1])
                if row is None:
                    failures.append({"arn": ref if ref.startswith("arn:") else
                                     ctx.arn("ecs", f"service/{cluster['name']}/{ref}"), "reason": "MISSING"})
                    continue
                body = public(json.loads(row["body"]))
                if "TAGS" in (request.get("include") or []):
                    body["tags"] = tags.to_pairs(tags.get(db, body["serviceArn"]), "key", "value")
                services.append(body)
        return {"services": services, "failures": failures}

    def list_services(self, ctx, request):
        with ctx.read() as db:
            cluster = find_cluster(db, request.get("cluster"))
            rows = db.select(table, table.c.cluster == cluster["name"], table.c.status != "INACTIVE")
        arns = sorted(json.loads(r["body"])["serviceArn"] for r in rows)
        page, token = pagination.page(arns, lambda a: a, request.get("nextToken"), request.get("maxResults"),
                                      default=10, maximum=100)
        return {"serviceArns": page, "nextToken": token}
