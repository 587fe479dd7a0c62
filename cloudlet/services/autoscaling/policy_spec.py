"""PutScalingPolicy's checks, by policy type, with AWS's refusals: which members each type
takes, step adjustments and adjustment types (services/common/scaling.py), and what a target
tracking policy tracks (the group's predefined metrics, or a customized one)."""

from __future__ import annotations

import math

from cloudlet.services.common import scaling

from .errors import at_least, invalid

TYPES = ("SimpleScaling", "StepScaling", "TargetTrackingScaling", "PredictiveScaling")
PREDEFINED = {"ASGAverageCPUUtilization": "CPUUtilization", "ASGAverageNetworkIn": "NetworkIn",
              "ASGAverageNetworkOut": "NetworkOut"}
_ALLOWED = {
    "SimpleScaling": {"AdjustmentType", "ScalingAdjustment", "Cooldown", "MinAdjustmentMagnitude",
                      "MinAdjustmentStep"},
    "StepScaling": {"AdjustmentType", "StepAdjustments", "MetricAggregationType", "EstimatedInstanceWarmup",
                    "MinAdjustmentMagnitude", "MinAdjustmentStep"},
    "TargetTrackingScaling": {"TargetTrackingConfiguration", "EstimatedInstanceWarmup"},
}
_MEMBERS = {m for allowed in _ALLOWED.values() for m in allowed}


def _required(request, member: str, kind: str) -> None:
    if request.get(member) is None:
        raise invalid(f"{member} is required for policy type {kind}.")


def tracked_metric(group: str, config: dict) -> dict:
    """The metric a TargetTrackingConfiguration tracks, as scaling.put_tracking_alarms takes it."""
    predefined, custom = config.get("PredefinedMetricSpecification"), config.get("CustomizedMetricSpecification")
    if (predefined is None) == (custom is None):
        raise invalid("Exactly one of PredefinedMetricSpecification and CustomizedMetricSpecification must be "
                      "specified.")
    target = config.get("TargetValue")
    if target is None or not math.isfinite(target) or target <= 0:
        raise invalid(f"TargetValue must be a number greater than 0, not {target}.")
    if predefined is not None:
        kind = predefined["PredefinedMetricType"]
        if kind == "ALBRequestCountPerTarget":
            metric = scaling.alb_requests_per_target(predefined.get("ResourceLabel"))
            if metric is None:
                raise invalid(f"ResourceLabel '{predefined.get('ResourceLabel')}' is not valid for "
                              "ALBRequestCountPerTarget: it must be app/<load balancer name>/<id>/targetgroup/"
                              "<target group name>/<id>.")
            return metric
        if kind not in PREDEFINED:
            raise invalid(f"Invalid predefined metric type {kind} for an Auto Scaling group. Valid values are "
                          f"{', '.join(PREDEFINED)} and ALBRequestCountPerTarget.")
        return {"Namespace": "AWS/EC2", "MetricName": PREDEFINED[kind], "Statistic": "Average",
                "Dimensions": [{"Name": "AutoScalingGroupName", "Value": group}]}
    if custom.get("Metrics"):
        if any(custom.get(k) for k in ("MetricName", "Namespace", "Statistic", "Dimensions", "Unit")):
            raise invalid("A CustomizedMetricSpecification gives either Metrics or MetricName, Namespace, "
                          "Statistic, Dimensions and Unit, not both.")
        return {"Metrics": custom["Metrics"]}
    for member in ("MetricName", "Namespace", "Statistic"):
        if not custom.get(member):
            raise invalid(f"CustomizedMetricSpecification needs {member}.")
    return {k: custom[k] for k in ("Namespace", "MetricName", "Dimensions", "Statistic", "Unit") if custom.get(k)}


def checked(request) -> dict:
    """The policy's configuration (its ScalingPolicy members) from a PutScalingPolicy request."""
    kind = request.get("PolicyType") or "SimpleScaling"
    if kind not in TYPES:
        raise invalid(f"Invalid policy type: {kind}. Valid values are {', '.join(TYPES)}.")
    if kind == "PredictiveScaling":
        raise invalid("cloudlet does not forecast load: PredictiveScaling policies are not supported.")
    for member in sorted(_MEMBERS - _ALLOWED[kind]):
        if request.get(member) is not None:
            raise invalid(f"{member} is not supported for policy type {kind}.")
    policy = {"PolicyType": kind, "Enabled": request.get("Enabled", True),
              **{k: request[k] for k in _ALLOWED[kind] if request.get(k) is not None}}
    magnitude = policy.pop("MinAdjustmentStep", None)  # the deprecated name of MinAdjustmentMagnitude
    if magnitude is not None and "MinAdjustmentMagnitude" not in policy:
        policy["MinAdjustmentMagnitude"] = magnitude
    at_least(policy.get("Cooldown"), 0, "cooldown")
    at_least(policy.get("EstimatedInstanceWarmup"), 0, "estimatedInstanceWarmup")
    if kind == "TargetTrackingScaling":
        _required(request, "TargetTrackingConfiguration", kind)
        return policy
    _required(request, "AdjustmentType", kind)
    scaling.check_adjustment(policy["AdjustmentType"], policy.get("MinAdjustmentMagnitude"))
    if kind == "SimpleScaling":
        _required(request, "ScalingAdjustment", kind)
        return policy
    _required(request, "StepAdjustments", kind)
    policy["StepAdjustments"] = scaling.check_steps(policy["StepAdjustments"])
    policy.setdefault("MetricAggregationType", "Average")
    if policy["MetricAggregationType"] not in scaling.AGGREGATIONS:
        raise invalid(f"Invalid MetricAggregationType: {policy['MetricAggregationType']}. Valid values are "
                      f"{', '.join(scaling.AGGREGATIONS)}.")
    return policy
