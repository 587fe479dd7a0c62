"""Task definitions that ask for the host: refused on FARGATE at registration with ECS's
words, and on EC2 placed only on a container instance whose operator allows them (this
host with `cloudlet up --cluster NAME --allow-privileged`), which a tenant cannot forge."""

import json

import pytest
from botocore.exceptions import ClientError

FARGATE = {"networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], "cpu": "256", "memory": "512"}
PRIVILEGED = "com.amazonaws.ecs.capability.privileged-container"


@pytest.fixture(scope="module")
def ecs(server):
    return server.client("ecs")


def refusal(ecs, container: dict | None = None, **task) -> str:
    with pytest.raises(ClientError) as err:
        ecs.register_task_definition(family="hostile", containerDefinitions=[
            {"name": "app", "image": "busybox", **(container or {})}], **{**FARGATE, **task})
    assert err.value.response["Error"]["Code"] == "ClientException"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    return err.value.response["Error"]["Message"]


def capabilities(*added: str) -> dict:
    return {"linuxParameters": {"capabilities": {"add": list(added)}}}


def test_fargate_refuses_what_reaches_the_host(ecs):
    assert "SYS_ADMIN" in refusal(ecs, capabilities("SYS_ADMIN"))
    assert "NET_ADMIN" in refusal(ecs, capabilities("SYS_PTRACE", "CAP_NET_ADMIN"))
    assert "ALL" in refusal(ecs, capabilities("ALL"))
    assert "privileged" in refusal(ecs, {"privileged": True})
    assert refusal(ecs, pidMode="host") == ("Tasks using the Fargate launch type do not support pidMode 'host'. "
                                            "The supported value for pidMode is 'task'.")
    assert refusal(ecs, ipcMode="host") == "Tasks using the Fargate launch type do not support ipcMode."
    assert "devices" in refusal(ecs, {"linuxParameters": {"devices": [{"hostPath": "/dev/kmsg"}]}})
    assert "sourcePath" in refusal(ecs, {"mountPoints": [{"sourceVolume": "root", "containerPath": "/host"}]},
                                   volumes=[{"name": "root", "host": {"sourcePath": "/"}}])
    assert "kernel.core_pattern" in refusal(ecs, {"systemControls": [
        {"namespace": "kernel.core_pattern", "value": "|/tmp/x"}]})
    # nothing of it was registered
    assert ecs.list_task_definitions(familyPrefix="hostile")["taskDefinitionArns"] == []


def test_fargate_keeps_what_it_allows(ecs):
    body = ecs.register_task_definition(family="tracer", containerDefinitions=[
        {"name": "app", "image": "busybox", **capabilities("SYS_PTRACE"),
         "systemControls": [{"namespace": "net.ipv4.tcp_keepalive_time", "value": "100"},
                            {"namespace": "kernel.shmmax", "value": "1000000"}]}], pidMode="task", **FARGATE)
    definition = body["taskDefinition"]
    assert definition["compatibilities"] == ["EC2", "FARGATE"] and definition["requiresAttributes"] == []


def test_host_access_without_fargate_needs_an_allowing_instance(ecs):
    privileged = ecs.register_task_definition(family="root-please", networkMode="bridge", containerDefinitions=[
        {"name": "app", "image": "busybox", "memory": 64, "privileged": True}])["taskDefinition"]
    assert privileged["compatibilities"] == ["EC2"]
    assert privileged["requiresAttributes"] == [{"name": PRIVILEGED}]
    ecs.create_cluster(clusterName="forged")
    # a tenant registers an instance of its own and claims the attribute for it: it is not granted
    instance = ecs.register_container_instance(
        cluster="forged", instanceIdentityDocument=json.dumps({"instanceId": "i-0forged00000000001"}),
        attributes=[{"name": PRIVILEGED}, {"name": "stack", "value": "blue"}])["containerInstance"]
    names = {a["name"] for a in instance["attributes"]}
    assert PRIVILEGED not in names and "stack" in names
    refused = ecs.run_task(cluster="forged", taskDefinition=privileged["taskDefinitionArn"], launchType="EC2")
    assert refused["tasks"] == [] and [f["reason"] for f in refused["failures"]] == ["ATTRIBUTE"]
    with pytest.raises(ClientError) as err:
        ecs.run_task(cluster="forged", taskDefinition=privileged["taskDefinitionArn"], launchType="FARGATE",
                     networkConfiguration={"awsvpcConfiguration": {"subnets": ["subnet-00000000000000000"]}})
    assert err.value.response["Error"]["Message"] == "Task definition does not support launch_type FARGATE."
    for kind in ({"networkMode": "host"}, {"pidMode": "host"}, {"ipcMode": "host"}):
        definition = ecs.register_task_definition(family="hosty", containerDefinitions=[
            {"name": "app", "image": "busybox", "memory": 64}], **kind)["taskDefinition"]
        assert definition["requiresAttributes"] == [{"name": PRIVILEGED}], kind
    ptrace = ecs.register_task_definition(family="ptrace-ec2", networkMode="bridge", containerDefinitions=[
        {"name": "app", "image": "busybox", "memory": 64, **capabilities("SYS_PTRACE")}])["taskDefinition"]
    assert ptrace["requiresAttributes"] == []  # contained by the task's user namespace, as on Fargate
    ecs.deregister_container_instance(cluster="forged", containerInstance=instance["containerInstanceArn"],
                                      force=True)
