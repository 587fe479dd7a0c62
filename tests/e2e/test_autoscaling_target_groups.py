"""Auto Scaling groups with ELBv2 target groups through boto3, without VMs (the groups stay at
0): TargetGroupARNs and TrafficSources of CreateAutoScalingGroup, Attach/Detach/Describe of
LoadBalancerTargetGroups and TrafficSources, and their refusals: target groups missing, of
another account, of target type ip, Classic Load Balancers, VPC Lattice, too many."""

import uuid

import pytest

from tests.e2e.asg_helpers import asg, ec2, group, refusal, template  # noqa: F401 (fixtures)
from tests.integration.ec2_fixtures import until

MISSING = "Provided Target Groups may not be valid. Please ensure they exist and try again."


@pytest.fixture(scope="module")
def elbv2(server):
    return server.client("elbv2")


@pytest.fixture(scope="module")
def subnets(ec2):
    return sorted(ec2.describe_subnets(Filters=[{"Name": "default-for-az", "Values": ["true"]}])["Subnets"],
                  key=lambda s: s["AvailabilityZone"])


def target_group(elbv2, subnets, kind: str = "instance") -> str:
    return elbv2.create_target_group(Name=f"tg-{uuid.uuid4().hex[:12]}", Protocol="HTTP", Port=80,
                                     VpcId=subnets[0]["VpcId"], TargetType=kind)["TargetGroups"][0]["TargetGroupArn"]


def new_group(asg, template, subnets, **extra) -> str:
    name = f"tg-g-{uuid.uuid4().hex[:10]}"
    asg.create_auto_scaling_group(AutoScalingGroupName=name, MinSize=0, MaxSize=2, DesiredCapacity=0,
                                  LaunchTemplate={"LaunchTemplateName": template["LaunchTemplateName"]},
                                  VPCZoneIdentifier=subnets[0]["SubnetId"], **extra)
    return name


def target_groups(asg, name: str) -> dict:
    return {s["LoadBalancerTargetGroupARN"]: s["State"] for s in asg.describe_load_balancer_target_groups(
        AutoScalingGroupName=name)["LoadBalancerTargetGroups"]}


def traffic(asg, name: str, **kw) -> dict:
    return {(s["Identifier"], s["Type"]): s["State"] for s in asg.describe_traffic_sources(
        AutoScalingGroupName=name, **kw)["TrafficSources"]}


def test_a_group_created_with_target_groups_shows_them(asg, elbv2, template, subnets):
    by_arn, by_source = target_group(elbv2, subnets), target_group(elbv2, subnets)
    name = new_group(asg, template, subnets, TargetGroupARNs=[by_arn], HealthCheckType="ELB",
                     TrafficSources=[{"Identifier": by_source, "Type": "elbv2"}])
    g = group(asg, name)
    assert g["TargetGroupARNs"] == [by_arn] and g["HealthCheckType"] == "ELB"
    assert g["TrafficSources"] == [{"Identifier": by_arn, "Type": "elbv2"}, {"Identifier": by_source, "Type": "elbv2"}]
    assert g["LoadBalancerNames"] == []
    # no instance to register: all (none) of them are, so each is Added
    assert target_groups(asg, name) == {by_arn: "Added"}
    assert traffic(asg, name) == {(by_arn, "elbv2"): "Added", (by_source, "elbv2"): "Added"}
    assert traffic(asg, name, TrafficSourceType="vpc-lattice") == {}
    asg.delete_auto_scaling_group(AutoScalingGroupName=name)


