"""Lifecycle actions: an instance launching or terminating waits (Pending:Wait,
Terminating:Wait) for each lifecycle hook of that transition to be completed
(CompleteLifecycleAction), or for its heartbeat timeout (RecordLifecycleActionHeartbeat
restarts it, never past the global timeout) to give the hook's DefaultResult. A result of
ABANDON ends the wait at once, whatever the other hooks; CONTINUE from all of them ends it too.
An abandoned launch is terminated; a terminating instance goes either way. A hook with a
NotificationTargetARN is sent AWS's lifecycle message (with the action's token) as the wait
begins."""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timezone

LAUNCHING = "autoscaling:EC2_INSTANCE_LAUNCHING"
TERMINATING = "autoscaling:EC2_INSTANCE_TERMINATING"
TRANSITIONS = (LAUNCHING, TERMINATING)
WAITING = {LAUNCHING: "Pending:Wait", TERMINATING: "Terminating:Wait"}
PROCEEDING = {LAUNCHING: "Pending:Proceed", TERMINATING: "Terminating:Proceed"}
MAX_GLOBAL_TIMEOUT = 172800  # 48 hours


def global_timeout(heartbeat: int) -> int:
    """How long an instance may wait in all: 100 heartbeats, at most 48 hours (AWS's rule)."""
    return min(100 * heartbeat, MAX_GLOBAL_TIMEOUT)


def begin(instance: dict, hooks: list[dict], transition: str, now: float) -> bool:
    """Put instance to wait for the group's hooks of transition; False when it has none."""
    mine = [h for h in hooks if h["LifecycleTransition"] == transition]
    if not mine:
        return False
    instance["LifecycleState"] = WAITING[transition]
    instance["_actions"] = {h["LifecycleHookName"]: {
        "token": str(uuid.uuid4()), "heartbeat": h["HeartbeatTimeout"], "deadline": now + h["HeartbeatTimeout"],
        "global": now + h["GlobalTimeout"], "default": h["DefaultResult"], "result": None} for h in mine}
    return True


def notices(instance: dict, hooks: list[dict], account: str) -> list[tuple[str, str, str]]:
    """(target ARN, subject, message) for each hook the instance waits for that has a target."""
    out = []
    for hook in hooks:
        action = (instance.get("_actions") or {}).get(hook["LifecycleHookName"])
        if action is None or not hook.get("NotificationTargetARN"):
            continue
        launching = hook["LifecycleTransition"] == LAUNCHING
        message = {"Origin": "EC2" if launching else "AutoScalingGroup",
                   "Destination": "AutoScalingGroup" if launching else "EC2", "Service": "AWS Auto Scaling",
                   "Time": datetime.fromtimestamp(time.time(), timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                   "AccountId": account, "RequestId": str(uuid.uuid4()), "LifecycleActionToken": action["token"],
                   "AutoScalingGroupName": hook["AutoScalingGroupName"], "LifecycleHookName": hook["LifecycleHookName"],
                   "EC2InstanceId": instance["InstanceId"], "LifecycleTransition": hook["LifecycleTransition"],
                   **({"NotificationMetadata": hook["NotificationMetadata"]} if hook.get("NotificationMetadata")
                      else {})}
        subject = f"Auto Scaling:  Lifecycle action '{'LAUNCHING' if launching else 'TERMINATING'}' for instance " \
                  f"{instance['InstanceId']} in progress."
        out.append((hook["NotificationTargetARN"], subject, json.dumps(message)))
    return out


def outcome(instance: dict, now: float) -> str | None:
    """ABANDON or CONTINUE once the wait is over (timed-out hooks given their default first);
    None while it goes on."""
    actions = instance.get("_actions") or {}
    for action in actions.values():
        if action["result"] is None and now >= min(action["deadline"], action["global"]):
            action["result"] = action["default"]
    results = [a["result"] for a in actions.values()]
    if "ABANDON" in results:
        return "ABANDON"
    return "CONTINUE" if None not in results else None


def find(instance: dict, hook: str, token: str | None) -> dict | None:
    """The instance's pending action for hook (with that token, when given)."""
    if instance["LifecycleState"] not in WAITING.values():
        return None
    action = (instance.get("_actions") or {}).get(hook)
    if action is None or action["result"] is not None or (token is not None and action["token"] != token):
        return None
    return action


def heartbeat(action: dict, now: float) -> None:
    action["deadline"] = min(now + action["heartbeat"], action["global"])
