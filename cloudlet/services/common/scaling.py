"""Scaling policies' arithmetic and target tracking's alarms, for every service that scales
something (EC2 Auto Scaling's groups, Application Auto Scaling's targets). Nothing here knows
what is scaled: callers pass capacities, bounds, metric specs and a resource label in.
Refusals are ScalingError, an AWSError of code ValidationError (EC2 Auto Scaling's); a
service whose code differs (ValidationException) catches it and re-raises with its message.

Interface:

  ADJUSTMENT_TYPES, AGGREGATIONS
  ScalingError(message)                      AWSError("ValidationError", message)
  check_adjustment(kind, min_magnitude=None) a valid AdjustmentType (MinAdjustmentMagnitude
                                             only with PercentChangeInCapacity, >= 1)
  check_steps(steps) -> list[dict]           StepAdjustments checked (no overlap, no gap, at
                                             most one open bound each way, both bounds open in
                                             none), sorted by lower bound
  step_for(steps, value, threshold) -> dict | None
                                             the step whose interval, relative to the alarm's
                                             threshold, holds value (lower bound inclusive and
                                             upper exclusive above the threshold; the other way
                                             below it, as AWS documents)
  adjusted(current, kind, adjustment, min_magnitude=None) -> int
                                             the capacity a ChangeInCapacity, ExactCapacity or
                                             PercentChangeInCapacity adjustment gives (percent:
                                             AWS's rounding, then MinAdjustmentMagnitude);
                                             unbounded: the caller applies its min and max
  step_capacity(current, steps, kind, min_magnitude, value, threshold) -> int | None
                                             step_for then adjusted: a step policy's capacity
  bounded(capacity, low, high) -> int
  tracking_capacity(current, value, target) -> int
                                             target tracking's new capacity, proportional to
                                             value/target and rounded up: above the target at
                                             least one more (out fast), below it at most a
                                             tenth fewer, at least one (in conservatively)
  alarm_value(alarm, aggregation="Average") -> float | None
                                             the value an alarm (as DescribeAlarms shows it)
                                             breached with: its StateReasonData's
                                             recentDatapoints, aggregated (Average, Minimum,
                                             Maximum, or "Latest": the newest)
  put_tracking_alarms(db, arn, *, resource, policy_arn, metric, target, period=60, scale_in=True)
                                             -> [{"AlarmName", "AlarmARN"}]
                                             the alarms target tracking owns, written through
                                             CloudWatch's alarm code (check_alarm, save_alarm):
                                             "TargetTracking-<resource>-AlarmHigh-<uuid>" (3 of
                                             3 periods GreaterThanThreshold target) and, when
                                             scale_in, "...-AlarmLow-<uuid>" (15 of 15
                                             LessThanThreshold 0.9 x target), both acting on
                                             policy_arn. arn(service, resource) makes the
                                             account's ARNs (a Context's arn). metric:
                                             {"Namespace", "MetricName", "Dimensions",
                                             "Statistic"[, "Unit"]} or {"Metrics": [queries]}
  delete_tracking_alarms(db, alarms)         those alarms gone (one deleted by hand is skipped)
"""

from __future__ import annotations

import json
import math
import re
import uuid

from cloudlet.edge.errors import AWSError
from cloudlet.services.cloudwatch.alarms import check_alarm, remove_alarm, save_alarm
from cloudlet.store.schema import cloudwatch_alarms

ADJUSTMENT_TYPES = ("ChangeInCapacity", "ExactCapacity", "PercentChangeInCapacity")
AGGREGATIONS = ("Average", "Minimum", "Maximum")  # and "Latest", for alarm_value
HIGH = {"periods": 3, "comparison": "GreaterThanThreshold", "factor": 1.0}
LOW = {"periods": 15, "comparison": "LessThanThreshold", "factor": 0.9}
_NAME_MAX = 255  # CloudWatch's longest alarm name: a long resource label is cut to fit