def test_attach_and_detach_each_family(asg, elbv2, template, subnets):
    name = new_group(asg, template, subnets)
    first, second = target_group(elbv2, subnets), target_group(elbv2, subnets)
    asg.attach_load_balancer_target_groups(AutoScalingGroupName=name, TargetGroupARNs=[first, first])
    asg.attach_traffic_sources(AutoScalingGroupName=name, TrafficSources=[{"Identifier": second}])  # Type inferred
    assert group(asg, name)["TargetGroupARNs"] == [first]
    assert set(traffic(asg, name)) == {(first, "elbv2"), (second, "elbv2")}
    # a detach only detaches what its own family attached
    asg.detach_load_balancer_target_groups(AutoScalingGroupName=name, TargetGroupARNs=[second])
    asg.detach_traffic_sources(AutoScalingGroupName=name, TrafficSources=[{"Identifier": first, "Type": "elbv2"}])
    assert set(traffic(asg, name)) == {(first, "elbv2"), (second, "elbv2")}
    asg.detach_load_balancer_target_groups(AutoScalingGroupName=name, TargetGroupARNs=[first])
    g = group(asg, name)
    assert g["TargetGroupARNs"] == [] and g["TrafficSources"] == [{"Identifier": second, "Type": "elbv2"}]
    # Removing until no instance of the group is left in it (none here): then not described at all
    until(lambda: target_groups(asg, name) == {}, "the detached target group was still described", timeout=20)
    asg.detach_traffic_sources(AutoScalingGroupName=name, TrafficSources=[{"Identifier": second}])
    until(lambda: traffic(asg, name) == {}, "the detached traffic source was still described", timeout=20)
    assert group(asg, name)["TrafficSources"] == []
    asg.delete_auto_scaling_group(AutoScalingGroupName=name)


def test_target_groups_an_auto_scaling_group_cannot_use_are_refused(asg, elbv2, template, subnets):
    ip = target_group(elbv2, subnets, "ip")
    region, account = ip.split(":")[3], ip.split(":")[4]
    gone = f"arn:aws:elasticloadbalancing:{region}:{account}:targetgroup/nope/0123456789abcdef"
    for extra, message in [
        ({"TargetGroupARNs": [gone]}, MISSING),
        ({"TargetGroupARNs": ["not-an-arn"]}, MISSING),
        ({"TargetGroupARNs": [ip]}, f"Provided Target Group '{ip}' has invalid target type. Please ensure all "
                                    "provided Target Groups have target type of instance."),
        ({"TrafficSources": [{"Identifier": gone, "Type": "elbv2"}]}, MISSING),
        ({"TrafficSources": [{"Identifier": "arn:aws:vpc-lattice:us-east-1:1:targetgroup/tg-1"}]}, MISSING),
        ({"TrafficSources": [{"Identifier": "classic", "Type": "elb"}]}, "Provided Load Balancers may not be valid."),
        ({"TrafficSources": [{"Identifier": "classic"}]}, "Provided Load Balancers may not be valid."),
        ({"TrafficSources": [{"Identifier": gone, "Type": "gwlb"}]}, "Traffic source type gwlb is not supported."),
        ({"LoadBalancerNames": ["classic"]}, "cloudlet has no Classic Load Balancers"),
    ]:
        got = refusal(asg.create_auto_scaling_group, AutoScalingGroupName="tg-refused", MinSize=0, MaxSize=1,
                      LaunchTemplate={"LaunchTemplateId": template["LaunchTemplateId"]},
                      VPCZoneIdentifier=subnets[0]["SubnetId"], **extra)
        assert got[0] == "ValidationError" and message in got[1], (extra, got)
    assert asg.describe_auto_scaling_groups(AutoScalingGroupNames=["tg-refused"])["AutoScalingGroups"] == []
    name = new_group(asg, template, subnets)
    assert refusal(asg.attach_load_balancer_target_groups, AutoScalingGroupName=name, TargetGroupARNs=[ip]) == (
        "ValidationError", f"Provided Target Group '{ip}' has invalid target type. Please ensure all provided "
                           "Target Groups have target type of instance.")
    assert refusal(asg.attach_traffic_sources, AutoScalingGroupName=name, TrafficSources=[{"Identifier": gone}]) == (
        "ValidationError", MISSING)
    assert group(asg, name)["TargetGroupARNs"] == [] and group(asg, name)["TrafficSources"] == []
    assert refusal(asg.describe_traffic_sources, AutoScalingGroupName="no-such-group")[1] == \
        "AutoScalingGroup name not found - AutoScalingGroup no-such-group not found"
    asg.delete_auto_scaling_group(AutoScalingGroupName=name)


