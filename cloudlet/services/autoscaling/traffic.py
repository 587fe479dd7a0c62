"""A group's load balancer target groups: TargetGroupARNs and TrafficSources of
CreateAutoScalingGroup, Attach/Detach/DescribeLoadBalancerTargetGroups and
Attach/Detach/DescribeTrafficSources. They change the group's attachments (its note _traffic,
control/asg_targets.py); the group controller registers and deregisters its instances.

Each family sees what it attached: DescribeLoadBalancerTargetGroups and the group's
TargetGroupARNs show the target groups attached through TargetGroupARNs, the group's
TrafficSources and DescribeTrafficSources all of them, and a detach detaches only what its own
family attached. A target group must be of the caller's account and Region (another's is not
found, as AWS says of it) and of target type instance. cloudlet has no Classic Load Balancers
and no VPC Lattice: those are refused as not found."""

from __future__ import annotations

from cloudlet.control import asg_records as records
from cloudlet.control import asg_refresh as refresh
from cloudlet.control import asg_targets as targets
from cloudlet.edge.errors import AWSError
from cloudlet.store import elbv2

from .errors import find_group, invalid, page, paged

MAX_PER_CALL = 10  # target groups or traffic sources a call of Attach*/Detach* takes
MAX_PER_GROUP = 50  # AWS's quota of target groups per Auto Scaling group
ELB_ARN, LATTICE_ARN = "arn:aws:elasticloadbalancing:", "arn:aws:vpc-lattice:"
TYPES = ("elb", "elbv2", "vpc-lattice")
NO_TARGET_GROUPS = "Provided Target Groups may not be valid. Please ensure they exist and try again."
NO_CLASSIC = "Provided Load Balancers may not be valid. Please ensure they exist and try again. (cloudlet has no " \
             "Classic Load Balancers: attach ELBv2 target groups, with TargetGroupARNs or TrafficSources of type " \
             "elbv2.)"


def _target_group(db, arn: str) -> None:
    """AWS's refusal of a target group an Auto Scaling group cannot use."""
    body = elbv2.get(db, arn, elbv2.TARGET_GROUP) if arn.startswith(ELB_ARN) else None
    if body is None:
        raise invalid(NO_TARGET_GROUPS)
    if body.get("TargetType", "instance") != "instance":
        raise invalid(f"Provided Target Group '{arn}' has invalid target type. Please ensure all provided Target "
                      "Groups have target type of instance.")


def _source_arns(sources: list[dict]) -> list[str]:
    """The target group ARNs of TrafficSources (each's Type, when not given, is what its
    identifier is: an ELBv2 or VPC Lattice ARN, else a Classic Load Balancer's name)."""
    arns = []
    for source in sources:
        identifier, kind = source["Identifier"], source.get("Type")
        if kind is None:
            kind = "elbv2" if identifier.startswith(ELB_ARN) else \
                "vpc-lattice" if identifier.startswith(LATTICE_ARN) else "elb"
        if kind not in TYPES:
            raise invalid(f"Traffic source type {kind[:64]} is not supported. Valid values are: {', '.join(TYPES)}")
        if kind == "elb":
            raise invalid(NO_CLASSIC)
        if kind == "vpc-lattice":
            raise invalid(NO_TARGET_GROUPS)
        arns.append(identifier)
    return arns


def attach(db, group: dict, arns: list[str], via: str) -> None:
    """Attach the target groups (checked, each once) to group through via's family."""
    arns = list(dict.fromkeys(arns))
    for arn in arns:
        _target_group(db, arn)
    current = {a["Identifier"]: a for a in targets.attachments(group)}
    for arn in arns:
        found = current.get(arn)
        if found is None:
            current[arn] = {"Identifier": arn, "Type": targets.ELB, "via": [via], "removing": False}
        elif found["removing"]:  # attached again while its instances drain: it stays, of via alone
            found.update(via=[via], removing=False)
        elif via not in found["via"]:
            found["via"].append(via)
    if len([a for a in current.values() if not a["removing"]]) > MAX_PER_GROUP:
        raise AWSError("LimitExceeded", f"You have reached the limit of {MAX_PER_GROUP} target groups for the Auto "
                                        f"Scaling group {group['AutoScalingGroupName']}.")
    group["_traffic"] = list(current.values())
    _show(group)


def detach(group: dict, arns: list[str], via: str) -> None:
    """What via's family attached of arns goes Removing (or stays, attached by the other)."""
    for attachment in targets.attachments(group):
        if attachment["Identifier"] in arns and via in attachment["via"] and not attachment["removing"]:
            if attachment["via"] == [via]:
                attachment["removing"] = True
            else:
                attachment["via"].remove(via)
    _show(group)


def _show(group: dict) -> None:
    live = [a for a in targets.attachments(group) if not a["removing"]]
    group["TargetGroupARNs"] = [a["Identifier"] for a in live if targets.VIA_TARGET_GROUPS in a["via"]]
    group["TrafficSources"] = [{"Identifier": a["Identifier"], "Type": a["Type"]} for a in live]


