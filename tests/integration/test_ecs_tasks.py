"""ECS tasks that run for real: FARGATE tasks in their own network namespace with an address
of their subnet, containers sharing it, dependsOn, essential exits and OOM kills reported as
ECS reports them, images from ECR, start failures, and a task that survives kill -9 of
`cloudlet up`. The server and the engine share one data dir, as under `cloudlet up`.

All of it in one module, with a VPC pool of its own: two servers bridging the same subnet
at once would fight over the host's routes."""

import json
import signal
import threading
import time
import urllib.request

import pytest
from botocore.exceptions import ClientError
from engine_fixtures import busybox_home

from tests.e2e.server import Server

pytestmark = [pytest.mark.root, pytest.mark.runc, pytest.mark.netns]
HTTPD = ["httpd", "-f", "-p", "80", "-h", "/etc"]


@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    with busybox_home("nft", "ip") as home:
        # A pool of its own: a cloudlet under `make up` (or a bench) may have 172.31 bridged.
        server = Server(tmp_path_factory.mktemp("ecs"), args=("--vpc-pool", "10.96.0.0/12"))
        server.data_dir = home.data_dir
        server.start()
        try:
            server.ecs, server.home_ = server.client("ecs"), home
            server.ecs.create_cluster(clusterName="shop")
            server.subnet = server.client("ec2").describe_subnets()["Subnets"][0]["SubnetId"]
            yield server
        finally:
            server.stop()
    assert not list(home.data_dir.glob("engine/rt/containers/*"))  # destroy() removed every container


def register(cloud, family: str, *containers: dict, memory: str = "512") -> str:
    defs = [{"essential": True, "stopTimeout": 2, **c} for c in containers]
    return cloud.ecs.register_task_definition(family=family, containerDefinitions=defs, networkMode="awsvpc",
                                              requiresCompatibilities=["FARGATE"], cpu="256",
                                              memory=memory)["taskDefinition"]["taskDefinitionArn"]


def run(cloud, definition: str) -> str:
    tasks = cloud.ecs.run_task(cluster="shop", taskDefinition=definition, launchType="FARGATE",
                               networkConfiguration={"awsvpcConfiguration": {"subnets": [cloud.subnet]}})["tasks"]
    assert tasks[0]["lastStatus"] == "PROVISIONING" and tasks[0]["desiredStatus"] == "RUNNING"
    return tasks[0]["taskArn"]


