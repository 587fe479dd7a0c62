"""ELBv2 targets through boto3: RegisterTargets' checks (instances that exist, run and are in
the group's VPC; addresses a VPC reaches, never the host's, link-local, multicast or a VPC
router's), DeregisterTargets' draining, and DescribeTargetHealth's states and reasons as AWS
words them. No data plane runs checks here: states are the ones the API itself decides."""

import ipaddress
import secrets

import pytest

from tests.e2e.elbv2_helpers import forward, refusal, tenant


@pytest.fixture(scope="module")
def t(server):
    made = tenant(server, "elbv2-targets")
    yield made
    instances = [i["InstanceId"] for r in made.ec2.describe_instances()["Reservations"] for i in r["Instances"]]
    if instances:
        made.ec2.terminate_instances(InstanceIds=instances)


@pytest.fixture(scope="module")
def subnet(t) -> dict:
    return t.ec2.describe_subnets(SubnetIds=[t.subnets[0]])["Subnets"][0]


def _address(subnet: dict, n: int) -> str:
    return str(ipaddress.ip_network(subnet["CidrBlock"]).network_address + n)


def _group(t, target_type: str = "ip", **kw) -> str:
    return t.elbv2.create_target_group(Name=f"tg-{secrets.token_hex(4)}", Protocol="HTTP", Port=80, VpcId=t.vpc_id,
                                       TargetType=target_type, **kw)["TargetGroups"][0]["TargetGroupArn"]


def _not_running(ec2) -> str:
    """An instance asked to stop as soon as it is launched: whatever it is by then (pending,
    stopping, stopped), it is not running, and nothing has to boot for the test."""
    ami = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    instance = ec2.run_instances(ImageId=ami, InstanceType="t3.micro", MinCount=1, MaxCount=1)["Instances"][0]
    ec2.stop_instances(InstanceIds=[instance["InstanceId"]], Force=True)
    return instance["InstanceId"]


def _health(t, group: str, **kw) -> list[dict]:
    return t.elbv2.describe_target_health(TargetGroupArn=group, **kw)["TargetHealthDescriptions"]


def test_register_describe_and_deregister(t, subnet):
    group = _group(t)
    first, second = _address(subnet, 10), _address(subnet, 11)
    t.elbv2.register_targets(TargetGroupArn=group, Targets=[{"Id": first}, {"Id": second, "Port": 8080}])
    unused = {"State": "unused", "Reason": "Target.NotInUse",
              "Description": "Target group is not configured to receive traffic from the load balancer"}
    zone = subnet["AvailabilityZone"]
    assert _health(t, group) == [
        {"Target": {"Id": first, "Port": 80, "AvailabilityZone": zone}, "HealthCheckPort": "80",
         "TargetHealth": unused},
        {"Target": {"Id": second, "Port": 8080, "AvailabilityZone": zone}, "HealthCheckPort": "8080",
         "TargetHealth": unused}]
    # asked about a target that is not registered
    [missing] = _health(t, group, Targets=[{"Id": _address(subnet, 12)}])
    assert missing["TargetHealth"] == {"State": "unused", "Reason": "Target.NotRegistered",
                                       "Description": "Target is not registered to the target group"}
    lb = t.load_balancer()
    listener = t.elbv2.create_listener(LoadBalancerArn=lb, Protocol="HTTP", Port=80, DefaultActions=forward(group))[
        "Listeners"][0]["ListenerArn"]
    [used] = _health(t, group, Targets=[{"Id": first}])
    assert used["TargetHealth"]["State"] == "initial"
    assert (used["TargetHealth"]["Reason"], used["TargetHealth"]["Description"]) in [
        ("Elb.RegistrationInProgress", "Target registration is in progress"),
        ("Elb.InitialHealthChecking", "Initial health checks in progress")]
    t.elbv2.deregister_targets(TargetGroupArn=group, Targets=[{"Id": first}])
    [draining] = _health(t, group, Targets=[{"Id": first}])
    assert draining["TargetHealth"] == {"State": "draining", "Reason": "Target.DeregistrationInProgress",
                                        "Description": "Target deregistration is in progress"}
    code, message = refusal(t.elbv2.deregister_targets, TargetGroupArn=group, Targets=[{"Id": _address(subnet, 13)}])
    assert code == "InvalidTarget" and _address(subnet, 13) in message
    t.elbv2.register_targets(TargetGroupArn=group, Targets=[{"Id": first}])  # registered again: no longer draining
    assert _health(t, group, Targets=[{"Id": first}])[0]["TargetHealth"]["State"] == "initial"
    t.elbv2.delete_load_balancer(LoadBalancerArn=lb)  # its listener goes with it: the group is unused again
    assert refusal(t.elbv2.describe_listeners, ListenerArns=[listener])[0] == "ListenerNotFound"
    assert _health(t, group, Targets=[{"Id": second, "Port": 8080}])[0]["TargetHealth"] == unused
    t.elbv2.delete_target_group(TargetGroupArn=group)


