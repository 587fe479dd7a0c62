"""The service controller's rounds for a service behind a target group, on a real store, with
the task controller's and the data plane's parts played by writing what they would write
(a task RUNNING with its address; a target's health): registration, a rollout that completes
only once the targets are healthy, draining before a stop, deregistration of a task that
stopped on its own, and an unhealthy task stopped only after the grace period."""

import json
from datetime import datetime, timedelta, timezone

from cloudlet.control.services import Round
from cloudlet.services.ecs.services import new_deployment
from cloudlet.store import elbv2 as records
from cloudlet.store.schema import ecs_tasks

GROUP = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/0123456789abcdef"
CLUSTER = {"name": "shop", "arn": "arn:aws:ecs:us-east-1:123456789012:cluster/shop"}
DEFINITION = {"taskDefinitionArn": "arn:aws:ecs:us-east-1:123456789012:task-definition/web:1", "family": "web",
              "containerDefinitions": [{"name": "web", "image": "busybox", "portMappings": [{"containerPort": 80}]}],
              "networkMode": "awsvpc", "cpu": "256", "memory": "512"}
NETWORK = {"mode": "awsvpc", "zone": "us-east-1a", "subnet": "subnet-1"}
BEHIND = [{"targetGroupArn": GROUP, "containerName": "web", "containerPort": 80}]


def _service(db, desired: int, delay: str = "300", grace: int = 0) -> dict:
    attributes = {"deregistration_delay.timeout_seconds": delay}
    records.put(db, records.TARGET_GROUP, GROUP, "web", {"TargetGroupArn": GROUP, "TargetType": "ip",
                                                         "_attributes": attributes})
    deployment = new_deployment(DEFINITION, desired, None, "FARGATE")
    return {"serviceName": "web", "status": "ACTIVE", "desiredCount": desired, "schedulingStrategy": "REPLICA",
            "deployments": [deployment], "events": [], "loadBalancers": BEHIND, "placementConstraints": [],
            "healthCheckGracePeriodSeconds": grace, "placementStrategy": [],
            "deploymentConfiguration": {"deploymentCircuitBreaker": {"enable": False, "rollback": False},
                                        "maximumPercent": 200, "minimumHealthyPercent": 100},
            "_run": {"network": NETWORK, "launch": "FARGATE", "definitions": {deployment["id"]: DEFINITION},
                     "balancers": {deployment["id"]: BEHIND}}}


def _tasks(db) -> list[dict]:
    return [json.loads(r["body"]) for r in db.select(ecs_tasks)]


def _round(db, body: dict) -> Round:
    r = Round(db, body, CLUSTER, _tasks(db))
    r.run()
    return r


def _running(db, task: dict, address: str, started: datetime | None = None) -> None:
    """What the task controller writes of a task that runs."""
    task.update(lastStatus="RUNNING", startedAt=(started or datetime.now(timezone.utc)).isoformat())
    task["attachments"][0]["details"].append({"name": "privateIPv4Address", "value": address})
    db.update(ecs_tasks, ecs_tasks.c.task_id == task["taskArn"].rsplit("/", 1)[1], last_status="RUNNING",
              body=json.dumps(task))


def _one_running(db, body: dict, address: str = "10.0.0.5", **kw) -> dict:
    _round(db, body)  # launches the task
    task = _tasks(db)[0]
    _running(db, task, address, **kw)
    _round(db, body)  # registers it
    return task


def test_a_running_task_is_registered_and_the_rollout_waits_for_its_health(db):
    body = _service(db, 1)
    _one_running(db, body)
    assert [(t["id"], t["port"], t["state"]) for t in records.targets(db, GROUP)] == [("10.0.0.5", 80, "initial")]
    assert f"(service web) registered 1 targets in (target-group {GROUP})" in [e["message"] for e in body["events"]]
    assert body["runningCount"] == 1 and body["deployments"][0]["rolloutState"] == "IN_PROGRESS"
    records.set_health(db, GROUP, "10.0.0.5", 80, records.HEALTHY, None)
    _round(db, body)
    assert body["deployments"][0]["rolloutState"] == "COMPLETED"


def test_a_task_scaled_in_drains_before_it_stops(db):
    body = _service(db, 1, delay="0")
    task = _one_running(db, body)
    body["desiredCount"] = 0
    _round(db, body)
    held = _tasks(db)[0]
    assert (held["desiredStatus"], held["lastStatus"]) == ("STOPPED", "DEACTIVATING")
    assert [t["state"] for t in records.targets(db, GROUP)] == ["draining"]
    messages = [e["message"] for e in body["events"]]
    deregistered = messages.index(f"(service web) deregistered 1 targets in (target-group {GROUP})")
    assert messages[deregistered + 1] == "(service web) has begun draining connections on 1 tasks."
    _round(db, body)  # its delay (0 s) has passed
    assert _tasks(db)[0]["lastStatus"] == "STOPPING" and records.targets(db, GROUP) == []
    task_id = task["taskArn"].rsplit("/", 1)[1]
    assert body["events"][0]["message"] == f"(service web) has stopped 1 running tasks: (task {task_id})."


def test_a_draining_task_is_held_for_the_groups_delay(db):
    body = _service(db, 1, delay="300")
    _one_running(db, body)
    body["desiredCount"] = 0
    for _ in range(3):
        _round(db, body)
    assert _tasks(db)[0]["lastStatus"] == "DEACTIVATING" and body["status"] == "ACTIVE"


def test_a_task_that_stopped_on_its_own_is_deregistered_at_once(db):
    body = _service(db, 1)
    task = _one_running(db, body)
    task.update(desiredStatus="STOPPED", stopCode="EssentialContainerExited", stoppedReason="exited")
    db.update(ecs_tasks, ecs_tasks.c.task_id == task["taskArn"].rsplit("/", 1)[1], desired_status="STOPPED",
              body=json.dumps(task))
    _round(db, body)
    assert [t["state"] for t in records.targets(db, GROUP)] == ["draining"]
    stopped = [t for t in _tasks(db) if t["taskArn"] == task["taskArn"]][0]
    assert stopped["lastStatus"] == "RUNNING"  # not held: the task controller stops it as it is
    assert len([t for t in _tasks(db) if t["desiredStatus"] == "RUNNING"]) == 1  # and it is replaced


def test_an_unhealthy_target_stops_its_task_only_after_the_grace_period(db):
    body = _service(db, 1, grace=60)
    task = _one_running(db, body)
    records.set_health(db, GROUP, "10.0.0.5", 80, records.UNHEALTHY, "Target.ResponseCodeMismatch:404")
    _round(db, body)
    assert _tasks(db)[0]["desiredStatus"] == "RUNNING"  # within its grace period
    task = _tasks(db)[0]
    task["startedAt"] = (datetime.now(timezone.utc) - timedelta(seconds=61)).isoformat()
    db.update(ecs_tasks, ecs_tasks.c.task_id == task["taskArn"].rsplit("/", 1)[1], body=json.dumps(task))
    _round(db, body)
    stopped = [t for t in _tasks(db) if t["taskArn"] == task["taskArn"]][0]
    assert stopped["stoppedReason"] == f"Task failed ELB health checks in (target-group {GROUP})"
    assert stopped["lastStatus"] == "DEACTIVATING"
    task_id = task["taskArn"].rsplit("/", 1)[1]
    assert f"(service web) (task {task_id}) is unhealthy in (target-group {GROUP}) due to (reason Health checks " \
           "failed with these codes: [404])." in [e["message"] for e in body["events"]]
    assert len([t for t in _tasks(db) if t["desiredStatus"] == "RUNNING"]) == 1  # replaced
