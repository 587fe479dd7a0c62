"""Scaling policies of a scalable target: step scaling and target tracking, as Application
Auto Scaling checks and runs them. A target tracking policy owns two CloudWatch alarms
(AlarmHigh, AlarmLow) whose action is the policy; a step policy is the action of alarms the
user makes. Either runs when the alarm action dispatcher executes it (cloudwatch/actions.py)."""

from __future__ import annotations

import json
import time
import uuid

from cloudlet.edge.errors import AWSError
from cloudlet.services.common import scaling
from cloudlet.store.schema import appscaling_objects as objects

from .targets import invalid, key

MAX_POLICIES = 50  # per scalable target
COOLDOWN = 300  # seconds, ECS's default for both directions of target tracking
_PREDEFINED = {"ECSServiceAverageCPUUtilization": ("CPUUtilization", 60),
               "ECSServiceAverageMemoryUtilization": ("MemoryUtilization", 60),
               # ECS's 20-second metrics (cloudlet stores every sample at high resolution when asked)
               "ECSServiceAverageCPUUtilizationHighResolution": ("CPUUtilization", 20),
               "ECSServiceAverageMemoryUtilizationHighResolution": ("MemoryUtilization", 20)}
_TARGET_RANGE = (8.515920e-109, 6.174271e+307)


def policy_key(target_key: str, name: str) -> str:
    return f"{target_key}|{name}"


def _check_steps(config: dict) -> None:
    try:
        scaling.check_adjustment(config.get("AdjustmentType", "ChangeInCapacity"), config.get("MinAdjustmentMagnitude"))
        scaling.check_steps(config.get("StepAdjustments") or [])
    except scaling.ScalingError as error:  # EC2 Auto Scaling's code; this service answers ValidationException
        raise invalid(error.message) from None
    if config.get("Cooldown", 0) < 0:
        raise invalid("Cooldown must not be negative")


def _tracked(config: dict, resource: str) -> tuple[dict, int]:
    """The metric a target tracking configuration tracks, and the period of its alarms."""
    predefined, custom = config.get("PredefinedMetricSpecification"), config.get("CustomizedMetricSpecification")
    if (predefined is None) == (custom is None):
        raise invalid("Exactly one of PredefinedMetricSpecification and CustomizedMetricSpecification must be "
                      "specified")
    if not _TARGET_RANGE[0] <= config["TargetValue"] <= _TARGET_RANGE[1]:
        raise invalid(f"TargetValue must be between {_TARGET_RANGE[0]} and {_TARGET_RANGE[1]}")
    for name in ("ScaleOutCooldown", "ScaleInCooldown"):
        if config.get(name, 0) < 0:
            raise invalid(f"{name} must not be negative")
    if custom is not None:
        if "Metrics" in custom:
            return {"Metrics": custom["Metrics"]}, 60
        if not custom.get("MetricName") or not custom.get("Namespace") or not custom.get("Statistic"):
            raise invalid("CustomizedMetricSpecification needs MetricName, Namespace and Statistic")
        return {k: custom[k] for k in ("MetricName", "Namespace", "Dimensions", "Statistic", "Unit") if k in custom}, 60
    kind = predefined["PredefinedMetricType"]
    if kind == "ALBRequestCountPerTarget":
        metric = scaling.alb_requests_per_target(predefined.get("ResourceLabel"))
        if metric is None:
            raise invalid(f"ResourceLabel '{predefined.get('ResourceLabel')}' is not valid for "
                          "ALBRequestCountPerTarget")
        return metric, 60
    if kind not in _PREDEFINED:
        raise invalid(f"Unsupported predefined metric type {kind} for service namespace ecs")
    name, period = _PREDEFINED[kind]
    _, cluster, service = resource.split("/")
    return {"Namespace": "AWS/ECS", "MetricName": name, "Statistic": "Average",
            "Dimensions": [{"Name": "ClusterName", "Value": cluster}, {"Name": "ServiceName", "Value": service}]}, \
        period


