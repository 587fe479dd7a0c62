"""EC2 Auto Scaling groups through boto3, without VMs (groups stay at 0, or have Launch
suspended, or launch from a template whose image does not exist): every group operation's
shape, defaults and refusals, describe paging and filters, instances, tags, processes,
limits, activities of failed launches, a second account's isolation and hostile input."""

import re
import time
import uuid

import pytest

from tests.e2e.asg_helpers import asg, ec2, group, refusal, template  # noqa: F401 (fixtures)
from tests.e2e.errors import code


@pytest.fixture(scope="module")
def subnets(ec2):
    return sorted(ec2.describe_subnets(Filters=[{"Name": "default-for-az", "Values": ["true"]}])["Subnets"],
                  key=lambda s: s["AvailabilityZone"])


def new_group(asg, template, subnets, **extra) -> str:
    name = extra.pop("name", None) or f"g-{uuid.uuid4().hex[:10]}"
    asg.create_auto_scaling_group(AutoScalingGroupName=name, MinSize=0, MaxSize=3, DesiredCapacity=0,
                                  LaunchTemplate={"LaunchTemplateName": template["LaunchTemplateName"]},
                                  VPCZoneIdentifier=",".join(s["SubnetId"] for s in subnets[:2]), **extra)
    return name


def test_a_group_as_describe_shows_it(asg, template, subnets):
    name = new_group(asg, template, subnets, HealthCheckType="ELB", HealthCheckGracePeriod=60,
                     Tags=[{"Key": "team", "Value": "web", "PropagateAtLaunch": True}],
                     TerminationPolicies=["OldestInstance"], NewInstancesProtectedFromScaleIn=True,
                     CapacityRebalance=True)
    g = group(asg, name)
    assert re.fullmatch(rf"arn:aws:autoscaling:us-east-1:\d{{12}}:autoScalingGroup:[0-9a-f-]{{36}}:"
                        rf"autoScalingGroupName/{name}", g["AutoScalingGroupARN"])
    assert g["LaunchTemplate"] == {"LaunchTemplateId": template["LaunchTemplateId"],
                                   "LaunchTemplateName": template["LaunchTemplateName"], "Version": "$Default"}
    assert (g["MinSize"], g["MaxSize"], g["DesiredCapacity"], g["DefaultCooldown"]) == (0, 3, 0, 300)
    assert g["AvailabilityZones"] == [s["AvailabilityZone"] for s in subnets[:2]]
    assert g["VPCZoneIdentifier"] == ",".join(s["SubnetId"] for s in subnets[:2])
    assert (g["HealthCheckType"], g["HealthCheckGracePeriod"], g["Instances"]) == ("ELB", 60, [])
    assert g["Tags"] == [{"ResourceId": name, "ResourceType": "auto-scaling-group", "Key": "team", "Value": "web",
                          "PropagateAtLaunch": True}]
    assert g["TerminationPolicies"] == ["OldestInstance"] and g["NewInstancesProtectedFromScaleIn"]
    assert g["CapacityRebalance"] and g["ServiceLinkedRoleARN"].endswith("/AWSServiceRoleForAutoScaling")
    assert code(asg.create_auto_scaling_group, AutoScalingGroupName=name, MinSize=0, MaxSize=1,
                LaunchTemplate={"LaunchTemplateId": template["LaunchTemplateId"]},
                VPCZoneIdentifier=subnets[0]["SubnetId"]) == "AlreadyExists"


@pytest.mark.parametrize("sizes, message", [
    ({"MinSize": 3, "MaxSize": 1}, "Max bound, 1, must be greater than or equal to min bound, 3"),
    ({"MinSize": 1, "MaxSize": 3, "DesiredCapacity": 5},
     "Desired capacity:5 must be between the specified min size:1 and max size:3"),
    ({"MinSize": -1, "MaxSize": 3}, "Value '-1' at 'minSize' failed to satisfy constraint"),
])
def test_sizes_are_checked(asg, template, subnets, sizes, message):
    got = refusal(asg.create_auto_scaling_group, AutoScalingGroupName="bad-sizes", VPCZoneIdentifier=subnets[0][
        "SubnetId"], LaunchTemplate={"LaunchTemplateId": template["LaunchTemplateId"]}, **sizes)
    assert got[0] == "ValidationError" and message in got[1]


