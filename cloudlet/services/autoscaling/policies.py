"""Scaling policies: PutScalingPolicy, DescribePolicies, DeletePolicy, ExecutePolicy, and
execute_from_alarm, which CloudWatch's alarm actions (cloudwatch/actions.py) call while an
alarm that names a policy is in ALARM (on the transition, then once a minute).

How a policy moves the desired capacity (the arithmetic is services/common/scaling.py):
simple scaling adjusts it and starts the policy's cooldown (its Cooldown, else the group's
DefaultCooldown), during which alarms are not acted on; step scaling picks the step the
alarm's value falls in; target tracking sizes the group in proportion to metric / target
through the two alarms it owns. For the last two, instances still warming up (pending, or in
service for less than EstimatedInstanceWarmup, else the group's DefaultInstanceWarmup or
DefaultCooldown) are not counted as capacity to scale out from, so that repeated alarms in
one step add it once, and no scale-in happens while any warm up."""

from __future__ import annotations

import json
import time
import uuid

from cloudlet.control import asg_records as records
from cloudlet.control.autoscaling import suspended
from cloudlet.services.common import scaling
from cloudlet.store.schema import cloudwatch_alarms

from . import capacity
from .errors import at_most, find_group, invalid, page, paged, replaced_or_room
from .policy_spec import checked, tracked_metric

MAX_POLICIES = 50  # AWS's quota of scaling policies a group


def drop_policies(db, group: str) -> None:
    """The group's policies gone, with the alarms target tracking made for them."""
    for policy in records.of_group(db, records.POLICY, group):
        scaling.delete_tracking_alarms(db, policy.get("_alarms", []))
    records.drop_kind(db, records.POLICY, group)


def _find(db, group: str | None, name: str) -> dict:
    """A policy by name in group, or by ARN (name may be either, as AWS takes)."""
    if name.startswith("arn:"):
        found = next((p for p in records.every(db, records.POLICY) if p["PolicyARN"] == name), None)
    else:
        found = records.load(db, records.POLICY, group, name) if group else None
    if found is None:
        raise invalid(f"No scaling policy found for service namespace: ec2, group: {group}, policy name: {name}")
    return found


def _alarms_of(db, policy: dict) -> list[dict]:
    """The alarms whose actions run policy, as DescribePolicies lists them."""
    out = []
    for row in db.select(cloudwatch_alarms, order_by=cloudwatch_alarms.c.name):
        if policy["PolicyARN"] in row["body"]:  # a cheap test first; the body is JSON
            body = json.loads(row["body"])
            if policy["PolicyARN"] in body.get("AlarmActions", []) + body.get("OKActions", []):
                out.append({"AlarmName": row["name"], "AlarmARN": body["AlarmArn"]})
    return out


def _warming(db, group: dict, policy: dict) -> int:
    warmup = policy.get("EstimatedInstanceWarmup", group.get("DefaultInstanceWarmup"))
    warmup = group.get("DefaultCooldown", 300) if warmup is None or warmup < 0 else warmup
    now = time.time()
    return sum(1 for i in records.of_group(db, records.INSTANCE, group["AutoScalingGroupName"])
               if i["LifecycleState"].startswith("Pending") or
               (i["LifecycleState"] == "InService" and now - i.get("_in_service_at", 0) < warmup))


def _run(db, group: dict, policy: dict, who: str, value: float | None, threshold: float | None) -> bool:
    """Run policy on group (value and threshold: the alarm's, for step and target tracking);
    whether the desired capacity changed."""
    kind, desired = policy["PolicyType"], group["DesiredCapacity"]
    if kind == "SimpleScaling":
        new = scaling.adjusted(desired, policy["AdjustmentType"], policy["ScalingAdjustment"],
                               policy.get("MinAdjustmentMagnitude"))
        cooldown = policy.get("Cooldown", group.get("DefaultCooldown", 300))
        return capacity.set_desired(group, scaling.bounded(new, group["MinSize"], group["MaxSize"]), who, cooldown)
    if value is None:
        return False
    warming = _warming(db, group, policy)
    base = desired - warming
    if kind == "StepScaling":
        new = scaling.step_capacity(base, policy["StepAdjustments"], policy["AdjustmentType"],
                                    policy.get("MinAdjustmentMagnitude"), value, threshold)
        if new is None:
            return False
    else:
        config = policy["TargetTrackingConfiguration"]
        new = scaling.tracking_capacity(base, value, config["TargetValue"])
        if new < base and config.get("DisableScaleIn"):
            return False
    new = scaling.bounded(new, group["MinSize"], group["MaxSize"])
    if new < desired and warming:
        return False
    return capacity.set_desired(group, new, who)