def test_another_accounts_target_group_is_not_found(server, asg, elbv2, template, subnets):
    key, secret = server.new_account(f"tg-other-{uuid.uuid4().hex[:6]}")
    other_ec2 = server.client("ec2", key=key, secret=secret)
    vpc = other_ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    theirs = server.client("elbv2", key=key, secret=secret).create_target_group(
        Name="theirs", Protocol="HTTP", Port=80, VpcId=vpc)["TargetGroups"][0]["TargetGroupArn"]
    got = refusal(asg.create_auto_scaling_group, AutoScalingGroupName="tg-theirs", MinSize=0, MaxSize=1,
                  LaunchTemplate={"LaunchTemplateId": template["LaunchTemplateId"]},
                  VPCZoneIdentifier=subnets[0]["SubnetId"], TargetGroupARNs=[theirs])
    assert got == ("ValidationError", MISSING)
    name = new_group(asg, template, subnets)
    assert refusal(asg.attach_traffic_sources, AutoScalingGroupName=name,
                   TrafficSources=[{"Identifier": theirs, "Type": "elbv2"}]) == ("ValidationError", MISSING)
    # and another region of the same account is another place: not found there either
    mine = target_group(elbv2, subnets)
    west = server.client("autoscaling", region="us-west-2")
    assert refusal(west.attach_load_balancer_target_groups, AutoScalingGroupName=name, TargetGroupARNs=[mine])[1] \
        == f"AutoScalingGroup name not found - AutoScalingGroup {name} not found"
    asg.delete_auto_scaling_group(AutoScalingGroupName=name)


def test_huge_lists_are_refused(asg, elbv2, template, subnets):
    name = new_group(asg, template, subnets)
    many = [target_group(elbv2, subnets) for _ in range(11)]
    assert refusal(asg.attach_load_balancer_target_groups, AutoScalingGroupName=name, TargetGroupARNs=many) == (
        "ValidationError", "The number of target groups must be at most 10.")
    assert refusal(asg.attach_traffic_sources, AutoScalingGroupName=name,
                   TrafficSources=[{"Identifier": a} for a in many])[0] == "ValidationError"
    fake = [f"arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/x{i}/{i:016x}" for i in range(51)]
    assert refusal(asg.create_auto_scaling_group, AutoScalingGroupName="tg-many", MinSize=0, MaxSize=1,
                   LaunchTemplate={"LaunchTemplateId": template["LaunchTemplateId"]},
                   VPCZoneIdentifier=subnets[0]["SubnetId"], TargetGroupARNs=fake)[0] == "LimitExceeded"
    assert refusal(asg.attach_load_balancer_target_groups, AutoScalingGroupName=name,
                   TargetGroupARNs=["arn:aws:elasticloadbalancing:" + "x" * 600])[0] == "ValidationError"
    for start in range(0, 50, 10):  # the group's quota of 50 is reached call by call
        batch = [target_group(elbv2, subnets) for _ in range(10)] if start else many[:10]
        asg.attach_load_balancer_target_groups(AutoScalingGroupName=name, TargetGroupARNs=batch)
    assert len(group(asg, name)["TargetGroupARNs"]) == 50
    assert refusal(asg.attach_traffic_sources, AutoScalingGroupName=name,
                   TrafficSources=[{"Identifier": many[10]}])[0] == "LimitExceeded"
    assert len(group(asg, name)["TrafficSources"]) == 50
    first = asg.describe_traffic_sources(AutoScalingGroupName=name, MaxRecords=20)
    rest = asg.describe_traffic_sources(AutoScalingGroupName=name, MaxRecords=50, NextToken=first["NextToken"])
    assert (len(first["TrafficSources"]), len(rest["TrafficSources"]), rest.get("NextToken")) == (20, 30, None)
    assert refusal(asg.describe_traffic_sources, AutoScalingGroupName=name, MaxRecords=51)[0] == "ValidationError"
    asg.delete_auto_scaling_group(AutoScalingGroupName=name)
