"""ECS tasks and services through boto3 where nothing has to run: what is refused, with
AWS's error codes, and what is recorded for a service of no tasks."""

import pytest

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
    ({"schedulingStrategy": "DAEMON"}, "InvalidParameterException"),  # not on FARGATE
    ({"deploymentConfiguration": {"maximumPercent": 100, "minimumHealthyPercent": 100}}, "InvalidParameterException"),
])
def test_services_refused(ecs, network, kw, expected):
    request = {"cluster": "quiet", "serviceName": "refused", "taskDefinition": "quiet", "desiredCount": 1,
               "launchType": "FARGATE", "networkConfiguration": network, **kw}
    assert code(ecs.create_service, **{k: v for k, v in request.items() if v is not None}) == expected


def test_unknown_services_and_tasks(ecs):
    assert code(ecs.update_service, cluster="quiet", service="nope", desiredCount=1) == "ServiceNotFoundException"
    assert code(ecs.stop_task, cluster="quiet", task="0123456789abcdef0123456789abcdef") == \
        "InvalidParameterException"
    described = ecs.describe_tasks(cluster="quiet", tasks=["0123456789abcdef0123456789abcdef"])
    assert described["tasks"] == [] and described["failures"][0]["reason"] == "MISSING"
    assert code(ecs.run_task, cluster="quiet", taskDefinition="quiet", launchType="FARGATE", count=11,
                networkConfiguration={"awsvpcConfiguration": {"subnets": ["subnet-x"]}}) == \
        "InvalidParameterException"