def execute_from_alarm(store, account_id: str, region: str, policy_arn: str, alarm: dict) -> None:
    """Run the policy of policy_arn because alarm (as DescribeAlarms shows it) is in ALARM. A
    policy gone, disabled, in cooldown, or of a group being deleted or with AlarmNotification
    suspended does nothing, as on AWS; AWSError when no such policy exists."""
    if alarm.get("StateValue") != "ALARM":
        return
    with store.scoped(account_id, region) as db:
        policy = next((p for p in records.every(db, records.POLICY) if p["PolicyARN"] == policy_arn), None)
        if policy is None:
            raise invalid(f"The scaling policy {policy_arn} does not exist.")
        group = records.load(db, records.GROUP, policy["AutoScalingGroupName"], policy["AutoScalingGroupName"])
        if group is None or group.get("Status") or not policy.get("Enabled", True) or \
                suspended(group, "AlarmNotification"):
            return
        if policy["PolicyType"] == "SimpleScaling" and capacity.in_cooldown(group):
            return
        aggregation = policy.get("MetricAggregationType", "Latest")
        who = f"a monitor alarm {alarm.get('AlarmName')} in state ALARM triggered policy {policy['PolicyName']}"
        if _run(db, group, policy, who, scaling.alarm_value(alarm, aggregation), alarm.get("Threshold")):
            records.save_group(db, group)


class Policies:
    def put_scaling_policy(self, ctx, request):
        group_name, name = request["AutoScalingGroupName"], request["PolicyName"]
        policy = checked(request)
        with ctx.write() as db:
            find_group(db, group_name)
            old = replaced_or_room(db, records.POLICY, group_name, name, MAX_POLICIES, "scaling policies")
            arn = old["PolicyARN"] if old else ctx.arn(
                "autoscaling", f"scalingPolicy:{uuid.uuid4()}:autoScalingGroupName/{group_name}:policyName/{name}")
            if old:
                scaling.delete_tracking_alarms(db, old.get("_alarms", []))
            body = {"AutoScalingGroupName": group_name, "PolicyName": name, "PolicyARN": arn, **policy}
            if policy["PolicyType"] == "TargetTrackingScaling":
                config = policy["TargetTrackingConfiguration"]
                body["_alarms"] = scaling.put_tracking_alarms(
                    db, ctx.arn, resource=group_name, policy_arn=arn, metric=tracked_metric(group_name, config),
                    target=config["TargetValue"], scale_in=not config.get("DisableScaleIn", False))
            records.save(db, records.POLICY, group_name, name, body)
        return {"PolicyARN": arn, **({"Alarms": body["_alarms"]} if "_alarms" in body else {})}

    def describe_policies(self, ctx, request):
        group, names, types = request.get("AutoScalingGroupName"), request.get("PolicyNames"), \
            request.get("PolicyTypes")
        at_most(names, MAX_POLICIES, "policy names")
        with ctx.read() as db:
            if group:
                find_group(db, group, deleting_ok=True)
            found = [p for p in (records.of_group(db, records.POLICY, group) if group else
                                 records.every(db, records.POLICY))
                     if (not names or p["PolicyName"] in names or p["PolicyARN"] in names)
                     and (not types or p["PolicyType"] in types)]
            got, token = page(found, lambda p: (p["AutoScalingGroupName"], p["PolicyName"]), request)
            out = [{**records.public(p), "Alarms": p.get("_alarms") or _alarms_of(db, p)} for p in got]
        return paged("ScalingPolicies", out, token)

    def delete_policy(self, ctx, request):
        with ctx.write() as db:
            policy = _find(db, request.get("AutoScalingGroupName"), request["PolicyName"])
            scaling.delete_tracking_alarms(db, policy.get("_alarms", []))
            records.drop(db, records.POLICY, policy["AutoScalingGroupName"], policy["PolicyName"])
        return {}

    def execute_policy(self, ctx, request):
        with ctx.write() as db:
            policy = _find(db, request.get("AutoScalingGroupName"), request["PolicyName"])
            group = find_group(db, policy["AutoScalingGroupName"])
            kind = policy["PolicyType"]
            if kind == "TargetTrackingScaling":
                raise invalid("ExecutePolicy is not supported for target tracking scaling policies: their alarms "
                              "run them.")
            value, threshold = request.get("MetricValue"), request.get("BreachThreshold")
            if kind == "StepScaling" and (value is None or threshold is None):
                raise invalid("MetricValue and BreachThreshold are required for a step scaling policy.")
            if kind == "SimpleScaling" and request.get("HonorCooldown"):
                capacity.refuse_in_cooldown(db, group)
            if _run(db, group, policy, f"a user request executed policy {policy['PolicyName']}", value, threshold):
                records.save_group(db, group)
        self.wake()
        return {}
