"""EC2 Auto Scaling's policies, lifecycle hooks, scheduled actions and instance refreshes
through boto3, without VMs (groups with Launch suspended): each operation's checks and
refusals, target tracking's CloudWatch alarms, policies run by real alarm actions
(SetAlarmState moves the alarm; CloudWatch's action worker calls the policy), a scheduled
action applied by the group controller, and a refresh's statuses."""

import json
import re
import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from tests.e2e.asg_helpers import asg, ec2, group, refusal, template  # noqa: F401 (fixtures)
from tests.e2e.errors import code


@pytest.fixture(scope="module")
def cw(server):
    return server.client("cloudwatch")


@pytest.fixture
def name(asg, template):
    """A group that launches nothing (Launch suspended), whatever its desired capacity."""
    name = f"p-{uuid.uuid4().hex[:10]}"
    asg.create_auto_scaling_group(AutoScalingGroupName=name, MinSize=0, MaxSize=4, DesiredCapacity=0,
                                  LaunchTemplate={"LaunchTemplateId": template["LaunchTemplateId"]},
                                  AvailabilityZones=["us-east-1a"])
    asg.suspend_processes(AutoScalingGroupName=name, ScalingProcesses=["Launch"])
    yield name
    asg.delete_auto_scaling_group(AutoScalingGroupName=name, ForceDelete=True)


def until(check, seconds: float = 20):
    deadline = time.monotonic() + seconds
    while not (got := check()):
        assert time.monotonic() < deadline, "not reached in time"
        time.sleep(0.3)
    return got


def alarm_state(cw, alarm: str, values: list[float]):
    cw.set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="test",
                       StateReasonData=json.dumps({"version": "1.0", "recentDatapoints": values}))


STEPS = [{"MetricIntervalLowerBound": 0, "MetricIntervalUpperBound": 20, "ScalingAdjustment": 1},
         {"MetricIntervalLowerBound": 20, "ScalingAdjustment": 3}]


def test_simple_policy_put_describe_execute(asg, name):
    arn = asg.put_scaling_policy(AutoScalingGroupName=name, PolicyName="up", AdjustmentType="ChangeInCapacity",
                                 ScalingAdjustment=1, Cooldown=120)["PolicyARN"]
    assert re.fullmatch(rf"arn:aws:autoscaling:us-east-1:\d{{12}}:scalingPolicy:[0-9a-f-]{{36}}:autoScalingGroupName/"
                        rf"{name}:policyName/up", arn)
    again = asg.put_scaling_policy(AutoScalingGroupName=name, PolicyName="up", AdjustmentType="ExactCapacity",
                                   ScalingAdjustment=9)["PolicyARN"]
    assert again == arn  # an update keeps its ARN
    policy = asg.describe_policies(AutoScalingGroupName=name)["ScalingPolicies"][0]
    assert (policy["PolicyType"], policy["AdjustmentType"], policy["ScalingAdjustment"]) == \
        ("SimpleScaling", "ExactCapacity", 9)
    asg.execute_policy(AutoScalingGroupName=name, PolicyName="up")
    assert group(asg, name)["DesiredCapacity"] == 4  # bounded by MaxSize
    asg.put_scaling_policy(AutoScalingGroupName=name, PolicyName="down", AdjustmentType="PercentChangeInCapacity",
                           ScalingAdjustment=-10, MinAdjustmentMagnitude=2)
    got = refusal(asg.execute_policy, AutoScalingGroupName=name, PolicyName="down", HonorCooldown=True)
    assert got[0] == "ScalingActivityInProgress"
    asg.execute_policy(AutoScalingGroupName=name, PolicyName="down")
    assert group(asg, name)["DesiredCapacity"] == 2  # -0.4 -> -1, then the magnitude: -2
    asg.delete_policy(AutoScalingGroupName=name, PolicyName=arn)  # by ARN
    assert [p["PolicyName"] for p in asg.describe_policies(AutoScalingGroupName=name)["ScalingPolicies"]] == ["down"]
    assert code(asg.execute_policy, AutoScalingGroupName=name, PolicyName="up") == "ValidationError"