def test_what_a_group_launches_from_is_checked(asg, template, subnets):
    base = {"AutoScalingGroupName": "bad-source", "MinSize": 0, "MaxSize": 1,
            "VPCZoneIdentifier": subnets[0]["SubnetId"]}
    lt = {"LaunchTemplateId": template["LaunchTemplateId"]}
    cases = [({}, "Valid requests must contain either LaunchTemplate"),
             ({"LaunchTemplate": lt, "LaunchConfigurationName": "lc"}, "Valid requests must contain either"),
             ({"LaunchConfigurationName": "lc"}, "Launch configuration name not found"),
             ({"LaunchTemplate": {"LaunchTemplateId": "lt-0123456789abcdef0"}},
              "You must use a valid fully-formed launch template. The specified launch template, with template ID "
              "lt-0123456789abcdef0, does not exist."),
             ({"LaunchTemplate": {**lt, "Version": "99"}}, "Could not find the specified version 99"),
             ({"LaunchTemplate": {**lt, "LaunchTemplateName": template["LaunchTemplateName"]}},
              "You must use a valid fully-formed launch template."),
             ({"MixedInstancesPolicy": {"LaunchTemplate": {"LaunchTemplateSpecification": lt, "Overrides": [
                 {"InstanceType": "t3.nano"}, {"InstanceType": "t3.micro"}]}}}, "one instance type")]
    for extra, message in cases:
        got = refusal(asg.create_auto_scaling_group, **base, **extra)
        assert got[0] == "ValidationError" and message in got[1], (extra, got)
    assert not asg.describe_auto_scaling_groups(AutoScalingGroupNames=["bad-source"])["AutoScalingGroups"]
    asg.create_auto_scaling_group(**{**base, "AutoScalingGroupName": "mixed-ok"}, MixedInstancesPolicy={
        "LaunchTemplate": {"LaunchTemplateSpecification": lt, "Overrides": [{"InstanceType": "t3.micro"}]}})
    shown = group(asg, "mixed-ok")["MixedInstancesPolicy"]
    assert shown["LaunchTemplate"]["Overrides"] == [{"InstanceType": "t3.micro"}]
    assert shown["InstancesDistribution"]["OnDemandPercentageAboveBaseCapacity"] == 100
    asg.delete_auto_scaling_group(AutoScalingGroupName="mixed-ok")


def test_where_a_group_launches_is_checked(asg, template, subnets):
    base = {"AutoScalingGroupName": "bad-place", "MinSize": 0, "MaxSize": 1,
            "LaunchTemplate": {"LaunchTemplateId": template["LaunchTemplateId"]}}
    cases = [({}, "At least one Availability Zone or VPC Subnet is required."),
             ({"VPCZoneIdentifier": "subnet-0123456789abcdef0"}, "The subnet ID 'subnet-0123456789abcdef0' does not "
                                                                  "exist"),
             ({"VPCZoneIdentifier": subnets[0]["SubnetId"], "AvailabilityZones": [subnets[1]["AvailabilityZone"]]},
              "The availability zones of the specified subnets and the Auto Scaling group do not match"),
             ({"AvailabilityZones": ["us-east-1z"]}, "Invalid Availability Zone: us-east-1z"),
             ({"VPCZoneIdentifier": ",".join(["subnet-x"] * 400)}, "The subnet ID 'subnet-x' does not exist")]
    for extra, message in cases:
        got = refusal(asg.create_auto_scaling_group, **base, **extra)
        assert got == ("ValidationError", message), (extra, got)
    asg.create_auto_scaling_group(**{**base, "AutoScalingGroupName": "by-zone"},
                                  AvailabilityZones=[subnets[1]["AvailabilityZone"]])
    g = group(asg, "by-zone")
    assert g["AvailabilityZones"] == [subnets[1]["AvailabilityZone"]] and g["VPCZoneIdentifier"] == ""
    asg.delete_auto_scaling_group(AutoScalingGroupName="by-zone")


