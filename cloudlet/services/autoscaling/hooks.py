"""Lifecycle hooks: PutLifecycleHook (and a group's LifecycleHookSpecificationList),
DescribeLifecycleHooks, DeleteLifecycleHook, CompleteLifecycleAction and
RecordLifecycleActionHeartbeat. The waiting itself (control/asg_lifecycle.py) is the group
controller's, which sends a hook's notification to its SNS topic (one of the account's) as
an instance begins to wait; SQS targets are kept and shown, but there is no SQS here."""

from __future__ import annotations

import re
import time

from cloudlet.control import asg_lifecycle as lifecycle
from cloudlet.control import asg_records as records
from .errors import at_most, find_group, invalid, replaced_or_room, within

MAX_HOOKS = 50  # AWS's quota of lifecycle hooks a group
RESULTS = ("CONTINUE", "ABANDON")
_TARGET = re.compile(r"arn:aws:(sns|sqs):[a-z0-9-]+:\d{12}:[\w-]{1,256}")
_ROLE = re.compile(r"arn:aws:iam::\d{12}:role/[\w+=,.@/-]{1,512}")


def new_hook(account: str, group: str, spec: dict, old: dict | None = None) -> dict:
    """The hook a PutLifecycleHook request (or a LifecycleHookSpecification) makes of old."""
    hook = dict(old or {"LifecycleHookName": spec["LifecycleHookName"], "AutoScalingGroupName": group,
                        "HeartbeatTimeout": 3600, "DefaultResult": "ABANDON"})
    hook.update({k: spec[k] for k in ("LifecycleTransition", "NotificationTargetARN", "RoleARN",
                                      "NotificationMetadata", "HeartbeatTimeout", "DefaultResult")
                 if spec.get(k) is not None})
    if hook.get("LifecycleTransition") not in lifecycle.TRANSITIONS:
        raise invalid(f"Invalid value for LifecycleTransition: {hook.get('LifecycleTransition')}. Valid values are "
                      f"{' and '.join(lifecycle.TRANSITIONS)}.")
    within(hook["HeartbeatTimeout"], 30, 7200, "heartbeatTimeout")
    if hook["DefaultResult"] not in RESULTS:
        raise invalid(f"Invalid value for DefaultResult: {hook['DefaultResult']}. Valid values are CONTINUE and "
                      "ABANDON.")
    target = hook.get("NotificationTargetARN")
    if target and (not _TARGET.fullmatch(target) or target.split(":")[4] != account):
        raise invalid(f"Invalid NotificationTargetARN: {target} (a topic or queue of this account)")
    if hook.get("RoleARN") and not _ROLE.fullmatch(hook["RoleARN"]):
        raise invalid(f"Invalid RoleARN: {hook['RoleARN']}")
    hook["GlobalTimeout"] = lifecycle.global_timeout(hook["HeartbeatTimeout"])
    return hook


def _waiting(db, group: str, request) -> tuple[dict, dict]:
    """(the instance, its action) a CompleteLifecycleAction or heartbeat names, or AWS's refusal."""
    hook, token, instance_id = request["LifecycleHookName"], request.get("LifecycleActionToken"), \
        request.get("InstanceId")
    if not token and not instance_id:
        raise invalid("Either LifecycleActionToken or InstanceId must be specified.")
    find_group(db, group, deleting_ok=True)
    if instance_id:
        instance = records.load(db, records.INSTANCE, group, instance_id)
        action = lifecycle.find(instance, hook, token) if instance else None
        if action is None:
            raise invalid(f"No active Lifecycle Action found with instance ID {instance_id}")
        return instance, action
    for instance in records.of_group(db, records.INSTANCE, group):
        action = lifecycle.find(instance, hook, token)
        if action is not None:
            return instance, action
    raise invalid(f"No active Lifecycle Action found with token {token}")


class Hooks:
    def put_lifecycle_hook(self, ctx, request):
        group, name = request["AutoScalingGroupName"], request["LifecycleHookName"]
        with ctx.write() as db:
            find_group(db, group)
            old = replaced_or_room(db, records.HOOK, group, name, MAX_HOOKS, "lifecycle hooks")
            records.save(db, records.HOOK, group, name, new_hook(ctx.account_id, group, request, old))
        return {}

    def describe_lifecycle_hooks(self, ctx, request):
        group, names = request["AutoScalingGroupName"], request.get("LifecycleHookNames")
        at_most(names, MAX_HOOKS, "lifecycle hook names")
        with ctx.read() as db:
            find_group(db, group, deleting_ok=True)
            hooks = records.of_group(db, records.HOOK, group)
        return {"LifecycleHooks": [h for h in hooks if not names or h["LifecycleHookName"] in names]}

    def delete_lifecycle_hook(self, ctx, request):
        group, name = request["AutoScalingGroupName"], request["LifecycleHookName"]
        with ctx.write() as db:
            find_group(db, group)
            if records.load(db, records.HOOK, group, name) is None:
                raise invalid(f"No Lifecycle Hook found with name {name} for group {group}")
            records.drop(db, records.HOOK, group, name)
            # Actions outstanding end as AWS ends them: launches abandoned, terminations continued.
            for instance in records.of_group(db, records.INSTANCE, group):
                action = lifecycle.find(instance, name, None)
                if action is not None:
                    action["result"] = "ABANDON" if instance["LifecycleState"] == "Pending:Wait" else "CONTINUE"
                    records.save_instance(db, instance)
        self.wake()
        return {}

    def complete_lifecycle_action(self, ctx, request):
        result = request["LifecycleActionResult"]
        if result not in RESULTS:
            raise invalid(f"Invalid value for LifecycleActionResult: {result}. Valid values are CONTINUE and "
                          "ABANDON.")
        with ctx.write() as db:
            instance, action = _waiting(db, request["AutoScalingGroupName"], request)
            action["result"] = result
            records.save_instance(db, instance)
        self.wake()
        return {}

    def record_lifecycle_action_heartbeat(self, ctx, request):
        with ctx.write() as db:
            instance, action = _waiting(db, request["AutoScalingGroupName"], request)
            lifecycle.heartbeat(action, time.time())
            records.save_instance(db, instance)
        return {}
