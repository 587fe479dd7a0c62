"""ECS services and EC2 tasks that run for real: a service keeps its count and rolls
deployments within its bounds, the circuit breaker rolls back, kill -9 of `cloudlet up`
during a burst of RunTask beside a service loses and doubles nothing, health checks replace
unhealthy tasks, and EC2 tasks are placed on container instances."""

import json
import signal
import threading
import time
import urllib.request

import pytest
from botocore.exceptions import ClientError

from tests.integration.ecs_fixtures import HTTPD, module_cloud, register, run, service, wait

pytestmark = [pytest.mark.root, pytest.mark.runc, pytest.mark.netns]
cloud = module_cloud("ecs-services", "10.80.0.0/12")


def until(cloud, name: str, done, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        current = service(cloud, name)
        if done(current) or time.monotonic() > deadline:
            assert done(current), current
            return current
        time.sleep(0.2)


def test_a_service_keeps_its_count_and_rolls_deployments(cloud):
    first = register(cloud, "svc", {"name": "web", "image": "busybox", "command": HTTPD})
    second = register(cloud, "svc", {"name": "web", "image": "busybox", "command": HTTPD,
                                     "environment": [{"name": "VERSION", "value": "2"}]})
    cloud.ecs.create_service(cluster="shop", serviceName="svc", taskDefinition=first, desiredCount=3,
                             launchType="FARGATE",
                             networkConfiguration={"awsvpcConfiguration": {"subnets": [cloud.subnet]}})
    until(cloud, "svc", lambda s: s["runningCount"] == 3 and s["deployments"][0]["rolloutState"] == "COMPLETED")
    victim = cloud.ecs.describe_tasks(cluster="shop", tasks=cloud.ecs.list_tasks(
        cluster="shop", family="svc")["taskArns"][:1])["tasks"][0]
    cloud.home_.cli("kill", victim["containers"][0]["runtimeId"])  # by hand, behind ECS's back
    replaced = until(cloud, "svc", lambda s: s["runningCount"] == 3 and any(
        "has started 1 tasks" in e["message"] for e in s["events"]))
    assert any("Essential container in task exited" in e["message"] for e in replaced["events"])
    assert victim["taskArn"] not in cloud.ecs.list_tasks(cluster="shop", family="svc")["taskArns"]

    cloud.ecs.update_service(cluster="shop", service="svc", taskDefinition=second)
    lowest = 3
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # minimumHealthyPercent 100: never fewer than 3 running
        current = service(cloud, "svc")
        lowest = min(lowest, current["runningCount"])
        if len(current["deployments"]) == 1 and current["deployments"][0]["rolloutState"] == "COMPLETED":
            break
        time.sleep(0.1)
    assert lowest == 3 and current["taskDefinition"] == second and current["runningCount"] == 3
    arns = cloud.ecs.list_tasks(cluster="shop", family="svc")["taskArns"]
    assert {t["taskDefinitionArn"] for t in cloud.ecs.describe_tasks(cluster="shop", tasks=arns)["tasks"]} == {second}

    with pytest.raises(ClientError) as err:
        cloud.ecs.delete_service(cluster="shop", service="svc")  # still scaled above 0
    assert err.value.response["Error"]["Code"] == "InvalidParameterException"
    cloud.ecs.delete_service(cluster="shop", service="svc", force=True)
    until(cloud, "svc", lambda s: s["status"] == "INACTIVE")
    assert cloud.ecs.list_tasks(cluster="shop", family="svc")["taskArns"] == []


def test_the_circuit_breaker_rolls_a_failing_deployment_back(cloud):
    good = register(cloud, "breaker", {"name": "web", "image": "busybox", "command": HTTPD})
    bad = register(cloud, "breaker", {"name": "web", "image": "no-such-image:2"})
    cloud.ecs.create_service(cluster="shop", serviceName="breaker", taskDefinition=good, desiredCount=1,
                             launchType="FARGATE", deploymentConfiguration={
                                 "deploymentCircuitBreaker": {"enable": True, "rollback": True},
                                 "maximumPercent": 200, "minimumHealthyPercent": 100},
                             networkConfiguration={"awsvpcConfiguration": {"subnets": [cloud.subnet]}})
    until(cloud, "breaker", lambda s: s["runningCount"] == 1)
    cloud.ecs.update_service(cluster="shop", service="breaker", taskDefinition=bad)
    rolled = until(cloud, "breaker", lambda s: s["taskDefinition"] == good and len(s["deployments"]) == 1 and
                   s["deployments"][0]["rolloutState"] == "COMPLETED", timeout=90)
    messages = " | ".join(e["message"] for e in rolled["events"])
    assert "deployment failed: tasks failed to start" in messages and "rolling back to deployment" in messages
    assert rolled["runningCount"] == 1
    cloud.ecs.update_service(cluster="shop", service="breaker", desiredCount=0)
    cloud.ecs.delete_service(cluster="shop", service="breaker")
    until(cloud, "breaker", lambda s: s["status"] == "INACTIVE")


def test_kill_9_during_a_burst_of_run_task_and_a_service_loses_and_doubles_nothing(cloud):
    definition = register(cloud, "burst", {"name": "web", "image": "busybox", "command": HTTPD})
    cloud.ecs.create_service(cluster="shop", serviceName="steady", taskDefinition=definition, desiredCount=5,
                             launchType="FARGATE",
                             networkConfiguration={"awsvpcConfiguration": {"subnets": [cloud.subnet]}})
    until(cloud, "steady", lambda s: s["runningCount"] == 5)
    answered, errors = [], []
    client = cloud.client("ecs")  # botocore clients are thread-safe; one per test keeps retries off

    def one():
        try:
            answered.append(client.run_task(
                cluster="shop", taskDefinition=definition, launchType="FARGATE", startedBy="burst",
                networkConfiguration={"awsvpcConfiguration": {"subnets": [cloud.subnet]}})["tasks"][0]["taskArn"])
        except Exception as e:  # the server died under it: the call may or may not have landed
            errors.append(e)

    threads = [threading.Thread(target=one) for _ in range(50)]
    for t in threads:
        t.start()
    while len(answered) < 20:
        time.sleep(0.01)
    cloud.proc.send_signal(signal.SIGKILL)
    cloud.proc.wait()
    for t in threads:
        t.join()
    cloud.start()
    cloud.ecs = cloud.client("ecs")
    recorded = cloud.ecs.list_tasks(cluster="shop", startedBy="burst")["taskArns"]
    assert set(answered) <= set(recorded)  # every task a caller was told of exists
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        tasks = [t for i in range(0, len(recorded), 100) for t in
                 cloud.ecs.describe_tasks(cluster="shop", tasks=recorded[i:i + 100])["tasks"]]
        if all(t["lastStatus"] == "RUNNING" for t in tasks):
            break
        time.sleep(0.5)
    assert all(t["lastStatus"] == "RUNNING" for t in tasks), [
        (t["lastStatus"], t.get("stoppedReason")) for t in tasks if t["lastStatus"] != "RUNNING"]
    until(cloud, "steady", lambda s: s["runningCount"] == 5 and s["pendingCount"] == 0)
    labels = [json.loads(cloud.home_.cli("inspect", cid).stdout)["Labels"]["com.amazonaws.ecs.task-arn"]
              for cid in cloud.home_.cli("ps", "-q").stdout.split()]
    service_tasks = cloud.ecs.list_tasks(cluster="shop", family="burst")["taskArns"]
    assert set(recorded) <= set(service_tasks) and len(service_tasks) == len(recorded) + 5
    assert sorted(labels) == sorted(service_tasks)  # one container per task: no duplicate, no orphan
    for arn in recorded:
        cloud.ecs.stop_task(cluster="shop", task=arn)
    cloud.ecs.delete_service(cluster="shop", service="steady", force=True)
    until(cloud, "steady", lambda s: s["status"] == "INACTIVE", timeout=120)
    deadline = time.monotonic() + 120
    while cloud.home_.cli("ps", "-a", "-q").stdout and time.monotonic() < deadline:
        time.sleep(0.5)
    assert cloud.home_.cli("ps", "-a", "-q").stdout == ""


def test_health_checks(cloud):
    check = {"command": ["CMD-SHELL", "wget -q -O /dev/null http://127.0.0.1/group"], "interval": 5, "retries": 1}
    arn = run(cloud, register(
        cloud, "healthy",
        {"name": "web", "image": "busybox", "command": HTTPD, "healthCheck": check},
        {"name": "after", "image": "busybox", "command": ["sleep", "600"],
         "dependsOn": [{"containerName": "web", "condition": "HEALTHY"}]}))
    task = wait(cloud, arn, "RUNNING")
    assert task["healthStatus"] == "HEALTHY"
    assert {c["name"]: c.get("healthStatus") for c in task["containers"]} == {"web": "HEALTHY", "after": None}
    cloud.ecs.stop_task(cluster="shop", task=arn)
    wait(cloud, arn, "STOPPED")

    sick = register(cloud, "sick", {"name": "web", "image": "busybox", "command": HTTPD,
                                    "healthCheck": {"command": ["CMD", "false"], "interval": 5, "retries": 1}})
    cloud.ecs.create_service(cluster="shop", serviceName="sick", taskDefinition=sick, desiredCount=1,
                             launchType="FARGATE",
                             networkConfiguration={"awsvpcConfiguration": {"subnets": [cloud.subnet]}})
    replaced = until(cloud, "sick", lambda s: any("Task failed container health checks" in e["message"] or
                                                  "has stopped 1 running tasks" in e["message"] for e in s["events"])
                     and sum("has started 1 tasks" in e["message"] for e in s["events"]) >= 2)
    stopped = cloud.ecs.list_tasks(cluster="shop", family="sick", desiredStatus="STOPPED")["taskArns"]
    reasons = {t["stoppedReason"] for t in cloud.ecs.describe_tasks(cluster="shop", tasks=stopped)["tasks"]}
    assert "Task failed container health checks" in reasons, (reasons, replaced["events"])
    cloud.ecs.delete_service(cluster="shop", service="sick", force=True)
    until(cloud, "sick", lambda s: s["status"] == "INACTIVE")


def test_ec2_tasks_on_container_instances(cloud):
    ecs = cloud.ecs
    ecs.create_cluster(clusterName="fleet")
    instances = [ecs.register_container_instance(
        cluster="fleet", instanceIdentityDocument=json.dumps({"instanceId": f"i-fleet{n}", "availabilityZone": zone}),
        totalResources=[{"name": "CPU", "type": "INTEGER", "integerValue": 1024},
                        {"name": "MEMORY", "type": "INTEGER", "integerValue": 512}]
    )["containerInstance"]["containerInstanceArn"] for n, zone in ((1, "us-east-1a"), (2, "us-east-1b"))]
    web = ecs.register_task_definition(family="bridged", networkMode="bridge", containerDefinitions=[
        {"name": "web", "image": "busybox", "memory": 128, "stopTimeout": 1, "command": HTTPD,
         "portMappings": [{"containerPort": 80, "hostPort": 0}]}])["taskDefinition"]["taskDefinitionArn"]
    placed = ecs.run_task(cluster="fleet", taskDefinition=web, launchType="EC2")["tasks"][0]
    assert placed["containerInstanceArn"] in instances and placed["launchType"] == "EC2"
    deadline = time.monotonic() + 60
    while (task := ecs.describe_tasks(cluster="fleet", tasks=[placed["taskArn"]])["tasks"][0])["lastStatus"] \
            != "RUNNING" and time.monotonic() < deadline:
        time.sleep(0.2)
    binding = task["containers"][0]["networkBindings"][0]
    assert binding["containerPort"] == 80 and binding["hostPort"] > 0
    with urllib.request.urlopen(f"http://127.0.0.1:{binding['hostPort']}/group", timeout=10) as r:
        assert r.read().startswith(b"root:")
    too_big = ecs.register_task_definition(family="big", networkMode="none", containerDefinitions=[
        {"name": "x", "image": "busybox", "memory": 1024}])["taskDefinition"]["taskDefinitionArn"]
    refused = ecs.run_task(cluster="fleet", taskDefinition=too_big, launchType="EC2")
    assert refused["tasks"] == [] and {f["reason"] for f in refused["failures"]} == {"RESOURCE:MEMORY"}
    ecs.stop_task(cluster="fleet", task=placed["taskArn"])

    ecs.create_service(cluster="fleet", serviceName="daemon", taskDefinition=web, launchType="EC2",
                       schedulingStrategy="DAEMON")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        svc = ecs.describe_services(cluster="fleet", services=["daemon"])["services"][0]
        if svc["runningCount"] == 2:
            break
        time.sleep(0.2)
    arns = ecs.list_tasks(cluster="fleet", family="bridged")["taskArns"]
    hosts = {t["containerInstanceArn"] for t in ecs.describe_tasks(cluster="fleet", tasks=arns)["tasks"]}
    assert svc["runningCount"] == 2 and hosts == set(instances)  # one task on each instance
    ecs.update_container_instances_state(cluster="fleet", containerInstances=instances[:1], status="DRAINING")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        arns = ecs.list_tasks(cluster="fleet", family="bridged")["taskArns"]
        hosts = [t["containerInstanceArn"] for t in ecs.describe_tasks(cluster="fleet", tasks=arns)["tasks"]]
        if hosts == [instances[1]]:
            break
        time.sleep(0.2)
    assert hosts == [instances[1]]  # the daemon left the draining instance
    ecs.delete_service(cluster="fleet", service="daemon", force=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and any(
            i["runningTasksCount"] + i["pendingTasksCount"] for i in ecs.describe_container_instances(
                cluster="fleet", containerInstances=instances)["containerInstances"]):
        time.sleep(0.2)
    for arn in instances:
        ecs.deregister_container_instance(cluster="fleet", containerInstance=arn)
    assert ecs.list_container_instances(cluster="fleet")["containerInstanceArns"] == []
