"""An ECS service behind an Application Load Balancer, with real traffic: three busybox httpd
tasks answering their task id, registered by the service controller as ip targets, reached
at the ALB's public addresses; the deployment completes only once its targets are healthy,
requests spread over the tasks, a rolling update to a new task definition under continuous
requests fails none (old tasks drain, DEACTIVATING, before they stop), a task failing its
health checks is stopped and replaced, and deleting the service drains and stops them all.
Then an EXTERNAL service's task sets move the traffic from blue to green."""

import threading
import time
from collections import Counter

import pytest

from tests.integration.ecs_fixtures import module_cloud, register, service
from tests.integration.elb_fixtures import QUICK, get, until, web_groups

pytestmark = [pytest.mark.root, pytest.mark.runc, pytest.mark.netns]
cloud = module_cloud("ecs-elb", "10.252.0.0/15")
# the task id is the last part of its metadata endpoint's URI: <id>-<container>
SERVE = 'mkdir -p /www && t=${ECS_CONTAINER_METADATA_URI_V4##*/} && echo "$VERSION ${t%-web}" > /www/id && ' \
        'exec httpd -f -p 80 -h /www'


def definition(cloud, version: str) -> str:
    return register(cloud, "behind", {"name": "web", "image": "busybox", "command": ["sh", "-c", SERVE],
                                      "portMappings": [{"containerPort": 80}],
                                      "environment": [{"name": "VERSION", "value": version}]})


def tasks(cloud, **kw) -> list[dict]:
    arns = cloud.ecs.list_tasks(cluster="shop", family="behind", **kw)["taskArns"]
    return cloud.ecs.describe_tasks(cluster="shop", tasks=arns)["tasks"] if arns else []


def health(elb, group: str) -> dict[str, str]:
    return {d["Target"]["Id"]: d["TargetHealth"]["State"]
            for d in elb.describe_target_health(TargetGroupArn=group)["TargetHealthDescriptions"]}


def address(task: dict) -> str:
    return next(d["value"] for d in task["attachments"][0]["details"] if d["name"] == "privateIPv4Address")


def completed(cloud, arn: str):
    def done():
        s = service(cloud, "web")
        return len(s["deployments"]) == 1 and s["deployments"][0]["rolloutState"] == "COMPLETED" and \
            s["taskDefinition"] == arn and s["runningCount"] == 3 and s
    return done


