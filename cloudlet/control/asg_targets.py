"""An Auto Scaling group's ELBv2 target groups (its traffic sources of type elbv2), as the group
controller keeps them, through the records ELBv2 shares (cloudlet/store/elbv2.py):

    InService instance      registered in every target group attached (port: the group's),
                            also those InService when the target group is attached
    terminating instance    deregistered first; it stays Terminating (its activity
                            WaitingForELBConnectionDraining) until the deregistration delay of
                            each of its target groups has passed, then its lifecycle hooks run
    ELB health check        with HealthCheckType ELB, an InService instance past its grace
                            period whose target is unhealthy in any attached target group is
                            Unhealthy (and so replaced)
    detached target group   Removing: the group's instances deregistered from it; gone from the
                            group once none of them is left in it

A group's attachments are its note _traffic: [{"Identifier": ARN, "Type": "elbv2", "via":
[the operations' families that attached it: TargetGroupARNs, TrafficSources], "removing":
bool}]. The API (services/autoscaling/traffic.py) changes them; this module reads them."""

from __future__ import annotations

from cloudlet.store import elbv2

ELB = "elbv2"
VIA_TARGET_GROUPS, VIA_TRAFFIC_SOURCES = "TargetGroupARNs", "TrafficSources"
DEFAULT_DELAY = 300.0  # deregistration_delay.timeout_seconds of a target group that does not say
UNHEALTHY_ELB = "an instance was taken out of service in response to an ELB system health check failure."


def attachments(group: dict) -> list[dict]:
    return group.get("_traffic") or []


def attached(group: dict) -> list[str]:
    """The ARNs of the target groups the group's instances belong in."""
    return [a["Identifier"] for a in attachments(group) if not a["removing"]]


def delay(target_group: dict) -> float:
    return float((target_group.get("_attributes") or {}).get("deregistration_delay.timeout_seconds", DEFAULT_DELAY))


class Targets:
    """One round's view of a group's target groups (those deleted meanwhile left out), and the
    registrations that keep them as the group's instances are."""

    def __init__(self, db, group: dict, now: float):
        self.db, self.group, self.now = db, group, now
        self.groups: dict[str, dict] = {}
        self.targets: dict[str, dict[str, dict]] = {}  # target group ARN -> instance ID -> its target
        for attachment in attachments(group):
            body = elbv2.get(db, attachment["Identifier"], elbv2.TARGET_GROUP)
            if body is not None:
                self.groups[attachment["Identifier"]] = body
                self.targets[attachment["Identifier"]] = {t["id"]: t for t in elbv2.targets(db, body["TargetGroupArn"])
                                                          if t["port"] == body.get("Port")}

    def _mine(self, arns) -> list[tuple[str, dict]]:
        return [(arn, self.groups[arn]) for arn in arns if arn in self.groups]

    def register(self, instance: dict) -> None:
        """An InService instance into every attached target group it is not (or is draining) in."""
        for arn, body in self._mine(attached(self.group)):
            target = self.targets[arn].get(instance["InstanceId"])
            if target is None or target["state"] == elbv2.DRAINING:
                elbv2.register(self.db, arn, instance["InstanceId"], body["Port"], instance.get("AvailabilityZone"),
                               at=self.now)
                self.targets[arn][instance["InstanceId"]] = {"state": elbv2.INITIAL, "since": self.now}

    def draining(self, instance: dict, arns=None) -> bool:
        """Deregister the instance (from arns, else from every target group of the group);
        whether it is still draining from any of them."""
        waiting = False
        for arn, body in self._mine(arns if arns is not None else self.groups):
            target = self.targets[arn].get(instance["InstanceId"])
            if target is None:
                continue
            if target["state"] != elbv2.DRAINING:
                elbv2.deregister(self.db, arn, instance["InstanceId"], body["Port"], at=self.now)
                target.update(state=elbv2.DRAINING, since=self.now)
            if target["since"] + delay(body) > self.now:
                waiting = True
            else:  # its delay is over: it goes now, whether or not the data plane got to it first
                elbv2.drained(self.db, arn, delay(body), at=self.now)
                self.targets[arn].pop(instance["InstanceId"], None)
        return waiting

    def unhealthy(self, instance: dict) -> bool:
        return any(self.targets[arn].get(instance["InstanceId"], {}).get("state") == elbv2.UNHEALTHY
                   for arn, _ in self._mine(attached(self.group)))

    def removed(self, instances: list[dict]) -> None:
        """Detached target groups: the group's instances deregistered from them; each goes from
        the group once none of its instances is left in it (or it was deleted)."""
        kept = []
        for attachment in attachments(self.group):
            arn = attachment["Identifier"]
            if attachment["removing"]:
                for instance in instances:
                    self.draining(instance, [arn])
                ids = {i["InstanceId"] for i in instances}
                if arn not in self.groups or not ids & set(self.targets[arn]):
                    continue
            kept.append(attachment)
        if len(kept) != len(attachments(self.group)):
            self.group["_traffic"] = kept

    def settled(self, instances: list[dict]) -> bool:
        """Whether a round would change nothing here (read without the write lock)."""
        if any(a["removing"] for a in attachments(self.group)):
            return False
        elb_checked = self.group.get("HealthCheckType") == "ELB"
        for instance in instances:
            for arn, _ in self._mine(attached(self.group)):
                target = self.targets[arn].get(instance["InstanceId"])
                if target is None or target["state"] == elbv2.DRAINING or \
                        (elb_checked and target["state"] == elbv2.UNHEALTHY):
                    return False
        return True
