"""ECS tasks and services through boto3 where nothing has to run: what is refused, with
AWS's error codes, and what is recorded for a service of no tasks (its awsvpc network notes,
security groups and public IP included)."""

import json

import pytest
from botocore.exceptions import ClientError

from cloudlet.store import Store
from cloudlet.store.schema import ecs_services
from tests.e2e.errors import code

DEFINITION = {"family": "quiet", "containerDefinitions": [{"name": "web", "image": "busybox", "memory": 64}],
              "requiresCompatibilities": ["FARGATE"], "networkMode": "awsvpc", "memory": "512", "cpu": "256"}


@pytest.fixture(scope="module")
def ecs(server):
    client = server.client("ecs")
    client.create_cluster(clusterName="quiet")
    client.register_task_definition(**DEFINITION)
    return client


@pytest.fixture(scope="module")
def network(server):
    subnet = server.client("ec2").describe_subnets()["Subnets"][0]["SubnetId"]
    return {"awsvpcConfiguration": {"subnets": [subnet]}}


def test_service_lifecycle_without_tasks(ecs, network):
    created = ecs.create_service(cluster="quiet", serviceName="idle", taskDefinition="quiet", desiredCount=0,
                                 launchType="FARGATE", networkConfiguration=network)["service"]
    assert (created["status"], created["desiredCount"], created["schedulingStrategy"]) == ("ACTIVE", 0, "REPLICA")
    assert created["deployments"][0]["status"] == "PRIMARY"
    assert created["serviceArn"] in ecs.list_services(cluster="quiet")["serviceArns"]
    assert code(ecs.create_service, cluster="quiet", serviceName="idle", taskDefinition="quiet", desiredCount=0,
                launchType="FARGATE", networkConfiguration=network) == "InvalidParameterException"
    # Nothing is scaled up here: tasks would run for real (tests/integration/test_ecs_tasks.py does that).
    ecs.delete_service(cluster="quiet", service="idle")
    described = ecs.describe_services(cluster="quiet", services=["idle", "never"])
    assert described["services"][0]["status"] in ("DRAINING", "INACTIVE")
    assert [f["reason"] for f in described["failures"]] == ["MISSING"]


@pytest.mark.parametrize("kw, expected", [
    ({"desiredCount": None}, "InvalidParameterException"),
    ({"taskDefinition": "nope"}, "ClientException"),
    ({"cluster": "nope"}, "ClusterNotFoundException"),
    ({"networkConfiguration": None}, "InvalidParameterException"),
    ({"schedulingStrategy": "DAEMON", "desiredCount": None}, "InvalidParameterException"),  # not on FARGATE
    ({"deploymentConfiguration": {"maximumPercent": 100, "minimumHealthyPercent": 100}}, "InvalidParameterException"),
])
def test_services_refused(ecs, network, kw, expected):
    request = {"cluster": "quiet", "serviceName": "refused", "taskDefinition": "quiet", "desiredCount": 1,
               "launchType": "FARGATE", "networkConfiguration": network, **kw}
    assert code(ecs.create_service, **{k: v for k, v in request.items() if v is not None}) == expected


@pytest.mark.parametrize("kw, words", [
    ({"taskDefinition": None}, "A task definition is required for a service that uses the ECS deployment controller."),
    # an EXTERNAL service's task sets have its network (tests/e2e/test_ecs_task_sets.py); there is no CodeDeploy
    ({"taskDefinition": None, "deploymentController": {"type": "EXTERNAL"}},
     "networkConfiguration of a service of the EXTERNAL deployment controller is given by its task sets"),
    ({"deploymentController": {"type": "CODE_DEPLOY"}}, "The CODE_DEPLOY deployment controller is not supported"),
    ({"schedulingStrategy": "DAEMON", "launchType": "EC2", "networkConfiguration": None},
     "The daemon scheduling strategy does not support a desired count for services."),
])
def test_services_refused_with_ecs_words(ecs, network, kw, words):
    request = {"cluster": "quiet", "serviceName": "worded", "taskDefinition": "quiet", "desiredCount": 1,
               "launchType": "FARGATE", "networkConfiguration": network, **kw}
    with pytest.raises(ClientError) as err:
        ecs.create_service(**{k: v for k, v in request.items() if v is not None})
    assert err.value.response["Error"]["Code"] == "InvalidParameterException"
    assert err.value.response["Error"]["Message"].startswith(words)
    assert not any(arn.endswith("/worded") for arn in ecs.list_services(cluster="quiet")["serviceArns"])


def test_an_update_to_another_deployment_controller_is_refused(ecs, network):
    ecs.create_service(cluster="quiet", serviceName="steady", taskDefinition="quiet", desiredCount=0,
                       launchType="FARGATE", networkConfiguration=network)
    try:
        assert code(ecs.update_service, cluster="quiet", service="steady",
                    deploymentController={"type": "EXTERNAL"}) == "InvalidParameterException"
        service = ecs.describe_services(cluster="quiet", services=["steady"])["services"][0]
        assert service["deploymentController"] == {"type": "ECS"}
    finally:
        ecs.delete_service(cluster="quiet", service="steady")


