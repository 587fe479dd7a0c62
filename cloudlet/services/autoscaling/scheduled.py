"""Scheduled actions: PutScheduledUpdateGroupAction (and its batch form),
DescribeScheduledActions, DeleteScheduledAction (and its batch form). An action runs at its
StartTime, then at every time its Recurrence (cron, in UTC or its TimeZone) names until its
EndTime; the group controller applies it (control/asg_scheduled.py). Its "_next" is when it
runs next, which DescribeScheduledActions shows as its StartTime, as AWS does."""

from __future__ import annotations

import time
import uuid

from cloudlet.control import asg_records as records
from cloudlet.control.asg_schedule import BadSchedule, next_run, zone
from cloudlet.edge.errors import AWSError

from .errors import at_least, at_most, find_group, invalid, page, paged, replaced_or_room

MAX_ACTIONS = 125  # AWS's quota of scheduled actions a group
MAX_BATCH = 50
_SIZES = ("MinSize", "MaxSize", "DesiredCapacity")


def _seconds(value) -> float | None:
    return value.timestamp() if value is not None else None


def _action(db, group: str, request, old: dict | None, arn_of) -> dict:
    """The action a put request makes (checked), replacing old."""
    name = request["ScheduledActionName"]
    if request.get("Time") and request.get("StartTime"):
        raise invalid("Time and StartTime cannot both be specified; Time is the deprecated name of StartTime.")
    start, end = _seconds(request.get("StartTime") or request.get("Time")), _seconds(request.get("EndTime"))
    sizes = {k: request[k] for k in _SIZES if request.get(k) is not None}
    if not sizes:
        raise invalid("At least one of MinSize, MaxSize or DesiredCapacity must be specified.")
    for member, value in sizes.items():
        at_least(value, 0, member[0].lower() + member[1:])
    if "MinSize" in sizes and "MaxSize" in sizes and sizes["MinSize"] > sizes["MaxSize"]:
        raise invalid(f"Max bound, {sizes['MaxSize']}, must be greater than or equal to min bound, "
                      f"{sizes['MinSize']}")
    if "DesiredCapacity" in sizes and not sizes.get("MinSize", 0) <= sizes["DesiredCapacity"] <= \
            sizes.get("MaxSize", sizes["DesiredCapacity"]):
        raise invalid(f"Desired capacity:{sizes['DesiredCapacity']} must be between the specified min size:"
                      f"{sizes.get('MinSize', 0)} and max size:{sizes.get('MaxSize')}")
    now = time.time()
    recurrence, tz = request.get("Recurrence"), request.get("TimeZone")
    try:
        zone(tz)
        following = next_run(recurrence, max(now, start or now), tz) if recurrence else None
    except BadSchedule as bad:
        raise invalid(str(bad)) from None
    if start is not None and start < now:
        raise invalid("Given start time is in the past")
    if end is not None and end < now:
        raise invalid("Given end time is in the past")
    if start is not None and end is not None and end <= start:
        raise invalid("Given start time is after the end time")
    if start is None and not recurrence:
        raise invalid("A scheduled action needs a StartTime or a Recurrence.")
    first = start if start is not None else following
    if first is None:
        raise invalid(f"The recurrence {recurrence} never comes.")
    arn = old["ScheduledActionARN"] if old else arn_of(
        "autoscaling", f"scheduledUpdateGroupAction:{uuid.uuid4()}:autoScalingGroupName/{group}:"
                       f"scheduledActionName/{name}")
    body = {"AutoScalingGroupName": group, "ScheduledActionName": name, "ScheduledActionARN": arn,
            "Time": first, "StartTime": first, "_next": first, **sizes}
    for member, value in (("EndTime", end), ("Recurrence", recurrence), ("TimeZone", tz)):
        if value:
            body[member] = value
    return body


def _put(db, group: str, request, arn_of) -> None:
    old = replaced_or_room(db, records.SCHEDULED, group, request["ScheduledActionName"], MAX_ACTIONS,
                           "scheduled actions")
    body = _action(db, group, request, old, arn_of)
    records.save(db, records.SCHEDULED, group, body["ScheduledActionName"], body)


def _drop(db, group: str, name: str) -> None:
    if records.load(db, records.SCHEDULED, group, name) is None:
        raise invalid(f"Scheduled action name not found - {name}")
    records.drop(db, records.SCHEDULED, group, name)


def _batch(ctx, request, member: str, name_of, do) -> list[dict]:
    """do(db, group, item) for each item of a batch operation; those refused, as it reports them."""
    group, items = request["AutoScalingGroupName"], request[member]
    at_most(items, MAX_BATCH, "items in a batch")
    failed = []
    with ctx.write() as db:
        find_group(db, group)
        for item in items:
            try:
                do(db, group, item)
            except AWSError as error:
                failed.append({"ScheduledActionName": name_of(item), "ErrorCode": error.code,
                               "ErrorMessage": error.message})
    return failed


class ScheduledActions:
    def put_scheduled_update_group_action(self, ctx, request):
        with ctx.write() as db:
            find_group(db, request["AutoScalingGroupName"])
            _put(db, request["AutoScalingGroupName"], request, ctx.arn)
        self.wake()
        return {}

    def batch_put_scheduled_update_group_action(self, ctx, request):
        failed = _batch(ctx, request, "ScheduledUpdateGroupActions", lambda a: a["ScheduledActionName"],
                        lambda db, group, a: _put(db, group, a, ctx.arn))
        self.wake()
        return {"FailedScheduledUpdateGroupActions": failed}

    def describe_scheduled_actions(self, ctx, request):
        group, names = request.get("AutoScalingGroupName"), request.get("ScheduledActionNames")
        start, end = _seconds(request.get("StartTime")), _seconds(request.get("EndTime"))
        at_most(names, MAX_BATCH, "scheduled action names")
        with ctx.read() as db:
            if group:
                find_group(db, group, deleting_ok=True)
            found = records.of_group(db, records.SCHEDULED, group) if group else \
                records.every(db, records.SCHEDULED)
        found = [a for a in found if (not names or a["ScheduledActionName"] in names)
                 and (start is None or a["StartTime"] >= start) and (end is None or a["StartTime"] <= end)]
        got, token = page(found, lambda a: (a["AutoScalingGroupName"], a["ScheduledActionName"]), request)
        return paged("ScheduledUpdateGroupActions", [records.public(a) for a in got], token)

    def delete_scheduled_action(self, ctx, request):
        with ctx.write() as db:
            find_group(db, request["AutoScalingGroupName"])
            _drop(db, request["AutoScalingGroupName"], request["ScheduledActionName"])
        return {}

    def batch_delete_scheduled_action(self, ctx, request):
        return {"FailedScheduledActions": _batch(ctx, request, "ScheduledActionNames", lambda n: n, _drop)}
