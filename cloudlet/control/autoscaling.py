"""The group controller: keeps each EC2 Auto Scaling group at its desired capacity with real
instances, launched and terminated through EC2's own RunInstances and TerminateInstances (a
launcher the provider hands in, so nothing here knows how instances run), and records every
scaling activity with AWS's texts (asg_records.py).

An instance's LifecycleState, as AWS names them:

    (launched) Pending -> InService                        once EC2 says running
    Pending -> Pending:Wait -> Pending:Proceed -> InService  with launch lifecycle hooks
    Pending:Wait -- ABANDON --> Terminating:Proceed        (the launch is given up)
    InService -> Terminating                               scaled in (asg_choice.py), replaced
                                                           (refresh, unhealthy) or by a user
    Terminating -> Terminating:Wait -> Terminating:Proceed with terminate lifecycle hooks, once
                                                           deregistered from its target groups
                                                           and drained (asg_targets.py)
    Terminating(:Proceed) -> (TerminateInstances) -> gone  once EC2 says terminated

An instance is Unhealthy when EC2 shows it stopped or terminated (by hand, say), when EC2 has
not got it running by the end of its grace period (at least BOOT_ALLOWANCE), with
HealthCheckType ELB when a target group's checks fail it past its grace period, or when a user
said so (SetInstanceHealth); unless ReplaceUnhealthy or Terminate is suspended it is
terminated, and the capacity it leaves is launched again.

Per group, each round: scheduled actions that are due are applied; instances move as above;
an instance refresh takes its next batch out; then capacity is made up: live instances over
desired are scaled in, under it launched into the least populated zone, unless Terminate or
Launch is suspended. A failed launch is retried after a back-off (RETRY_FIRST doubling to
RETRY_MAX), as AWS retries. A group being deleted goes once its last instance has.

EC2 is called outside the group's transaction (it takes one of its own); what the calls
return is recorded in the next. The records and EC2's instance table are all there is, so a
restart picks every instance up in the state recorded."""

from __future__ import annotations

import logging
import time

from sqlalchemy import select

from cloudlet.store.schema import autoscaling_objects, ec2_instances

from . import asg_choice as choice
from . import asg_lifecycle as lifecycle
from . import asg_records as records
from . import asg_refresh as refresh
from .asg_targets import UNHEALTHY_ELB, Targets
from .asg_scheduled import apply_due
from .loop import Loop

log = logging.getLogger("cloudlet.control.autoscaling")
POLL = 1.0
LAUNCH_BATCH = 5  # launches per group per round: a group of thousands ramps up instead of stalling a round
RETRY_FIRST, RETRY_MAX = 10.0, 300.0
BOOT_ALLOWANCE = 600  # seconds a VM may take to boot whatever the grace period (TCG on a busy host is slow)
GONE = ("stopping", "stopped", "shutting-down", "terminated")


class LaunchFailed(Exception):
    """EC2 refused to launch or terminate; the message is EC2's."""


def suspended(group: dict, process: str) -> bool:
    return any(p["ProcessName"] == process for p in group.get("SuspendedProcesses", []))


class GroupController(Loop):
    def __init__(self, store, launcher):
        self.store = store
        # .launch(account, region, group, request) -> {"InstanceId", "InstanceType", "LaunchTemplate"} (the
        # template's ID, name and the version launched), .terminate(account, region, instance_id),
        # .template(db, spec) -> that of the version spec names now, or None,
        # .notify(account, region, target_arn, subject, message)
        self.launcher = launcher
        self.start("autoscaling", POLL)

    def round(self) -> None:
        with self.store.begin(write=False) as conn:
            keys = [tuple(r) for r in conn.execute(select(
                autoscaling_objects.c.account_id, autoscaling_objects.c.region, autoscaling_objects.c.name
            ).where(autoscaling_objects.c.kind == records.GROUP))]
        for account, region, name in keys:
            try:
                self._reconcile(account, region, name)
            except Exception:  # one broken group must not stall the others
                log.exception("group %s (account %s)", name, account)

    def _reconcile(self, account: str, region: str, name: str) -> None:
        with self.store.scoped(account, region, write=False) as db:
            if _steady(db, name, time.time()):
                return
        with self.store.scoped(account, region) as db:
            plan = Round(db, name, self.launcher).run()
        if plan is None:
            return
        for target, subject, message in plan.notices:
            try:
                self.launcher.notify(account, region, target, subject, message)
            except Exception:  # a target that cannot be reached must not stop the group
                log.exception("group %s: notifying %s", name, target)
        for instance_id in plan.terminations:
            try:
                self.launcher.terminate(account, region, instance_id)
            except LaunchFailed as failure:  # termination protection, say: tried again next round
                log.warning("group %s: terminating %s: %s", name, instance_id, failure)
        launched = []
        for subnet, request, cause in plan.launches:
            try:
                launched.append((subnet, cause, self.launcher.launch(account, region, name, request), None))
            except LaunchFailed as failure:
                launched.append((subnet, cause, None, str(failure)))
        if launched:
            with self.store.scoped(account, region) as db:
                orphans = _record_launches(db, name, launched)
            for instance_id in orphans:  # the group went meanwhile
                self.launcher.terminate(account, region, instance_id)
        if plan.launches or plan.terminations:
            self.wake()  # the next steps (InService, gone) come soon