class ScalingError(AWSError):
    def __init__(self, message: str):
        super().__init__("ValidationError", message)


_RESOURCE_LABEL = re.compile(r"app/[A-Za-z0-9-]{1,32}/[0-9a-f]{16}/targetgroup/[A-Za-z0-9-]{1,32}/[0-9a-f]{16}")


def alb_requests_per_target(label: str | None) -> dict | None:
    """The metric ALBRequestCountPerTarget tracks, from its ResourceLabel
    ("app/<lb name>/<lb id>/targetgroup/<group name>/<group id>"): the group's requests per
    target in a minute (control/elb_metrics.py publishes it); None for a label not of that form."""
    if not label or not _RESOURCE_LABEL.fullmatch(label):
        return None
    group = label[label.index("targetgroup/"):]
    return {"Namespace": "AWS/ApplicationELB", "MetricName": "RequestCountPerTarget", "Statistic": "Sum",
            "Dimensions": [{"Name": "TargetGroup", "Value": group}]}


def check_adjustment(kind: str, min_magnitude: int | None = None) -> None:
    if kind not in ADJUSTMENT_TYPES:
        raise ScalingError(f"Invalid adjustment type {kind}. Valid values are {', '.join(ADJUSTMENT_TYPES)}.")
    if min_magnitude is not None:
        if kind != "PercentChangeInCapacity":
            raise ScalingError("MinAdjustmentMagnitude is only supported with PercentChangeInCapacity.")
        if min_magnitude < 1:
            raise ScalingError("MinAdjustmentMagnitude must be at least 1.")


def _bounds(step: dict) -> tuple[float, float]:
    low, high = step.get("MetricIntervalLowerBound"), step.get("MetricIntervalUpperBound")
    return (-math.inf if low is None else low, math.inf if high is None else high)


def check_steps(steps: list[dict]) -> list[dict]:
    if not steps:
        raise ScalingError("A step scaling policy needs at least one step adjustment.")
    for step in steps:
        given = [step.get(k) for k in ("MetricIntervalLowerBound", "MetricIntervalUpperBound")]
        if any(v is not None and not math.isfinite(v) for v in given):
            raise ScalingError("A step adjustment's bounds must be finite numbers (leave one out for no bound).")
        low, high = _bounds(step)
        if math.isinf(low) and math.isinf(high):
            raise ScalingError("A step adjustment cannot have both its lower and upper bounds null.")
        if not math.isinf(low) and not math.isinf(high) and low >= high:
            raise ScalingError(f"The lower bound {low} of a step adjustment must be less than its upper bound "
                               f"{high}.")
    ordered = sorted(steps, key=lambda s: _bounds(s)[0])
    if sum(math.isinf(_bounds(s)[0]) for s in steps) > 1 or sum(math.isinf(_bounds(s)[1]) for s in steps) > 1:
        raise ScalingError("Only one step adjustment can have a null lower bound, and only one a null upper bound.")
    for before, after in zip(ordered, ordered[1:]):
        if _bounds(before)[1] != _bounds(after)[0]:
            raise ScalingError("Step adjustment intervals must not overlap or leave a gap: an interval's upper bound "
                               "must be the next one's lower bound.")
    low, high = _bounds(ordered[0])[0], _bounds(ordered[-1])[1]
    if not math.isinf(low) and low < 0:
        raise ScalingError("A step adjustment has a negative lower bound, so one must have a null lower bound.")
    if not math.isinf(high) and high > 0:
        raise ScalingError("A step adjustment has a positive upper bound, so one must have a null upper bound.")
    return ordered


def step_for(steps: list[dict], value: float, threshold: float) -> dict | None:
    delta = value - threshold
    for step in steps:
        low, high = _bounds(step)
        if (low <= delta < high) if delta >= 0 else (low < delta <= high):
            return step
    return None