def wait(cloud, arn: str, status: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        task = cloud.ecs.describe_tasks(cluster="shop", tasks=[arn])["tasks"][0]
        if task["lastStatus"] == status or time.monotonic() > deadline:
            assert task["lastStatus"] == status, task
            return task
        time.sleep(0.2)


def address(task: dict) -> str:
    return next(d["value"] for d in task["attachments"][0]["details"] if d["name"] == "privateIPv4Address")


def test_a_fargate_task_answers_on_its_own_address_and_stops(cloud):
    arn = run(cloud, register(cloud, "web", {"name": "web", "image": "busybox", "command": HTTPD,
                                             "portMappings": [{"containerPort": 80}]}))
    task = wait(cloud, arn, "RUNNING")
    ip = address(task)
    assert task["containers"][0]["networkInterfaces"][0]["privateIpv4Address"] == ip
    with urllib.request.urlopen(f"http://{ip}/passwd", timeout=10) as r:
        assert r.read().startswith(b"root:")
    listed = cloud.ecs.list_tasks(cluster="shop", family="web")["taskArns"]
    assert arn in listed
    cloud.ecs.stop_task(cluster="shop", task=arn, reason="done here")
    stopped = wait(cloud, arn, "STOPPED")
    assert (stopped["desiredStatus"], stopped["stopCode"], stopped["stoppedReason"]) == \
        ("STOPPED", "UserInitiated", "done here")
    assert stopped["containers"][0]["exitCode"] == 137  # httpd as PID 1 ignores SIGTERM: killed after 2 s
    assert cloud.home_.cli("ps", "-a", "-q").stdout == ""
    assert arn in cloud.ecs.list_tasks(cluster="shop", desiredStatus="STOPPED")["taskArns"]


def test_containers_share_the_task_namespace_in_dependency_order(cloud):
    arn = run(cloud, register(
        cloud, "pair",
        {"name": "init", "image": "busybox", "essential": False, "command": ["sh", "-c", "exit 0"]},
        {"name": "web", "image": "busybox", "command": HTTPD,
         "dependsOn": [{"containerName": "init", "condition": "SUCCESS"}]},
        {"name": "probe", "image": "busybox", "command": ["sleep", "600"],
         "dependsOn": [{"containerName": "web", "condition": "START"}]}))
    task = wait(cloud, arn, "RUNNING")
    states = {c["name"]: (c["lastStatus"], c.get("exitCode")) for c in task["containers"]}
    assert states == {"init": ("STOPPED", 0), "web": ("RUNNING", None), "probe": ("RUNNING", None)}
    probe = next(c["runtimeId"] for c in task["containers"] if c["name"] == "probe")
    seen = cloud.home_.cli("exec", probe, "wget", "-q", "-O", "-", "http://127.0.0.1/group").stdout
    assert seen.startswith("root:")  # web's port, on probe's localhost: one namespace
    cloud.ecs.stop_task(cluster="shop", task=arn)
    wait(cloud, arn, "STOPPED")


def test_essential_exit_and_oom_are_reported(cloud):
    exits = run(cloud, register(cloud, "exits", {"name": "job", "image": "busybox", "command": ["sh", "-c", "exit 3"]}))
    hog = run(cloud, register(cloud, "hog", {"name": "hog", "image": "busybox", "memory": 16,
                                             "command": ["sh", "-c", "tail /dev/zero"]}))
    stopped = wait(cloud, exits, "STOPPED")
    assert (stopped["stopCode"], stopped["stoppedReason"]) == ("EssentialContainerExited",
                                                              "Essential container in task exited")
    assert stopped["containers"][0]["exitCode"] == 3
    killed = wait(cloud, hog, "STOPPED")["containers"][0]
    assert killed["exitCode"] == 137 and killed["reason"].startswith("OutOfMemoryError")


def test_an_image_from_ecr_runs(cloud):
    ecr = cloud.client("ecr")
    uri = ecr.create_repository(repositoryName="shop/bb")["repository"]["repositoryUri"]
    cloud.home_.cli("push", "busybox", "shop/bb:1")
    arn = run(cloud, register(cloud, "from-ecr", {"name": "web", "image": f"{uri}:1", "command": HTTPD}))
    task = wait(cloud, arn, "RUNNING")
    with urllib.request.urlopen(f"http://{address(task)}/group", timeout=10) as r:
        assert r.read().startswith(b"root:")
    cloud.ecs.stop_task(cluster="shop", task=arn)
    wait(cloud, arn, "STOPPED")


def test_start_failures_and_bad_requests(cloud):
    arn = run(cloud, register(cloud, "missing", {"name": "web", "image": "no-such-image:1"}))
    failed = wait(cloud, arn, "STOPPED")
    assert failed["stopCode"] == "TaskFailedToStart" and "CannotPullContainerError" in failed["stoppedReason"]
    ecs = cloud.ecs

    def code(**kw) -> str:
        with pytest.raises(ClientError) as err:
            ecs.run_task(**{"cluster": "shop", "taskDefinition": "web", "launchType": "FARGATE", **kw})
        return err.value.response["Error"]["Code"] + ": " + err.value.response["Error"]["Message"]

    assert code().startswith("InvalidParameterException: Network Configuration must be provided")
    bad_subnet = {"awsvpcConfiguration": {"subnets": ["subnet-0123456789abcdef0"]}}
    assert "InvalidSubnetID.NotFound" in code(networkConfiguration=bad_subnet)
    assert code(cluster="nope").startswith("ClusterNotFoundException")
    assert code(taskDefinition="nope").startswith("ClientException")
    ec2_launch = ecs.run_task(cluster="shop", taskDefinition="web", launchType="EC2", networkConfiguration={
        "awsvpcConfiguration": {"subnets": [cloud.subnet]}})
    assert ec2_launch["failures"][0]["reason"] == "No Container Instances were found in your cluster."


def test_a_task_survives_kill_9_of_the_server(cloud):
    arn = run(cloud, register(cloud, "durable", {"name": "web", "image": "busybox", "command": HTTPD}))
    before = wait(cloud, arn, "RUNNING")
    cloud.proc.send_signal(signal.SIGKILL)
    cloud.proc.wait()
    cloud.start()
    cloud.ecs = cloud.client("ecs")
    after = wait(cloud, arn, "RUNNING")
    assert after["containers"][0]["runtimeId"] == before["containers"][0]["runtimeId"]
    with urllib.request.urlopen(f"http://{address(after)}/group", timeout=10) as r:
        assert r.read().startswith(b"root:")
    running = json.loads(cloud.home_.cli("inspect", before["containers"][0]["runtimeId"]).stdout)
    assert running["State"]["Status"] == "running"
    cloud.ecs.stop_task(cluster="shop", task=arn)
    wait(cloud, arn, "STOPPED")
    assert cloud.home_.cli("ps", "-a", "-q").stdout == ""


def service(cloud, name: str) -> dict:
    return cloud.ecs.describe_services(cluster="shop", services=[name])["services"][0]


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


def test_awslogs_sends_the_output_to_cloudwatch_logs(cloud):
    logs = cloud.client("logs")
    script = "for i in 1 2 3; do echo out $i; echo err $i >&2; done; echo '{\"level\": \"error\"}'; sleep 600"
    definition = cloud.ecs.register_task_definition(
        family="logged", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256", memory="512",
        executionRoleArn="arn:aws:iam::111122223333:role/ecsTaskExecutionRole",
        containerDefinitions=[{"name": "app", "image": "busybox", "stopTimeout": 2, "command": ["sh", "-c", script],
                               "logConfiguration": {"logDriver": "awslogs", "options": {
                                   "awslogs-group": "/ecs/logged", "awslogs-region": "us-east-1",
                                   "awslogs-stream-prefix": "ecs", "awslogs-create-group": "true"}}}],
    )["taskDefinition"]["taskDefinitionArn"]
    arn = run(cloud, definition)
    wait(cloud, arn, "RUNNING")
    stream = f"ecs/app/{arn.rsplit('/', 1)[1]}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        events = logs.get_log_events(logGroupName="/ecs/logged", logStreamName=stream, startFromHead=True)["events"]
        if len(events) == 7:
            break
        time.sleep(0.3)
    messages = [e["message"] for e in events]
    assert [m for m in messages if m.startswith("out")] == ["out 1", "out 2", "out 3"]
    assert sorted(m for m in messages if m.startswith("err")) == ["err 1", "err 2", "err 3"]
    assert all(e["timestamp"] > 1_600_000_000_000 for e in events)
    found = logs.filter_log_events(logGroupName="/ecs/logged", filterPattern='{ $.level = "error" }')["events"]
    assert [(e["logStreamName"], e["message"]) for e in found] == [(stream, '{"level": "error"}')]
    cloud.ecs.stop_task(cluster="shop", task=arn)
    wait(cloud, arn, "STOPPED")

    missing = cloud.ecs.register_task_definition(
        family="unlogged", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256", memory="512",
        executionRoleArn="arn:aws:iam::111122223333:role/ecsTaskExecutionRole",
        containerDefinitions=[{"name": "app", "image": "busybox", "logConfiguration": {"logDriver": "awslogs",
                               "options": {"awslogs-group": "/ecs/none", "awslogs-region": "us-east-1",
                                           "awslogs-stream-prefix": "ecs"}}}])["taskDefinition"]["taskDefinitionArn"]
    failed = wait(cloud, run(cloud, missing), "STOPPED")
    assert failed["stopCode"] == "TaskFailedToStart" and "log group does not exist" in failed["stoppedReason"]


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


def test_volumes_and_linux_parameters(cloud):
    definition = cloud.ecs.register_task_definition(
        family="shared-volume", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256", memory="512",
        volumes=[{"name": "scratch"}],
        containerDefinitions=[
            {"name": "writer", "image": "busybox", "essential": False, "command": ["sh", "-c", "echo hi > /data/x"],
             "mountPoints": [{"sourceVolume": "scratch", "containerPath": "/data"}]},
            {"name": "reader", "image": "busybox", "stopTimeout": 1, "command": ["sleep", "600"],
             "dependsOn": [{"containerName": "writer", "condition": "SUCCESS"}],
             "volumesFrom": [{"sourceContainer": "writer", "readOnly": True}],
             "linuxParameters": {"capabilities": {"drop": ["CHOWN"]},
                                 "tmpfs": [{"containerPath": "/fast", "size": 16}]}}])["taskDefinition"]
    arn = run(cloud, definition["taskDefinitionArn"])
    task = wait(cloud, arn, "RUNNING")
    reader = next(c["runtimeId"] for c in task["containers"] if c["name"] == "reader")
    cli = cloud.home_.cli
    assert cli("exec", reader, "cat", "/data/x").stdout == "hi\n"
    assert cli("exec", reader, "sh", "-c", "echo no > /data/y", check=False).returncode != 0  # read-only
    assert cli("exec", reader, "chown", "nobody", "/fast", check=False).returncode != 0  # CHOWN dropped
    assert "tmpfs /fast" in cli("exec", reader, "cat", "/proc/mounts").stdout
    volumes = cloud.home_.data_dir / "engine" / "rt" / "volumes"
    assert [p.name for p in volumes.iterdir() if p.name.endswith("-scratch")]
    cloud.ecs.stop_task(cluster="shop", task=arn)
    wait(cloud, arn, "STOPPED")
    assert not [p.name for p in volumes.iterdir() if p.name.endswith("-scratch")]  # the task's volume went with it


def test_secrets_from_ssm_parameters(cloud):
    ssm = cloud.client("ssm")
    ssm.put_parameter(Name="/shop/token", Value="t0ps3cret", Type="SecureString", Overwrite=True)
    arn = ssm.get_parameter(Name="/shop/token")["Parameter"]["ARN"]
    definition = register(cloud, "secretive", {
        "name": "app", "image": "busybox", "command": ["sh", "-c", "echo $TOKEN $PLAIN > /tmp/seen; sleep 600"],
        "secrets": [{"name": "TOKEN", "valueFrom": arn}, {"name": "PLAIN", "valueFrom": "/shop/token"}]})
    task = wait(cloud, run(cloud, definition), "RUNNING")
    seen = cloud.home_.cli("exec", task["containers"][0]["runtimeId"], "cat", "/tmp/seen").stdout
    assert seen == "t0ps3cret t0ps3cret\n"
    cloud.ecs.stop_task(cluster="shop", task=task["taskArn"])
    wait(cloud, task["taskArn"], "STOPPED")
    missing = register(cloud, "secretless", {"name": "app", "image": "busybox",
                                             "secrets": [{"name": "X", "valueFrom": "/shop/absent"}]})
    failed = wait(cloud, run(cloud, missing), "STOPPED")
    assert failed["stopCode"] == "TaskFailedToStart" and "ParameterNotFound" in failed["stoppedReason"]


def test_the_readme_walkthrough_with_the_stock_aws_cli(cloud):
    def aws(*args: str) -> dict:
        out = cloud.aws(*args).stdout
        return json.loads(out) if out.strip() else {}

    aws("ecs", "create-cluster", "--cluster-name", "walk")
    definition = {"family": "walkserver", "containerDefinitions": [
        {"name": "web", "image": "busybox", "memory": 100, "cpu": 99, "command": HTTPD, "stopTimeout": 1}],
        "requiresCompatibilities": ["FARGATE"], "networkMode": "awsvpc", "memory": "512", "cpu": "256"}
    aws("ecs", "register-task-definition", "--cli-input-json", json.dumps(definition))
    subnet = aws("ec2", "describe-subnets")["Subnets"][0]["SubnetId"]
    network = f"awsvpcConfiguration={{subnets=[{subnet}]}}"
    task = aws("ecs", "run-task", "--cluster", "walk", "--task-definition", "walkserver", "--launch-type", "FARGATE",
               "--network-configuration", network)["tasks"][0]
    deadline = time.monotonic() + 60
    while (described := aws("ecs", "describe-tasks", "--cluster", "walk", "--tasks", task["taskArn"])["tasks"][0])[
            "lastStatus"] != "RUNNING" and time.monotonic() < deadline:
        time.sleep(0.3)
    with urllib.request.urlopen(f"http://{address(described)}/group", timeout=10) as r:
        assert r.read().startswith(b"root:")
    aws("ecs", "stop-task", "--cluster", "walk", "--task", task["taskArn"])
    aws("ecs", "create-service", "--cluster", "walk", "--service-name", "web", "--task-definition", "walkserver",
        "--desired-count", "3", "--launch-type", "FARGATE", "--network-configuration", network)
    deadline = time.monotonic() + 60
    while aws("ecs", "describe-services", "--cluster", "walk", "--services", "web")["services"][0][
            "runningCount"] != 3 and time.monotonic() < deadline:
        time.sleep(0.3)
    aws("ecs", "register-task-definition", "--cli-input-json", json.dumps(definition))
    aws("ecs", "update-service", "--cluster", "walk", "--service", "web", "--task-definition", "walkserver:2")
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        service = aws("ecs", "describe-services", "--cluster", "walk", "--services", "web")["services"][0]
        if service["taskDefinition"].endswith(":2") and len(service["deployments"]) == 1 and \
                service["runningCount"] == 3:
            break
        time.sleep(0.3)
    assert service["deployments"][0]["rolloutState"] == "COMPLETED"
    aws("ecs", "update-service", "--cluster", "walk", "--service", "web", "--desired-count", "0")
    aws("ecs", "delete-service", "--cluster", "walk", "--service", "web")
    deadline = time.monotonic() + 60
    while aws("ecs", "list-tasks", "--cluster", "walk")["taskArns"] and time.monotonic() < deadline:
        time.sleep(0.3)
    assert aws("ecs", "list-tasks", "--cluster", "walk")["taskArns"] == []
