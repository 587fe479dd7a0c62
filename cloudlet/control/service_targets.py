"""A service's tasks in and out of its target groups, as ECS's service scheduler does it, one
look per round of the service controller (inside its transaction):

    registered  a RUNNING task of a deployment behind load balancers gets a target in each of
                the deployment's groups: its ENI's private address and the containerPort in an
                "ip" group, its container instance and host port in an "instance" one
    healthy     the task counts toward its deployment's rollout and minimumHealthyPercent only
                once every one of its targets is healthy
    unhealthy   a target unhealthy once healthCheckGracePeriodSeconds have passed since the
                task started stops the task, which the scheduler then replaces
    draining    a task the scheduler stops is deregistered first and held DEACTIVATING
                (desiredStatus STOPPED) for its groups' deregistration delay, then let go as
                STOPPING, which the task controller stops; a task that stops on its own
                (its container exited, StopTask) is deregistered at once

The service's "_run" notes keep what was done, so a restarted controller goes on from there:
"targets" {task id: [[group, id, port], ...]} of tasks registered, "draining" the same of
tasks held DEACTIVATING, "balancers" {deployment id: its loadBalancers}.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from datetime import datetime

from cloudlet.store import elbv2 as records
from cloudlet.store.schema import ecs_container_instances, ecs_tasks

from .records import now

DEACTIVATING, STOPPING = "DEACTIVATING", "STOPPING"
DEFAULT_DELAY = "300"  # seconds: deregistration_delay.timeout_seconds unless the group says
# ELB's descriptions of its reason codes, as ECS quotes them in its events
_REASONS = {"Target.FailedHealthChecks": "Health checks failed", "Target.Timeout": "Request timed out"}


def task_id(task: dict) -> str:
    return task["taskArn"].rsplit("/", 1)[1]


def reason_text(reason: str | None) -> str:
    code, _, detail = (reason or "").partition(":")
    if code == "Target.ResponseCodeMismatch":
        return f"Health checks failed with these codes: [{detail}]"
    return _REASONS.get(code, "Health checks failed")


def _delay(group: dict | None) -> float:
    return float(((group or {}).get("_attributes") or {}).get("deregistration_delay.timeout_seconds", DEFAULT_DELAY))


class Targets:
    def __init__(self, round_):
        self.round = round_
        self.db = round_.db
        notes = round_.run_notes
        self.registered = notes.setdefault("targets", {})
        self.draining = notes.setdefault("draining", {})
        self.balancers = notes.setdefault("balancers", {})
        self._groups: dict[str, dict | None] = {}
        self._health: dict[str, dict] = {}

    def group(self, arn: str) -> dict | None:
        if arn not in self._groups:
            self._groups[arn] = records.get(self.db, arn, records.TARGET_GROUP)
        return self._groups[arn]

    def target(self, arn: str, target_id: str, port: int) -> dict | None:
        if arn not in self._health:
            self._health[arn] = {(t["id"], t["port"]): t for t in records.targets(self.db, arn)}
        return self._health[arn].get((target_id, port))

    # -- each round ------------------------------------------------------------------------

    def settle(self) -> None:
        """Register what started, deregister what stopped on its own, let go what drained."""
        known = set()
        for t in self.round.tasks:
            tid = task_id(t)
            known.add(tid)
            if tid in self.draining:
                if t["lastStatus"] == DEACTIVATING:
                    self._finish_draining(t)
                else:  # moved on without us (a restarted controller saw it stop): nothing to hold
                    del self.draining[tid]
            elif tid in self.registered and t["desiredStatus"] != "RUNNING":
                self._deregister(self.registered.pop(tid))
            elif tid not in self.registered and t["desiredStatus"] == "RUNNING" and t["lastStatus"] == "RUNNING":
                self._register(t)
        for notes in (self.registered, self.draining):
            for tid in set(notes) - known:
                del notes[tid]

    def healthy(self, task: dict) -> bool:
        """Whether the task counts as healthy for its deployment: no load balancer, or every one
        of its targets healthy."""
        if not self.balancers.get(task.get("startedBy")):
            return True
        held = self.registered.get(task_id(task))
        return held is not None and all((self.target(*held_) or {}).get("state") == records.HEALTHY
                                        for held_ in held)

    def failing(self, grace: int) -> list[tuple[dict, str, str]]:
        """(task, group, reason) of each running task with a target found unhealthy after grace."""
        out = []
        for t in self.round.live():
            held = self.registered.get(task_id(t)) or []
            if not held or not t.get("startedAt") or \
                    time.time() - datetime.fromisoformat(t["startedAt"]).timestamp() < grace:
                continue
            bad = next((h for h in held if (self.target(*h) or {}).get("state") == records.UNHEALTHY), None)
            if bad is not None:
                out.append((t, bad[0], reason_text(self.target(*bad)["reason"])))
        return out

    def hold(self, tasks: list[dict]) -> list[dict]:
        """Of tasks the scheduler stops, deregister those registered and hold them DEACTIVATING
        while they drain; the ones held."""
        held = [t for t in tasks if self.registered.get(task_id(t))]
        for t in held:
            targets = self.registered.pop(task_id(t))
            self.draining[task_id(t)] = targets
            t["lastStatus"] = DEACTIVATING
        if held:
            self.round.event(f"has begun draining connections on {len(held)} tasks.")
            self._deregister([h for t in held for h in self.draining[task_id(t)]])
        return held

    # -- steps -----------------------------------------------------------------------------

    def _register(self, task: dict) -> None:
        targets = []
        for lb in self.balancers.get(task.get("startedBy")) or []:
            group = self.group(lb["targetGroupArn"])
            if group is None:
                continue  # deleted since: nothing to register in
            found = self._target_of(task, group, lb)
            if found is None:
                return  # its address or port is not known yet: next round
            targets.append([lb["targetGroupArn"], *found])
        for arn, target_id, port in targets:
            records.register(self.db, arn, target_id, port, task.get("availabilityZone"))
        self.registered[task_id(task)] = targets
        for arn, count in Counter(arn for arn, _, _ in targets).items():
            self.round.event(f"registered {count} targets in (target-group {arn})")

    def _target_of(self, task: dict, group: dict, lb: dict) -> tuple[str, int] | None:
        if group.get("TargetType") == "ip":
            details = {d["name"]: d["value"] for a in task.get("attachments") or [] for d in a.get("details") or []}
            address = details.get("privateIPv4Address")
            return (address, lb["containerPort"]) if address else None
        container = next((c for c in task["containers"] if c["name"] == lb["containerName"]), {})
        port = next((b["hostPort"] for b in container.get("networkBindings") or []
                     if b["containerPort"] == lb["containerPort"]), None)
        arn = task.get("containerInstanceArn")
        row = self.db.one(ecs_container_instances, ecs_container_instances.c.instance_id == arn.rsplit("/", 1)[1]) \
            if arn else None
        return (json.loads(row["body"])["ec2InstanceId"], port) if row and port else None

    def _deregister(self, targets: list[list]) -> None:
        gone = [t for t in targets if records.deregister(self.db, *t)]
        for arn, count in Counter(arn for arn, _, _ in gone).items():
            self.round.event(f"deregistered {count} targets in (target-group {arn})")

    def _finish_draining(self, task: dict) -> None:
        at = time.time()
        for arn, target_id, port in self.draining[task_id(task)]:
            target = self.target(arn, target_id, port)
            if target is not None and target["state"] == records.DRAINING and \
                    target["since"] + _delay(self.group(arn)) > at:
                return  # still draining
        for arn in {arn for arn, _, _ in self.draining.pop(task_id(task))}:
            records.drained(self.db, arn, _delay(self.group(arn)), at=at)
        task.update(lastStatus=STOPPING, version=task["version"] + 1)
        self.db.update(ecs_tasks, ecs_tasks.c.task_id == task_id(task), last_status=STOPPING, body=json.dumps(task),
                       updated_at=now())
        self.round.changed = True
        self.round.event(f"has stopped 1 running tasks: (task {task_id(task)}).")
