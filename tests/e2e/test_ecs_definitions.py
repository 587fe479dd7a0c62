"""ECS clusters and task definitions through boto3 and the AWS CLI: the walkthrough's
definition, revisions and families, the console's JSON (numbers in quotes) through
`cloudlet ecs register-task-definition`, and the definitions ECS refuses, with its words."""

import json
import subprocess
import sys

import pytest
from botocore.exceptions import ClientError

WALKTHROUGH = {"family": "webserver", "containerDefinitions": [{"name": "web", "image": "nginx", "memory": 100,
                                                                 "cpu": 99}],
               "requiresCompatibilities": ["FARGATE"], "networkMode": "awsvpc", "memory": "512", "cpu": "256"}


@pytest.fixture(scope="module")
def ecs(server):
    return server.client("ecs")


def code_and_message(call, **kw) -> tuple[str, str]:
    with pytest.raises(ClientError) as err:
        call(**kw)
    return err.value.response["Error"]["Code"], err.value.response["Error"]["Message"]


def test_clusters(ecs):
    created = ecs.create_cluster(clusterName="shop-e2e", settings=[{"name": "containerInsights", "value": "enabled"}],
                                 capacityProviders=["FARGATE", "FARGATE_SPOT"],
                                 defaultCapacityProviderStrategy=[{"capacityProvider": "FARGATE", "weight": 1}])
    cluster = created["cluster"]
    assert cluster["status"] == "ACTIVE" and cluster["clusterArn"].endswith(":cluster/shop-e2e")
    assert ecs.create_cluster(clusterName="shop-e2e")["cluster"]["clusterArn"] == cluster["clusterArn"]
    assert cluster["clusterArn"] in ecs.list_clusters()["clusterArns"]
    described = ecs.describe_clusters(clusters=["shop-e2e", "nope"], include=["TAGS"])
    assert described["clusters"][0]["settings"] == [{"name": "containerInsights", "value": "enabled"}]
    assert [f["reason"] for f in described["failures"]] == ["MISSING"]
    assert code_and_message(ecs.create_cluster, clusterName="bad name!")[0] == "InvalidParameterException"
    assert code_and_message(ecs.create_cluster, clusterName="x", capacityProviders=["NOPE"])[0] == \
        "InvalidParameterException"
    ecs.delete_cluster(cluster="shop-e2e")
    assert cluster["clusterArn"] not in ecs.list_clusters()["clusterArns"]
    assert code_and_message(ecs.delete_cluster, cluster="shop-e2e")[0] == "ClusterNotFoundException"


def test_walkthrough_definition_with_the_cli_and_revisions(server, ecs):
    first = json.loads(server.aws("ecs", "register-task-definition", "--cli-input-json",
                                  json.dumps(WALKTHROUGH)).stdout)["taskDefinition"]
    assert (first["family"], first["status"], first["networkMode"]) == ("webserver", "ACTIVE", "awsvpc")
    assert first["compatibilities"] == ["EC2", "FARGATE"] and first["containerDefinitions"][0]["essential"] is True
    second = ecs.register_task_definition(**WALKTHROUGH)["taskDefinition"]
    assert second["revision"] == first["revision"] + 1
    assert ecs.describe_task_definition(taskDefinition="webserver")["taskDefinition"]["revision"] == second["revision"]
    again = ecs.describe_task_definition(taskDefinition=first["taskDefinitionArn"])["taskDefinition"]
    assert {**again, "registeredAt": None} == {**first, "registeredAt": None}  # the CLI prints times as numbers
    ecs.deregister_task_definition(taskDefinition=f"webserver:{second['revision']}")
    assert ecs.describe_task_definition(taskDefinition="webserver")["taskDefinition"]["revision"] == first["revision"]
    active = ecs.list_task_definitions(familyPrefix="webserver")["taskDefinitionArns"]
    assert first["taskDefinitionArn"] in active and second["taskDefinitionArn"] not in active
    assert "webserver" in ecs.list_task_definition_families()["families"]
    refused = ecs.delete_task_definitions(taskDefinitions=[first["taskDefinitionArn"]])
    assert "still in ACTIVE status" in refused["failures"][0]["reason"]
    deleted = ecs.delete_task_definitions(taskDefinitions=[second["taskDefinitionArn"]])
    assert deleted["taskDefinitions"][0]["status"] == "DELETE_IN_PROGRESS"


def test_console_json_with_numbers_in_quotes(server, ecs, tmp_path):
    console = dict(WALKTHROUGH, family="console-form",
                   containerDefinitions=[{"name": "web", "image": "nginx", "memory": "100", "cpu": "99",
                                          "portMappings": [{"containerPort": "80", "protocol": "tcp"}]}])
    path = tmp_path / "console.json"
    path.write_text(json.dumps(console))
    stock = server.aws("ecs", "register-task-definition", "--cli-input-json", f"file://{path}", check=False)
    assert stock.returncode != 0 and "Invalid type for parameter" in stock.stderr  # the AWS CLI refuses it
    ours = subprocess.run([sys.executable, "-m", "cloudlet.cli.main", "ecs", "register-task-definition", str(path)],
                          capture_output=True, text=True, env=server.env(), timeout=60)
    assert ours.returncode == 0, ours.stderr
    registered = json.loads(ours.stdout)["taskDefinition"]["containerDefinitions"][0]
    assert (registered["memory"], registered["cpu"], registered["portMappings"][0]["containerPort"]) == (100, 99, 80)
    assert registered["portMappings"][0]["hostPort"] == 80  # awsvpc: the same as the container's
    words = dict(console, containerDefinitions=[{"name": "web", "image": "nginx", "memory": "a lot"}])
    path.write_text(json.dumps(words))
    bad = subprocess.run([sys.executable, "-m", "cloudlet.cli.main", "ecs", "register-task-definition", str(path)],
                         capture_output=True, text=True, env=server.env(), timeout=60)
    assert bad.returncode == 254 and "memory" in bad.stderr