def test_settings_cloudlet_does_not_run_are_refused(asg, template, subnets):
    for extra in ({"HealthCheckType": "PING"}, {"TerminationPolicies": ["Random"]},
                  {"TargetGroupARNs": ["arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/t/1"]},
                  {"LoadBalancerNames": ["classic"]}, {"PlacementGroup": "cluster"}, {"DesiredCapacityType": "vcpu"},
                  {"MaxInstanceLifetime": 60}, {"DefaultCooldown": -5}):
        assert code(asg.create_auto_scaling_group, AutoScalingGroupName="bad-settings", MinSize=0, MaxSize=1,
                    LaunchTemplate={"LaunchTemplateId": template["LaunchTemplateId"]},
                    VPCZoneIdentifier=subnets[0]["SubnetId"], **extra) == "ValidationError", extra


def test_update_moves_desired_inside_new_bounds(asg, template, subnets):
    name = new_group(asg, template, subnets)
    asg.suspend_processes(AutoScalingGroupName=name, ScalingProcesses=["Launch"])  # no VM for this test
    asg.update_auto_scaling_group(AutoScalingGroupName=name, MinSize=2, MaxSize=4, DefaultCooldown=30,
                                  VPCZoneIdentifier=subnets[2]["SubnetId"])
    g = group(asg, name)
    assert (g["MinSize"], g["MaxSize"], g["DesiredCapacity"], g["DefaultCooldown"]) == (2, 4, 2, 30)
    assert g["AvailabilityZones"] == [subnets[2]["AvailabilityZone"]]
    assert refusal(asg.update_auto_scaling_group, AutoScalingGroupName=name, DesiredCapacity=9)[1] == \
        "Desired capacity:9 must be between the specified min size:2 and max size:4"
    assert refusal(asg.update_auto_scaling_group, AutoScalingGroupName="nope", MinSize=1) == (
        "ValidationError", "AutoScalingGroup name not found - AutoScalingGroup nope not found")
    asg.update_auto_scaling_group(AutoScalingGroupName=name, MinSize=0, DesiredCapacity=0)
    asg.delete_auto_scaling_group(AutoScalingGroupName=name)
    assert code(asg.delete_auto_scaling_group, AutoScalingGroupName=name) == "ValidationError"


def test_set_desired_capacity_and_its_cooldown(asg, template, subnets):
    name = new_group(asg, template, subnets)
    asg.suspend_processes(AutoScalingGroupName=name, ScalingProcesses=["Launch"])
    assert refusal(asg.set_desired_capacity, AutoScalingGroupName=name, DesiredCapacity=4)[1] == \
        "New SetDesiredCapacity value 4 is above max value 3 for the AutoScalingGroup."
    asg.update_auto_scaling_group(AutoScalingGroupName=name, MinSize=1)
    assert refusal(asg.set_desired_capacity, AutoScalingGroupName=name, DesiredCapacity=0)[1] == \
        "New SetDesiredCapacity value 0 is below min value 1 for the AutoScalingGroup."
    asg.set_desired_capacity(AutoScalingGroupName=name, DesiredCapacity=2)
    assert group(asg, name)["DesiredCapacity"] == 2
    got = refusal(asg.set_desired_capacity, AutoScalingGroupName=name, DesiredCapacity=3, HonorCooldown=True)
    assert got[0] == "ScalingActivityInProgress" and "is in progress and blocks this action" in got[1]
    asg.set_desired_capacity(AutoScalingGroupName=name, DesiredCapacity=3)  # not honouring it: done at once
    assert group(asg, name)["DesiredCapacity"] == 3
    asg.delete_auto_scaling_group(AutoScalingGroupName=name)


