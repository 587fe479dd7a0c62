"""EC2 Auto Scaling behind an application load balancer, with real VMs and the real data plane:
a group of two busybox instances serving their hostname with httpd, attached to the ALB's
target group, registers them as they come in service; they turn healthy and requests reach
both; an instance whose httpd is killed fails its ELB checks, is set Unhealthy (HealthCheckType
ELB) and replaced with AWS's cause, the new one registered; a scale-in deregisters the instance
first and terminates it only once its target has drained; a detached target group loses the
group's instances. Two VMs, three for a moment while one is replaced."""

import base64
import time
import urllib.request
import uuid

import pytest

from tests.integration.ec2_fixtures import ami_id, key_pair, module_server, ssh, until

pytestmark = [pytest.mark.root, pytest.mark.qemu]

server = module_server("asg-elb", "10.254.0.0/16")
BOOT = 240  # seconds a boot may take under TCG on a busy host
DRAIN = 15  # the target group's deregistration delay
SERVE = "#!/bin/sh\nmkdir -p /tmp/www && hostname > /tmp/www/name\nhttpd -p 80 -h /tmp/www\n"
QUICK = {"HealthCheckIntervalSeconds": 5, "HealthCheckTimeoutSeconds": 2, "HealthyThresholdCount": 2,
         "UnhealthyThresholdCount": 2, "HealthCheckPath": "/name"}
ELB_CAUSE = "an instance was taken out of service in response to an ELB system health check failure."


def get(address: str) -> str | None:
    try:
        with urllib.request.urlopen(f"http://{address}/name", timeout=3) as r:
            return r.read().decode().strip()
    except OSError:
        return None


@pytest.fixture(scope="module")
def world(server, tmp_path_factory):
    ec2, elb, asg = server.client("ec2"), server.client("elbv2"), server.client("autoscaling")
    vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    subnets = sorted(ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"],
                     key=lambda s: s["AvailabilityZone"])
    front = ec2.create_security_group(GroupName="asg-alb", Description="web", VpcId=vpc)["GroupId"]
    back = ec2.create_security_group(GroupName="asg-web", Description="web servers", VpcId=vpc)["GroupId"]
    for group in (front, back):  # the host reaches the ALB and SSHes into the servers
        ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
            for port in (80, 22)])
    key = key_pair(ec2, "asg-elb", tmp_path_factory.mktemp("keys"))
    template = ec2.create_launch_template(LaunchTemplateName="asg-elb", LaunchTemplateData={
        "ImageId": ami_id(ec2), "InstanceType": "t3.nano", "KeyName": "asg-elb", "SecurityGroupIds": [back],
        "UserData": base64.b64encode(SERVE.encode()).decode()})["LaunchTemplate"]
    lb = elb.create_load_balancer(Name="asg-web", Subnets=[s["SubnetId"] for s in subnets[:2]],
                                  SecurityGroups=[front])["LoadBalancers"][0]
    target_group = elb.create_target_group(Name="asg-web", Protocol="HTTP", Port=80, VpcId=vpc,
                                           **QUICK)["TargetGroups"][0]["TargetGroupArn"]
    elb.modify_target_group_attributes(TargetGroupArn=target_group, Attributes=[
        {"Key": "deregistration_delay.timeout_seconds", "Value": str(DRAIN)}])
    elb.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=80, DefaultActions=[
        {"Type": "forward", "TargetGroupArn": target_group}])
    name = f"web-{uuid.uuid4().hex[:6]}"
    asg.create_auto_scaling_group(AutoScalingGroupName=name, MinSize=1, MaxSize=3, DesiredCapacity=2,
                                  LaunchTemplate={"LaunchTemplateId": template["LaunchTemplateId"]},
                                  VPCZoneIdentifier=",".join(s["SubnetId"] for s in subnets[:2]),
                                  TargetGroupARNs=[target_group], HealthCheckType="ELB", HealthCheckGracePeriod=60)
    world = dict(ec2=ec2, elb=elb, asg=asg, name=name, group=target_group, key=key, lb=lb)
    yield world
    asg.delete_auto_scaling_group(AutoScalingGroupName=name, ForceDelete=True)
    until(lambda: not asg.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"],
          "the group's instances were not terminated", timeout=BOOT)
    elb.delete_load_balancer(LoadBalancerArn=lb["LoadBalancerArn"])


def instances(world) -> list[dict]:
    return world["asg"].describe_auto_scaling_groups(AutoScalingGroupNames=[world["name"]])[
        "AutoScalingGroups"][0]["Instances"]


def health(world) -> dict[str, str]:
    return {d["Target"]["Id"]: d["TargetHealth"]["State"] for d in world["elb"].describe_target_health(
        TargetGroupArn=world["group"])["TargetHealthDescriptions"]}


