"""EC2 Auto Scaling's records, shared by its API (services/autoscaling) and its group
controller (control/autoscaling.py): the objects of autoscaling_objects by kind, and the
scaling activities with AWS's Description, Cause and StatusCode texts.

An object's body is what its Describe* operation shows plus "_"-prefixed notes. A group's
notes: _subnets (where it launches), _template (the launch template spec it launches from),
_cause (why its desired capacity last changed, the start of its next activities' Cause),
_cooldown_until, _retry_at/_failures (launch back-off). An instance's: _subnet, _launched_at,
_in_service_at, _activity (the seq of its current activity), _actions (lifecycle actions
waited on), _why (the Cause of its termination)."""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timezone

from cloudlet.store.schema import autoscaling_activities as activities
from cloudlet.store.schema import autoscaling_objects as objects

GROUP, INSTANCE, POLICY, HOOK, SCHEDULED, REFRESH = (
    "group", "instance", "policy", "lifecycle-hook", "scheduled-action", "instance-refresh")
ACTIVITIES_KEPT = 6 * 7 * 86400  # AWS keeps six weeks of a group's activities
ACTIVITIES_PER_GROUP = 1000  # and cloudlet at most this many, so a failing launch loop stays bounded
ROLE = "AWSServiceRoleForAutoScaling"


def public(body: dict) -> dict:
    return {k: v for k, v in body.items() if not k.startswith("_")}