def test_describe_pages_and_filters(asg, template, subnets):
    prefix = f"page-{uuid.uuid4().hex[:6]}"
    names = [new_group(asg, template, subnets, name=f"{prefix}-{i}", Tags=[
        {"Key": "tier", "Value": "even" if i % 2 == 0 else "odd"}]) for i in range(5)]
    seen, token = [], None
    while True:
        page = asg.describe_auto_scaling_groups(AutoScalingGroupNames=names, MaxRecords=2,
                                                **({"NextToken": token} if token else {}))
        assert len(page["AutoScalingGroups"]) <= 2
        seen += [g["AutoScalingGroupName"] for g in page["AutoScalingGroups"]]
        token = page.get("NextToken")
        if not token:
            break
    assert seen == sorted(names)
    even = asg.describe_auto_scaling_groups(Filters=[{"Name": "tag:tier", "Values": ["even"]}])["AutoScalingGroups"]
    assert {g["AutoScalingGroupName"] for g in even} >= {names[0], names[2], names[4]}
    assert names[1] not in {g["AutoScalingGroupName"] for g in even}
    assert code(asg.describe_auto_scaling_groups, Filters=[{"Name": "instance-type", "Values": ["x"]}]) == \
        "ValidationError"
    assert code(asg.describe_auto_scaling_groups, NextToken="garbage") == "InvalidNextToken"
    assert refusal(asg.describe_auto_scaling_groups, MaxRecords=101)[1].endswith(
        "Member must have value less than or equal to 100")
    for name in names:
        asg.delete_auto_scaling_group(AutoScalingGroupName=name)


def test_instances_operations_refuse_what_no_group_has(asg, template, subnets):
    name = new_group(asg, template, subnets)
    assert asg.describe_auto_scaling_instances(InstanceIds=["i-0123456789abcdef0"])["AutoScalingInstances"] == []
    assert refusal(asg.terminate_instance_in_auto_scaling_group, InstanceId="i-0123456789abcdef0",
                   ShouldDecrementDesiredCapacity=True) == (
        "ValidationError", "Instance Id not found - No managed instance found for instance ID: i-0123456789abcdef0")
    assert code(asg.set_instance_health, InstanceId="i-0123456789abcdef0", HealthStatus="Unhealthy") == \
        "ValidationError"
    assert refusal(asg.set_instance_protection, AutoScalingGroupName=name, InstanceIds=["i-0123456789abcdef0"],
                   ProtectedFromScaleIn=True)[1] == \
        f"The instance i-0123456789abcdef0 is not part of Auto Scaling group {name}."
    assert code(asg.describe_auto_scaling_instances, InstanceIds=[f"i-{n:017x}" for n in range(51)]) == \
        "ValidationError"
    asg.delete_auto_scaling_group(AutoScalingGroupName=name)


def test_tags(asg, template, subnets):
    name = new_group(asg, template, subnets)
    tag = {"ResourceId": name, "ResourceType": "auto-scaling-group", "PropagateAtLaunch": False}
    asg.create_or_update_tags(Tags=[{**tag, "Key": "a", "Value": "1"}, {**tag, "Key": "b", "Value": "2"}])
    asg.create_or_update_tags(Tags=[{**tag, "Key": "a", "Value": "3", "PropagateAtLaunch": True}])
    got = asg.describe_tags(Filters=[{"Name": "auto-scaling-group", "Values": [name]}])["Tags"]
    assert [(t["Key"], t["Value"], t["PropagateAtLaunch"]) for t in got] == [("a", "3", True), ("b", "2", False)]
    only = asg.describe_tags(Filters=[{"Name": "auto-scaling-group", "Values": [name]},
                                      {"Name": "propagate-at-launch", "Values": ["true"]}])["Tags"]
    assert [t["Key"] for t in only] == ["a"]
    asg.delete_tags(Tags=[{**tag, "Key": "a"}])
    assert [t["Key"] for t in group(asg, name)["Tags"]] == ["b"]
    assert code(asg.create_or_update_tags, Tags=[{**tag, "Key": "aws:x", "Value": "1"}]) == "ValidationError"
    assert code(asg.create_or_update_tags, Tags=[{**tag, "ResourceId": "nope", "Key": "k", "Value": "1"}]) == \
        "ValidationError"
    assert code(asg.create_or_update_tags, Tags=[{**tag, "Key": f"k{i}", "Value": "v"} for i in range(50)]) == \
        "LimitExceeded"
    assert [t["Key"] for t in group(asg, name)["Tags"]] == ["b"]  # all or nothing
    assert code(asg.describe_tags, Filters=[{"Name": "color", "Values": ["x"]}]) == "ValidationError"
    asg.delete_auto_scaling_group(AutoScalingGroupName=name)


