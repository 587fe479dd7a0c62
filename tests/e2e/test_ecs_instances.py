"""ECS container instances through boto3, where nothing has to run: `cloudlet up --cluster`
registering the host with its real resources, RegisterContainerInstance, listing with a
filter, draining, and placements that fail with ECS's reasons."""

import json
import os

import pytest
from botocore.exceptions import ClientError

from tests.e2e.server import Server


@pytest.fixture(scope="module")
def joined(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("joined"), args=("--cluster", "home")).start()
    yield srv
    srv.stop()


def test_up_registers_the_host_with_its_real_resources(joined):
    ecs = joined.client("ecs")
    arns = ecs.list_container_instances(cluster="home")["containerInstanceArns"]
    assert len(arns) == 1
    instance = ecs.describe_container_instances(cluster="home", containerInstances=arns)["containerInstances"][0]
    resources = {r["name"]: r.get("integerValue") for r in instance["registeredResources"]}
    assert resources["CPU"] == os.cpu_count() * 1024 and resources["MEMORY"] > 1024
    assert instance["status"] == "ACTIVE" and instance["agentConnected"]
    assert ecs.describe_clusters(clusters=["home"])["clusters"][0]["registeredContainerInstancesCount"] == 1
    joined.stop()
    joined.start()  # the same host registers as the same instance again
    assert joined.client("ecs").list_container_instances(cluster="home")["containerInstanceArns"] == arns


def test_registration_filters_draining_and_failures(server):
    ecs = server.client("ecs")
    ecs.create_cluster(clusterName="fleet-api")
    small = ecs.register_container_instance(
        cluster="fleet-api", instanceIdentityDocument=json.dumps({"instanceId": "i-small", "instanceType": "t3.micro"}),
        totalResources=[{"name": "CPU", "type": "INTEGER", "integerValue": 1024},
                        {"name": "MEMORY", "type": "INTEGER", "integerValue": 256}])["containerInstance"]
    attrs = {a["name"]: a["value"] for a in small["attributes"]}
    assert attrs["ecs.instance-type"] == "t3.micro" and attrs["ecs.os-type"] == "linux"
    listed = ecs.list_container_instances(cluster="fleet-api", filter="attribute:ecs.instance-type == t3.micro")
    assert listed["containerInstanceArns"] == [small["containerInstanceArn"]]
    assert ecs.list_container_instances(cluster="fleet-api", filter="attribute:ecs.instance-type == m5.large")[
        "containerInstanceArns"] == []
    big = ecs.register_task_definition(family="big-api", networkMode="none", containerDefinitions=[
        {"name": "x", "image": "never-pulled", "memory": 512}])["taskDefinition"]["taskDefinitionArn"]
    refused = ecs.run_task(cluster="fleet-api", taskDefinition=big, launchType="EC2")
    assert refused["failures"] == [{"arn": small["containerInstanceArn"], "reason": "RESOURCE:MEMORY"}]
    constrained = ecs.run_task(cluster="fleet-api", taskDefinition=big, launchType="EC2", placementConstraints=[
        {"type": "memberOf", "expression": "attribute:ecs.instance-type == m5.large"}])
    assert constrained["failures"][0]["reason"] == "MemberOf placement constraint unsatisfied."
    with pytest.raises(ClientError) as err:
        ecs.run_task(cluster="fleet-api", taskDefinition=big, launchType="EC2", placementConstraints=[
            {"type": "memberOf", "expression": "attribute:x ~ y"}])
    assert err.value.response["Error"]["Code"] == "InvalidParameterException"
    fits = ecs.register_task_definition(family="fits-api", networkMode="none", containerDefinitions=[
        {"name": "x", "image": "never-pulled", "memory": 128}])["taskDefinition"]["taskDefinitionArn"]
    started = ecs.start_task(cluster="fleet-api", taskDefinition=fits, containerInstances=[
        small["containerInstanceArn"], "0123456789abcdef0123456789abcdef"])
    assert [t["containerInstanceArn"] for t in started["tasks"]] == [small["containerInstanceArn"]]
    assert [f["reason"] for f in started["failures"]] == ["MISSING"]
    too_big = ecs.start_task(cluster="fleet-api", taskDefinition=big, containerInstances=[small["containerInstanceArn"]])
    assert [f["reason"] for f in too_big["failures"]] == ["RESOURCE:MEMORY"]
    ecs.stop_task(cluster="fleet-api", task=started["tasks"][0]["taskArn"])
    drained = ecs.update_container_instances_state(cluster="fleet-api", containerInstances=[
        small["containerInstanceArn"]], status="DRAINING")["containerInstances"][0]
    assert drained["status"] == "DRAINING"
    none_left = ecs.run_task(cluster="fleet-api", taskDefinition=big, launchType="EC2")
    assert none_left["failures"][0]["reason"] == "No Container Instances were found in your cluster."
    # placement keeps the cluster's instances between calls: a new one counts at once
    roomy = ecs.register_container_instance(
        cluster="fleet-api", instanceIdentityDocument=json.dumps({"instanceId": "i-roomy", "instanceType": "m5.large"}),
        totalResources=[{"name": "CPU", "type": "INTEGER", "integerValue": 2048},
                        {"name": "MEMORY", "type": "INTEGER", "integerValue": 1024}])["containerInstance"]
    placed = ecs.run_task(cluster="fleet-api", taskDefinition=big, launchType="EC2")
    assert [t["containerInstanceArn"] for t in placed["tasks"]] == [roomy["containerInstanceArn"]]
    ecs.deregister_container_instance(cluster="fleet-api", containerInstance=roomy["containerInstanceArn"], force=True)
    gone = ecs.run_task(cluster="fleet-api", taskDefinition=fits, launchType="EC2")
    assert gone["failures"][0]["reason"] == "No Container Instances were found in your cluster."
    # force: the task started above may still be on its way to STOPPED
    ecs.deregister_container_instance(cluster="fleet-api", containerInstance=small["containerInstanceArn"], force=True)
    with pytest.raises(ClientError) as err:
        ecs.deregister_container_instance(cluster="fleet-api", containerInstance="0123456789abcdef0123456789abcdef")
    assert err.value.response["Error"]["Code"] == "InvalidParameterException"