@pytest.mark.parametrize("extra, words", [
    ({"PolicyType": "SimpleScaling", "ScalingAdjustment": 1}, "AdjustmentType is required"),
    ({"AdjustmentType": "ChangeInCapacity"}, "ScalingAdjustment is required"),
    ({"AdjustmentType": "Triple", "ScalingAdjustment": 1}, "Invalid adjustment type"),
    ({"AdjustmentType": "ChangeInCapacity", "ScalingAdjustment": 1, "MinAdjustmentMagnitude": 2},
     "MinAdjustmentMagnitude is only supported"),
    ({"AdjustmentType": "ChangeInCapacity", "ScalingAdjustment": 1, "StepAdjustments": STEPS}, "not supported"),
    ({"PolicyType": "StepScaling", "AdjustmentType": "ChangeInCapacity", "StepAdjustments": STEPS, "Cooldown": 5},
     "Cooldown is not supported for policy type StepScaling"),
    ({"PolicyType": "StepScaling", "AdjustmentType": "ChangeInCapacity", "StepAdjustments": STEPS[1:] + [
        {"MetricIntervalLowerBound": 10, "MetricIntervalUpperBound": 30, "ScalingAdjustment": 2}]}, "overlap"),
    ({"PolicyType": "StepScaling", "AdjustmentType": "ChangeInCapacity", "StepAdjustments": STEPS,
      "MetricAggregationType": "Median"}, "MetricAggregationType"),
    ({"PolicyType": "TargetTrackingScaling"}, "TargetTrackingConfiguration is required"),
    ({"PolicyType": "TargetTrackingScaling", "TargetTrackingConfiguration": {"TargetValue": 50}}, "Exactly one of"),
    ({"PolicyType": "TargetTrackingScaling", "TargetTrackingConfiguration": {"TargetValue": 50, (
        "PredefinedMetricSpecification"): {"PredefinedMetricType": "ALBRequestCountPerTarget"}}}, "ResourceLabel"),
    ({"PolicyType": "TargetTrackingScaling", "TargetTrackingConfiguration": {"TargetValue": -1, (
        "PredefinedMetricSpecification"): {"PredefinedMetricType": "ASGAverageCPUUtilization"}}}, "greater than 0"),
    ({"PolicyType": "PredictiveScaling"}, "PredictiveScaling"),
])
def test_policies_are_checked(asg, name, extra, words):
    got = refusal(asg.put_scaling_policy, AutoScalingGroupName=name, PolicyName="bad", **extra)
    assert got[0] == "ValidationError" and words in got[1], got
    assert asg.describe_policies(AutoScalingGroupName=name)["ScalingPolicies"] == []


def test_target_tracking_owns_its_alarms(asg, cw, name):
    config = {"PredefinedMetricSpecification": {"PredefinedMetricType": "ASGAverageCPUUtilization"},
              "TargetValue": 50}
    out = asg.put_scaling_policy(AutoScalingGroupName=name, PolicyName="cpu", PolicyType="TargetTrackingScaling",
                                 TargetTrackingConfiguration=config)
    names = [a["AlarmName"] for a in out["Alarms"]]
    assert re.fullmatch(rf"TargetTracking-{name}-AlarmHigh-[0-9a-f-]{{36}}", names[0])
    assert re.fullmatch(rf"TargetTracking-{name}-AlarmLow-[0-9a-f-]{{36}}", names[1])
    high, low = cw.describe_alarms(AlarmNames=names)["MetricAlarms"]
    for alarm, periods, operator, threshold in ((high, 3, "GreaterThanThreshold", 50), (low, 15, "LessThanThreshold",
                                                                                          45)):
        assert (alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"], alarm["Period"]) == (periods, periods, 60)
        assert (alarm["ComparisonOperator"], alarm["Threshold"]) == (operator, threshold)
        assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"]) == ("AWS/EC2", "CPUUtilization",
                                                                                 "Average")
        assert alarm["Dimensions"] == [{"Name": "AutoScalingGroupName", "Value": name}]
        assert alarm["AlarmActions"] == [out["PolicyARN"]]
    asg.put_scaling_policy(AutoScalingGroupName=name, PolicyName="cpu", PolicyType="TargetTrackingScaling",
                           TargetTrackingConfiguration={**config, "DisableScaleIn": True})
    assert cw.describe_alarms(AlarmNames=names)["MetricAlarms"] == []  # replaced
    kept = asg.describe_policies(AutoScalingGroupName=name)["ScalingPolicies"][0]["Alarms"]
    assert len(kept) == 1 and "-AlarmHigh-" in kept[0]["AlarmName"]
    asg.delete_policy(AutoScalingGroupName=name, PolicyName="cpu")
    assert cw.describe_alarms(AlarmNames=[kept[0]["AlarmName"]])["MetricAlarms"] == []
    assert code(asg.execute_policy, AutoScalingGroupName=name, PolicyName="cpu") == "ValidationError"


