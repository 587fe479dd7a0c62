"""Scaling policy arithmetic and target tracking's alarms, as AWS's two auto scaling services
share them (EC2 Auto Scaling and Application Auto Scaling both use this module: extend it,
keep it free of either's specifics).

- step_for(steps, value, threshold): the StepAdjustment whose interval (relative to the
  alarm's threshold) holds value; bounds are inclusive at the end nearer the threshold.
- adjusted(current, adjustment_type, adjustment, min_magnitude): the capacity a
  ChangeInCapacity / ExactCapacity / PercentChangeInCapacity adjustment asks for, rounded as
  AWS rounds (a percentage change between -1 and 1 is one unit; otherwise toward zero) and at
  least MinAdjustmentMagnitude.
- tracking_capacity(current, value, target): the capacity that brings the metric back to the
  target, assuming it is proportional to load per unit (rounded up: never under-provision).
- put_tracking_alarms(db, arn, ...) / delete_tracking_alarms(db, alarms): the CloudWatch
  alarms a target tracking policy owns, AWS's AlarmHigh (3 of 3 periods above the target)
  and AlarmLow (15 of 15 below 90 % of it), with the policy as their action; written through
  the CloudWatch alarm code, so they are evaluated and act like any other alarm.
"""

from __future__ import annotations

import math
import uuid

from cloudlet.services.cloudwatch.alarms import check_alarm, remove_alarm, save_alarm
from cloudlet.store.schema import cloudwatch_alarms

MAX_NAME = 255
HIGH = ("AlarmHigh", "GreaterThanThreshold", 3, 1.0)
LOW = ("AlarmLow", "LessThanThreshold", 15, 0.9)


def step_for(steps: list[dict], value: float, threshold: float) -> dict | None:
    delta = value - threshold
    for step in steps:
        low = step.get("MetricIntervalLowerBound")
        high = step.get("MetricIntervalUpperBound")
        low = -math.inf if low is None else low
        high = math.inf if high is None else high
        if (low <= delta < high) if delta >= 0 else (low < delta <= high):
            return step
    return None


def adjusted(current: int, adjustment_type: str, adjustment: int, min_magnitude: int | None = None) -> int:
    if adjustment_type == "ExactCapacity":
        return adjustment
    if adjustment_type == "ChangeInCapacity":
        return current + adjustment
    change = current * adjustment / 100
    change = math.copysign(1, change) if 0 < abs(change) < 1 else math.trunc(change)
    if min_magnitude and 0 < abs(change) < min_magnitude:
        change = math.copysign(min_magnitude, change)
    return current + int(change)


def tracking_capacity(current: int, value: float, target: float) -> int:
    if current <= 0:
        return 1 if value > 0 else 0
    return math.ceil(round(current * value / target, 9))


def _metric_request(metric: dict, period: int) -> dict:
    if "Metrics" in metric:  # metric math: each metric's period is the policy's
        return {"Metrics": [{**q, **({"MetricStat": {**q["MetricStat"], "Period": period}} if "MetricStat" in q
                                     else {})} for q in metric["Metrics"]]}
    return {**metric, "Period": period}


def put_tracking_alarms(db, arn, *, resource: str, policy_arn: str, metric: dict, target: float, period: int,
                        scale_in: bool) -> list[dict]:
    """Make the policy's alarms; [{"AlarmName", "AlarmARN"}]. arn(service, resource) makes an
    ARN in db's account and region; metric is MetricName/Namespace/Dimensions/Statistic(/Unit)
    or {"Metrics": [...]}."""
    out = []
    for suffix, operator, periods, share in (HIGH, LOW) if scale_in else (HIGH,):
        tail = f"-{suffix}-{uuid.uuid4()}"
        name = f"TargetTracking-{resource[:MAX_NAME - len('TargetTracking-') - len(tail)]}{tail}"
        alarm = check_alarm({
            "AlarmName": name, "AlarmDescription": f"DO NOT EDIT OR DELETE. For TargetTrackingScaling policy "
                                                   f"{policy_arn}.",
            **_metric_request(metric, period), "EvaluationPeriods": periods, "DatapointsToAlarm": periods,
            "Threshold": target * share, "ComparisonOperator": operator, "AlarmActions": [policy_arn]})
        alarm_arn = arn("cloudwatch", f"alarm:{name}")
        save_alarm(db, alarm, alarm_arn)
        out.append({"AlarmName": name, "AlarmARN": alarm_arn})
    return out


def delete_tracking_alarms(db, alarms: list[dict]) -> None:
    for alarm in alarms:
        row = db.one(cloudwatch_alarms, cloudwatch_alarms.c.name == alarm["AlarmName"])
        if row is not None:
            remove_alarm(db, row)
