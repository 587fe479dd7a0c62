"""Instance refreshes, rolling: the instances a refresh replaces (its _outdated, decided when
it started) are taken out a batch at a time, and the group launches their replacements from
the refresh's desired launch template. A batch is as many as keep MinHealthyPercentage of
the desired capacity in service (at least one); the next one waits until every other
instance is InService and past its warm-up. Statuses, as AWS's:

    Pending -> InProgress -> Successful            (the group takes the desired configuration)
    InProgress -> Cancelling -> Cancelled          (CancelInstanceRefresh: what is under way ends)
    InProgress -> RollbackInProgress -> RollbackSuccessful  (RollbackInstanceRefresh: the
                                                    instances of the new template replaced back)
"""

from __future__ import annotations

import math

from . import asg_records as records

ACTIVE = ("Pending", "InProgress", "Cancelling", "RollbackInProgress")
DEFAULT_WARMUP = 0


def active(db, group: str) -> dict | None:
    return next((r for r in records.of_group(db, records.REFRESH, group) if r["Status"] in ACTIVE), None)


def launch_template(group: dict, refresh: dict | None) -> dict:
    """The launch template spec new instances come from."""
    if refresh is not None and refresh["Status"] in ("Pending", "InProgress") and refresh.get("_template"):
        return refresh["_template"]
    return group["_template"]


def _save(db, refresh: dict) -> None:
    records.save(db, records.REFRESH, refresh["AutoScalingGroupName"], refresh["InstanceRefreshId"], refresh)


def _finish(db, refresh: dict, status: str, reason: str, now: float) -> None:
    refresh.update(Status=status, StatusReason=reason, EndTime=now)
    _save(db, refresh)


def advance(db, group: dict, refresh: dict, instances: list[dict], now: float) -> list[dict]:
    """Move the refresh on; the instances to take out now."""
    busy = any(i["LifecycleState"] not in ("InService",) for i in instances)
    if refresh["Status"] == "Cancelling":
        if not busy:
            _finish(db, refresh, "Cancelled", "The instance refresh was cancelled.", now)
        return []
    refresh["Status"] = "InProgress" if refresh["Status"] == "Pending" else refresh["Status"]
    outdated = set(refresh["_outdated"])
    left = [i for i in instances if i["InstanceId"] in outdated and i["LifecycleState"] == "InService"]
    refresh["_outdated"] = [i["InstanceId"] for i in left]
    total = refresh["_total"]
    done = 100 if not total else math.floor(100 * (total - len(left)) / total)
    refresh.update(PercentageComplete=done, InstancesToUpdate=len(left), ProgressDetails={
        "LivePoolProgress": {"PercentageComplete": done, "InstancesToUpdate": len(left)}})
    warmup = refresh["Preferences"].get("InstanceWarmup", group.get("DefaultInstanceWarmup", DEFAULT_WARMUP))
    settled = not busy and all(now - i.get("_in_service_at", now) >= (warmup or 0) for i in instances
                               if i["InstanceId"] not in outdated) and \
        len(instances) >= group["DesiredCapacity"]
    if not settled:
        _save(db, refresh)
        return []
    if not left:
        if refresh["Status"] == "RollbackInProgress":
            _finish(db, refresh, "RollbackSuccessful", "The instance refresh was rolled back.", now)
        else:
            if refresh.get("_template"):  # the desired configuration becomes the group's
                group["_template"] = refresh["_template"]
                group[refresh["_member"]] = refresh["DesiredConfiguration"][refresh["_member"]]
            _finish(db, refresh, "Successful", "The instance refresh completed successfully.", now)
        return []
    desired = group["DesiredCapacity"]
    batch = max(1, desired - math.ceil(desired * refresh["Preferences"]["MinHealthyPercentage"] / 100))
    _save(db, refresh)
    return left[:batch]