def container(**kw):
    return {"name": "web", "image": "nginx", **kw}


@pytest.mark.parametrize("change, words", [
    ({"networkMode": "bridge"}, "Fargate only supports network mode \u2018awsvpc\u2019."),
    ({"cpu": "256", "memory": "4096"}, "No Fargate configuration exists for given values: 256 CPU, 4096 memory"),
    ({"containerDefinitions": [container(memory=1024)]}, "exceeds the task's memory"),
    ({"requiresCompatibilities": [], "networkMode": "bridge", "cpu": None, "memory": None,
      "containerDefinitions": [container()]}, "At least one of 'memory' or 'memoryReservation' must be specified"),
    ({"containerDefinitions": [container(), container()]}, "Duplicate container name 'web'"),
    ({"containerDefinitions": [container(essential=False)]}, "at least one essential container"),
    ({"containerDefinitions": [container(portMappings=[{"containerPort": 80, "hostPort": 8080}])]},
     "When networkMode=awsvpc, the host ports and container ports in port mappings must match."),
    ({"containerDefinitions": [container(dependsOn=[{"containerName": "db", "condition": "START"}])]},
     "container 'db' is not defined"),
    ({"containerDefinitions": [container(mountPoints=[{"sourceVolume": "data", "containerPath": "/d"}])]},
     "volume 'data' is not defined"),
    ({"containerDefinitions": [container(memory=4)]}, "at least 6 MiB"),
    ({"family": "bad family"}, "Family contains invalid characters"),
])
def test_definitions_ecs_refuses(ecs, change, words):
    request = {k: v for k, v in {**WALKTHROUGH, "family": "refused", **change}.items() if v is not None}
    code, message = code_and_message(ecs.register_task_definition, **request)
    assert code == "ClientException" and words in message
    with pytest.raises(ClientError):
        ecs.describe_task_definition(taskDefinition="refused")  # nothing half-registered


def test_unknown_definitions_and_revisions(ecs):
    assert code_and_message(ecs.describe_task_definition, taskDefinition="nope:1")[0] == "ClientException"
    assert code_and_message(ecs.describe_task_definition, taskDefinition="webserver:x")[0] == "ClientException"
    assert code_and_message(ecs.deregister_task_definition, taskDefinition="webserver")[0] == "ClientException"


@pytest.mark.parametrize("options, role, words", [
    ({"awslogs-region": "us-east-1", "awslogs-stream-prefix": "ecs"}, "arn:aws:iam::1:role/x",
     "option 'awslogs-group' should not be null or empty"),
    ({"awslogs-group": "/ecs/x", "awslogs-region": "us-east-1"}, "arn:aws:iam::1:role/x",
     "option 'awslogs-stream-prefix' should not be null or empty"),
    ({"awslogs-group": "/ecs/x", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "ecs"}, None,
     "execution role ARN to support log driver awslogs"),
])
def test_awslogs_options_on_fargate(ecs, options, role, words):
    request = {**WALKTHROUGH, "family": "logged", "containerDefinitions": [container(
        memory=64, logConfiguration={"logDriver": "awslogs", "options": options})]}
    if role:
        request["executionRoleArn"] = role
    code, message = code_and_message(ecs.register_task_definition, **request)
    assert code == "ClientException" and words in message


@pytest.mark.parametrize("check, words", [
    ({"command": ["curl", "-f", "http://localhost"]}, "must start with CMD or CMD-SHELL"),
    ({"command": ["CMD-SHELL", "true"], "interval": 1}, "interval must be between 5 and 300"),
    ({"command": ["CMD", "true"], "retries": 11}, "retries must be between 1 and 10"),
])
def test_bad_health_checks(ecs, check, words):
    request = {**WALKTHROUGH, "family": "checked", "containerDefinitions": [container(memory=64, healthCheck=check)]}
    code, message = code_and_message(ecs.register_task_definition, **request)
    assert code == "ClientException" and words in message


@pytest.mark.parametrize("change, words", [
    ({"volumes": [{"name": "h", "host": {"sourcePath": "/srv"}}]}, "not supported by the Fargate launch type"),
    ({"volumes": [{"host": {}}]}, "Volume name should not be null or empty."),
    ({"containerDefinitions": [container(memory=64, volumesFrom=[{"sourceContainer": "db"}])]},
     "container 'db' is not defined"),
])
def test_bad_volumes(ecs, change, words):
    code, message = code_and_message(ecs.register_task_definition, **{**WALKTHROUGH, "family": "volumes", **change})
    assert code == "ClientException" and words in message


def test_a_family_prefix_longer_than_any_family(server):
    # found by the fuzz test: SQLite refuses a LIKE pattern of 70,000 characters, answered 500
    listed = server.aws("ecs", "list-task-definitions", "--family-prefix", "x" * 70_000, check=False)
    assert listed.returncode != 0 and "(ClientException)" in listed.stderr and "255" in listed.stderr
    assert server.aws("ecs", "list-task-definition-families", "--family-prefix", "x" * 256,
                      check=False).returncode != 0
