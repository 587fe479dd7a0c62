"""The service controller: keeps each ECS service at its desired count and rolls its
deployments, as ECS's scheduler does.

Every round, per service (one transaction each): tasks that ended are counted (and, when
they failed, charged to their deployment); the primary deployment gets new tasks as far as
maximumPercent allows; older deployments lose tasks as far as minimumHealthyPercent allows;
a deployment with no task left goes; the circuit breaker, when on, fails a deployment whose
tasks keep failing and rolls back to the one before. The tasks themselves are run by the
task controller; this one only records what should run (control/records.py). A service
behind load balancers has its tasks registered, judged by their targets' health and drained
before they stop (control/service_targets.py).
"""

from __future__ import annotations

import json
import logging
import math
import secrets

from sqlalchemy import select

from cloudlet.store.schema import ecs_clusters, ecs_services, ecs_tasks

from .capacity import need_of, placeable
from .loop import Loop
from .placement import place
from .records import new_task, now
from .service_targets import Targets

log = logging.getLogger("cloudlet.control.services")
POLL = 1.0
MAX_EVENTS = 100
_FAILED = ("TaskFailedToStart", "EssentialContainerExited")


def breaker_threshold(desired: int) -> int:
    """ECS's circuit breaker: half the desired count, at least 3, at most 200 failed tasks."""
    return min(200, max(3, math.ceil(desired * 0.5)))


def computed(desired: int, scale: dict) -> int:
    """A task set's share of its service's desired count (its computedDesiredCount), rounded
    up; rounded first to a millionth, so that 3 × 33.333333% is one task, not two."""
    return math.ceil(round(desired * scale["value"] / 100, 6))


class ServiceController(Loop):
    def __init__(self, store, on_tasks_changed):
        self.store = store
        self._tasks_changed = on_tasks_changed  # wakes the task controller
        self.start("service-controller", POLL)

    def round(self) -> None:
        with self.store.begin(write=False) as conn:
            keys = [tuple(r) for r in conn.execute(select(
                ecs_services.c.account_id, ecs_services.c.region, ecs_services.c.cluster, ecs_services.c.name
            ).where(ecs_services.c.status != "INACTIVE"))]
        changed = False
        for key in keys:
            try:
                changed |= self._reconcile(key)
            except Exception:  # one broken service must not stall the others
                log.exception("service %s", key[3])
        if changed:
            self._tasks_changed()

    def _reconcile(self, key: tuple) -> bool:
        account, region, cluster_name, name = key
        with self.store.scoped(account, region) as db:
            row = db.one(ecs_services, ecs_services.c.cluster == cluster_name, ecs_services.c.name == name)
            if row is None or row["status"] == "INACTIVE":
                return False
            body = json.loads(row["body"])
            cluster = db.one(ecs_clusters, ecs_clusters.c.name == cluster_name)
            tasks = [json.loads(r["body"]) for r in db.select(ecs_tasks, ecs_tasks.c.cluster == cluster_name)]
            tasks = [t for t in tasks if t.get("group") == f"service:{name}"]
            round_ = Round(db, body, cluster, tasks)
            round_.run()
            over = not round_.live() and not round_.targets.draining
            status = "INACTIVE" if body["status"] == "DRAINING" and over else body["status"]
            body["status"] = status
            db.update(ecs_services, ecs_services.c.cluster == cluster_name, ecs_services.c.name == name,
                      status=status, body=json.dumps(body), updated_at=now())
            return round_.changed


