"""ECS services behind ELBv2 target groups, through boto3, where nothing has to run: what
CreateService and UpdateService take (loadBalancers, healthCheckGracePeriodSeconds) and show,
and what they refuse with ECS's messages, another account's target group and hostile values
included. Tasks that register, drain and get replaced run in
tests/integration/test_ecs_services_elb.py."""

import pytest
from botocore.exceptions import ClientError

from tests.e2e.errors import code

DEFINITION = {"family": "behind", "containerDefinitions": [
    {"name": "web", "image": "busybox", "memory": 64, "portMappings": [{"containerPort": 80}]},
    {"name": "side", "image": "busybox", "memory": 64}],
    "requiresCompatibilities": ["FARGATE"], "networkMode": "awsvpc", "memory": "512", "cpu": "256"}


def _balanced(server, ecs, elbv2, prefix: str) -> dict:
    """A cluster, the definition, and target groups: "ip" with a listener, "instance" with one,
    and "lonely" (ip, no load balancer)."""
    ecs.create_cluster(clusterName="lb")
    ecs.register_task_definition(**DEFINITION)
    ec2 = server.client("ec2")
    vpc = next(v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"] if v.get("IsDefault"))
    subnets = [s["SubnetId"] for s in ec2.describe_subnets()["Subnets"] if s["VpcId"] == vpc][:2]
    groups = {kind: elbv2.create_target_group(Name=f"{prefix}-{kind}", Protocol="HTTP", Port=80, VpcId=vpc,
                                              TargetType=target)["TargetGroups"][0]["TargetGroupArn"]
              for kind, target in (("ip", "ip"), ("instance", "instance"), ("lonely", "ip"))}
    lb = elbv2.create_load_balancer(Name=f"{prefix}-alb", Subnets=subnets, Type="application",
                                    Scheme="internal")["LoadBalancers"][0]["LoadBalancerArn"]
    for port, kind in ((80, "ip"), (81, "instance")):
        elbv2.create_listener(LoadBalancerArn=lb, Protocol="HTTP", Port=port,
                              DefaultActions=[{"Type": "forward", "TargetGroupArn": groups[kind]}])
    return {**groups, "network": {"awsvpcConfiguration": {"subnets": subnets[:1]}}}


@pytest.fixture(scope="module")
def ecs(server):
    return server.client("ecs")


@pytest.fixture(scope="module")
def setup(server, ecs):
    return _balanced(server, ecs, server.client("elbv2"), "svc")


def _create(ecs, setup, name: str, **kw):
    return ecs.create_service(cluster="lb", serviceName=name, taskDefinition="behind", desiredCount=0,
                              launchType="FARGATE", networkConfiguration=setup["network"], **kw)["service"]


def _web(group: str, **kw) -> dict:
    return {"targetGroupArn": group, "containerName": "web", "containerPort": 80, **kw}


def _describe(ecs, name: str) -> dict:
    return ecs.describe_services(cluster="lb", services=[name])["services"][0]


def test_a_service_shows_its_load_balancers_and_grace_period(ecs, setup):
    created = _create(ecs, setup, "shown", loadBalancers=[_web(setup["ip"])], healthCheckGracePeriodSeconds=30)
    try:
        for service in (created, _describe(ecs, "shown")):
            assert service["loadBalancers"] == [_web(setup["ip"])]
            assert service["healthCheckGracePeriodSeconds"] == 30
        ecs.update_service(cluster="lb", service="shown", healthCheckGracePeriodSeconds=2147483647)
        assert _describe(ecs, "shown")["healthCheckGracePeriodSeconds"] == 2147483647
        # ECS deploys a changed load balancer configuration; without one there is no grace period
        updated = ecs.update_service(cluster="lb", service="shown", loadBalancers=[])["service"]
        assert updated["loadBalancers"] == [] and "healthCheckGracePeriodSeconds" not in updated
        assert len(updated["deployments"]) == 2 and updated["deployments"][0]["status"] == "PRIMARY"
    finally:
        ecs.delete_service(cluster="lb", service="shown", force=True)


def test_a_service_behind_load_balancers_has_a_grace_period_of_0_unless_given(ecs, setup):
    assert _create(ecs, setup, "zero", loadBalancers=[_web(setup["ip"])])["healthCheckGracePeriodSeconds"] == 0
    assert "healthCheckGracePeriodSeconds" not in _create(ecs, setup, "none")
    for name in ("zero", "none"):
        ecs.delete_service(cluster="lb", service=name, force=True)


def _refusals(setup: dict):
    ip = setup["ip"]
    missing = ip.rsplit("/", 1)[0] + "/0123456789abcdef"
    role = ("Unable to assume role and validate the specified targetGroupArn. Please verify that the ECS service "
            "role being passed has the proper permissions.")
    return [
        ({"loadBalancers": [_web(missing)]}, role),
        ({"loadBalancers": [_web(ip + "' OR '1'='1")]}, role),
        ({"loadBalancers": [_web("x" * 5000)]}, role),
        ({"loadBalancers": [_web(ip, containerName="nope")]},
         "The container nope does not exist in the task definition."),
        ({"loadBalancers": [_web(ip, containerName="side")]}, "The container side did not have a container port 80 "
                                                              "defined."),
        ({"loadBalancers": [_web(ip, containerPort=8080)]}, "The container web did not have a container port 8080 "
                                                            "defined."),
        ({"loadBalancers": [_web(ip, containerPort=-1)]}, "The container web did not have a container port -1 "
                                                          "defined."),
        ({"loadBalancers": [_web(setup["instance"])]},
         f"The provided target group {setup['instance']} has target type instance, which is incompatible with the "
         "awsvpc network mode specified in the task definition."),
        ({"loadBalancers": [_web(setup["lonely"])]},
         f"The target group with targetGroupArn {setup['lonely']} does not have an associated load balancer."),
        ({"loadBalancers": [_web(ip)] * 6}, "load balancers can have at most 5 items."),
        ({"loadBalancers": [_web(ip)] * 2000}, "load balancers can have at most 5 items."),
        ({"loadBalancers": [{"loadBalancerName": "classic", "containerName": "web", "containerPort": 80}]},
         "The load balancer classic does not exist."),
        ({"loadBalancers": [{"containerName": "web", "containerPort": 80}]}, "Target Group Arn can not be blank."),
        ({"loadBalancers": [{"targetGroupArn": ip, "containerPort": 80}]}, "Container Name can not be blank."),
        ({"healthCheckGracePeriodSeconds": 10},
         "Health check grace period is only valid for services configured to use load balancers"),
        ({"loadBalancers": [_web(ip)], "healthCheckGracePeriodSeconds": -1},
         "healthCheckGracePeriodSeconds must be between 0 and 2147483647."),
    ]


def test_bad_load_balancers_are_refused_and_nothing_is_written(ecs, setup):
    for kw, message in _refusals(setup):
        with pytest.raises(ClientError) as err:
            _create(ecs, setup, "refused", **kw)
        assert (err.value.response["Error"]["Code"], err.value.response["Error"]["Message"]) == \
            ("InvalidParameterException", message), kw
        assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        assert not any(a.endswith("/refused") for a in ecs.list_services(cluster="lb")["serviceArns"])


def test_an_update_keeps_what_the_service_is_behind(ecs, setup):
    """A new task definition must still have the container and port; a refused update changes nothing."""
    _create(ecs, setup, "kept", loadBalancers=[_web(setup["ip"])])
    try:
        other = ecs.register_task_definition(**{**DEFINITION, "family": "moved", "containerDefinitions": [
            {"name": "web", "image": "busybox", "memory": 64, "portMappings": [{"containerPort": 8080}]}]})
        arn = other["taskDefinition"]["taskDefinitionArn"]
        with pytest.raises(ClientError) as err:
            ecs.update_service(cluster="lb", service="kept", taskDefinition=arn)
        assert err.value.response["Error"]["Message"] == "The container web did not have a container port 80 defined."
        assert code(ecs.update_service, cluster="lb", service="kept", loadBalancers=[_web(setup["lonely"])]) == \
            "InvalidParameterException"
        service = _describe(ecs, "kept")
        assert service["taskDefinition"].endswith("behind:1") and len(service["deployments"]) == 1
        assert service["loadBalancers"] == [_web(setup["ip"])]
        ecs.update_service(cluster="lb", service="kept", taskDefinition=arn,
                           loadBalancers=[_web(setup["ip"], containerPort=8080)])
        assert _describe(ecs, "kept")["loadBalancers"] == [_web(setup["ip"], containerPort=8080)]
    finally:
        ecs.delete_service(cluster="lb", service="kept", force=True)


def test_another_accounts_target_group_is_not_found(server, setup):
    """Account B names account A's target group (whose ARN it may well know): as if none existed."""
    key, secret = server.new_account("lb-other")
    ecs = server.client("ecs", key=key, secret=secret)
    ecs.create_cluster(clusterName="lb")
    ecs.register_task_definition(**DEFINITION)
    subnet = server.client("ec2", key=key, secret=secret).describe_subnets()["Subnets"][0]["SubnetId"]
    with pytest.raises(ClientError) as err:
        ecs.create_service(cluster="lb", serviceName="stolen", taskDefinition="behind", desiredCount=0,
                           launchType="FARGATE", loadBalancers=[_web(setup["ip"])],
                           networkConfiguration={"awsvpcConfiguration": {"subnets": [subnet]}})
    assert err.value.response["Error"]["Message"].startswith("Unable to assume role and validate the specified "
                                                             "targetGroupArn.")
    assert ecs.list_services(cluster="lb")["serviceArns"] == []