@pytest.fixture(scope="module")
def alb(cloud):
    ec2, elb = cloud.client("ec2"), cloud.client("elbv2")
    vpc, subnets, front, back = web_groups(ec2, "front", "back")
    lb = elb.create_load_balancer(Name="shop", Subnets=subnets[:2], SecurityGroups=[front])["LoadBalancers"][0]
    group = elb.create_target_group(Name="web", Protocol="HTTP", Port=80, VpcId=vpc, TargetType="ip",
                                    **QUICK)["TargetGroups"][0]["TargetGroupArn"]
    elb.modify_target_group_attributes(TargetGroupArn=group, Attributes=[
        {"Key": "deregistration_delay.timeout_seconds", "Value": "3"}])
    elb.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=80, DefaultActions=[
        {"Type": "forward", "TargetGroupArn": group}])
    elb.get_waiter("load_balancer_available").wait(LoadBalancerArns=[lb["LoadBalancerArn"]],
                                                   WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    enis = ec2.describe_network_interfaces(Filters=[{"Name": "description", "Values": ["ELB app/shop/*"]}])
    publics = [e["Association"]["PublicIp"] for e in enis["NetworkInterfaces"] if e.get("Association")]
    world = {"elb": elb, "group": group, "publics": publics, "network": {"awsvpcConfiguration": {
        "subnets": [subnets[0]], "securityGroups": [back]}}}
    yield world
    if cloud.proc.poll() is None:  # a test failed before the last one cleaned up
        if service(cloud, "web")["status"] == "ACTIVE":
            cloud.ecs.delete_service(cluster="shop", service="web", force=True)
        elb.delete_load_balancer(LoadBalancerArn=lb["LoadBalancerArn"])


def test_the_service_registers_its_tasks_and_completes_once_they_are_healthy(cloud, alb):
    first = definition(cloud, "1")
    cloud.ecs.create_service(cluster="shop", serviceName="web", taskDefinition=first, desiredCount=3,
                             launchType="FARGATE", networkConfiguration=alb["network"], loadBalancers=[
                                 {"targetGroupArn": alb["group"], "containerName": "web", "containerPort": 80}])
    done = until(completed(cloud, first), timeout=90)
    running = tasks(cloud)
    assert health(alb["elb"], alb["group"]) == {address(t): "healthy" for t in running}  # completed only then
    messages = [e["message"] for e in done["events"]]
    assert sum(int(m.split(" registered ")[1].split()[0]) for m in messages if " registered " in m) == 3
    assert f"(service web) registered 1 targets in (target-group {alb['group']})" in messages
    ids = {t["taskArn"].rsplit("/", 1)[1] for t in running}
    for public in alb["publics"]:
        seen = Counter(get(public) for _ in range(30))
        assert set(seen) == {f"1 {i}" for i in ids} and min(seen.values()) >= 5, seen


def test_a_rolling_update_under_continuous_requests_fails_none(cloud, alb):
    second = definition(cloud, "2")
    answers, stop = Counter(), threading.Event()

    def load():
        deadline = time.monotonic() + 180  # bounded, whatever happens to the test
        while not stop.is_set() and time.monotonic() < deadline:
            answers[(get(alb["publics"][0]) or "FAILED").split()[0]] += 1  # an HTTP error counts by its code
            time.sleep(0.02)

    loader = threading.Thread(target=load)
    loader.start()
    try:
        time.sleep(1)
        cloud.ecs.update_service(cluster="shop", service="web", taskDefinition=second)
        held = until(lambda: [t for t in tasks(cloud, desiredStatus="STOPPED") if t["lastStatus"] == "DEACTIVATING"],
                     every=0.2)
        assert held[0]["desiredStatus"] == "STOPPED" and held[0]["taskDefinitionArn"] != second
        done = until(completed(cloud, second), timeout=90)
        until(lambda: all(t["lastStatus"] == "STOPPED" for t in tasks(cloud, desiredStatus="STOPPED")))
        time.sleep(2)
    finally:
        stop.set()
        loader.join()
    assert set(answers) == {"1", "2"}, answers  # none failed, and both versions answered
    messages = [e["message"] for e in done["events"]]
    assert any(m.startswith("(service web) has begun draining connections on ") for m in messages)
    assert any(m.startswith("(service web) deregistered ") and alb["group"] in m for m in messages)
    assert set(health(alb["elb"], alb["group"])) == {address(t) for t in tasks(cloud)}
    assert {get(alb["publics"][1]).split()[0] for _ in range(10)} == {"2"}


def test_a_task_failing_its_health_checks_is_replaced(cloud, alb):
    victim = tasks(cloud)[0]
    cloud.home_.cli("exec", victim["containers"][0]["runtimeId"], "rm", "/www/id")  # its checks now get 404
    stopped = until(lambda: (t := cloud.ecs.describe_tasks(cluster="shop", tasks=[victim["taskArn"]])["tasks"][0])[
        "desiredStatus"] == "STOPPED" and t, timeout=60)
    assert stopped["stoppedReason"] == f"Task failed ELB health checks in (target-group {alb['group']})"
    victim_id = victim["taskArn"].rsplit("/", 1)[1]
    current = until(lambda: (s := service(cloud, "web"))["runningCount"] == 3 and
                    victim["taskArn"] not in [t["taskArn"] for t in tasks(cloud)] and
                    all(v == "healthy" for v in health(alb["elb"], alb["group"]).values()) and s, timeout=90)
    assert any(e["message"] == f"(service web) (task {victim_id}) is unhealthy in (target-group {alb['group']}) "
               "due to (reason Health checks failed with these codes: [404])." for e in current["events"])


def test_deleting_the_service_drains_and_stops_its_tasks(cloud, alb):
    cloud.ecs.delete_service(cluster="shop", service="web", force=True)
    until(lambda: service(cloud, "web")["status"] == "INACTIVE")
    assert cloud.ecs.list_tasks(cluster="shop", family="behind")["taskArns"] == []
    until(lambda: health(alb["elb"], alb["group"]) == {}, timeout=20)


def task_set(cloud, name: str) -> dict:
    return cloud.ecs.describe_task_sets(cluster="shop", service="sets", taskSets=[name])["taskSets"][0]


def steady(cloud, name: str, running: int):
    return lambda: (s := task_set(cloud, name))["stabilityStatus"] == "STEADY_STATE" and s["runningCount"] == running


def test_task_sets_move_the_traffic_from_blue_to_green(cloud, alb):
    """An external controller's blue/green: each task set's tasks registered in the group it
    names, traffic on both while both are scaled up, on green alone once blue is at 0."""
    behind = [{"targetGroupArn": alb["group"], "containerName": "web", "containerPort": 80}]
    cloud.ecs.create_service(cluster="shop", serviceName="sets", desiredCount=2,
                             deploymentController={"type": "EXTERNAL"})
    try:
        sets = {}
        for version in ("blue", "green"):
            sets[version] = cloud.ecs.create_task_set(
                cluster="shop", service="sets", taskDefinition=definition(cloud, version), launchType="FARGATE",
                networkConfiguration=alb["network"], loadBalancers=behind, scale={"value": 100, "unit": "PERCENT"},
            )["taskSet"]["id"]
            if version == "blue":
                cloud.ecs.update_service_primary_task_set(cluster="shop", service="sets", primaryTaskSet=sets["blue"])
            until(steady(cloud, sets[version], 2), timeout=90)
            until(lambda: list(health(alb["elb"], alb["group"]).values()).count("healthy") == 2 * len(sets),
                  timeout=60)
            answered = {(get(alb["publics"][0]) or "FAILED").split()[0] for _ in range(40)}
            assert answered == set(sets), answered  # both once green is up, no failure on the way
        cloud.ecs.update_service_primary_task_set(cluster="shop", service="sets", primaryTaskSet=sets["green"])
        assert service(cloud, "sets")["taskDefinition"] == task_set(cloud, sets["green"])["taskDefinition"]
        cloud.ecs.update_task_set(cluster="shop", service="sets", taskSet=sets["blue"], scale={"value": 0})
        until(steady(cloud, sets["blue"], 0), timeout=60)  # its tasks drained from the group, then stopped
        assert {get(alb["publics"][0]).split()[0] for _ in range(20)} == {"green"}
        cloud.ecs.delete_task_set(cluster="shop", service="sets", taskSet=sets["blue"])
        until(lambda: [s["id"] for s in service(cloud, "sets")["taskSets"]] == [sets["green"]], timeout=30)
    finally:
        cloud.ecs.delete_service(cluster="shop", service="sets", force=True)
    until(lambda: service(cloud, "sets")["status"] == "INACTIVE", timeout=60)
    until(lambda: health(alb["elb"], alb["group"]) == {}, timeout=20)