def test_target_tracking_of_requests_per_target(asg, cw, name):
    label = "app/web/0123456789abcdef/targetgroup/web-tg/fedcba9876543210"
    out = asg.put_scaling_policy(AutoScalingGroupName=name, PolicyName="rps", PolicyType="TargetTrackingScaling",
                                 TargetTrackingConfiguration={"TargetValue": 100, "PredefinedMetricSpecification": {
                                     "PredefinedMetricType": "ALBRequestCountPerTarget", "ResourceLabel": label}})
    high = cw.describe_alarms(AlarmNames=[out["Alarms"][0]["AlarmName"]])["MetricAlarms"][0]
    assert (high["Namespace"], high["MetricName"], high["Statistic"]) == ("AWS/ApplicationELB",
                                                                          "RequestCountPerTarget", "Sum")
    assert high["Dimensions"] == [{"Name": "TargetGroup", "Value": "targetgroup/web-tg/fedcba9876543210"}]
    for bad in ("app/web/0123456789abcdef", "app/web/xyz/targetgroup/web-tg/fedcba9876543210\n"):
        assert code(asg.put_scaling_policy, AutoScalingGroupName=name, PolicyName="bad",
                    PolicyType="TargetTrackingScaling", TargetTrackingConfiguration={
                        "TargetValue": 100, "PredefinedMetricSpecification": {
                            "PredefinedMetricType": "ALBRequestCountPerTarget", "ResourceLabel": bad}}) == \
            "ValidationError"
    asg.delete_policy(AutoScalingGroupName=name, PolicyName="rps")


def test_target_tracking_of_metric_math(asg, cw, name):
    out = asg.put_scaling_policy(AutoScalingGroupName=name, PolicyName="math", PolicyType="TargetTrackingScaling",
                                 TargetTrackingConfiguration={"TargetValue": 100, "CustomizedMetricSpecification": {
                                     "Metrics": [{"Id": "m1", "ReturnData": False, "MetricStat": {
                                         "Metric": {"Namespace": "Shop", "MetricName": "Orders"}, "Stat": "Sum"}},
                                         {"Id": "e1", "Expression": "m1 / 10", "ReturnData": True}]}})
    high = cw.describe_alarms(AlarmNames=[out["Alarms"][0]["AlarmName"]])["MetricAlarms"][0]
    assert [q["Id"] for q in high["Metrics"]] == ["m1", "e1"] and high["Metrics"][0]["MetricStat"]["Period"] == 60
    assert code(asg.put_scaling_policy, AutoScalingGroupName=name, PolicyName="bad-math",
                PolicyType="TargetTrackingScaling", TargetTrackingConfiguration={
                    "TargetValue": 100, "CustomizedMetricSpecification": {"Metrics": [
                        {"Id": "e1", "Expression": "1", "ReturnData": True},
                        {"Id": "e2", "Expression": "2", "ReturnData": True}]}}) == "ValidationError"  # two answers
    assert [p["PolicyName"] for p in asg.describe_policies(AutoScalingGroupName=name)["ScalingPolicies"]] == ["math"]


def test_alarms_run_policies(asg, cw, name):
    asg.update_auto_scaling_group(AutoScalingGroupName=name, DesiredCapacity=1)
    tracking = asg.put_scaling_policy(
        AutoScalingGroupName=name, PolicyName="tt", PolicyType="TargetTrackingScaling", EstimatedInstanceWarmup=0,
        TargetTrackingConfiguration={"TargetValue": 50, "CustomizedMetricSpecification": {
            "MetricName": "Load", "Namespace": "Shop", "Statistic": "Average"}})
    high, low = (a["AlarmName"] for a in tracking["Alarms"])
    alarm_state(cw, high, [90.0, 90.0, 90.0])  # 1 x 90 / 50, rounded up
    until(lambda: group(asg, name)["DesiredCapacity"] == 2)
    alarm_state(cw, low, [10.0] * 15)
    until(lambda: group(asg, name)["DesiredCapacity"] == 1)
    step = asg.put_scaling_policy(AutoScalingGroupName=name, PolicyName="step", PolicyType="StepScaling",
                                  AdjustmentType="ChangeInCapacity", StepAdjustments=STEPS,
                                  EstimatedInstanceWarmup=0)["PolicyARN"]
    cw.put_metric_alarm(AlarmName=f"{name}-busy", Namespace="Shop", MetricName="Queue", Statistic="Maximum",
                        Period=60, EvaluationPeriods=1, Threshold=70, ComparisonOperator="GreaterThanThreshold",
                        AlarmActions=[step])
    alarm_state(cw, f"{name}-busy", [95.0])  # 25 over the threshold: the second step
    until(lambda: group(asg, name)["DesiredCapacity"] == 4)
    history = until(lambda: [h for h in cw.describe_alarm_history(AlarmName=f"{name}-busy", HistoryItemType="Action")[
        "AlarmHistoryItems"]])
    assert history[0]["HistorySummary"] == f"Successfully executed action {step}"
    asg.suspend_processes(AutoScalingGroupName=name, ScalingProcesses=["AlarmNotification"])
    alarm_state(cw, low, [0.0] * 15)
    time.sleep(2)
    assert group(asg, name)["DesiredCapacity"] == 4  # alarms are not acted on while suspended
    cw.delete_alarms(AlarmNames=[f"{name}-busy"])