def test_processes_and_catalog(asg, template, subnets):
    name = new_group(asg, template, subnets)
    types = [p["ProcessName"] for p in asg.describe_scaling_process_types()["Processes"]]
    assert {"Launch", "Terminate", "ReplaceUnhealthy", "ScheduledActions", "AlarmNotification"} <= set(types)
    asg.suspend_processes(AutoScalingGroupName=name, ScalingProcesses=["Launch", "Terminate"])
    suspended = group(asg, name)["SuspendedProcesses"]
    assert [p["ProcessName"] for p in suspended] == ["Launch", "Terminate"]
    assert suspended[0]["SuspensionReason"].startswith("User suspended at ")
    asg.resume_processes(AutoScalingGroupName=name, ScalingProcesses=["Launch"])
    assert [p["ProcessName"] for p in group(asg, name)["SuspendedProcesses"]] == ["Terminate"]
    asg.suspend_processes(AutoScalingGroupName=name)
    assert len(group(asg, name)["SuspendedProcesses"]) == len(types)
    assert code(asg.suspend_processes, AutoScalingGroupName=name, ScalingProcesses=["Nap"]) == "ValidationError"
    limits = asg.describe_account_limits()
    assert limits["MaxNumberOfAutoScalingGroups"] == 500 and limits["NumberOfAutoScalingGroups"] >= 1
    assert [t["AdjustmentType"] for t in asg.describe_adjustment_types()["AdjustmentTypes"]] == [
        "ChangeInCapacity", "ExactCapacity", "PercentChangeInCapacity"]
    assert asg.describe_lifecycle_hook_types()["LifecycleHookTypes"] == [
        "autoscaling:EC2_INSTANCE_LAUNCHING", "autoscaling:EC2_INSTANCE_TERMINATING"]
    assert "OldestLaunchTemplate" in asg.describe_termination_policy_types()["TerminationPolicyTypes"]
    asg.delete_auto_scaling_group(AutoScalingGroupName=name)


def test_a_failed_launch_is_an_activity_and_is_retried_later(asg, ec2, subnets):
    broken = ec2.create_launch_template(LaunchTemplateName=f"noimage-{uuid.uuid4().hex[:6]}", LaunchTemplateData={
        "ImageId": "ami-0123456789abcdef0", "InstanceType": "t3.nano"})["LaunchTemplate"]
    name = f"fails-{uuid.uuid4().hex[:6]}"
    asg.create_auto_scaling_group(AutoScalingGroupName=name, MinSize=1, MaxSize=1, VPCZoneIdentifier=subnets[0][
        "SubnetId"], LaunchTemplate={"LaunchTemplateId": broken["LaunchTemplateId"]})
    deadline = time.monotonic() + 30
    while not (activities := asg.describe_scaling_activities(AutoScalingGroupName=name)["Activities"]):
        assert time.monotonic() < deadline
        time.sleep(0.3)
    failed = activities[0]
    assert failed["StatusCode"] == "Failed" and failed["Progress"] == 100 and "EndTime" in failed
    assert failed["Description"].startswith("Launching a new EC2 instance.  Status Reason: ")
    assert failed["Description"].endswith(". Launching EC2 instance failed.")
    assert "ami-0123456789abcdef0" in failed["StatusMessage"]
    assert re.fullmatch(r"At \S+Z a user request created an AutoScalingGroup changing the desired capacity from 0 "
                        r"to 1\.  At \S+Z an instance was started in response to a difference between desired and "
                        r"actual capacity, increasing the capacity from 0 to 1\.", failed["Cause"])
    time.sleep(3)  # backed off: no second attempt yet
    assert len(asg.describe_scaling_activities(AutoScalingGroupName=name)["Activities"]) == 1
    assert code(asg.describe_scaling_activities, Filters=[{"Name": "Status", "Values": ["Failed"]}]) == \
        "ValidationError"
    only = asg.describe_scaling_activities(AutoScalingGroupName=name, Filters=[
        {"Name": "Status", "Values": ["Successful"]}])["Activities"]
    assert only == []
    asg.delete_auto_scaling_group(AutoScalingGroupName=name)
    assert asg.describe_scaling_activities(AutoScalingGroupName=name)["Activities"] == []
    kept = asg.describe_scaling_activities(AutoScalingGroupName=name, IncludeDeletedGroups=True)["Activities"]
    assert kept and kept[0]["AutoScalingGroupState"] == "Deleted"


