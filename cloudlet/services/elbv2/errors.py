"""ELBv2's refusals, as AWS words them, and the lookups that raise them, shared by the
operations. Every ELBv2 error is a 400 but for throttling; most bad values are ValidationError."""

from __future__ import annotations

from cloudlet.edge.errors import AWSError
from cloudlet.store import elbv2 as records

_NOT_FOUND = {
    records.LOAD_BALANCER: ("LoadBalancerNotFound", "One or more load balancers not found"),
    records.TARGET_GROUP: ("TargetGroupNotFound", "One or more target groups not found"),
    records.LISTENER: ("ListenerNotFound", "One or more listeners not found"),
    records.RULE: ("RuleNotFound", "One or more rules not found"),
}


def invalid(message: str) -> AWSError:
    return AWSError("ValidationError", message)


def configuration(message: str) -> AWSError:
    """A request well formed but not possible as things are."""
    return AWSError("InvalidConfigurationRequest", message)


def constraint(member: str, value, text: str) -> AWSError:
    """The wording of the model's own checks, for the ranges the model leaves out."""
    return invalid(f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: "
                   f"Member must {text}")


def within(value: int | None, low: int, high: int, member: str) -> None:
    if value is not None and not low <= value <= high:
        bound = f"greater than or equal to {low}" if value < low else f"less than or equal to {high}"
        raise constraint(member, value, f"have value {bound}")


def not_found(kind: str, message: str | None = None) -> AWSError:
    code, default = _NOT_FOUND[kind]
    return AWSError(code, message or default)


def find(db, kind: str, arn: str) -> dict:
    """The object of kind named by arn, or AWS's NotFound for it."""
    body = records.get(db, arn, kind) if isinstance(arn, str) else None
    if body is None:
        raise not_found(kind)
    return body
