"""EC2 Auto Scaling's refusals (ValidationError for most, as AWS) and the lookups that raise
them, shared by the operations."""

from __future__ import annotations

from cloudlet.control import asg_records as records
from cloudlet.edge.errors import AWSError
from cloudlet.services.common import pagination


def invalid(message: str) -> AWSError:
    return AWSError("ValidationError", message)


def constraint(member: str, value, text: str) -> AWSError:
    """The wording of the model's own checks, for the ranges the model leaves out."""
    return invalid(f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: "
                   f"Member must {text}")


def at_least(value: int | None, minimum: int, member: str) -> None:
    if value is not None and value < minimum:
        raise constraint(member, value, f"have value greater than or equal to {minimum}")


def within(value: int | None, low: int, high: int, member: str) -> None:
    at_least(value, low, member)
    if value is not None and value > high:
        raise constraint(member, value, f"have value less than or equal to {high}")


def no_group(name: str) -> AWSError:
    return invalid(f"AutoScalingGroup name not found - AutoScalingGroup {name} not found")


def find_group(db, name: str, deleting_ok: bool = False) -> dict:
    """The group named, or AWS's refusal; one being deleted is refused unless deleting_ok."""
    group = records.load(db, records.GROUP, name, name)
    if group is None:
        raise no_group(name)
    if group.get("Status") and not deleting_ok:
        raise invalid(f"AutoScalingGroup {name} is pending delete")
    return group


def replaced_or_room(db, kind: str, group: str, name: str, maximum: int, what: str) -> dict | None:
    """The group's object of that name (a put replaces it), or None when there is room for
    one more of the kind; AWS's LimitExceeded when there is not."""
    old = records.load(db, kind, group, name)
    if old is None and records.count(db, kind, group) >= maximum:
        raise AWSError("LimitExceeded", f"You have reached the limit of {maximum} {what} for the Auto Scaling group "
                                        f"{group}.")
    return old


def at_most(items: list | None, maximum: int, what: str) -> None:
    if items and len(items) > maximum:
        raise invalid(f"The number of {what} must be at most {maximum}.")


def page(items: list, key, request, default: int = 50, maximum: int = 100) -> tuple[list, str | None]:
    """NextToken/MaxRecords paging with EC2 Auto Scaling's refusals."""
    def bad_max(value: int) -> AWSError:
        bound = "greater than or equal to 1" if value < 1 else f"less than or equal to {maximum}"
        return constraint("maxRecords", value, f"have value {bound}")

    return pagination.page(items, key, request.get("NextToken"), request.get("MaxRecords"), default=default,
                           maximum=maximum, bad_max=bad_max)


def paged(member: str, items: list, token: str | None) -> dict:
    return {member: items, **({"NextToken": token} if token else {})}
