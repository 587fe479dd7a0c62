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


def _policy(aas, service: str, name: str, **kw) -> str:
    return aas.put_scaling_policy(PolicyName=name, ServiceNamespace="ecs", ResourceId=f"service/shop/{service}",
                                  ScalableDimension="ecs:service:DesiredCount", **kw)["PolicyARN"]


def _step(adjustment_type: str, adjustment: int, upper: bool) -> dict:
    bound = {"MetricIntervalUpperBound": 0} if upper else {"MetricIntervalLowerBound": 0}
    return {"PolicyType": "StepScaling", "StepScalingPolicyConfiguration": {
        "AdjustmentType": adjustment_type, "Cooldown": 0, "StepAdjustments": [{**bound,
                                                                              "ScalingAdjustment": adjustment}]}}


def test_services_scale_out_under_real_load_and_back_in(cloud):
    """Step scaling out and in on 10-second alarms over tasks that burn CPU for 40 s and then
    idle; target tracking (ECS's 20-second metrics) out on tasks that never stop burning."""
    network = {"awsvpcConfiguration": {"subnets": [cloud.subnet]}}
    wave = dict(BURN, command=["sh", "-c", "end=$(( $(date +%s) + 40 )); while [ $(date +%s) -lt $end ]; do :; "
                                           "done; exec sleep 3600"])
    for name, container in (("wave", wave), ("tracked", BURN)):
        cloud.ecs.create_service(cluster="shop", serviceName=name, taskDefinition=register(cloud, name, container),
                                 desiredCount=1, launchType="FARGATE", networkConfiguration=network)
    aas, cw = cloud.client("application-autoscaling"), cloud.client("cloudwatch")
    try:
        for name in ("wave", "tracked"):
            aas.register_scalable_target(ServiceNamespace="ecs", ResourceId=f"service/shop/{name}",
                                         ScalableDimension="ecs:service:DesiredCount", MinCapacity=1, MaxCapacity=2)
        tracking = aas.put_scaling_policy(
            PolicyName="cpu40", ServiceNamespace="ecs", ResourceId="service/shop/tracked",
            ScalableDimension="ecs:service:DesiredCount", PolicyType="TargetTrackingScaling",
            TargetTrackingScalingPolicyConfiguration={"TargetValue": 40.0, "PredefinedMetricSpecification": {
                "PredefinedMetricType": "ECSServiceAverageCPUUtilizationHighResolution"}})
        out, back = _policy(aas, "wave", "out", **_step("ChangeInCapacity", 1, upper=False)), \
            _policy(aas, "wave", "in", **_step("ExactCapacity", 1, upper=True))
        metric = dict(Namespace="AWS/ECS", MetricName="CPUUtilization", Period=10, Dimensions=[
            {"Name": "ClusterName", "Value": "shop"}, {"Name": "ServiceName", "Value": "wave"}])
        cw.put_metric_alarm(AlarmName="wave-high", Statistic="Average", EvaluationPeriods=1, Threshold=50,
                            ComparisonOperator="GreaterThanThreshold", AlarmActions=[out], **metric)
        cw.put_metric_alarm(AlarmName="wave-low", Statistic="Maximum", EvaluationPeriods=2, Threshold=20,
                            ComparisonOperator="LessThanThreshold", AlarmActions=[back], **metric)

        _running(cloud, "wave", 2, timeout=90)  # the load added a task
        _running(cloud, "wave", 1, timeout=120)  # and its end took it away
        acts = aas.describe_scaling_activities(ServiceNamespace="ecs", ResourceId="service/shop/wave")[
            "ScalingActivities"]
        causes = [(a["Description"], a["Cause"], a["StatusCode"]) for a in acts]
        assert ("Setting desired count to 2.", "monitor alarm wave-high in state ALARM triggered policy out",
                "Successful") in causes
        assert ("Setting desired count to 1.", "monitor alarm wave-low in state ALARM triggered policy in",
                "Successful") in causes
        history = cw.describe_alarm_history(AlarmName="wave-high", HistoryItemType="Action")["AlarmHistoryItems"]
        assert history and history[0]["HistorySummary"] == f"Successfully executed action {out}"

        _running(cloud, "tracked", 2, timeout=120)  # ~100 % against a 40 % target: as many as it may have
        high = next(a["AlarmName"] for a in tracking["Alarms"] if "-AlarmHigh-" in a["AlarmName"])
        assert cw.describe_alarms(AlarmNames=[high])["MetricAlarms"][0]["StateValue"] == "ALARM"
    finally:
        for name in ("wave", "tracked"):
            cloud.ecs.delete_service(cluster="shop", service=name, force=True)
