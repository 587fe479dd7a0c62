"""ECS services of the EXTERNAL deployment controller and their task sets, through boto3,
where nothing has to run (EC2 task sets in a cluster without container instances): what
CreateTaskSet, UpdateTaskSet, UpdateServicePrimaryTaskSet, DeleteTaskSet and
DescribeTaskSets answer, the shares of the desired count, and ECS's refusals. Task sets whose
tasks run and take traffic: tests/integration/test_ecs_task_sets.py."""

import time

import pytest
from botocore.exceptions import ClientError

from tests.e2e.errors import code

CLUSTER = "sets"


@pytest.fixture(scope="module")
def ecs(server):
    client = server.client("ecs")
    client.create_cluster(clusterName=CLUSTER)
    for family in ("blue", "green"):
        client.register_task_definition(family=family, containerDefinitions=[
            {"name": "web", "image": "busybox", "memory": 32, "command": ["sleep", "600"]}])
    return client


@pytest.fixture
def service(ecs, request):
    name = request.node.name.replace("[", "_").replace("]", "")[:60]
    ecs.create_service(cluster=CLUSTER, serviceName=name, desiredCount=4, deploymentController={"type": "EXTERNAL"})
    yield name
    ecs.delete_service(cluster=CLUSTER, service=name, force=True)


def create(ecs, service: str, family: str, **kw) -> dict:
    return ecs.create_task_set(cluster=CLUSTER, service=service, taskDefinition=family, launchType="EC2", **kw)[
        "taskSet"]


def described(ecs, service: str) -> dict:
    return ecs.describe_services(cluster=CLUSTER, services=[service])["services"][0]


def sets(ecs, service: str, *refs: str) -> dict:
    kw = {"taskSets": list(refs)} if refs else {}
    return ecs.describe_task_sets(cluster=CLUSTER, service=service, **kw)


def test_an_external_service_starts_with_no_task_set(ecs, service):
    shown = described(ecs, service)
    assert shown["deploymentController"] == {"type": "EXTERNAL"} and shown["taskSets"] == []
    assert shown["deployments"] == [] and shown["desiredCount"] == 4 and "taskDefinition" not in shown
    found = sets(ecs, service)
    assert found["taskSets"] == [] and found["failures"] == []


def test_task_sets_share_the_desired_count_and_the_primary_shows_on_the_service(ecs, service):
    blue = create(ecs, service, "blue", scale={"value": 50, "unit": "PERCENT"}, externalId="deploy-1")
    account_region = blue["serviceArn"].split(":")[3:5]
    assert blue["taskSetArn"] == (f"arn:aws:ecs:{':'.join(account_region)}:task-set/{CLUSTER}/{service}/"
                                  f"{blue['id'].split('/')[1]}")
    assert blue["id"].startswith("ecs-svc/") and blue["status"] == "ACTIVE" and blue["externalId"] == "deploy-1"
    assert blue["scale"] == {"value": 50.0, "unit": "PERCENT"} and blue["computedDesiredCount"] == 2
    assert blue["taskDefinition"].endswith(":task-definition/blue:1") and blue["launchType"] == "EC2"
    assert blue["stabilityStatus"] == "STABILIZING"
    green = create(ecs, service, "green")  # 100% unless told
    assert green["scale"] == {"value": 100.0, "unit": "PERCENT"} and green["computedDesiredCount"] == 4
    assert [s["id"] for s in described(ecs, service)["taskSets"]] == [blue["id"], green["id"]]

    primary = ecs.update_service_primary_task_set(cluster=CLUSTER, service=service,
                                                  primaryTaskSet=green["taskSetArn"])["taskSet"]
    assert primary["status"] == "PRIMARY"
    shown = described(ecs, service)
    assert shown["taskDefinition"] == green["taskDefinition"] and shown["launchType"] == "EC2"
    ecs.update_service_primary_task_set(cluster=CLUSTER, service=service, primaryTaskSet=blue["id"])
    statuses = {s["id"]: s["status"] for s in sets(ecs, service)["taskSets"]}
    assert statuses == {blue["id"]: "PRIMARY", green["id"]: "ACTIVE"}
    assert described(ecs, service)["taskDefinition"] == blue["taskDefinition"]

    # 25% of 10 is 2.5: rounded up; the desired count moves every set's share
    assert ecs.update_task_set(cluster=CLUSTER, service=service, taskSet=blue["taskSetArn"],
                               scale={"value": 25, "unit": "PERCENT"})["taskSet"]["computedDesiredCount"] == 1
    ecs.update_service(cluster=CLUSTER, service=service, desiredCount=10)
    counts = {s["id"]: s["computedDesiredCount"] for s in sets(ecs, service)["taskSets"]}
    assert counts == {blue["id"]: 3, green["id"]: 10}
    ecs.update_service(cluster=CLUSTER, service=service, desiredCount=3)
    ecs.update_task_set(cluster=CLUSTER, service=service, taskSet=blue["id"], scale={"value": 33.333333})
    assert sets(ecs, service, blue["id"])["taskSets"][0]["computedDesiredCount"] == 1  # not 2