def test_lifecycle_hooks(asg, name):
    asg.put_lifecycle_hook(AutoScalingGroupName=name, LifecycleHookName="boot", HeartbeatTimeout=60,
                           LifecycleTransition="autoscaling:EC2_INSTANCE_LAUNCHING", DefaultResult="CONTINUE",
                           NotificationMetadata="hello")
    hook = asg.describe_lifecycle_hooks(AutoScalingGroupName=name)["LifecycleHooks"][0]
    assert (hook["HeartbeatTimeout"], hook["GlobalTimeout"], hook["DefaultResult"]) == (60, 6000, "CONTINUE")
    asg.put_lifecycle_hook(AutoScalingGroupName=name, LifecycleHookName="boot", HeartbeatTimeout=120)
    assert asg.describe_lifecycle_hooks(AutoScalingGroupName=name, LifecycleHookNames=["boot"])["LifecycleHooks"][0][
        "LifecycleTransition"] == "autoscaling:EC2_INSTANCE_LAUNCHING"  # an update keeps what it leaves out
    for extra in ({"LifecycleTransition": "autoscaling:EC2_INSTANCE_REBOOTING"},
                  {"LifecycleTransition": "autoscaling:EC2_INSTANCE_LAUNCHING", "HeartbeatTimeout": 10},
                  {"LifecycleTransition": "autoscaling:EC2_INSTANCE_LAUNCHING", "DefaultResult": "MAYBE"},
                  {"LifecycleTransition": "autoscaling:EC2_INSTANCE_LAUNCHING",
                   "NotificationTargetARN": "http://169.254.169.254/latest"},
                  {"LifecycleTransition": "autoscaling:EC2_INSTANCE_LAUNCHING",  # another account's topic
                   "NotificationTargetARN": "arn:aws:sns:us-east-1:999999999999:theirs"}):
        assert code(asg.put_lifecycle_hook, AutoScalingGroupName=name, LifecycleHookName="bad", **extra) == \
            "ValidationError", extra
    assert refusal(asg.complete_lifecycle_action, AutoScalingGroupName=name, LifecycleHookName="boot",
                   LifecycleActionResult="CONTINUE", InstanceId="i-0123456789abcdef0")[1] == \
        "No active Lifecycle Action found with instance ID i-0123456789abcdef0"
    assert code(asg.complete_lifecycle_action, AutoScalingGroupName=name, LifecycleHookName="boot",
                LifecycleActionResult="CONTINUE") == "ValidationError"
    assert code(asg.record_lifecycle_action_heartbeat, AutoScalingGroupName=name, LifecycleHookName="boot",
                LifecycleActionToken=str(uuid.uuid4())) == "ValidationError"
    for i in range(49):
        asg.put_lifecycle_hook(AutoScalingGroupName=name, LifecycleHookName=f"h{i}",
                               LifecycleTransition="autoscaling:EC2_INSTANCE_TERMINATING")
    assert code(asg.put_lifecycle_hook, AutoScalingGroupName=name, LifecycleHookName="one-too-many",
                LifecycleTransition="autoscaling:EC2_INSTANCE_TERMINATING") == "LimitExceeded"
    asg.delete_lifecycle_hook(AutoScalingGroupName=name, LifecycleHookName="boot")
    assert code(asg.delete_lifecycle_hook, AutoScalingGroupName=name, LifecycleHookName="boot") == "ValidationError"