def public_addresses(world) -> list[str]:
    enis = world["ec2"].describe_network_interfaces(Filters=[{"Name": "description", "Values": [
        "ELB app/asg-web/*"]}])["NetworkInterfaces"]
    return [e["Association"]["PublicIp"] for e in enis if e.get("Association")]


def described(world, instance_id: str) -> dict:
    return world["ec2"].describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]


def healthy_in_service(world, count: int, gone: str | None = None) -> list[str]:
    """The group's instances once it has count of them (and not gone), all InService and healthy
    targets: none of another test's still on its way out (draining, then terminating)."""
    def check():
        listed = instances(world)
        ids = [i["InstanceId"] for i in listed if i["LifecycleState"] == "InService"]
        targets = health(world)
        return ids if len(ids) == len(listed) == count and gone not in ids and \
            all(targets.get(i) == "healthy" for i in ids) else None
    return until(check, f"not {count} healthy: {instances(world)} {health(world)}", timeout=BOOT)


def state(world) -> str:
    return world["asg"].describe_load_balancer_target_groups(AutoScalingGroupName=world["name"])[
        "LoadBalancerTargetGroups"][0]["State"]


def test_instances_register_turn_healthy_and_serve(world):
    ids = healthy_in_service(world, 2)
    assert state(world) == "InService"
    assert world["asg"].describe_traffic_sources(AutoScalingGroupName=world["name"])["TrafficSources"][0][
        "State"] == "InService"
    ports = {d["Target"]["Id"]: d["Target"]["Port"] for d in world["elb"].describe_target_health(
        TargetGroupArn=world["group"])["TargetHealthDescriptions"]}
    assert ports == {i: 80 for i in ids}
    names = {described(world, i)["PrivateDnsName"].split(".")[0] for i in ids}
    address = until(lambda: next(iter(public_addresses(world)), None), "the ALB has no public address")
    seen = {get(address) for _ in range(20)}
    assert seen == names, seen


def test_an_instance_failing_its_elb_checks_is_replaced(world):
    ids = healthy_in_service(world, 2)
    victim = ids[0]
    ssh(world["key"], "root", described(world, victim)["PrivateIpAddress"], "killall httpd")
    until(lambda: health(world).get(victim) in ("unhealthy", "draining", None), "its target stayed healthy",
          timeout=60)
    activity = until(lambda: next((a for a in world["asg"].describe_scaling_activities(
        AutoScalingGroupName=world["name"])["Activities"] if a["Description"] == f"Terminating EC2 instance: {victim}"),
        None), "no termination of the unhealthy instance", timeout=60)
    assert activity["Cause"].endswith(ELB_CAUSE), activity["Cause"]
    now = healthy_in_service(world, 2, gone=victim)
    assert victim not in health(world) or health(world)[victim] == "draining"
    names = {described(world, i)["PrivateDnsName"].split(".")[0] for i in now}
    address = public_addresses(world)[0]
    assert {get(address) for _ in range(20)} == names


def test_scale_in_drains_before_it_terminates(world):
    healthy_in_service(world, 2)
    asg = world["asg"]
    asg.set_desired_capacity(AutoScalingGroupName=world["name"], DesiredCapacity=1)
    leaving = until(lambda: next((i["InstanceId"] for i in instances(world) if i["LifecycleState"] == "Terminating"),
                                 None), "no instance was taken out", timeout=30)
    assert health(world)[leaving] == "draining"
    activity = asg.describe_scaling_activities(AutoScalingGroupName=world["name"])["Activities"][0]
    assert (activity["Description"], activity["StatusCode"]) == (f"Terminating EC2 instance: {leaving}",
                                                                 "WaitingForELBConnectionDraining")
    started = time.monotonic()
    until(lambda: described(world, leaving)["State"]["Name"] in ("shutting-down", "terminated"),
          "the drained instance was not terminated", timeout=DRAIN + 30)
    assert time.monotonic() - started >= DRAIN - 3  # it waited for the deregistration delay
    assert leaving not in health(world)


def test_a_detached_target_group_loses_the_instances(world):
    asg, name = world["asg"], world["name"]
    remaining = healthy_in_service(world, 1)
    asg.detach_load_balancer_target_groups(AutoScalingGroupName=name, TargetGroupARNs=[world["group"]])
    assert state(world) == "Removing"
    assert health(world)[remaining[0]] in ("draining", "healthy")
    until(lambda: not asg.describe_load_balancer_target_groups(AutoScalingGroupName=name)["LoadBalancerTargetGroups"],
          "the target group stayed Removing", timeout=DRAIN + 30)
    assert health(world) == {} and [i["LifecycleState"] for i in instances(world)] == ["InService"]
    asg.attach_load_balancer_target_groups(AutoScalingGroupName=name, TargetGroupARNs=[world["group"]])
    until(lambda: health(world).get(remaining[0]) == "healthy", "the instance was not registered again", timeout=60)
    assert state(world) == "InService"
