"""ECS's CloudWatch metrics measured from real tasks, and Application Auto Scaling acting on a
service's desired count as those metrics move (real CPU load, real tasks)."""

import datetime
import json
import time

import pytest

from tests.integration.ecs_fixtures import module_cloud, register, service

pytestmark = [pytest.mark.root, pytest.mark.runc, pytest.mark.netns]

# samples every second, so metrics are high-resolution and 10-second alarms see them
cloud = module_cloud("ecs-scaling", "10.112.0.0/12", "--metrics-interval", "1")
BURN = {"name": "burn", "image": "busybox", "command": ["sh", "-c", "while :; do :; done"]}
IDLE = {"name": "idle", "image": "busybox", "command": ["sleep", "3600"]}


def _stats(cloud, name: str, dims: dict, namespace: str = "AWS/ECS", seconds: int = 20) -> list[dict]:
    now = datetime.datetime.now(datetime.timezone.utc)
    got = cloud.client("cloudwatch").get_metric_statistics(
        Namespace=namespace, MetricName=name, Dimensions=[{"Name": k, "Value": v} for k, v in dims.items()],
        StartTime=now - datetime.timedelta(seconds=seconds), EndTime=now, Period=1,
        Statistics=["Average", "Maximum", "SampleCount"])
    return sorted(got["Datapoints"], key=lambda p: p["Timestamp"])


def _until(check, timeout: float, explain=lambda: ""):
    deadline = time.monotonic() + timeout
    while not (got := check()):
        assert time.monotonic() < deadline, explain()
        time.sleep(0.5)
    return got


def _running(cloud, name: str, count: int, timeout: float = 90) -> dict:
    return _until(lambda: (s := service(cloud, name))["runningCount"] == count and s["desiredCount"] == count and s,
                  timeout, lambda: service(cloud, name))


def test_service_metrics_are_measured_from_its_tasks(cloud):
    cloud.ecs.update_cluster_settings(cluster="shop", settings=[{"name": "containerInsights", "value": "enhanced"}])
    network = {"awsvpcConfiguration": {"subnets": [cloud.subnet]}}
    for name, container in (("hot", BURN), ("cold", IDLE)):
        cloud.ecs.create_service(cluster="shop", serviceName=name, taskDefinition=register(cloud, name, container),
                                 desiredCount=1, launchType="FARGATE", networkConfiguration=network)
    try:
        for name in ("hot", "cold"):
            _running(cloud, name, 1)
        hot = {"ClusterName": "shop", "ServiceName": "hot"}
        cold = {"ClusterName": "shop", "ServiceName": "cold"}
        busy = _until(lambda: [p for p in _stats(cloud, "CPUUtilization", hot) if p["Maximum"] > 50], 30,
                      lambda: _stats(cloud, "CPUUtilization", hot))
        assert all(p["Unit"] == "Percent" for p in busy)
        quiet = _until(lambda: _stats(cloud, "CPUUtilization", cold), 30)
        assert max(p["Maximum"] for p in quiet) < 20
        memory = _until(lambda: _stats(cloud, "MemoryUtilization", cold), 30)
        assert 0 < memory[-1]["Average"] < 50  # a sleeping busybox against 512 MiB reserved

        cw = cloud.client("cloudwatch")
        listed = {(m["MetricName"], tuple(sorted((d["Name"], d["Value"]) for d in m["Dimensions"])))
                  for m in cw.list_metrics(Namespace="ECS/ContainerInsights")["Metrics"]}
        assert ("RunningTaskCount", (("ClusterName", "shop"), ("ServiceName", "hot"))) in listed
        assert ("CpuUtilized", (("ClusterName", "shop"), ("TaskDefinitionFamily", "hot"))) in listed
        assert any(name == "CpuUtilized" and dict(dims).get("TaskId") for name, dims in listed)  # enhanced
        used = _until(lambda: _stats(cloud, "CpuUtilized", {"ClusterName": "shop", "TaskDefinitionFamily": "hot"},
                                     "ECS/ContainerInsights"), 30)
        assert used[-1]["Maximum"] > 128  # CPU units: more than half of the task's 256
        # another account sees none of it
        key, secret = cloud.new_account("metrics-other")
        other = cloud.client("cloudwatch", key=key, secret=secret)
        assert other.list_metrics(Namespace="AWS/ECS")["Metrics"] == []
    finally:
        for name in ("hot", "cold"):
            cloud.ecs.delete_service(cluster="shop", service=name, force=True)


def test_cluster_reservation_counts_container_instances(cloud):
    ecs = cloud.ecs
    ecs.create_cluster(clusterName="racks")
    ecs.register_container_instance(
        cluster="racks", instanceIdentityDocument=json.dumps({"instanceId": "i-racks1"}),
        totalResources=[{"name": "CPU", "type": "INTEGER", "integerValue": 1024},
                        {"name": "MEMORY", "type": "INTEGER", "integerValue": 512}])
    definition = ecs.register_task_definition(family="half", networkMode="none", containerDefinitions=[
        {"name": "x", "image": "busybox", "cpu": 512, "memory": 128, "command": ["sleep", "3600"],
         "stopTimeout": 1}])["taskDefinition"]["taskDefinitionArn"]
    task = ecs.run_task(cluster="racks", taskDefinition=definition, launchType="EC2")["tasks"][0]
    try:
        cpu = _until(lambda: _stats(cloud, "CPUReservation", {"ClusterName": "racks"}), 60)
        assert cpu[-1]["Average"] == pytest.approx(50.0)
        memory = _until(lambda: _stats(cloud, "MemoryReservation", {"ClusterName": "racks"}), 30)
        assert memory[-1]["Average"] == pytest.approx(25.0)
    finally:
        ecs.stop_task(cluster="racks", task=task["taskArn"])