def _ec2_states(db, instances: list[dict]) -> dict[str, str]:
    ids = [i["InstanceId"] for i in instances]
    rows = db.select(ec2_instances, ec2_instances.c.instance_id.in_(ids)) if ids else []
    return {r["instance_id"]: r["state"] for r in rows}


def _steady(db, name: str, now: float) -> bool:
    """Whether the group has nothing to do this round (read without taking the write lock)."""
    group = records.load(db, records.GROUP, name, name)
    if group is None or group.get("Status") or group.get("_cooldown_settle") is not None or \
            refresh.active(db, name) is not None:
        return False
    if any(a.get("_next", now + 1) <= now for a in records.of_group(db, records.SCHEDULED, name)):
        return False
    instances = records.of_group(db, records.INSTANCE, name)
    states = _ec2_states(db, instances)
    return len(instances) == group["DesiredCapacity"] and all(
        i["LifecycleState"] == "InService" and i["HealthStatus"] == "Healthy" and states.get(i["InstanceId"]) ==
        "running" for i in instances) and Targets(db, group, now).settled(instances)


class Plan:
    def __init__(self):
        self.launches: list[tuple[dict, dict, str]] = []  # (subnet, RunInstances request, cause)
        self.terminations: list[str] = []
        self.notices: list[tuple[str, str, str]] = []  # lifecycle hooks' (target, subject, message)


