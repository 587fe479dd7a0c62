"""Scaling activities: what Application Auto Scaling did to a target and why, in AWS's words
(DescribeScalingActivities); and what it decided not to do (IncludeNotScaledActivities)."""

from __future__ import annotations

import json
import time
import uuid

from cloudlet.store.schema import appscaling_activities as activities

from .targets import key


def record(db, target: dict, description: str, cause: str, status: str, message: str,
           not_scaled: list[dict] | None = None) -> None:
    now = time.time()
    body = {"ActivityId": str(uuid.uuid4()), "ServiceNamespace": target["ServiceNamespace"],
            "ResourceId": target["ResourceId"], "ScalableDimension": target["ScalableDimension"],
            "Description": description, "Cause": cause, "StartTime": now, "EndTime": now, "StatusCode": status,
            "StatusMessage": message, **({"NotScaledReasons": not_scaled} if not_scaled else {})}
    db.insert(activities, target_key=key(target["ServiceNamespace"], target["ResourceId"],
                                         target["ScalableDimension"]), at=int(now * 1000), body=json.dumps(body))


def scaled(db, target: dict, new: int, cause: str) -> None:
    record(db, target, f"Setting desired count to {new}.", cause, "Successful",
           f"Successfully set desired count to {new}. Change successfully fulfilled by ecs.")


def listed(db, namespace: str, resource: str | None, dimension: str | None, with_not_scaled: bool) -> list[dict]:
    out = []
    for row in db.select(activities):
        body = json.loads(row["body"])
        if (body["ServiceNamespace"], resource or body["ResourceId"], dimension or body["ScalableDimension"]) != (
                namespace, body["ResourceId"], body["ScalableDimension"]):
            continue
        if body["StatusCode"] == "Failed" and "NotScaledReasons" in body and not with_not_scaled:
            continue
        out.append({**body, "_seq": row["seq"]})
    return out
