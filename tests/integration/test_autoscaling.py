"""EC2 Auto Scaling with real VMs: a group of one launches an instance through EC2; one
terminated by hand is replaced (with AWS's causes in its activities); two are spread over two
subnets in two zones; scale-in spares the protected one; a launch lifecycle hook holds a new
instance in Pending:Wait, tells an SNS subscriber its token, and lets it go with
CompleteLifecycleAction on that token; an instance refresh replaces both, one
at a time, with the template's next version; TerminateInstanceInAutoScalingGroup ends one and
shrinks the group; ForceDelete takes the instances with the group.
At most two VMs run at a time, three for a moment while one is replaced."""

import json
import re
import time
import uuid

import pytest

from tests.e2e.sns_helpers import confirmed, http_subscriber, sns_client  # noqa: F401 (fixtures)
from tests.integration.ec2_fixtures import WAIT, ami_id, module_server

pytestmark = [pytest.mark.root, pytest.mark.qemu]

server = module_server("autoscaling", "10.0.0.0/12")
BOOT = 240  # seconds a boot may take under TCG on a busy host


@pytest.fixture(scope="module")
def clients(server):
    return server.client("autoscaling"), server.client("ec2")


@pytest.fixture(scope="module")
def errors(server):
    """What the server logged as errors (a boot that failed, say), for a failure to tell."""
    return lambda: "\n".join(line for line in server.read_log().splitlines()
                             if "ERROR" in line or "Error" in line)


def instances(asg, name: str) -> list[dict]:
    return asg.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"][0]["Instances"]


def until(check, seconds: float = BOOT, explain=lambda: ""):
    deadline = time.monotonic() + seconds
    while not (got := check()):
        assert time.monotonic() < deadline, f"not reached in {seconds} s: {explain()}"
        time.sleep(1)
    return got


def in_service(asg, name: str, count: int, errors) -> list[dict]:
    def check():
        now = instances(asg, name)
        return now if [i["LifecycleState"] for i in now] == ["InService"] * count else None
    return until(check, explain=lambda: f"{instances(asg, name)}\n{errors()}")


def ec2_state(ec2, instance_id: str) -> str:
    return ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]["State"]["Name"]


