"""A change of a group's desired capacity, as every cause of one records it (a user, a
policy, a scheduled action): the new capacity, the Cause its activities will begin with, and
the cooldown it starts; HonorCooldown refuses it while one runs."""

from __future__ import annotations

import time

from cloudlet.control import asg_records as records
from cloudlet.edge.errors import AWSError


def in_cooldown(group: dict) -> bool:
    return time.time() < group.get("_cooldown_until", 0) or group.get("_cooldown_settle") is not None


def refuse_in_cooldown(db, group: dict) -> None:
    """HonorCooldown's refusal while the group's cooldown runs."""
    if in_cooldown(group):
        last = records.latest_activity(db, group["AutoScalingGroupName"]) or {"ActivityId": "none"}
        raise AWSError("ScalingActivityInProgress",
                       f"Scaling activity {last['ActivityId']} is in progress and blocks this action")


def set_desired(group: dict, new: int, who: str, cooldown: int | None = None) -> bool:
    """Give the group its new desired capacity, caused by who (e.g. "a user request explicitly
    set group desired capacity"); whether it changed. cooldown: the seconds of the cooldown it
    starts, which runs until then from the end of the activity it causes."""
    old = group["DesiredCapacity"]
    if new == old:
        return False
    group["DesiredCapacity"] = new
    group["_cause"] = records.desired_changed(who, old, new)
    if cooldown is not None:
        group["_cooldown_until"] = time.time() + cooldown
        group["_cooldown_settle"] = cooldown
    return True