def test_scheduled_actions(asg, name):
    soon = datetime.now(timezone.utc) + timedelta(seconds=3)
    asg.put_scheduled_update_group_action(AutoScalingGroupName=name, ScheduledActionName="grow", StartTime=soon,
                                          MaxSize=6, DesiredCapacity=5)
    asg.put_scheduled_update_group_action(AutoScalingGroupName=name, ScheduledActionName="nightly",
                                          Recurrence="30 22 * * *", TimeZone="Asia/Tokyo", MinSize=0)
    nightly = asg.describe_scheduled_actions(AutoScalingGroupName=name, ScheduledActionNames=["nightly"])[
        "ScheduledUpdateGroupActions"][0]
    assert nightly["StartTime"].astimezone(timezone.utc).strftime("%H:%M") == "13:30"  # 22:30 in Tokyo
    assert re.fullmatch(rf"arn:aws:autoscaling:us-east-1:\d{{12}}:scheduledUpdateGroupAction:[0-9a-f-]{{36}}:"
                        rf"autoScalingGroupName/{name}:scheduledActionName/nightly", nightly["ScheduledActionARN"])
    until(lambda: group(asg, name)["DesiredCapacity"] == 5, 30)  # the controller ran it
    assert group(asg, name)["MaxSize"] == 6
    left = asg.describe_scheduled_actions(AutoScalingGroupName=name)["ScheduledUpdateGroupActions"]
    assert [a["ScheduledActionName"] for a in left] == ["nightly"]  # a one-time action goes once run
    past = datetime.now(timezone.utc) - timedelta(hours=1)
    for extra, words in (({"StartTime": past, "MinSize": 1}, "Given start time is in the past"),
                         ({"Recurrence": "61 * * * *", "MinSize": 1}, "minute"),
                         ({"Recurrence": "* * * * *", "TimeZone": "Mars/Olympus", "MinSize": 1}, "time zone"),
                         ({"Recurrence": "* * * * *", "TimeZone": "../../../etc/passwd", "MinSize": 1}, "time zone"),
                         ({"Recurrence": "* * * * *"}, "At least one of"),
                         ({"Recurrence": "* * * * *", "MinSize": 3, "MaxSize": 1}, "Max bound")):
        got = refusal(asg.put_scheduled_update_group_action, AutoScalingGroupName=name, ScheduledActionName="bad",
                      **extra)
        assert got[0] == "ValidationError" and words in got[1], (extra, got)
    failed = asg.batch_put_scheduled_update_group_action(AutoScalingGroupName=name, ScheduledUpdateGroupActions=[
        {"ScheduledActionName": "ok", "Recurrence": "0 * * * *", "DesiredCapacity": 1},
        {"ScheduledActionName": "nope", "Recurrence": "0 * * *", "DesiredCapacity": 1}])
    assert [f["ScheduledActionName"] for f in failed["FailedScheduledUpdateGroupActions"]] == ["nope"]
    gone = asg.batch_delete_scheduled_action(AutoScalingGroupName=name, ScheduledActionNames=["ok", "never"])
    assert [f["ScheduledActionName"] for f in gone["FailedScheduledActions"]] == ["never"]
    asg.delete_scheduled_action(AutoScalingGroupName=name, ScheduledActionName="nightly")
    assert code(asg.delete_scheduled_action, AutoScalingGroupName=name, ScheduledActionName="nightly") == \
        "ValidationError"


def test_instance_refresh_statuses(asg, name):
    empty = asg.start_instance_refresh(AutoScalingGroupName=name)["InstanceRefreshId"]
    until(lambda: asg.describe_instance_refreshes(AutoScalingGroupName=name)["InstanceRefreshes"][0]["Status"] ==
          "Successful")
    asg.set_desired_capacity(AutoScalingGroupName=name, DesiredCapacity=1)  # never launched: the refresh waits
    waiting = asg.start_instance_refresh(AutoScalingGroupName=name, Preferences={"MinHealthyPercentage": 50})[
        "InstanceRefreshId"]
    assert code(asg.start_instance_refresh, AutoScalingGroupName=name) == "InstanceRefreshInProgress"
    assert code(asg.rollback_instance_refresh, AutoScalingGroupName=name) == "IrreversibleInstanceRefresh"
    assert asg.cancel_instance_refresh(AutoScalingGroupName=name)["InstanceRefreshId"] == waiting
    until(lambda: asg.describe_instance_refreshes(AutoScalingGroupName=name, InstanceRefreshIds=[waiting])[
        "InstanceRefreshes"][0]["Status"] == "Cancelled")
    assert code(asg.cancel_instance_refresh, AutoScalingGroupName=name) == "ActiveInstanceRefreshNotFound"
    listed = asg.describe_instance_refreshes(AutoScalingGroupName=name)["InstanceRefreshes"]
    assert [r["InstanceRefreshId"] for r in listed] == [waiting, empty]  # newest first
    assert listed[0]["Preferences"]["MinHealthyPercentage"] == 50
    for prefs in ({"CheckpointPercentages": [50]}, {"MinHealthyPercentage": 10, "MaxHealthyPercentage": 200}):
        assert code(asg.start_instance_refresh, AutoScalingGroupName=name, Preferences=prefs) == "ValidationError"
    assert code(asg.start_instance_refresh, AutoScalingGroupName=name, Strategy="ReplaceRootVolume") == \
        "ValidationError"