class Round:
    """One look at one service, inside the caller's transaction."""

    def __init__(self, db, body: dict, cluster: dict, tasks: list[dict]):
        self.db, self.body, self.cluster, self.tasks = db, body, cluster, tasks
        self.run_notes = body["_run"]
        self.changed = False
        self.instances = []  # EC2 services: the cluster's container instances, what they have left
        self.targets = Targets(self)

    def live(self, deployment: dict | None = None) -> list[dict]:
        return [t for t in self.tasks if t["desiredStatus"] == "RUNNING" and
                (deployment is None or t.get("startedBy") == deployment["id"])]

    def healthy(self, task: dict) -> bool:
        """Running, and healthy in its target groups if it has any (as ECS counts a deployment's tasks)."""
        return task["lastStatus"] == "RUNNING" and self.targets.healthy(task)

    def event(self, message: str) -> None:
        self.body["events"].insert(0, {"id": secrets.token_hex(16), "createdAt": now(),
                                       "message": f"(service {self.body['serviceName']}) {message}"})
        del self.body["events"][MAX_EVENTS:]

    def run(self) -> None:
        self._count_failures()
        self.targets.settle()
        unhealthy = [t for t in self.live() if t.get("healthStatus") == "UNHEALTHY"]
        self._stop(unhealthy, "Task failed container health checks")  # replaced below, like any other
        by_id = {d["id"]: d for d in self.body["deployments"]}
        for task, group, reason in self.targets.failing(self.body.get("healthCheckGracePeriodSeconds") or 0):
            self.event(f"(task {task['taskArn'].rsplit('/', 1)[1]}) is unhealthy in (target-group {group}) due to "
                       f"(reason {reason}).")
            if task.get("startedBy") in by_id:  # counts toward the circuit breaker, as a task that failed
                by_id[task["startedBy"]]["failedTasks"] += 1
            self._stop([task], f"Task failed ELB health checks in (target-group {group})")
        if any(self._launch_type(d) == "EC2" for d in self.body["deployments"] + self.body.get("taskSets", [])):
            self.instances = placeable(self.db, self.cluster)
            active = {i.arn for i in self.instances}
            drained = [t for t in self.live() if t.get("containerInstanceArn") not in active]
            self._stop(drained, "Container instance is draining")
            if self.body["schedulingStrategy"] == "DAEMON" and self.body["status"] == "ACTIVE":
                self.body["desiredCount"] = len(self.instances)
        if self.body.get("deploymentController", {}).get("type") == "EXTERNAL":
            return self._run_task_sets()
        deployments = self.body["deployments"]
        primary = deployments[0]
        desired = self.body["desiredCount"] if self.body["status"] == "ACTIVE" else 0
        primary["desiredCount"] = desired
        config = self.body["deploymentConfiguration"]
        max_total = math.floor(desired * config["maximumPercent"] / 100)
        min_healthy = math.ceil(desired * config["minimumHealthyPercent"] / 100)
        self._breaker(primary, desired)
        primary = self.body["deployments"][0]
        if primary["rolloutState"] != "FAILED":
            room = max_total - len(self.live())
            self._launch(primary, min(desired - len(self.live(primary)), room))
        self._retire_old(self.body["deployments"][1:], min_healthy)
        extra = len(self.live(primary)) - desired
        if extra > 0:
            self._stop(sorted(self.live(primary), key=_pending_first)[:extra], "Scaling activity initiated by "
                       f"(deployment {primary['id']})")
        self._tidy(primary, desired)

    def _run_task_sets(self) -> None:
        """An EXTERNAL service: each task set keeps its share of the desired count running (none
        once it is deleted, and goes when its last task has); no rollout of ECS's own."""
        desired = self.body["desiredCount"] if self.body["status"] == "ACTIVE" else 0
        for task_set in self.body["taskSets"]:
            want = 0 if task_set["status"] == "DRAINING" else computed(desired, task_set["scale"])
            task_set["computedDesiredCount"] = want
            live = self.live(task_set)
            self._launch(task_set, want - len(live))
            if len(live) > want:
                self._stop(sorted(live, key=_pending_first)[:len(live) - want],
                           f"Scaling activity initiated by (task set {task_set['id']})")
        kept = []
        for task_set in self.body["taskSets"]:
            live = self.live(task_set)
            running = sum(1 for t in live if t["lastStatus"] == "RUNNING")
            unstopped = [t for t in self.tasks if t.get("startedBy") == task_set["id"] and t["lastStatus"] != "STOPPED"]
            # beyond the live ones, tasks it stopped that still drain from its groups: they still take requests
            stable = running == task_set["computedDesiredCount"] == len(live) == len(unstopped) and \
                all(map(self.healthy, live))
            status = "STEADY_STATE" if stable else "STABILIZING"
            if status != task_set["stabilityStatus"]:
                task_set.update(stabilityStatus=status, stabilityStatusAt=now())
            task_set.update(runningCount=running, pendingCount=len(live) - running)
            if task_set["status"] != "DRAINING" or unstopped:
                kept.append(task_set)
            else:  # gone with its last task
                for notes in ("definitions", "networks", "providers", "balancers"):
                    self.run_notes.get(notes, {}).pop(task_set["id"], None)
        self.body["taskSets"] = kept
        self.body["runningCount"] = sum(s["runningCount"] for s in kept)
        self.body["pendingCount"] = sum(s["pendingCount"] for s in kept)
        steady = all(s["stabilityStatus"] == "STEADY_STATE" for s in kept)
        if steady and not self.run_notes.get("steady"):
            self.event("has reached a steady state.")
        self.run_notes["steady"] = steady

    def _count_failures(self) -> None:
        seen = set(self.run_notes.setdefault("seen", []))
        by_id = {d["id"]: d for d in self.body["deployments"]}
        for t in self.tasks:
            task_id = t["taskArn"].rsplit("/", 1)[1]
            if t["lastStatus"] != "STOPPED" or task_id in seen:
                continue
            seen.add(task_id)
            deployment = by_id.get(t.get("startedBy"))
            if deployment and t.get("stopCode") in _FAILED:
                deployment["failedTasks"] += 1
            if t.get("stopCode") != "ServiceSchedulerInitiated":
                self.event(f"has stopped 1 running tasks: (task {task_id}) ({t.get('stoppedReason')}).")
        self.run_notes["seen"] = sorted(seen)[-1000:]

    def _breaker(self, primary: dict, desired: int) -> None:
        breaker = self.body["deploymentConfiguration"]["deploymentCircuitBreaker"]
        if not breaker.get("enable") or primary["rolloutState"] != "IN_PROGRESS" or \
                primary["failedTasks"] < breaker_threshold(desired):
            return
        primary.update(rolloutState="FAILED", rolloutStateReason="ECS deployment circuit breaker: tasks failed to "
                                                                  "start.")
        self.event(f"deployment {primary['id']} deployment failed: tasks failed to start.")
        previous = next((d for d in self.body["deployments"][1:]), None)
        if breaker.get("rollback") and previous is not None:
            definition = self.run_notes["definitions"][previous["id"]]
            rollback = {**previous, "id": f"ecs-svc/{secrets.randbelow(10**19):019d}", "status": "PRIMARY",
                        "failedTasks": 0, "createdAt": now(), "updatedAt": now(), "rolloutState": "IN_PROGRESS",
                        "rolloutStateReason": f"ECS deployment detected failure. Rolling back to {previous['id']}."}
            primary["status"] = "ACTIVE"
            self.body["deployments"].insert(0, rollback)
            self.run_notes["definitions"][rollback["id"]] = definition
            self.targets.balancers[rollback["id"]] = self.targets.balancers.get(previous["id"]) or []
            self.body["taskDefinition"] = definition["taskDefinitionArn"]
            self.event(f"rolling back to deployment {previous['id']}.")

    def _launch(self, deployment: dict, count: int) -> None:
        if count <= 0:
            return
        definition = self.run_notes["definitions"][deployment["id"]]
        group = f"service:{self.body['serviceName']}"
        hosts = [None] * count
        if self._launch_type(deployment) == "EC2":
            hosts = self._place(definition, group, count)
            if not hosts:
                return
        # a task set has its own network and provider; a deployment the service's
        network = self.run_notes.get("networks", {}).get(deployment["id"]) or self.run_notes["network"]
        provider = self.run_notes.get("providers", {}).get(deployment["id"], self.run_notes.get("provider"))
        started = [new_task(self.db, self.cluster, definition, network, provider=provider, overrides={}, group=group,
                            started_by=deployment["id"], instance_arn=host.arn if host else None)
                   for host in hosts]
        count = len(started)
        self.tasks += started
        self.changed = True
        ids = " ".join(f"(task {t['taskArn'].rsplit('/', 1)[1]})" for t in started)
        self.event(f"has started {count} tasks: {ids}.")

    def _launch_type(self, deployment: dict) -> str | None:
        """A task set's launch type; a deployment's, or its service's for one recorded without."""
        return deployment.get("launchType") or self.run_notes.get("launch")

    def _place(self, definition: dict, group: str, count: int) -> list:
        constraints = self.body["placementConstraints"] + definition.get("placementConstraints", [])
        if self.body["schedulingStrategy"] == "DAEMON":
            constraints = constraints + [{"type": "distinctInstance"}]
        strategies = self.body["placementStrategy"] or [
            {"type": "spread", "field": "attribute:ecs.availability-zone"}, {"type": "spread", "field": "instanceId"}]
        chosen, failures = place(self.instances, need_of(definition, group), count, strategies, constraints) \
            if self.instances else ([], [{"reason": "No Container Instances were found in your cluster."}])
        if failures:
            reasons = ", ".join(sorted({f["reason"] for f in failures}))
            message = ("was unable to place a task because no container instance met all of its requirements. "
                       f"Reason: {reasons}")
            if not self.body["events"] or not self.body["events"][0]["message"].endswith(message):
                self.event(message)
        return chosen

    def _retire_old(self, olds: list[dict], min_healthy: int) -> None:
        running_total = sum(1 for t in self.live() if self.healthy(t))
        for d in olds:
            d["desiredCount"] = 0
            for t in sorted(self.live(d), key=_pending_first):
                healthy = self.healthy(t)
                if healthy and running_total - 1 < min_healthy:
                    return
                running_total -= healthy
                self._stop([t], f"Scaling activity initiated by (deployment {d['id']})")

    def _stop(self, tasks: list[dict], reason: str) -> None:
        """Stop tasks; those behind load balancers drain first, and are said stopped once drained."""
        held = self.targets.hold(tasks)
        for t in tasks:
            t.update(desiredStatus="STOPPED", stopCode="ServiceSchedulerInitiated", stoppedReason=reason,
                     stoppingAt=now(), version=t["version"] + 1)
            self.db.update(ecs_tasks, ecs_tasks.c.task_id == t["taskArn"].rsplit("/", 1)[1],
                           desired_status="STOPPED", last_status=t["lastStatus"], body=json.dumps(t), updated_at=now())
        tasks = [t for t in tasks if t not in held]
        if tasks:
            self.changed = True
            ids = " ".join(f"(task {t['taskArn'].rsplit('/', 1)[1]})" for t in tasks)
            self.event(f"has stopped {len(tasks)} running tasks: {ids}.")

    def _tidy(self, primary: dict, desired: int) -> None:
        """Counts, finished deployments, and the steady state once it is reached."""
        for d in self.body["deployments"]:
            live = self.live(d)
            d["runningCount"] = sum(1 for t in live if t["lastStatus"] == "RUNNING")
            d["pendingCount"] = len(live) - d["runningCount"]
            d["updatedAt"] = now()
        self.body["deployments"] = [primary] + [d for d in self.body["deployments"][1:] if self.live(d)]
        self.body["runningCount"] = sum(d["runningCount"] for d in self.body["deployments"])
        self.body["pendingCount"] = sum(d["pendingCount"] for d in self.body["deployments"])
        steady = primary["runningCount"] == desired and len(self.body["deployments"]) == 1 and \
            primary["pendingCount"] == 0 and all(self.healthy(t) for t in self.live(primary))
        if steady and primary["rolloutState"] == "IN_PROGRESS":
            primary.update(rolloutState="COMPLETED", rolloutStateReason="ECS deployment completed.")
        if steady and not self.run_notes.get("steady"):
            self.event("has reached a steady state.")
        self.run_notes["steady"] = steady


def _pending_first(task: dict):
    # Stopping tasks that do not run yet costs no capacity; among the others, the oldest go first.
    return (task["lastStatus"] == "RUNNING", task["createdAt"])