def test_a_group_keeps_its_capacity_with_real_instances(clients, errors, sns, subscriber):
    asg, ec2 = clients
    template = ec2.create_launch_template(LaunchTemplateName="asg-busybox", LaunchTemplateData={
        "ImageId": ami_id(ec2), "InstanceType": "t3.nano"})["LaunchTemplate"]
    subnets = sorted(ec2.describe_subnets(Filters=[{"Name": "default-for-az", "Values": ["true"]}])["Subnets"],
                     key=lambda s: s["AvailabilityZone"])[:2]
    name = f"web-{uuid.uuid4().hex[:6]}"
    asg.create_auto_scaling_group(AutoScalingGroupName=name, MinSize=0, MaxSize=3, DesiredCapacity=1,
                                  LaunchTemplate={"LaunchTemplateId": template["LaunchTemplateId"], "Version": "1"},
                                  VPCZoneIdentifier=",".join(s["SubnetId"] for s in subnets),
                                  Tags=[{"Key": "team", "Value": "web", "PropagateAtLaunch": True}])

    first = in_service(asg, name, 1, errors)[0]
    assert ec2_state(ec2, first["InstanceId"]) == "running"
    assert first["LaunchTemplate"] == {**{k: template[k] for k in ("LaunchTemplateId", "LaunchTemplateName")},
                                       "Version": "1"}
    tags = {t["Key"]: t["Value"] for t in ec2.describe_tags(Filters=[
        {"Name": "resource-id", "Values": [first["InstanceId"]]}])["Tags"]}
    assert tags["aws:autoscaling:groupName"] == name and tags["team"] == "web"

    # terminated behind the group's back: the group notices and launches another
    ec2.terminate_instances(InstanceIds=[first["InstanceId"]])
    second = until(lambda: [i for i in instances(asg, name) if i["InstanceId"] != first["InstanceId"]
                            and i["LifecycleState"] == "InService"], explain=lambda: f"{instances(asg, name)}\n{errors()}")[0]
    activities = asg.describe_scaling_activities(AutoScalingGroupName=name)["Activities"]
    ended = next(a for a in activities if a["Description"] == f"Terminating EC2 instance: {first['InstanceId']}")
    assert re.fullmatch(r"At \S+Z an instance was taken out of service in response to an EC2 health check "
                        r"indicating it has been terminated or stopped\.", ended["Cause"])
    again = next(a for a in activities if a["Description"] == f"Launching a new EC2 instance: {second['InstanceId']}")
    assert again["StatusCode"] == "Successful" and again["Cause"].endswith(
        "an instance was started in response to a difference between desired and actual capacity, increasing the "
        "capacity from 0 to 1.")
    created = activities[-1]
    assert created["Cause"].startswith("At ") and "a user request created an AutoScalingGroup changing the desired " \
                                                  "capacity from 0 to 1." in created["Cause"]

    # two instances: one in each zone
    asg.set_desired_capacity(AutoScalingGroupName=name, DesiredCapacity=2)
    pair = in_service(asg, name, 2, errors)
    assert {i["AvailabilityZone"] for i in pair} == {s["AvailabilityZone"] for s in subnets}
    assert {ec2.describe_instances(InstanceIds=[i["InstanceId"]])["Reservations"][0]["Instances"][0]["SubnetId"]
            for i in pair} == {s["SubnetId"] for s in subnets}

    # scale in spares the protected one
    keep = pair[0]["InstanceId"]
    asg.set_instance_protection(AutoScalingGroupName=name, InstanceIds=[keep], ProtectedFromScaleIn=True)
    asg.set_desired_capacity(AutoScalingGroupName=name, DesiredCapacity=1)
    left = in_service(asg, name, 1, errors)
    assert left[0]["InstanceId"] == keep and left[0]["ProtectedFromScaleIn"]
    gone = next(i["InstanceId"] for i in pair if i["InstanceId"] != keep)
    ec2.get_waiter("instance_terminated").wait(InstanceIds=[gone], WaiterConfig=WAIT)
    shrink = next(a for a in asg.describe_scaling_activities(AutoScalingGroupName=name)["Activities"]
                  if a["Description"] == f"Terminating EC2 instance: {gone}")
    assert "a user request explicitly set group desired capacity changing the desired capacity from 2 to 1." in \
        shrink["Cause"] and f"instance {gone} was selected for termination." in shrink["Cause"]

    # a launch hook holds the next instance until it is completed
    topic = sns.create_topic(Name=f"hooks-{name}")["TopicArn"]
    confirmed(sns, subscriber, topic, "/hooks")
    account = topic.split(":")[4]
    asg.put_lifecycle_hook(AutoScalingGroupName=name, LifecycleHookName="ready", HeartbeatTimeout=600,
                           LifecycleTransition="autoscaling:EC2_INSTANCE_LAUNCHING", DefaultResult="ABANDON",
                           NotificationTargetARN=topic, RoleARN=f"arn:aws:iam::{account}:role/hooks",
                           NotificationMetadata="warm the cache")
    asg.set_desired_capacity(AutoScalingGroupName=name, DesiredCapacity=2)
    held = until(lambda: [i for i in instances(asg, name) if i["LifecycleState"] == "Pending:Wait"], 60)[0]
    note = json.loads(subscriber.next("/hooks", timeout=60).doc["Message"])
    assert (note["EC2InstanceId"], note["AutoScalingGroupName"], note["LifecycleHookName"]) == (
        held["InstanceId"], name, "ready")
    assert note["LifecycleTransition"] == "autoscaling:EC2_INSTANCE_LAUNCHING"
    assert (note["Origin"], note["Destination"], note["NotificationMetadata"]) == ("EC2", "AutoScalingGroup",
                                                                                   "warm the cache")
    ec2.get_waiter("instance_running").wait(InstanceIds=[held["InstanceId"]], WaiterConfig=WAIT)
    time.sleep(3)  # running in EC2, still held by the hook
    assert next(i for i in instances(asg, name) if i["InstanceId"] == held["InstanceId"])["LifecycleState"] == \
        "Pending:Wait"
    asg.complete_lifecycle_action(AutoScalingGroupName=name, LifecycleHookName="ready", LifecycleActionResult="CONTINUE",
                                  LifecycleActionToken=note["LifecycleActionToken"])
    assert {i["InstanceId"] for i in in_service(asg, name, 2, errors)} == {keep, held["InstanceId"]}

    asg.delete_lifecycle_hook(AutoScalingGroupName=name, LifecycleHookName="ready")

    # a rolling refresh to the template's next version: one instance at a time (50% stay in service)
    ec2.create_launch_template_version(LaunchTemplateId=template["LaunchTemplateId"], SourceVersion="1",
                                       LaunchTemplateData={"InstanceType": "t3.micro"})
    old = {keep, held["InstanceId"]}
    refresh = asg.start_instance_refresh(AutoScalingGroupName=name, Preferences={
        "MinHealthyPercentage": 50, "InstanceWarmup": 0, "ScaleInProtectedInstances": "Refresh"},
        DesiredConfiguration={"LaunchTemplate": {"LaunchTemplateId": template["LaunchTemplateId"], "Version": "2"}})[
        "InstanceRefreshId"]
    states = []

    def refreshed():
        now = instances(asg, name)
        states.append(sum(1 for i in now if i["LifecycleState"] == "InService"))
        done = asg.describe_instance_refreshes(AutoScalingGroupName=name)["InstanceRefreshes"][0]
        return done if done["Status"] == "Successful" else None
    done = until(refreshed, 2 * BOOT + 120, explain=lambda: f"{instances(asg, name)}\n{errors()}")
    assert done["InstanceRefreshId"] == refresh and done["PercentageComplete"] == 100
    assert min(states) >= 1  # never both out at once
    new = in_service(asg, name, 2, errors)
    assert not old & {i["InstanceId"] for i in new}
    assert {(i["InstanceType"], i["LaunchTemplate"]["Version"]) for i in new} == {("t3.micro", "2")}
    shown = asg.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"][0]
    assert shown["LaunchTemplate"]["Version"] == "2"  # the desired configuration is the group's now
    assert any("in response to an instance refresh" in a["Cause"]
               for a in asg.describe_scaling_activities(AutoScalingGroupName=name)["Activities"])

    # a user ends one, and the group with it shrinks
    ended = new[0]["InstanceId"]
    activity = asg.terminate_instance_in_auto_scaling_group(InstanceId=ended, ShouldDecrementDesiredCapacity=True)[
        "Activity"]
    assert activity["Description"] == f"Terminating EC2 instance: {ended}" and activity["Cause"].endswith(
        f"instance {ended} was taken out of service in response to a user request, shrinking the capacity from 2 "
        "to 1.")
    ec2.get_waiter("instance_terminated").wait(InstanceIds=[ended], WaiterConfig=WAIT)
    assert [i["InstanceId"] for i in in_service(asg, name, 1, errors)] == [new[1]["InstanceId"]]

    # ForceDelete: the group goes with its instances, protected or not
    asg.delete_auto_scaling_group(AutoScalingGroupName=name, ForceDelete=True)
    until(lambda: not asg.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"])
    ec2.get_waiter("instance_terminated").wait(InstanceIds=[i["InstanceId"] for i in new], WaiterConfig=WAIT)