def test_deleting_a_task_set(ecs, service):
    blue = create(ecs, service, "blue")
    assert code(ecs.delete_task_set, cluster=CLUSTER, service=service, taskSet=blue["id"]) == \
        "InvalidParameterException"  # it is to run 4 tasks
    gone = ecs.delete_task_set(cluster=CLUSTER, service=service, taskSet=blue["id"], force=True)["taskSet"]
    assert gone["status"] == "DRAINING" and gone["computedDesiredCount"] == 0
    # refused while it drains, not found once it has gone (with no task, at the controller's next round)
    assert code(ecs.update_task_set, cluster=CLUSTER, service=service, taskSet=blue["id"],
                scale={"value": 10}) in ("InvalidParameterException", "TaskSetNotFoundException")
    deadline = time.monotonic() + 20
    while sets(ecs, service)["taskSets"]:  # no task of its runs: it goes at once
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert sets(ecs, service, blue["id"])["failures"] == [{"arn": blue["id"], "reason": "MISSING"}]
    # one scaled to 0 goes without force
    green = create(ecs, service, "green", scale={"value": 0})
    assert ecs.delete_task_set(cluster=CLUSTER, service=service, taskSet=green["taskSetArn"])["taskSet"][
        "status"] == "DRAINING"


def test_a_client_token_makes_one_task_set_and_tags_are_kept(ecs, service):
    first = create(ecs, service, "blue", clientToken="once", tags=[{"key": "team", "value": "web"}])
    assert create(ecs, service, "green", clientToken="once")["id"] == first["id"]
    [shown] = sets(ecs, service)["taskSets"]
    assert "tags" not in shown
    tagged = ecs.describe_task_sets(cluster=CLUSTER, service=service, include=["TAGS"])["taskSets"][0]
    assert tagged["tags"] == [{"key": "team", "value": "web"}]
    ecs.tag_resource(resourceArn=first["taskSetArn"], tags=[{"key": "stage", "value": "blue"}])
    assert {t["key"] for t in ecs.list_tags_for_resource(resourceArn=first["taskSetArn"])["tags"]} == \
        {"team", "stage"}


def test_a_service_holds_at_most_twenty_task_sets(ecs, service):
    for _ in range(20):
        create(ecs, service, "blue", scale={"value": 0})
    assert code(create, ecs, service, "blue") == "LimitExceededException"
    assert len(sets(ecs, service)["taskSets"]) == 20


def test_what_ecs_refuses(ecs, service):
    ecs.create_service(cluster=CLUSTER, serviceName="own-controller", taskDefinition="blue", desiredCount=0,
                       launchType="EC2")
    try:
        with pytest.raises(ClientError) as err:
            create(ecs, "own-controller", "blue")
        assert err.value.response["Error"]["Code"] == "InvalidParameterException"
        assert "external deployment controllers" in err.value.response["Error"]["Message"]
    finally:
        ecs.delete_service(cluster=CLUSTER, service="own-controller")
    assert code(create, ecs, "nope", "blue") == "ServiceNotFoundException"
    assert code(ecs.create_task_set, cluster="nope", service=service, taskDefinition="blue") == \
        "ClusterNotFoundException"
    assert code(create, ecs, service, "missing-family") == "ClientException"
    for scale in ({"value": 101}, {"value": -1}):
        assert code(create, ecs, service, "blue", scale=scale) == "InvalidParameterException"
    for call, kw in ((ecs.update_task_set, {"taskSet": "ecs-svc/1", "scale": {"value": 1}}),
                     (ecs.delete_task_set, {"taskSet": "ecs-svc/1"}),
                     (ecs.update_service_primary_task_set, {"primaryTaskSet": "ecs-svc/1"})):
        assert code(call, cluster=CLUSTER, service=service, **kw) == "TaskSetNotFoundException"
    # what a task set holds is not the service's to change
    for kw in ({"taskDefinition": "green"}, {"forceNewDeployment": True},
               {"networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-1"]}}}):
        assert code(ecs.update_service, cluster=CLUSTER, service=service, **kw) == "InvalidParameterException"
    assert code(ecs.update_service, cluster=CLUSTER, service=service, deploymentController={"type": "ECS"}) == \
        "InvalidParameterException"
    assert code(ecs.create_service, cluster=CLUSTER, serviceName="daemon", schedulingStrategy="DAEMON",
                deploymentController={"type": "EXTERNAL"}) == "InvalidParameterException"
    assert not sets(ecs, service)["taskSets"]