def test_health_check_port_and_addresses_outside_the_vpc(t):
    group = _group(t, HealthCheckPort="8081")
    outside = "10.250.0.7"  # a private address outside the VPC: only as zone 'all', as AWS has it
    assert refusal(t.elbv2.register_targets, TargetGroupArn=group, Targets=[{"Id": outside}])[0] == "InvalidTarget"
    t.elbv2.register_targets(TargetGroupArn=group, Targets=[{"Id": outside, "AvailabilityZone": "all"}])
    [shown] = _health(t, group)
    assert shown["Target"] == {"Id": outside, "Port": 80, "AvailabilityZone": "all"}
    assert shown["HealthCheckPort"] == "8081"
    t.elbv2.delete_target_group(TargetGroupArn=group)


def test_addresses_a_target_may_not_be(t, subnet):
    group = _group(t)
    router = _address(subnet, 1)  # the VPC router's address in the subnet: AWS reserves it
    hostile = [router, _address(subnet, 0), _address(subnet, 2), "127.0.0.1", "169.254.169.254", "169.254.170.2",
               "224.0.0.1", "255.255.255.255", "0.0.0.0", "8.8.8.8", "not-an-ip", "10.0.0.1/8", "::1", "i-0abc"]
    for address in hostile:
        for zone in ({}, {"AvailabilityZone": "all"}):
            code, _ = refusal(t.elbv2.register_targets, TargetGroupArn=group, Targets=[{"Id": address, **zone}])
            assert code == "InvalidTarget", address
    # one bad target refuses the whole call: nothing is registered
    assert refusal(t.elbv2.register_targets, TargetGroupArn=group,
                   Targets=[{"Id": _address(subnet, 20)}, {"Id": "127.0.0.1"}])[0] == "InvalidTarget"
    assert _health(t, group) == []
    assert refusal(t.loose.register_targets, TargetGroupArn=group, Targets=[{"Id": _address(subnet, 20),
                                                                              "Port": 70000}])[0] == "ValidationError"
    t.elbv2.delete_target_group(TargetGroupArn=group)


def test_instance_targets(t):
    group = _group(t, "instance")
    ghost = "i-0123456789abcdef0"
    assert refusal(t.elbv2.register_targets, TargetGroupArn=group, Targets=[{"Id": ghost}]) == (
        "InvalidTarget", f"The following instances do not exist: '{ghost}'")
    idle = _not_running(t.ec2)
    assert refusal(t.elbv2.register_targets, TargetGroupArn=group, Targets=[{"Id": idle}]) == (
        "InvalidTarget", f"The following targets are not in a running state and cannot be registered: '{idle}'")
    assert refusal(t.elbv2.register_targets, TargetGroupArn=group, Targets=[{"Id": "10.0.0.5"}])[0] == "InvalidTarget"
    assert _health(t, group) == []
    t.elbv2.delete_target_group(TargetGroupArn=group)


def test_another_accounts_instances_are_not_targets(server, t):
    other = tenant(server, "elbv2-targets-other")
    theirs = _not_running(other.ec2)
    try:
        group = _group(t, "instance")
        assert refusal(t.elbv2.register_targets, TargetGroupArn=group, Targets=[{"Id": theirs}]) == (
            "InvalidTarget", f"The following instances do not exist: '{theirs}'")
        t.elbv2.delete_target_group(TargetGroupArn=group)
    finally:
        other.ec2.terminate_instances(InstanceIds=[theirs])


def test_unknown_groups(t):
    arn = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/nope/0123456789abcdef"
    for call in (t.elbv2.register_targets, t.elbv2.deregister_targets):
        assert refusal(call, TargetGroupArn=arn, Targets=[{"Id": "10.0.0.5"}]) == (
            "TargetGroupNotFound", "One or more target groups not found")
    assert refusal(t.elbv2.describe_target_health, TargetGroupArn=arn)[0] == "TargetGroupNotFound"