def _percent(current: int, percent: float) -> int:
    """AWS's rounding of a percent change: away from zero below one, towards zero above it."""
    raw = current * percent / 100
    if raw >= 1:
        return math.floor(raw)
    if raw > 0:
        return 1
    if raw <= -1:
        return math.ceil(raw)
    return -1 if raw < 0 else 0


def adjusted(current: int, kind: str, adjustment: float, min_magnitude: int | None = None) -> int:
    if kind == "ExactCapacity":
        return int(adjustment)
    if kind == "ChangeInCapacity":
        return current + int(adjustment)
    delta = _percent(current, adjustment)
    if min_magnitude and adjustment and abs(delta) < min_magnitude:
        delta = int(math.copysign(min_magnitude, adjustment))
    return current + delta


def step_capacity(current: int, steps: list[dict], kind: str, min_magnitude: int | None, value: float,
                  threshold: float) -> int | None:
    """What a step policy asks for when its alarm breached with value; None if no step holds it."""
    step = step_for(steps, value, threshold)
    return None if step is None else adjusted(current, kind, step["ScalingAdjustment"], min_magnitude)


def bounded(capacity: int, low: int, high: int) -> int:
    return max(low, min(high, capacity))


def tracking_capacity(current: int, value: float, target: float) -> int:
    if target <= 0 or value == target:
        return current
    ideal = math.ceil(current * value / target - 1e-9)
    if value > target:
        return max(current + 1, ideal)
    return min(current, max(ideal, current - max(1, current // 10)))


def alarm_value(alarm: dict, aggregation: str = "Average") -> float | None:
    try:
        points = json.loads(alarm.get("StateReasonData") or "{}").get("recentDatapoints") or []
    except (ValueError, AttributeError):
        return None
    points = [p for p in points if isinstance(p, (int, float)) and math.isfinite(p)]
    if not points:
        return None
    if aggregation == "Latest":
        return points[0]  # CloudWatch lists them newest first
    if aggregation == "Minimum":
        return min(points)
    if aggregation == "Maximum":
        return max(points)
    return sum(points) / len(points)


def _alarm_name(resource: str, side: str) -> str:
    suffix = f"-Alarm{side}-{uuid.uuid4()}"
    return f"TargetTracking-{resource}"[:_NAME_MAX - len(suffix)] + suffix


def _metric_request(metric: dict, period: int) -> dict:
    """The alarm's metric members: a metric math query's MetricStat gets the period (target
    tracking's queries have none of their own)."""
    if "Metrics" in metric:
        return {"Metrics": [{**q, "MetricStat": {"Period": period, **q["MetricStat"]}} if "MetricStat" in q else q
                            for q in metric["Metrics"]]}
    return {**metric, "Period": period}


def put_tracking_alarms(db, arn, *, resource: str, policy_arn: str, metric: dict, target: float,
                        period: int = 60, scale_in: bool = True) -> list[dict]:
    out = []
    for side, shape in (("High", HIGH), ("Low", LOW)) if scale_in else (("High", HIGH),):
        name = _alarm_name(resource, side)
        request = {"AlarmName": name, "AlarmDescription": f"DO NOT EDIT OR DELETE. For TargetTrackingScaling "
                                                          f"policy {policy_arn}.",
                   "AlarmActions": [policy_arn], "EvaluationPeriods": shape["periods"],
                   "DatapointsToAlarm": shape["periods"], "Threshold": target * shape["factor"],
                   "ComparisonOperator": shape["comparison"], **_metric_request(metric, period)}
        try:
            alarm = check_alarm(request)
        except AWSError as error:
            raise ScalingError(error.message) from None
        alarm_arn = arn("cloudwatch", f"alarm:{name}")
        save_alarm(db, alarm, alarm_arn)
        out.append({"AlarmName": name, "AlarmARN": alarm_arn})
    return out


def delete_tracking_alarms(db, alarms: list[dict]) -> None:
    for alarm in alarms:
        row = db.one(cloudwatch_alarms, cloudwatch_alarms.c.name == alarm["AlarmName"])
        if row is not None:
            remove_alarm(db, row)