def on_create(db, group: dict, request: dict) -> None:
    """The target groups CreateAutoScalingGroup names, attached (LoadBalancerNames refused)."""
    if request.get("LoadBalancerNames"):
        raise invalid(NO_CLASSIC)
    by_arn, sources = request.get("TargetGroupARNs") or [], request.get("TrafficSources") or []
    if len(by_arn) > MAX_PER_GROUP or len(sources) > MAX_PER_GROUP:
        raise AWSError("LimitExceeded", f"You have reached the limit of {MAX_PER_GROUP} target groups for the Auto "
                                        f"Scaling group {group['AutoScalingGroupName']}.")
    attach(db, group, by_arn, targets.VIA_TARGET_GROUPS)
    attach(db, group, _source_arns(sources), targets.VIA_TRAFFIC_SOURCES)


def _state(db, group: dict, attachment: dict) -> str:
    """Adding, Added, InService (an instance passed its checks) or Removing, as AWS shows it."""
    if attachment["removing"]:
        return "Removing"
    body = elbv2.get(db, attachment["Identifier"], elbv2.TARGET_GROUP)
    if body is None:
        return "Added"  # deleted since: nothing is registered in it any more
    instances = {i["InstanceId"] for i in records.of_group(db, records.INSTANCE, group["AutoScalingGroupName"])
                 if i["LifecycleState"] == "InService"}
    mine = {t["id"]: t["state"] for t in elbv2.targets(db, attachment["Identifier"])
            if t["id"] in instances and t["port"] == body.get("Port")}
    if elbv2.HEALTHY in mine.values():
        return "InService"
    return "Added" if instances <= {i for i, s in mine.items() if s != elbv2.DRAINING} else "Adding"


def _many(items: list, what: str) -> None:
    if len(items) > MAX_PER_CALL:
        raise invalid(f"The number of {what} must be at most {MAX_PER_CALL}.")


class Traffic:
    def _change(self, ctx, request, member: str, via: str, change) -> dict:
        items = request[member]
        _many(items, "target groups" if member == "TargetGroupARNs" else "traffic sources")
        with ctx.write() as db:
            group = find_group(db, request["AutoScalingGroupName"])
            if change is attach and refresh.active(db, group["AutoScalingGroupName"]) is not None:
                raise AWSError("InstanceRefreshInProgress", "An Instance Refresh is already in progress and blocks "
                                                            "the execution of this request.")
            arns = items if member == "TargetGroupARNs" else [s["Identifier"] for s in items]
            change(db, group, arns, via)
            records.save_group(db, group)
        self.wake()
        return {}

    def attach_load_balancer_target_groups(self, ctx, request):
        return self._change(ctx, request, "TargetGroupARNs", targets.VIA_TARGET_GROUPS, attach)

    def detach_load_balancer_target_groups(self, ctx, request):
        return self._change(ctx, request, "TargetGroupARNs", targets.VIA_TARGET_GROUPS,
                            lambda db, group, arns, via: detach(group, arns, via))

    def attach_traffic_sources(self, ctx, request):
        _many(request["TrafficSources"], "traffic sources")
        _source_arns(request["TrafficSources"])  # classic and VPC Lattice refused before anything is looked up
        return self._change(ctx, request, "TrafficSources", targets.VIA_TRAFFIC_SOURCES, attach)

    def detach_traffic_sources(self, ctx, request):
        return self._change(ctx, request, "TrafficSources", targets.VIA_TRAFFIC_SOURCES,
                            lambda db, group, arns, via: detach(group, arns, via))

    def _states(self, ctx, request, *vias: str) -> list[tuple[dict, str]]:
        """(attachment, state) of those the families of vias attached."""
        with ctx.read() as db:
            group = find_group(db, request["AutoScalingGroupName"], deleting_ok=True)
            return [(a, _state(db, group, a)) for a in targets.attachments(group) if set(vias) & set(a["via"])]

    def describe_load_balancer_target_groups(self, ctx, request):
        found = self._states(ctx, request, targets.VIA_TARGET_GROUPS)
        got, token = page(found, lambda e: e[0]["Identifier"], request, default=100, maximum=100)
        return paged("LoadBalancerTargetGroups", [{"LoadBalancerTargetGroupARN": a["Identifier"], "State": state}
                                                  for a, state in got], token)

    def describe_traffic_sources(self, ctx, request):
        kind = request.get("TrafficSourceType")
        if kind is not None and kind not in TYPES:
            raise invalid(f"Traffic source type {kind[:64]} is not supported. Valid values are: {', '.join(TYPES)}")
        found = self._states(ctx, request, targets.VIA_TARGET_GROUPS, targets.VIA_TRAFFIC_SOURCES)
        if kind not in (None, targets.ELB):
            found = []  # cloudlet's traffic sources are all of type elbv2
        got, token = page(found, lambda e: e[0]["Identifier"], request, default=50, maximum=50)
        return paged("TrafficSources", [{"TrafficSource": a["Identifier"], "Identifier": a["Identifier"],
                                         "Type": a["Type"], "State": state} for a, state in got], token)
