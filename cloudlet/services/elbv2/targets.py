"""Targets: RegisterTargets, DeregisterTargets and DescribeTargetHealth. Registering checks
what a target may be (the caller's running instance in the group's VPC, or an address a VPC
could reach — never the host's, a link-local or a VPC router's); the data plane
(control/elb.py) checks their health and writes it back, and DescribeTargetHealth words it as
AWS does."""

from __future__ import annotations

import ipaddress
import json

from cloudlet.edge.errors import AWSError
from cloudlet.store import elbv2 as records
from cloudlet.store.elbv2 import load_balancers_of
from cloudlet.store.schema import ec2_instances, subnets, vpcs

from .errors import find, within

MAX_TARGETS = 1000  # AWS's quota of targets per target group
_PRIVATE = [ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10")]
_DESCRIPTIONS = {"Elb.RegistrationInProgress": "Target registration is in progress",
                 "Elb.InitialHealthChecking": "Initial health checks in progress",
                 "Target.ResponseCodeMismatch": "Health checks failed with these codes: [{}]",
                 "Target.Timeout": "Request timed out", "Target.FailedHealthChecks": "Health checks failed",
                 "Target.DeregistrationInProgress": "Target deregistration is in progress",
                 "Target.NotRegistered": "Target is not registered to the target group",
                 "Target.NotInUse": "Target group is not configured to receive traffic from the load balancer",
                 "Target.HealthCheckDisabled": "Health checks are disabled"}


def _invalid(message: str) -> AWSError:
    return AWSError("InvalidTarget", message)


def _instance_zones(db, group: dict, targets: list[dict]) -> dict[str, str]:
    """instance id -> its zone, for the instances among targets; AWS names every one that
    cannot be registered, grouped by why."""
    zones, why = {}, {}
    for target_id in dict.fromkeys(t["Id"] for t in targets):
        row = db.one(ec2_instances, ec2_instances.c.instance_id == target_id)
        body = json.loads(row["body"]) if row else {}
        if row is None:
            why.setdefault("The following instances do not exist", []).append(target_id)
        elif row["state"] != "running":
            why.setdefault("The following targets are not in a running state and cannot be registered",
                           []).append(target_id)
        elif body.get("VpcId") != group["VpcId"]:
            why.setdefault(f"The following targets are not in the target group VPC '{group['VpcId']}'",
                           []).append(target_id)
        else:
            zones[target_id] = body["Placement"]["AvailabilityZone"]
    for text, ids in why.items():
        raise _invalid(f"{text}: " + ", ".join(f"'{i}'" for i in ids))
    return zones


def _ip_zone(db, group: dict, target: dict) -> str:
    try:
        address = ipaddress.IPv4Address(target["Id"])
    except ValueError:
        raise _invalid(f"The IP address '{target['Id']}' is not a valid IPv4 address") from None
    vpc = db.one(vpcs, vpcs.c.vpc_id == group["VpcId"])
    for row in db.select(subnets, subnets.c.vpc_id == group["VpcId"]):
        net = ipaddress.ip_network(row["cidr"])
        if address in net:
            if int(address) - int(net.network_address) < 4 or address == net.broadcast_address:
                raise _invalid(f"The IP address '{address}' is reserved in subnet '{row['subnet_id']}'")
            if target.get("AvailabilityZone") not in (None, row["zone"]):
                raise _invalid(f"The Availability Zone of '{address}' is '{row['zone']}'")
            return row["zone"]
    if vpc and address in ipaddress.ip_network(vpc["cidr"]) or not any(address in n for n in _PRIVATE):
        raise _invalid(f"The IP address '{address}' is not within a subnet of VPC '{group['VpcId']}' or one of the "
                       "ranges a VPC can reach (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 100.64.0.0/10)")
    if target.get("AvailabilityZone") != "all":
        raise _invalid(f"The IP address '{address}' is outside the VPC: its Availability Zone must be 'all'")
    return "all"


def _checked(db, group: dict, targets: list[dict]) -> list[tuple[str, int, str]]:
    """(id, port, zone) of each target, or AWS's refusal of the call."""
    if group["TargetType"] == "alb":
        raise _invalid("Targets of type 'alb' are not supported by cloudlet yet")
    instances = _instance_zones(db, group, targets) if group["TargetType"] == "instance" else None
    out = []
    for target in targets:
        port = target.get("Port") or group["Port"]
        within(port, 1, 65535, "port")
        out.append((target["Id"], port, instances[target["Id"]] if instances is not None else
                    _ip_zone(db, group, target)))
    return out


def _health(group: dict, target: dict | None, used: bool) -> dict:
    if target is None:
        state, reason = "unused", "Target.NotRegistered"
    elif not used and target["state"] != records.DRAINING:
        state, reason = "unused", "Target.NotInUse"
    elif not group.get("HealthCheckEnabled", True) and target["state"] != records.DRAINING:
        state, reason = "unavailable", "Target.HealthCheckDisabled"
    else:
        state, reason = target["state"], target["reason"]
    out = {"State": state}
    if reason:
        code, _, detail = reason.partition(":")
        out.update(Reason=code, Description=_DESCRIPTIONS.get(code, code).format(detail))
    return out


class Targets:
    def register_targets(self, ctx, request):
        with ctx.write() as db:
            group = find(db, records.TARGET_GROUP, request["TargetGroupArn"])
            checked = _checked(db, group, request["Targets"])
            known = {(t["id"], t["port"]) for t in records.targets(db, group["TargetGroupArn"])}
            if len(known | {(i, p) for i, p, _ in checked}) > MAX_TARGETS:
                raise AWSError("TooManyTargets", "You've reached the limit on the number of targets per target group")
            for target_id, port, zone in checked:
                records.register(db, group["TargetGroupArn"], target_id, port, zone)
        self.wake_controller()
        return {}

    def deregister_targets(self, ctx, request):
        with ctx.write() as db:
            group = find(db, records.TARGET_GROUP, request["TargetGroupArn"])
            registered = {(t["id"], t["port"]) for t in records.targets(db, group["TargetGroupArn"])}
            wanted = [(t["Id"], t.get("Port") or group["Port"]) for t in request["Targets"]]
            missing = [f"'{i}'" for i, p in wanted if (i, p) not in registered]
            if missing:
                raise _invalid(f"The following targets are not registered in target group "
                               f"'{group['TargetGroupArn']}': {', '.join(missing)}")
            for target_id, port in wanted:
                records.deregister(db, group["TargetGroupArn"], target_id, port)
        self.wake_controller()
        return {}

    def describe_target_health(self, ctx, request):
        with ctx.read() as db:
            group = find(db, records.TARGET_GROUP, request["TargetGroupArn"])
            used = bool(load_balancers_of(db).get(group["TargetGroupArn"]))
            registered = {(t["id"], t["port"]): t for t in records.targets(db, group["TargetGroupArn"])}
        asked = [(t["Id"], t.get("Port") or group["Port"]) for t in request.get("Targets") or []] or list(registered)
        out = []
        for target_id, port in asked:
            target = registered.get((target_id, port))
            check_port = group.get("HealthCheckPort", "traffic-port")
            description = {"Target": {"Id": target_id, "Port": port,
                                      **({"AvailabilityZone": target["zone"]} if target and target["zone"] else {})},
                           "HealthCheckPort": str(port) if check_port == "traffic-port" else check_port,
                           "TargetHealth": _health(group, target, used)}
            out.append(description)
        return {"TargetHealthDescriptions": out}
