"""ECS's two familyPrefix members, which mean different things (ListTaskDefinitions': a whole family
name; ListTaskDefinitionFamilies': a prefix), and a host-PID definition that never runs on Fargate."""

import secrets

import pytest
from botocore.exceptions import ClientError

CONTAINER = {"name": "app", "image": "busybox", "memory": 64}


@pytest.fixture(scope="module")
def keys(server):
    return server.new_account(f"families-{secrets.token_hex(3)}")


@pytest.fixture(scope="module")
def ecs(server, keys):
    client = server.client("ecs", key=keys[0], secret=keys[1])
    for family in ("web", "web-api", "web_2", "worker", "wexb"):
        client.register_task_definition(family=family, containerDefinitions=[CONTAINER])
    client.register_task_definition(family="web", containerDefinitions=[CONTAINER])
    return client


def test_list_task_definitions_takes_a_whole_family(ecs):
    arns = ecs.list_task_definitions(familyPrefix="web")["taskDefinitionArns"]
    assert [a.rsplit("/", 1)[1] for a in arns] == ["web:1", "web:2"]
    assert ecs.list_task_definitions(familyPrefix="we")["taskDefinitionArns"] == []
    assert ecs.list_task_definitions(familyPrefix="we_b")["taskDefinitionArns"] == []  # no LIKE pattern either
    assert len(ecs.list_task_definitions()["taskDefinitionArns"]) == 6


def test_list_task_definition_families_takes_a_prefix(ecs):
    assert ecs.list_task_definition_families(familyPrefix="web")["families"] == ["web", "web-api", "web_2"]
    assert ecs.list_task_definition_families(familyPrefix="we")["families"] == ["web", "web-api", "web_2", "wexb"]
    assert ecs.list_task_definition_families(familyPrefix="web_")["families"] == ["web_2"]


def test_other_accounts_families_are_not_listed(server, ecs):
    assert "worker" not in server.client("ecs").list_task_definition_families(familyPrefix="work")["families"]


def test_host_pid_mode_never_runs_on_fargate(server, keys, ecs):
    # refused at registration for FARGATE ...
    with pytest.raises(ClientError) as err:
        ecs.register_task_definition(family="pid-host", pidMode="host", containerDefinitions=[CONTAINER],
                                     requiresCompatibilities=["FARGATE"], networkMode="awsvpc", cpu="256",
                                     memory="512")
    assert err.value.response["Error"]["Code"] == "ClientException"
    assert err.value.response["Error"]["Message"] == ("Tasks using the Fargate launch type do not support pidMode "
                                                      "'host'. The supported value for pidMode is 'task'.")
    # ... and a definition registered for EC2 is not FARGATE-compatible, so it cannot be run there either
    body = ecs.register_task_definition(family="pid-host", pidMode="host", containerDefinitions=[CONTAINER],
                                        networkMode="awsvpc", cpu="256", memory="512")["taskDefinition"]
    assert body["compatibilities"] == ["EC2"] and body["pidMode"] == "host"
    ecs.create_cluster(clusterName="pids")
    subnet = server.client("ec2", key=keys[0], secret=keys[1]).describe_subnets()["Subnets"][0]
    with pytest.raises(ClientError) as err:
        ecs.run_task(cluster="pids", taskDefinition="pid-host", launchType="FARGATE", networkConfiguration={
            "awsvpcConfiguration": {"subnets": [subnet["SubnetId"]]}})
    assert err.value.response["Error"]["Code"] == "InvalidParameterException"
    assert err.value.response["Error"]["Message"] == "Task definition does not support launch_type FARGATE."
    assert ecs.list_tasks(cluster="pids")["taskArns"] == []