class Round:
    """One look at one group, inside its transaction: the records moved, EC2 calls planned."""

    def __init__(self, db, name: str, launcher):
        self.db, self.name, self.launcher = db, name, launcher
        self.now = time.time()
        self.plan = Plan()

    def run(self) -> Plan | None:
        db, name = self.db, self.name
        group = records.load(db, records.GROUP, name, name)
        if group is None:
            return None
        self.group = group
        deleting = bool(group.get("Status"))
        if not deleting and not suspended(group, "ScheduledActions"):
            apply_due(db, group, self.now)
        self.hooks = [] if deleting else records.of_group(db, records.HOOK, name)
        self.targets = Targets(db, group, self.now)
        instances = records.of_group(db, records.INSTANCE, name)
        self.states = _ec2_states(db, instances)
        for instance in instances:
            self._step(instance, deleting)
        instances = [i for i in instances if not i.get("_gone")]
        self.targets.removed(instances)
        if deleting:
            if not instances:
                records.drop_group(db, name)
                return None
        else:
            self._capacity(instances)
        records.save_group(db, group)
        return self.plan

    # -- one instance -------------------------------------------------------------------------

    def _step(self, instance: dict, deleting: bool) -> None:
        state, ec2 = instance["LifecycleState"], self.states.get(instance["InstanceId"])
        if deleting and state != "Terminating:Proceed":  # ForceDelete: no hooks, no protection
            if state in choice.LIVE:
                self._take_out(instance, records.scale_in_cause(self.group, len(self.states), 0,
                                                                instance["InstanceId"]))
            self.targets.draining(instance)  # deregistered, but not waited for
            instance["LifecycleState"] = state = "Terminating:Proceed"
        if state in choice.LIVE:
            self._check_health(instance, ec2)
            state = instance["LifecycleState"]
        if state == "Pending":
            if lifecycle.begin(instance, self.hooks, lifecycle.LAUNCHING, self.now):
                records.update_activity(self.db, instance.get("_activity"), "MidLifecycleAction", 40)
                self.plan.notices += lifecycle.notices(instance, self.hooks, self.db.account_id)
            elif ec2 == "running":
                self._in_service(instance)
        elif state == "Pending:Wait":
            result = lifecycle.outcome(instance, self.now)
            if result == "CONTINUE":
                instance["LifecycleState"] = "Pending:Proceed"
            elif result == "ABANDON":
                action = next(a for a in instance["_actions"].values() if a["result"] == "ABANDON")
                reason = f"Instance failed to complete user's Lifecycle Action: Lifecycle Action with token " \
                         f"{action['token']} was abandoned: Lifecycle Action Completed with ABANDON Result"
                records.update_activity(self.db, instance.get("_activity"), "Cancelled", 100, message=reason,
                                        description=f"Launching a new EC2 instance: {instance['InstanceId']}.  "
                                                    f"Status Reason: {reason}")
                instance.update(LifecycleState="Terminating:Proceed", _activity=None)
        elif state == "Pending:Proceed" and ec2 == "running":
            self._in_service(instance)
        elif state == "InService":
            self.targets.register(instance)  # a target group attached since it came in service
        elif state == "Terminating":
            alive = ec2 not in ("shutting-down", "terminated", None)
            if alive and self._drain(instance):
                pass  # drained first, then its hooks
            elif alive and lifecycle.begin(instance, self.hooks, lifecycle.TERMINATING, self.now):
                records.update_activity(self.db, instance.get("_activity"), "MidLifecycleAction", 50)
                self.plan.notices += lifecycle.notices(instance, self.hooks, self.db.account_id)
            else:
                instance["LifecycleState"] = "Terminating:Proceed"
        elif state == "Terminating:Wait" and lifecycle.outcome(instance, self.now) is not None:
            instance["LifecycleState"] = "Terminating:Proceed"
        if instance["LifecycleState"] == "Terminating:Proceed":
            if ec2 in ("terminated", None):
                records.update_activity(self.db, instance.get("_activity"), "Successful", 100)
                records.drop(self.db, records.INSTANCE, self.name, instance["InstanceId"])
                instance["_gone"] = True
                return
            if ec2 != "shutting-down":
                self.plan.terminations.append(instance["InstanceId"])
        records.save_instance(self.db, instance)

    def _check_health(self, instance: dict, ec2: str | None) -> None:
        group = self.group
        if instance["HealthStatus"] == "Healthy" and not suspended(group, "HealthCheck"):
            grace = max(group.get("HealthCheckGracePeriod") or 0, BOOT_ALLOWANCE)
            if ec2 in GONE or ec2 is None:
                instance.update(HealthStatus="Unhealthy", _why=records.taken_out(records.UNHEALTHY_EC2))
            elif ec2 == "pending" and self.now - instance["_launched_at"] > grace:
                instance.update(HealthStatus="Unhealthy", _why=records.taken_out(records.UNHEALTHY_STATUS))
            elif group.get("HealthCheckType") == "ELB" and instance["LifecycleState"] == "InService" and \
                    self.now - instance.get("_in_service_at", self.now) >= (group.get("HealthCheckGracePeriod") or 0) \
                    and self.targets.unhealthy(instance):
                instance.update(HealthStatus="Unhealthy", _why=records.taken_out(UNHEALTHY_ELB))
        if instance["HealthStatus"] == "Unhealthy" and not suspended(group, "ReplaceUnhealthy") and \
                not suspended(group, "Terminate"):
            self._take_out(instance, instance.get("_why") or records.taken_out(records.UNHEALTHY_USER))

    def _in_service(self, instance: dict) -> None:
        self.targets.register(instance)  # registered as it comes in service, its grace period starting
        instance.update(LifecycleState="InService", _in_service_at=self.now)
        records.update_activity(self.db, instance.get("_activity"), "Successful", 100)

    def _take_out(self, instance: dict, why: str) -> None:
        records.take_out(self.db, self.group, instance, why)
        self._drain(instance)  # in the same transaction: never Terminating while still taking traffic

    def _drain(self, instance: dict) -> bool:
        """Deregister the instance from its target groups; whether it waits for them to drain."""
        if not self.targets.draining(instance):
            return False
        if not instance.get("_draining"):
            instance["_draining"] = True
            records.update_activity(self.db, instance.get("_activity"), "WaitingForELBConnectionDraining", 50)
        return True

    # -- the group's capacity -----------------------------------------------------------------

    def _capacity(self, instances: list[dict]) -> None:
        group, now = self.group, self.now
        active = refresh.active(self.db, self.name)
        if active is not None and not suspended(group, "InstanceRefresh"):
            for instance in refresh.advance(self.db, group, active, instances, now):
                self._take_out(instance, records.taken_out(records.REFRESHED, instance["InstanceId"]))
                records.save_instance(self.db, instance)
        live = choice.live(instances)
        desired = group["DesiredCapacity"]
        if len(live) > desired and not suspended(group, "Terminate"):
            current = self.launcher.template(self.db, group["_template"])
            for instance in choice.victims(live, len(live) - desired, group.get("TerminationPolicies", []),
                                           current, now):
                self._take_out(instance, records.scale_in_cause(group, len(live), desired, instance["InstanceId"]))
                records.save_instance(self.db, instance)
        elif len(live) < desired and not suspended(group, "Launch") and now >= group.get("_retry_at", 0):
            template = refresh.launch_template(group, active)
            planned: list[dict] = []
            for _ in range(min(desired - len(live), LAUNCH_BATCH)):
                subnet = choice.subnet_for_launch(group["_subnets"], instances, planned)
                planned.append(subnet)
                self.plan.launches.append((subnet, _request(group, template, subnet),
                                           records.launch_cause(group, len(live), desired)))
        busy = [i for i in instances if i["LifecycleState"] != "InService"]
        if len(live) == desired and not busy and not self.plan.launches:
            group.pop("_cause", None)  # the change it told of is done: later activities have causes of their own
            if group.get("_cooldown_settle") is not None:  # a cooldown runs from the end of its activity
                group["_cooldown_until"] = now + group.pop("_cooldown_settle")


