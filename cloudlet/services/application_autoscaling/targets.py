"""Scalable targets: what Application Auto Scaling may scale, and within which bounds.

cloudlet scales ECS services (ecs:service:DesiredCount of service/<cluster>/<service>); a
target of any other namespace is refused as AWS refuses a dimension it does not know. The
capacity is changed through ECS's own UpdateService, acting for the account, so the service
controller converges to it as it does to a user's change."""

from __future__ import annotations

import json
import time
import uuid

from cloudlet.edge.errors import AWSError
from cloudlet.services.context import acting_for
from cloudlet.store.schema import appscaling_objects as objects
from cloudlet.store.schema import ecs_services

DIMENSION = "ecs:service:DesiredCount"
ROLE = "AWSServiceRoleForApplicationAutoScaling_ECSService"


def invalid(message: str) -> AWSError:
    return AWSError("ValidationException", message)


def key(namespace: str, resource: str, dimension: str) -> str:
    return f"{namespace}|{resource}|{dimension}"


def check(request) -> tuple[str, str, str]:
    """(namespace, resource id, dimension) of a request naming a scalable target."""
    namespace, resource, dimension = request["ServiceNamespace"], request["ResourceId"], request["ScalableDimension"]
    parts = resource.split("/")
    if namespace != "ecs" or dimension != DIMENSION or len(parts) != 3 or parts[0] != "service" or not all(parts):
        raise invalid("Unsupported service namespace, resource type or scalable dimension")
    return namespace, resource, dimension


def not_registered(namespace: str, resource: str, dimension: str) -> AWSError:
    return AWSError("ObjectNotFoundException", f"No scalable target registered for service namespace: {namespace}, "
                                               f"resource ID: {resource}, scalable dimension: {dimension}")


def find(db, namespace: str, resource: str, dimension: str) -> dict:
    row = db.one(objects, objects.c.kind == "target", objects.c.key == key(namespace, resource, dimension))
    if row is None:
        raise not_registered(namespace, resource, dimension)
    return json.loads(row["body"])


def service_row(db, resource: str) -> dict | None:
    _, cluster, name = resource.split("/")
    return db.one(ecs_services, ecs_services.c.cluster == cluster, ecs_services.c.name == name,
                  ecs_services.c.status == "ACTIVE")


def register(db, ctx, request) -> tuple[dict, int | None]:
    """Create or update the target; (its body, the capacity its new bounds call for or None)."""
    namespace, resource, dimension = check(request)
    row = service_row(db, resource)
    if row is None:
        raise invalid(f"ECS service doesn't exist: {resource}")
    found = db.one(objects, objects.c.kind == "target", objects.c.key == key(namespace, resource, dimension))
    body = json.loads(found["body"]) if found else None
    if body is None and ("MinCapacity" not in request or "MaxCapacity" not in request):
        raise invalid("MinCapacity and MaxCapacity are required when registering a new scalable target")
    low = request.get("MinCapacity", body and body["MinCapacity"])
    high = request.get("MaxCapacity", body and body["MaxCapacity"])
    if low < 0 or high < 0:
        raise invalid("Minimum and maximum capacity must not be negative")
    if low > high:
        raise invalid(f"Minimum capacity cannot be greater than maximum capacity: {low} > {high}")
    suspended = {"DynamicScalingInSuspended": False, "DynamicScalingOutSuspended": False,
                 "ScheduledScalingSuspended": False, **((body or {}).get("SuspendedState") or {}),
                 **(request.get("SuspendedState") or {})}
    if body is None:
        body = {"ServiceNamespace": namespace, "ResourceId": resource, "ScalableDimension": dimension,
                "RoleARN": request.get("RoleARN") or f"arn:aws:iam::{ctx.account_id}:role/aws-service-role/"
                                                     f"ecs.application-autoscaling.amazonaws.com/{ROLE}",
                "CreationTime": time.time(),
                "ScalableTargetARN": ctx.arn("application-autoscaling",
                                             f"scalable-target/{uuid.uuid4().hex[:4]}{uuid.uuid4().hex}")}
    body.update(MinCapacity=low, MaxCapacity=high, SuspendedState=suspended)
    values = dict(body=json.dumps(body))
    if found:
        db.update(objects, objects.c.kind == "target", objects.c.key == found["key"], **values)
    else:
        db.insert(objects, kind="target", key=key(namespace, resource, dimension), **values)
    current = json.loads(row["body"])["desiredCount"]
    wanted = min(max(current, low), high)
    return body, (wanted if wanted != current else None)


def capacity(db, target: dict) -> int | None:
    """The service's desired count now; None once the service is gone."""
    row = service_row(db, target["ResourceId"])
    return None if row is None else json.loads(row["body"])["desiredCount"]


def set_capacity(store, config, providers, account_id: str, region: str, target: dict, count: int) -> None:
    """Change the service's desired count as ECS's UpdateService does for a user."""
    _, cluster, name = target["ResourceId"].split("/")
    ctx = acting_for(store, config, account_id, region, ROLE)
    providers("ecs").update_service(ctx, {"cluster": cluster, "service": name, "desiredCount": count})