def test_another_account_sees_nothing(server, asg, template, subnets):
    name = new_group(asg, template, subnets)
    key, secret = server.new_account(f"asg-other-{uuid.uuid4().hex[:6]}")
    other = server.client("autoscaling", key=key, secret=secret)
    assert name not in [g["AutoScalingGroupName"] for g in other.describe_auto_scaling_groups()["AutoScalingGroups"]]
    assert other.describe_tags()["Tags"] == [] and other.describe_policies()["ScalingPolicies"] == []
    for call, kw in ((other.update_auto_scaling_group, {"MinSize": 0}), (other.set_desired_capacity,
                                                                         {"DesiredCapacity": 1}),
                     (other.delete_auto_scaling_group, {}), (other.suspend_processes, {})):
        assert code(call, AutoScalingGroupName=name, **kw) == "ValidationError"
    # the other account's names are its own; my template is not its to use
    assert refusal(other.create_auto_scaling_group, AutoScalingGroupName=name, MinSize=0, MaxSize=1,
                   LaunchTemplate={"LaunchTemplateId": template["LaunchTemplateId"]},
                   AvailabilityZones=["us-east-1a"])[1].startswith("You must use a valid fully-formed launch template")
    assert group(asg, name)["MinSize"] == 0
    asg.delete_auto_scaling_group(AutoScalingGroupName=name)


@pytest.mark.parametrize("name", ["x" * 255, "web 'quoted' \"double\" <b>&amp;", "g;DROP TABLE autoscaling_objects;--",
                                  "ünïcødé/with:colons/and/slashes", "a\tb"])
def test_hostile_names_are_kept_as_given(asg, template, subnets, name):
    new_group(asg, template, subnets, name=name, Tags=[{"Key": name[:128], "Value": name[:256]}])
    g = group(asg, name)
    assert g["AutoScalingGroupName"] == name and g["AutoScalingGroupARN"].endswith(f"autoScalingGroupName/{name}")
    assert g["Tags"][0]["Key"] == name[:128]
    asg.delete_auto_scaling_group(AutoScalingGroupName=name)


def test_huge_and_odd_input_is_refused_not_crashed(asg, template, subnets):
    assert code(asg.create_auto_scaling_group, AutoScalingGroupName="y" * 256, MinSize=0, MaxSize=1,
                LaunchTemplate={"LaunchTemplateId": template["LaunchTemplateId"]},
                VPCZoneIdentifier=subnets[0]["SubnetId"]) == "ValidationError"
    assert code(asg.create_auto_scaling_group, AutoScalingGroupName="huge-max", MinSize=0, MaxSize=2**31,
                LaunchTemplate={"LaunchTemplateId": template["LaunchTemplateId"]},
                VPCZoneIdentifier=subnets[0]["SubnetId"]) == "ValidationError"
    assert code(asg.describe_auto_scaling_groups, MaxRecords=0) == "ValidationError"
    many = asg.describe_auto_scaling_groups(AutoScalingGroupNames=[f"n{i}" for i in range(1000)])
    assert many["AutoScalingGroups"] == []
    assert asg.describe_tags(Filters=[{"Name": "key", "Values": [str(i) for i in range(1000)]}])["Tags"] == []