def stamp(seconds: float | None = None) -> str:
    """A moment as AWS's causes write it: 2026-01-02T03:04:05Z."""
    return datetime.fromtimestamp(time.time() if seconds is None else seconds, timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


def load(db, kind: str, group: str, name: str) -> dict | None:
    row = db.one(objects, objects.c.kind == kind, objects.c.group_name == group, objects.c.name == name)
    return json.loads(row["body"]) if row else None


def save(db, kind: str, group: str, name: str, body: dict) -> None:
    where = (objects.c.kind == kind, objects.c.group_name == group, objects.c.name == name)
    if not db.update(objects, *where, body=json.dumps(body)):
        db.insert(objects, kind=kind, group_name=group, name=name, body=json.dumps(body))


def drop(db, kind: str, group: str, name: str) -> None:
    db.delete(objects, objects.c.kind == kind, objects.c.group_name == group, objects.c.name == name)


def drop_kind(db, kind: str, group: str) -> None:
    db.delete(objects, objects.c.kind == kind, objects.c.group_name == group)


def of_group(db, kind: str, group: str) -> list[dict]:
    rows = db.select(objects, objects.c.kind == kind, objects.c.group_name == group, order_by=objects.c.name)
    return [json.loads(r["body"]) for r in rows]


def every(db, kind: str) -> list[dict]:
    rows = db.select(objects, objects.c.kind == kind, order_by=(objects.c.group_name, objects.c.name))
    return [json.loads(r["body"]) for r in rows]


def count(db, kind: str, group: str | None = None) -> int:
    where = [objects.c.kind == kind] + ([objects.c.group_name == group] if group is not None else [])
    return db.count(objects, *where)


def drop_group(db, name: str) -> None:
    """The group and everything that belongs to it (its activities stay, as AWS's do)."""
    db.delete(objects, objects.c.group_name == name)


def group_arn(region: str, account: str, name: str) -> str:
    return f"arn:aws:autoscaling:{region}:{account}:autoScalingGroup:{uuid.uuid4()}:autoScalingGroupName/{name}"


def save_group(db, group: dict) -> None:
    save(db, GROUP, group["AutoScalingGroupName"], group["AutoScalingGroupName"], group)


def save_instance(db, instance: dict) -> None:
    save(db, INSTANCE, instance["_group"], instance["InstanceId"], instance)


def find_instance(db, instance_id: str) -> dict | None:
    """An instance of any of the account's groups in the region."""
    row = db.one(objects, objects.c.kind == INSTANCE, objects.c.name == instance_id)
    return json.loads(row["body"]) if row else None


def take_out(db, group: dict, instance: dict, why: str) -> int:
    """Start terminating instance (a launch under way goes no further); the seq of its
    termination's activity."""
    if instance["LifecycleState"] != "InService":
        update_activity(db, instance.get("_activity"), "Cancelled", 100)
    instance.update(LifecycleState="Terminating", _why=why)
    instance["_activity"] = start_activity(
        db, group, f"Terminating EC2 instance: {instance['InstanceId']}", why,
        {"Subnet ID": instance.get("_subnet") or "", "Availability Zone": instance["AvailabilityZone"]}, progress=50)
    return instance["_activity"]


# -- activities -----------------------------------------------------------------------------

def start_activity(db, group: dict, description: str, cause: str, details: dict | None = None,
                   status: str = "InProgress", progress: int = 0, message: str | None = None) -> int:
    """Record a new activity of group; its seq, to update it by."""
    now = time.time()
    body = {"ActivityId": str(uuid.uuid4()), "AutoScalingGroupName": group["AutoScalingGroupName"],
            "AutoScalingGroupARN": group["AutoScalingGroupARN"], "Description": description, "Cause": cause[:1023],
            "StartTime": now, "StatusCode": status, "Progress": progress, "Details": json.dumps(details or {})}
    if message:
        body["StatusMessage"] = message[:255]
    if status in ("Successful", "Failed", "Cancelled"):
        body["EndTime"] = now
    db.insert(activities, group_name=group["AutoScalingGroupName"], at=int(now * 1000), body=json.dumps(body))
    seq = db.select(activities, activities.c.group_name == group["AutoScalingGroupName"],
                    order_by=activities.c.seq.desc(), limit=1)[0]["seq"]
    _prune(db, group["AutoScalingGroupName"], now)
    return seq


def update_activity(db, seq: int | None, status: str, progress: int, message: str | None = None,
                    description: str | None = None) -> None:
    row = db.one(activities, activities.c.seq == seq) if seq is not None else None
    if row is None:
        return  # pruned since
    body = json.loads(row["body"])
    body.update(StatusCode=status, Progress=progress)
    if message:
        body["StatusMessage"] = message[:255]
    if description:
        body["Description"] = description
    if status in ("Successful", "Failed", "Cancelled"):
        body["EndTime"] = time.time()
    db.update(activities, activities.c.seq == seq, body=json.dumps(body))


def latest_activity(db, group: str) -> dict | None:
    rows = db.select(activities, activities.c.group_name == group, order_by=activities.c.seq.desc(), limit=1)
    return json.loads(rows[0]["body"]) if rows else None


def activity(db, seq: int) -> dict:
    return json.loads(db.one(activities, activities.c.seq == seq)["body"])


def in_progress(db, group: str) -> dict | None:
    """An activity of the group that has not ended, if any."""
    for row in db.select(activities, activities.c.group_name == group, order_by=activities.c.seq.desc(),
                         limit=ACTIVITIES_PER_GROUP):
        body = json.loads(row["body"])
        if "EndTime" not in body:
            return body
    return None


def _prune(db, group: str, now: float) -> None:
    where = activities.c.group_name == group
    db.delete(activities, where, activities.c.at < int((now - ACTIVITIES_KEPT) * 1000))
    if db.count(activities, where) > ACTIVITIES_PER_GROUP + 100:  # pruned by the hundred, not at every one
        kept = db.select(activities, where, order_by=activities.c.seq.desc(), limit=ACTIVITIES_PER_GROUP)
        db.delete(activities, where, activities.c.seq < kept[-1]["seq"])


# -- causes: AWS's sentences, two spaces between them ------------------------------------------

def desired_changed(who: str, old: int, new: int) -> str:
    """Why the desired capacity changed, e.g. who = "a user request created an AutoScalingGroup"."""
    return f"At {stamp()} {who} changing the desired capacity from {old} to {new}."


def constraints(who: str, group: dict) -> str:
    return f"{who} update of AutoScalingGroup constraints to min: {group['MinSize']}, max: {group['MaxSize']}, " \
           f"desired: {group['DesiredCapacity']}"


def launch_cause(group: dict, before: int, after: int) -> str:
    return _joined(group.get("_cause"), f"At {stamp()} an instance was started in response to a difference between "
                                        f"desired and actual capacity, increasing the capacity from {before} to "
                                        f"{after}.")


def scale_in_cause(group: dict, before: int, after: int, instance_id: str) -> str:
    return _joined(group.get("_cause"), f"At {stamp()} an instance was taken out of service in response to a "
                                        f"difference between desired and actual capacity, shrinking the capacity "
                                        f"from {before} to {after}.  At {stamp()} instance {instance_id} was "
                                        "selected for termination.")


def _joined(first: str | None, then: str) -> str:
    return f"{first}  {then}" if first else then


UNHEALTHY_EC2 = "an instance was taken out of service in response to an EC2 health check indicating it has been " \
                "terminated or stopped."
UNHEALTHY_STATUS = "an instance was taken out of service in response to an EC2 instance status check failure."
UNHEALTHY_USER = "an instance was taken out of service in response to a user health-check."
REFRESHED = "an instance was taken out of service in response to an instance refresh."


def taken_out(reason: str, instance_id: str | None = None) -> str:
    chosen = f"  At {stamp()} instance {instance_id} was selected for termination." if instance_id else ""
    return f"At {stamp()} {reason}{chosen}"