def put(db, ctx, request, target: dict) -> dict:
    """Create or replace the policy; its body (with the alarms it owns, made here)."""
    kind, name = request["PolicyType"], request["PolicyName"]
    tkey = key(target["ServiceNamespace"], target["ResourceId"], target["ScalableDimension"])
    if kind == "PredictiveScaling":
        raise invalid("cloudlet does not forecast: PredictiveScaling policies are not supported")
    member = {"StepScaling": "StepScalingPolicyConfiguration",
              "TargetTrackingScaling": "TargetTrackingScalingPolicyConfiguration"}[kind]
    config = request.get(member)
    if config is None:
        raise invalid(f"{member} is required for a {kind} policy")
    old = db.one(objects, objects.c.kind == "policy", objects.c.key == policy_key(tkey, name))
    if old is None and sum(1 for r in db.select(objects, objects.c.kind == "policy")
                           if r["key"].startswith(tkey + "|")) >= MAX_POLICIES:
        raise AWSError("LimitExceededException", f"A scalable target may have at most {MAX_POLICIES} policies")
    previous = json.loads(old["body"]) if old else None
    arn = previous["PolicyARN"] if previous else ctx.arn(
        "autoscaling", f"scalingPolicy:{uuid.uuid4()}:resource/{target['ServiceNamespace']}/"
                       f"{target['ResourceId']}:policyName/{name}")
    body = {"PolicyARN": arn, "PolicyName": name, "ServiceNamespace": target["ServiceNamespace"],
            "ResourceId": target["ResourceId"], "ScalableDimension": target["ScalableDimension"],
            "PolicyType": kind, member: config, "Alarms": [],
            "CreationTime": previous["CreationTime"] if previous else time.time()}
    if kind == "StepScaling":
        _check_steps(config)
    else:
        metric, period = _tracked(config, target["ResourceId"])
        if previous:
            scaling.delete_tracking_alarms(db, previous.get("Alarms", []))
        body["Alarms"] = scaling.put_tracking_alarms(
            db, ctx.arn, resource=target["ResourceId"], policy_arn=arn, metric=metric,
            target=config["TargetValue"], period=period, scale_in=not config.get("DisableScaleIn", False))
    if previous and previous["PolicyType"] == "TargetTrackingScaling" and kind == "StepScaling":
        scaling.delete_tracking_alarms(db, previous.get("Alarms", []))
    if old:
        db.update(objects, objects.c.kind == "policy", objects.c.key == old["key"], body=json.dumps(body))
    else:
        db.insert(objects, kind="policy", key=policy_key(tkey, name), body=json.dumps(body))
    return body


def remove(db, row: dict) -> None:
    body = json.loads(row["body"])
    scaling.delete_tracking_alarms(db, body.get("Alarms", []))
    db.delete(objects, objects.c.kind == "policy", objects.c.key == row["key"])


def by_arn(db, arn: str) -> dict | None:
    for row in db.select(objects, objects.c.kind == "policy"):
        body = json.loads(row["body"])
        if body["PolicyARN"] == arn:
            return body
    return None


def wanted_capacity(policy: dict, alarm: dict, current: int) -> tuple[int, str] | None:
    """The capacity policy asks for when alarm (in ALARM) runs it, and the direction ("out"
    or "in"); None when the alarm carries no value to act on."""
    step_config = policy.get("StepScalingPolicyConfiguration") or {}
    value = scaling.alarm_value(alarm, step_config.get("MetricAggregationType", "Average"))
    if value is None:
        return None
    if policy["PolicyType"] == "StepScaling":
        config = policy["StepScalingPolicyConfiguration"]
        kind = config.get("AdjustmentType", "ChangeInCapacity")
        new = scaling.step_capacity(current, config["StepAdjustments"], kind, config.get("MinAdjustmentMagnitude"),
                                    value, alarm["Threshold"])
        if new is None:
            return None
    else:
        config = policy["TargetTrackingScalingPolicyConfiguration"]
        new = scaling.tracking_capacity(current, value, config["TargetValue"])
        if new < current and config.get("DisableScaleIn"):
            return None
    return new, ("out" if new > current else "in")
