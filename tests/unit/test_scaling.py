"""Scaling math shared by EC2 Auto Scaling and Application Auto Scaling (step selection
around the alarm threshold, adjustments with AWS's rounding, target tracking's capacity, step
checks), Auto Scaling's cron recurrences, and its choice of zones and of instances to end."""

import json
import math
from datetime import datetime, timezone

import pytest

from cloudlet.control import asg_choice as choice
from cloudlet.control.asg_schedule import BadSchedule, next_run
from cloudlet.services.common import scaling

STEPS = [{"MetricIntervalLowerBound": 0, "MetricIntervalUpperBound": 10, "ScalingAdjustment": 1},
         {"MetricIntervalLowerBound": 10, "ScalingAdjustment": 3},
         {"MetricIntervalUpperBound": 0, "ScalingAdjustment": -1}]


@pytest.mark.parametrize("value, expected", [
    (70, 1), (79.9, 1), (80, 3), (500, 3),  # above the threshold (70): lower bound inclusive
    (69.9, -1), (-1e9, -1),                  # below it: upper bound inclusive
])
def test_the_step_is_chosen_relative_to_the_threshold(value, expected):
    assert scaling.step_for(scaling.check_steps(STEPS), value, 70)["ScalingAdjustment"] == expected


def test_a_value_outside_every_step_has_none():
    steps = [{"MetricIntervalLowerBound": 5, "ScalingAdjustment": 2}]
    assert scaling.step_for(steps, 72, 70) is None and scaling.step_for(steps, 75, 70)["ScalingAdjustment"] == 2


@pytest.mark.parametrize("steps, words", [
    ([], "at least one"),
    ([{"ScalingAdjustment": 1}], "both its lower and upper bounds null"),
    ([{"MetricIntervalLowerBound": 5, "MetricIntervalUpperBound": 5, "ScalingAdjustment": 1}], "less than"),
    ([{"MetricIntervalLowerBound": 0, "MetricIntervalUpperBound": 10, "ScalingAdjustment": 1},
      {"MetricIntervalLowerBound": 5, "ScalingAdjustment": 2}], "overlap"),
    ([{"MetricIntervalLowerBound": 0, "MetricIntervalUpperBound": 10, "ScalingAdjustment": 1},
      {"MetricIntervalLowerBound": 20, "ScalingAdjustment": 2}], "gap"),
    ([{"MetricIntervalUpperBound": 0, "ScalingAdjustment": -1},
      {"MetricIntervalUpperBound": 5, "ScalingAdjustment": -2}], "only one"),
    ([{"MetricIntervalLowerBound": -5, "ScalingAdjustment": 1}], "negative lower bound"),
    ([{"MetricIntervalLowerBound": 0, "MetricIntervalUpperBound": 5, "ScalingAdjustment": 1}],
     "positive upper bound"),
    ([{"MetricIntervalLowerBound": math.nan, "ScalingAdjustment": 1}], "finite"),
])
def test_bad_steps_are_refused_with_a_reason(steps, words):
    with pytest.raises(scaling.ScalingError) as err:
        scaling.check_steps(steps)
    assert words in err.value.message and err.value.code == "ValidationError"


@pytest.mark.parametrize("current, kind, adjustment, magnitude, expected", [
    (4, "ChangeInCapacity", 2, None, 6),
    (4, "ChangeInCapacity", -5, None, -1),     # unbounded: the caller applies min and max
    (4, "ExactCapacity", 9, None, 9),
    (10, "PercentChangeInCapacity", 25, None, 12),   # 2.5 rounds down
    (10, "PercentChangeInCapacity", -25, None, 8),   # -2.5 rounds up
    (2, "PercentChangeInCapacity", 10, None, 3),     # 0.2 becomes 1
    (2, "PercentChangeInCapacity", -10, None, 1),    # -0.2 becomes -1
    (0, "PercentChangeInCapacity", 50, None, 0),
    (10, "PercentChangeInCapacity", 10, 3, 13),      # MinAdjustmentMagnitude lifts 1 to 3
    (10, "PercentChangeInCapacity", -10, 3, 7),
])
def test_adjustments_round_as_aws_does(current, kind, adjustment, magnitude, expected):
    assert scaling.adjusted(current, kind, adjustment, magnitude) == expected


def test_adjustment_types_and_magnitude_are_checked():
    with pytest.raises(scaling.ScalingError):
        scaling.check_adjustment("Double")
    with pytest.raises(scaling.ScalingError):
        scaling.check_adjustment("ChangeInCapacity", 2)
    scaling.check_adjustment("PercentChangeInCapacity", 2)
    assert scaling.bounded(12, 1, 10) == 10 and scaling.bounded(-3, 1, 10) == 1


