"""A service's loadBalancers and healthCheckGracePeriodSeconds, checked as ECS checks them at
CreateService and UpdateService, with its messages. Only target groups of Application and
Network Load Balancers (ELBv2) of the caller's own account and region: cloudlet has no
Classic Load Balancers, so a loadBalancerName never names one that exists."""

from __future__ import annotations

from cloudlet.store import elbv2

from .common import invalid

MAX_BALANCERS = 5  # target groups per service
MAX_GRACE = 2147483647
_FIELDS = ("targetGroupArn", "containerName", "containerPort")


def _check_one(db, given: dict, definition: dict) -> dict:
    if given.get("loadBalancerName"):
        raise invalid(f"The load balancer {given['loadBalancerName']} does not exist.")
    if given.get("advancedConfiguration"):
        raise invalid("advancedConfiguration is only for blue/green deployments, and this service's deployment "
                      "controller rolls its deployments.")
    arn, name, port = (given.get(k) for k in _FIELDS)
    if not arn:
        raise invalid("Target Group Arn can not be blank.")
    if not name:
        raise invalid("Container Name can not be blank.")
    if port is None:
        raise invalid("Container Port can not be blank.")
    # Another account's or region's group is not found here: the store is scoped to the caller.
    group = elbv2.get(db, arn, elbv2.TARGET_GROUP)
    if group is None:
        raise invalid("Unable to assume role and validate the specified targetGroupArn. Please verify that the ECS "
                      "service role being passed has the proper permissions.")
    container = next((c for c in definition["containerDefinitions"] if c["name"] == name), None)
    if container is None:
        raise invalid(f"The container {name} does not exist in the task definition.")
    if not any(pm["containerPort"] == port for pm in container.get("portMappings") or []):
        raise invalid(f"The container {name} did not have a container port {port} defined.")
    mode = definition.get("networkMode") or "bridge"
    kind = group.get("TargetType") or "instance"
    if kind != ("ip" if mode == "awsvpc" else "instance"):  # a task's own ENI, or its instance's port
        raise invalid(f"The provided target group {arn} has target type {kind}, "
                      f"which is incompatible with the {mode} network mode specified in the task definition.")
    if not elbv2.load_balancers_of(db).get(arn):
        raise invalid(f"The target group with targetGroupArn {arn} does not have an associated load balancer.")
    return {k: given[k] for k in _FIELDS}


def check(db, given: list[dict] | None, definition: dict) -> list[dict]:
    """The service's loadBalancers as DescribeServices shows them."""
    given = given or []
    if len(given) > MAX_BALANCERS:
        raise invalid(f"load balancers can have at most {MAX_BALANCERS} items.")
    return [_check_one(db, lb, definition) for lb in given]


def grace(given: int | None, balancers: list[dict], current: int | None = None) -> int | None:
    """healthCheckGracePeriodSeconds: 0 for a service behind load balancers unless given, and
    not shown for one without."""
    if given is not None and not balancers:
        raise invalid("Health check grace period is only valid for services configured to use load balancers")
    if given is not None and not 0 <= given <= MAX_GRACE:
        raise invalid(f"healthCheckGracePeriodSeconds must be between 0 and {MAX_GRACE}.")
    if not balancers:
        return None
    return given if given is not None else (current or 0)