def test_unknown_services_and_tasks(ecs):
    assert code(ecs.update_service, cluster="quiet", service="nope", desiredCount=1) == "ServiceNotFoundException"
    assert code(ecs.stop_task, cluster="quiet", task="0123456789abcdef0123456789abcdef") == \
        "InvalidParameterException"
    described = ecs.describe_tasks(cluster="quiet", tasks=["0123456789abcdef0123456789abcdef"])
    assert described["tasks"] == [] and described["failures"][0]["reason"] == "MISSING"
    assert code(ecs.run_task, cluster="quiet", taskDefinition="quiet", launchType="FARGATE", count=11,
                networkConfiguration={"awsvpcConfiguration": {"subnets": ["subnet-x"]}}) == \
        "InvalidParameterException"


@pytest.fixture(scope="module")
def networked(server):
    """ECS and EC2 clients of an account of their own, with a Fargate task definition, a VPC
    besides the default one and a security group in each."""
    key, secret = server.new_account("ecs-networks")
    ecs, ec2 = (server.client(service, key=key, secret=secret) for service in ("ecs", "ec2"))
    ecs.create_cluster(clusterName="nets")
    ecs.register_task_definition(**DEFINITION)
    default = ec2.describe_subnets()["Subnets"][0]
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    other = ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.1.0/24")["Subnet"]
    web = ec2.create_security_group(GroupName="web", Description="web", VpcId=default["VpcId"])["GroupId"]
    far = ec2.create_security_group(GroupName="far", Description="far", VpcId=vpc)["GroupId"]
    return {"ecs": ecs, "ec2": ec2, "subnet": default, "other": other, "web": web, "far": far,
            "account": server.client("sts", key=key, secret=secret).get_caller_identity()["Account"]}


def _network_notes(server, account: str, service: str) -> dict:
    """What the service's tasks are made with (the task controller reads these notes)."""
    store = Store(server.data_dir / "state.db")
    try:
        with store.scoped(account, "us-east-1", write=False) as db:
            row = db.one(ecs_services, ecs_services.c.name == service)
        return json.loads(row["body"])["_run"]["network"]
    finally:
        store.close()


def test_security_groups_and_public_ips_of_awsvpc_tasks(server, networked):
    ecs, subnet = networked["ecs"], networked["subnet"]
    config = {"subnets": [subnet["SubnetId"]], "securityGroups": [networked["web"]], "assignPublicIp": "ENABLED"}
    ecs.create_service(cluster="nets", serviceName="public", taskDefinition="quiet", desiredCount=0,
                       launchType="FARGATE", networkConfiguration={"awsvpcConfiguration": config})
    notes = _network_notes(server, networked["account"], "public")
    assert notes["securityGroups"] == [{"GroupId": networked["web"], "GroupName": "web"}]
    assert notes["assignPublicIp"] is True and notes["subnet"] == subnet["SubnetId"]
    ecs.update_service(cluster="nets", service="public", networkConfiguration={"awsvpcConfiguration": {
        "subnets": [subnet["SubnetId"]]}})
    notes = _network_notes(server, networked["account"], "public")
    assert [g["GroupName"] for g in notes["securityGroups"]] == ["default"] and notes["assignPublicIp"] is False
    ecs.delete_service(cluster="nets", service="public")


def test_security_groups_and_public_ips_refused(networked):
    ecs, subnet, ec2 = networked["ecs"], networked["subnet"]["SubnetId"], networked["ec2"]
    many = [ec2.create_security_group(GroupName=f"many-{n}", Description="x",
                                      VpcId=networked["subnet"]["VpcId"])["GroupId"] for n in range(6)]

    def refusal(launch="FARGATE", **config):
        with pytest.raises(ClientError) as err:
            ecs.run_task(cluster="nets", taskDefinition="quiet", launchType=launch, networkConfiguration={
                "awsvpcConfiguration": {"subnets": [subnet], **config}})
        assert err.value.response["Error"]["Code"] == "InvalidParameterException"
        return err.value.response["Error"]["Message"]

    assert refusal(securityGroups=["sg-0123456789abcdef0"]) == (
        "Error retrieving security group information for [sg-0123456789abcdef0]: The security group "
        "'sg-0123456789abcdef0' does not exist (ErrorCode: InvalidGroup.NotFound)")
    assert "(ErrorCode: InvalidGroup.NotFound)" in refusal(securityGroups=[networked["far"]])  # another VPC's
    assert "(ErrorCode: InvalidGroupId.Malformed)" in refusal(securityGroups=["web"])
    assert "securityGroups" in refusal(securityGroups=many)
    assert refusal(launch="EC2", assignPublicIp="ENABLED") == "Assign public IP is not supported for this launch type."
    with pytest.raises(ClientError) as err:
        ecs.run_task(cluster="nets", taskDefinition="quiet", launchType="FARGATE", networkConfiguration={
            "awsvpcConfiguration": {"subnets": [subnet, networked["other"]["SubnetId"]]}})
    assert err.value.response["Error"]["Code"] == "InvalidParameterException"
    assert ecs.list_tasks(cluster="nets")["taskArns"] == []
    for group in many:
        ec2.delete_security_group(GroupId=group)
