"""ECS tasks that run for real: FARGATE tasks in their own network namespace with an address
of their subnet, containers sharing it, dependsOn, essential exits and OOM kills reported as
ECS reports them, images from ECR, start failures, a task that survives kill -9 of
`cloudlet up`, awslogs, volumes, secrets and the README's walkthrough.
(tests/integration/test_ecs_services.py: services and EC2 tasks.)"""

import json
import signal
import time
import urllib.request

import pytest
from botocore.exceptions import ClientError

from tests.e2e.test_ecr_uris import client_as
from tests.integration.ecs_fixtures import HTTPD, address, module_cloud, register, run, wait

pytestmark = [pytest.mark.root, pytest.mark.runc, pytest.mark.netns]
cloud = module_cloud("ecs", "10.96.0.0/12")


def test_a_fargate_task_answers_on_its_own_address_and_stops(cloud):
    arn = run(cloud, register(cloud, "web", {"name": "web", "image": "busybox", "command": HTTPD,
                                             "portMappings": [{"containerPort": 80}]}))
    task = wait(cloud, arn, "RUNNING")
    # its image (a bootstrap one, made already) pulled between the task's creation and its start
    assert task["createdAt"] <= task["pullStartedAt"] <= task["pullStoppedAt"] <= task["startedAt"]
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
    # the URI a client that reached cloudlet by a DNS name is given names that name and the port
    ecr = client_as(cloud, f"cloud.example:{cloud.port}")
    uri = ecr.create_repository(repositoryName="shop/bb")["repository"]["repositoryUri"]
    assert uri.endswith(f".dkr.ecr.us-east-1.cloud.example:{cloud.port}/shop/bb")
    cloud.home_.cli("push", "busybox", "shop/bb:1")
    arn = run(cloud, register(cloud, "from-ecr", {"name": "web", "image": f"{uri}:1", "command": HTTPD}))
    task = wait(cloud, arn, "RUNNING")
    assert task["pullStartedAt"] <= task["pullStoppedAt"] <= task["startedAt"]
    with urllib.request.urlopen(f"http://{address(task)}/group", timeout=10) as r:
        assert r.read().startswith(b"root:")
    cloud.ecs.stop_task(cluster="shop", task=arn)
    wait(cloud, arn, "STOPPED")


def test_start_failures_and_bad_requests(cloud):
    arn = run(cloud, register(cloud, "missing", {"name": "web", "image": "no-such-image:1"}))
    failed = wait(cloud, arn, "STOPPED")
    assert failed["stopCode"] == "TaskFailedToStart" and "CannotPullContainerError" in failed["stoppedReason"]
    assert failed["pullStartedAt"] <= failed["pullStoppedAt"] and "startedAt" not in failed
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


def test_awslogs_sends_the_output_to_cloudwatch_logs(cloud):
    logs = cloud.client("logs")
    logs.create_log_group(logGroupName="/ecs/logged")  # made before the task so that it has a metric filter
    logs.put_metric_filter(logGroupName="/ecs/logged", filterName="outs", filterPattern="[word = out, n]",
                           metricTransformations=[{"metricName": "Outs", "metricNamespace": "App", "metricValue": "$n"}])
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
    cw, now = cloud.client("cloudwatch"), time.time()

    def total(namespace, name, dimensions=()):
        return sum(p["Sum"] for p in cw.get_metric_statistics(
            Namespace=namespace, MetricName=name, Dimensions=list(dimensions), StartTime=now - 600, EndTime=now + 120,
            Period=60, Statistics=["Sum"])["Datapoints"])
    assert total("App", "Outs") == 1 + 2 + 3  # the metric filter's values, taken from the container's lines
    assert total("AWS/Logs", "IncomingLogEvents", [{"Name": "LogGroupName", "Value": "/ecs/logged"}]) == 7
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
             "linuxParameters": {"capabilities": {"drop": ["CHOWN"]}}}])["taskDefinition"]
    arn = run(cloud, definition["taskDefinitionArn"])
    task = wait(cloud, arn, "RUNNING")
    reader = next(c["runtimeId"] for c in task["containers"] if c["name"] == "reader")
    cli = cloud.home_.cli
    assert cli("exec", reader, "cat", "/data/x").stdout == "hi\n"
    assert cli("exec", reader, "sh", "-c", "echo no > /data/y", check=False).returncode != 0  # read-only
    assert cli("exec", reader, "chown", "nobody", "/tmp", check=False).returncode != 0  # CHOWN dropped
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
