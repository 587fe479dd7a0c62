"""Scheduled actions: a target's MinCapacity/MaxCapacity set at the times a schedule names;
the capacity follows into the new bounds, as Application Auto Scaling does."""

from __future__ import annotations

import json
import time

from sqlalchemy import select

from cloudlet.control.loop import Loop
from cloudlet.edge.errors import AWSError
from cloudlet.store.schema import appscaling_objects as objects

from . import activities
from .schedule import next_run, parse, zone
from .targets import capacity, invalid, key

POLL = 5.0  # seconds between looks for a due action; schedules are to the minute

MAX_ACTIONS = 200  # per scalable target


def _next(body: dict, after: float) -> float | None:
    end = body.get("EndTime")
    at = next_run(parse(body["Schedule"]), zone(body.get("Timezone")), after, body.get("StartTime"))
    if at is not None and body.get("StartTime") and at < body["StartTime"]:
        at = next_run(parse(body["Schedule"]), zone(body.get("Timezone")), body["StartTime"] - 1,
                      body.get("StartTime"))
    return None if at is None or (end and at > end) else at


def put(db, ctx, request, target: dict) -> None:
    name = request["ScheduledActionName"]
    parse(request["Schedule"])
    zone(request.get("Timezone"))
    bounds = request.get("ScalableTargetAction") or {}
    low, high = bounds.get("MinCapacity"), bounds.get("MaxCapacity")
    if low is None and high is None:
        raise invalid("ScalableTargetAction needs MinCapacity or MaxCapacity")
    if low is not None and high is not None and low > high:
        raise invalid(f"Minimum capacity cannot be greater than maximum capacity: {low} > {high}")
    start, end = (request[k].timestamp() if request.get(k) else None for k in ("StartTime", "EndTime"))
    if start and end and start >= end:
        raise invalid("StartTime must be before EndTime")
    tkey = key(target["ServiceNamespace"], target["ResourceId"], target["ScalableDimension"])
    akey = f"{tkey}|{name}"
    old = db.one(objects, objects.c.kind == "scheduled-action", objects.c.key == akey)
    if old is None and sum(1 for r in db.select(objects, objects.c.kind == "scheduled-action")
                           if r["key"].startswith(tkey + "|")) >= MAX_ACTIONS:
        raise AWSError("LimitExceededException", f"A scalable target may have at most {MAX_ACTIONS} scheduled "
                                                 "actions")
    body = {"ScheduledActionName": name, "ServiceNamespace": target["ServiceNamespace"],
            "ScheduledActionARN": json.loads(old["body"])["ScheduledActionARN"] if old else ctx.arn(
                "autoscaling", f"scheduledAction:{target['ScalableTargetARN'].rsplit('/', 1)[1]}:resource/"
                               f"{target['ServiceNamespace']}/{target['ResourceId']}:scheduledActionName/{name}"),
            "Schedule": request["Schedule"], "ResourceId": target["ResourceId"],
            "ScalableDimension": target["ScalableDimension"], "ScalableTargetAction": bounds,
            "CreationTime": json.loads(old["body"])["CreationTime"] if old else time.time(),
            **({"Timezone": request["Timezone"]} if request.get("Timezone") else {}),
            **({"StartTime": start} if start else {}), **({"EndTime": end} if end else {})}
    body["_next"] = _next(body, time.time())
    if old:
        db.update(objects, objects.c.kind == "scheduled-action", objects.c.key == akey, body=json.dumps(body))
    else:
        db.insert(objects, kind="scheduled-action", key=akey, body=json.dumps(body))


def remove(db, tkey: str, name: str) -> None:
    if not db.delete(objects, objects.c.kind == "scheduled-action", objects.c.key == f"{tkey}|{name}"):
        raise AWSError("ObjectNotFoundException", f"No scheduled action found for name: {name}")


def run(store, account: str, region: str, akey: str, now: float) -> tuple[dict, int | None, str] | None:
    """Run the due action of akey: the target's new bounds stored, its next run set; (the target,
    the capacity the new bounds call for or None, the cause) — None if it is gone or suspended."""
    with store.scoped(account, region) as db:
        row = db.one(objects, objects.c.kind == "scheduled-action", objects.c.key == akey)
        if row is None:
            return None
        body = json.loads(row["body"])
        body["_next"] = _next(body, now)
        db.update(objects, objects.c.kind == "scheduled-action", objects.c.key == akey, body=json.dumps(body))
        tkey = akey.rsplit("|", 1)[0]
        trow = db.one(objects, objects.c.kind == "target", objects.c.key == tkey)
        if trow is None:
            return None
        target = json.loads(trow["body"])
        if (target.get("SuspendedState") or {}).get("ScheduledScalingSuspended"):
            return None
        bounds = body["ScalableTargetAction"]
        target["MinCapacity"] = bounds.get("MinCapacity", target["MinCapacity"])
        target["MaxCapacity"] = max(bounds.get("MaxCapacity", target["MaxCapacity"]), target["MinCapacity"])
        db.update(objects, objects.c.kind == "target", objects.c.key == tkey, body=json.dumps(target))
        cause = f"scheduled action name {body['ScheduledActionName']} was triggered"
        activities.record(db, target, f"Setting min capacity to {target['MinCapacity']} and max capacity to "
                                      f"{target['MaxCapacity']}", cause, "Successful",
                          f"Successfully set min capacity to {target['MinCapacity']} and max capacity to "
                          f"{target['MaxCapacity']}")
        current = capacity(db, target)
    if current is None:
        return target, None, cause
    wanted = min(max(current, target["MinCapacity"]), target["MaxCapacity"])
    return target, (wanted if wanted != current else None), cause


class Scheduler(Loop):
    """Runs each due scheduled action and hands apply(account, region, target, new
    capacity, cause) what the target's new bounds call for."""

    def __init__(self, store, apply):
        self.store = store
        self.apply = apply
        self.start("appscaling-schedules", POLL)

    def round(self) -> None:
        now = time.time()
        with self.store.begin(write=False) as conn:
            due = [(r.account_id, r.region, r.key) for r in conn.execute(
                select(objects).where(objects.c.kind == "scheduled-action")).all()
                   if (json.loads(r.body).get("_next") or now + 1) <= now]
        for account, region, akey in due:
            ran = run(self.store, account, region, akey, now)
            if ran is not None:
                target, wanted, cause = ran
                if wanted is not None:
                    self.apply(account, region, target, wanted, cause)