def _request(group: dict, template: dict, subnet: dict) -> dict:
    """EC2's RunInstances request for one instance of the group in subnet."""
    request = {"MinCount": 1, "MaxCount": 1, "LaunchTemplate": dict(template)}
    if subnet.get("SubnetId"):
        request["SubnetId"] = subnet["SubnetId"]
    else:
        request["Placement"] = {"AvailabilityZone": subnet["AvailabilityZone"]}
    if group.get("_instance_type"):
        request["InstanceType"] = group["_instance_type"]
    propagated = [{"Key": t["Key"], "Value": t["Value"]} for t in group.get("Tags", []) if t.get("PropagateAtLaunch")]
    if propagated:
        request["TagSpecifications"] = [{"ResourceType": kind, "Tags": propagated} for kind in ("instance", "volume")]
    return request


def _record_launches(db, name: str, launched: list) -> list[str]:
    """Record what the launches gave (new instances, or failed activities); the instances
    launched for a group that is no longer there, to terminate."""
    group = records.load(db, records.GROUP, name, name)
    if group is None:
        return [done["InstanceId"] for _, _, done, _ in launched if done]
    now = time.time()
    for subnet, cause, done, failure in launched:
        details = {"Subnet ID": subnet.get("SubnetId") or "", "Availability Zone": subnet["AvailabilityZone"]}
        if failure is not None:
            group["_failures"] = group.get("_failures", 0) + 1
            group["_retry_at"] = now + min(RETRY_MAX, RETRY_FIRST * 2 ** (group["_failures"] - 1))
            records.start_activity(db, group, f"Launching a new EC2 instance.  Status Reason: {failure}. Launching "
                                   "EC2 instance failed.", cause, details, status="Failed", progress=100,
                                   message=failure)
            continue
        group.pop("_failures", None)
        instance_id = done["InstanceId"]
        records.save_instance(db, {
            **done, "AvailabilityZone": subnet["AvailabilityZone"], "LifecycleState": "Pending",
            "HealthStatus": "Healthy", "ProtectedFromScaleIn": bool(group.get("NewInstancesProtectedFromScaleIn")),
            "_group": name, "_subnet": subnet.get("SubnetId"), "_launched_at": now,
            "_activity": records.start_activity(db, group, f"Launching a new EC2 instance: {instance_id}", cause,
                                                details, status="PreInService", progress=30)})
    records.save_group(db, group)
    return []
