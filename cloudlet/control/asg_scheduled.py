"""Scheduled actions coming due: the group's MinSize, MaxSize and DesiredCapacity set as the
action says (a desired capacity it leaves out is kept within the new bounds), recorded as the
cause of the activities that follow. A one-time action goes once run; a recurring one waits
for its next time, and goes once that is past its EndTime."""

from __future__ import annotations

from . import asg_records as records
from .asg_schedule import BadSchedule, next_run


def apply_due(db, group: dict, now: float) -> None:
    name = group["AutoScalingGroupName"]
    for action in records.of_group(db, records.SCHEDULED, name):
        if action.get("_next") is None or action["_next"] > now:
            continue
        _apply(db, group, action)
        following = None
        if action.get("Recurrence"):
            try:
                following = next_run(action["Recurrence"], now, action.get("TimeZone"))
            except BadSchedule:  # checked when put; a time zone gone from the host's database since
                following = None
        if following is None or (action.get("EndTime") and following > action["EndTime"]):
            records.drop(db, records.SCHEDULED, name, action["ScheduledActionName"])
        else:
            action["_next"] = action["StartTime"] = following
            records.save(db, records.SCHEDULED, name, action["ScheduledActionName"], action)


def _apply(db, group: dict, action: dict) -> None:
    low = action.get("MinSize", group["MinSize"])
    high = action.get("MaxSize", group["MaxSize"])
    old = group["DesiredCapacity"]
    desired = action.get("DesiredCapacity", min(max(old, low), high))
    if not low <= desired <= high:
        records.start_activity(db, group, f"Executing scheduled action {action['ScheduledActionName']}",
                               f"At {records.stamp()} a scheduled action could not be executed.", status="Failed",
                               progress=100, message=f"Desired capacity:{desired} must be between the specified "
                                                     f"min size:{low} and max size:{high}")
        return
    group.update(MinSize=low, MaxSize=high, DesiredCapacity=desired)
    if desired != old:
        group["_cause"] = records.desired_changed(records.constraints("a scheduled action", group), old, desired)