@pytest.mark.parametrize("current, value, target, expected", [
    (2, 90, 50, 4),    # 3.6 -> 4: proportional, rounded up
    (4, 51, 50, 5),    # at least one more above the target
    (4, 30, 50, 3),    # 2.4 -> 3, at most a tenth (at least one) fewer
    (20, 10, 50, 18),  # would be 4: scale-in goes gradually
    (1, 0, 50, 0),
    (3, 50, 50, 3),
])
def test_target_tracking_scales_out_fast_and_in_conservatively(current, value, target, expected):
    assert scaling.tracking_capacity(current, value, target) == expected


def test_the_alarm_value_comes_from_its_reason_data():
    alarm = {"StateReasonData": json.dumps({"recentDatapoints": [90.0, 60.0, 30.0]})}
    assert scaling.alarm_value(alarm) == 60.0 and scaling.alarm_value(alarm, "Maximum") == 90.0
    assert scaling.alarm_value(alarm, "Minimum") == 30.0 and scaling.alarm_value(alarm, "Latest") == 90.0
    assert scaling.alarm_value({"StateReasonData": "not json"}) is None
    assert scaling.alarm_value({"StateReasonData": json.dumps({"recentDatapoints": ["x"]})}) is None
    assert scaling.alarm_value({}) is None


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc).timestamp()


@pytest.mark.parametrize("expression, after, zone, expected", [
    ("*/15 * * * *", "2026-03-02T10:07:00", None, "2026-03-02T10:15:00"),
    ("0 9 * * MON-FRI", "2026-03-06T09:00:00", None, "2026-03-09T09:00:00"),  # Friday 9:00 -> Monday
    ("30 2 1 JAN *", "2026-03-02T00:00:00", None, "2027-01-01T02:30:00"),
    ("0 0 13 * 5", "2026-03-01T00:00:00", None, "2026-03-06T00:00:00"),  # either day field matches
    ("0 9 * * *", "2026-07-01T00:00:00", "Europe/Paris", "2026-07-01T07:00:00"),  # summer: UTC+2
    ("0 9 * * 7", "2026-03-02T00:00:00", None, "2026-03-08T09:00:00"),  # 7 is Sunday too
])
def test_cron_recurrences(expression, after, zone, expected):
    assert next_run(expression, at(after), zone) == at(expected)


@pytest.mark.parametrize("expression", ["* * * *", "61 * * * *", "* * * * MOO", "*/0 * * * *", "5-1 * * * *",
                                        "999999999999 * * * *", "0 0 31 2 * extra"])
def test_bad_recurrences_are_refused(expression):
    with pytest.raises(BadSchedule):
        next_run(expression, 0)


def test_a_recurrence_that_never_comes_and_a_bad_zone():
    assert next_run("0 0 30 2 *", at("2026-01-01T00:00:00")) is None  # February 30th
    with pytest.raises(BadSchedule):
        next_run("* * * * *", 0, "Mars/Olympus")


def instance(iid, zone, launched=0.0, version="1", protected=False, state="InService"):
    return {"InstanceId": iid, "AvailabilityZone": zone, "LifecycleState": state, "ProtectedFromScaleIn": protected,
            "_launched_at": launched, "_subnet": f"subnet-{zone}",
            "LaunchTemplate": {"LaunchTemplateId": "lt-1", "Version": version}}


def test_launches_go_to_the_least_populated_zone():
    subnets = [{"SubnetId": "subnet-a", "AvailabilityZone": "a"}, {"SubnetId": "subnet-b", "AvailabilityZone": "b"}]
    have = [instance("i-1", "a"), instance("i-2", "a", state="Terminating")]  # the terminating one is not counted
    first = choice.subnet_for_launch(subnets, have)
    second = choice.subnet_for_launch(subnets, have, [first])
    assert (first["AvailabilityZone"], second["AvailabilityZone"]) == ("b", "a")


def test_scale_in_balances_zones_then_ends_the_oldest_template():
    current = {"LaunchTemplateId": "lt-1", "Version": "2"}
    have = [instance("i-a1", "a", version="2"), instance("i-a2", "a", version="1"), instance("i-a3", "a", version="2"),
            instance("i-b1", "b", version="1")]
    assert [i["InstanceId"] for i in choice.victims(have, 2, [], current)] == ["i-a2", "i-a1"]


def test_scale_in_policies_and_protection():
    have = [instance("i-1", "a", launched=10), instance("i-2", "a", launched=5, protected=True),
            instance("i-3", "a", launched=20)]
    assert [i["InstanceId"] for i in choice.victims(have, 1, ["NewestInstance"], None)] == ["i-3"]
    assert [i["InstanceId"] for i in choice.victims(have, 1, ["OldestInstance"], None)] == ["i-1"]
    assert [i["InstanceId"] for i in choice.victims(have, 3, [], None)] == ["i-1", "i-3"]  # never the protected
