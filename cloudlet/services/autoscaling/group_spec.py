"""The checks CreateAutoScalingGroup and UpdateAutoScalingGroup share, with AWS's refusals:
sizes, where the group launches (subnets of VPCZoneIdentifier, or the default subnets of
AvailabilityZones), health checks, termination policies, tags, and the members that ask for
what cloudlet does not run (placement groups, warm capacity units other than instances). The
load balancers and target groups a group is attached to are checked in traffic.py."""

from __future__ import annotations

from cloudlet.config import zones
from cloudlet.control.asg_choice import POLICIES
from cloudlet.edge.errors import AWSError
from cloudlet.services.common.tags import reserved
from cloudlet.services.ec2.vpcs import default_vpc
from cloudlet.store.schema import subnets as subnets_table

from .errors import at_least, invalid, within

HEALTH_CHECK_TYPES = ("EC2", "ELB", "VPC_LATTICE", "EBS")
MAX_TAGS = 50
RESOURCE_TYPE = "auto-scaling-group"
_LIFETIME = (86400, 31536000)
_PROTECTION = ("none", "prevent-force-deletion", "prevent-all-deletion")


def check_sizes(low: int, high: int, desired: int) -> None:
    at_least(low, 0, "minSize")
    at_least(high, 0, "maxSize")
    if high < low:
        raise invalid(f"Max bound, {high}, must be greater than or equal to min bound, {low}")
    if not low <= desired <= high:
        raise invalid(f"Desired capacity:{desired} must be between the specified min size:{low} and max size:{high}")


def placement(db, pool: str, identifier: str | None, wanted_zones: list[str] | None) -> dict:
    """{"_subnets": [{"SubnetId", "AvailabilityZone"}], "AvailabilityZones", "VPCZoneIdentifier"}."""
    legal = [z["ZoneName"] for z in zones(db.region)]
    for zone in wanted_zones or []:
        if zone not in legal:
            raise invalid(f"Invalid Availability Zone: {zone}")
    ids = list(dict.fromkeys(s.strip() for s in (identifier or "").split(",") if s.strip()))
    if ids:
        rows = {r["subnet_id"]: r for r in db.select(subnets_table, subnets_table.c.subnet_id.in_(ids))}
        for subnet_id in ids:
            if subnet_id not in rows:
                raise invalid(f"The subnet ID '{subnet_id}' does not exist")
        chosen = [{"SubnetId": s, "AvailabilityZone": rows[s]["zone"]} for s in ids]
        if wanted_zones and set(wanted_zones) != {c["AvailabilityZone"] for c in chosen}:
            raise invalid("The availability zones of the specified subnets and the Auto Scaling group do not match")
        shown = list(dict.fromkeys(c["AvailabilityZone"] for c in chosen))
        return {"_subnets": chosen, "AvailabilityZones": shown, "VPCZoneIdentifier": ",".join(ids)}
    if not wanted_zones:
        raise invalid("At least one Availability Zone or VPC Subnet is required.")
    try:
        vpc = default_vpc(db, pool)
    except AWSError as error:
        raise invalid(error.message) from None
    defaults = {r["zone"]: r["subnet_id"] for r in db.select(
        subnets_table, subnets_table.c.vpc_id == vpc["vpc_id"], subnets_table.c.default_for_az == 1)}
    chosen = []
    for zone in dict.fromkeys(wanted_zones):
        if zone not in defaults:
            raise invalid(f"No default subnet for availability zone: '{zone}'.")
        chosen.append({"SubnetId": defaults[zone], "AvailabilityZone": zone})
    return {"_subnets": chosen, "AvailabilityZones": [c["AvailabilityZone"] for c in chosen], "VPCZoneIdentifier": ""}


def check_settings(request) -> None:
    """The members other than sizes, placement and source, as far as they are given."""
    if request.get("HealthCheckType") is not None and request["HealthCheckType"] not in HEALTH_CHECK_TYPES:
        raise invalid(f"Health check type {request['HealthCheckType']} is not supported. Valid values are: "
                      f"{', '.join(HEALTH_CHECK_TYPES)}")
    at_least(request.get("HealthCheckGracePeriod"), 0, "healthCheckGracePeriod")
    at_least(request.get("DefaultCooldown"), 0, "defaultCooldown")
    at_least(request.get("DefaultInstanceWarmup"), -1, "defaultInstanceWarmup")
    for policy in request.get("TerminationPolicies") or []:
        if policy not in POLICIES:
            raise invalid(f"Termination policy {policy} is not supported. Valid values are: {', '.join(POLICIES)}")
    lifetime = request.get("MaxInstanceLifetime")
    if lifetime and not _LIFETIME[0] <= lifetime <= _LIFETIME[1]:
        raise invalid(f"The maximum instance lifetime must be 0 or between {_LIFETIME[0]} and {_LIFETIME[1]} "
                      "seconds.")
    if request.get("DesiredCapacityType", "units") != "units":
        raise invalid("cloudlet counts capacity in instances: DesiredCapacityType must be units (vcpu and memory-mib "
                      "need instance requirements, which cloudlet does not model).")
    if request.get("DeletionProtection", "none") not in _PROTECTION:
        raise invalid(f"DeletionProtection must be one of {', '.join(_PROTECTION)}.")
    if request.get("PlacementGroup"):
        raise invalid(f"Placement group '{request['PlacementGroup']}' is not found")
    maintenance = request.get("InstanceMaintenancePolicy") or {}
    if maintenance.get("MinHealthyPercentage") not in (None, -1):
        within(maintenance["MinHealthyPercentage"], 0, 100, "instanceMaintenancePolicy.minHealthyPercentage")
    if maintenance.get("MaxHealthyPercentage") not in (None, -1):
        within(maintenance["MaxHealthyPercentage"], 100, 200, "instanceMaintenancePolicy.maxHealthyPercentage")


def group_tags(name: str, given: list[dict]) -> list[dict]:
    """The tags of a request, as the group's TagDescriptions; AWS's refusals of bad ones."""
    out: dict[str, dict] = {}
    for tag in given:
        key = tag.get("Key")
        if not key:
            raise invalid("Tag key must not be empty")
        if reserved(key):
            raise invalid(f"Tag keys starting with 'aws:' are reserved for internal use: {key}")
        if tag.get("ResourceId") not in (None, name):
            raise invalid(f"AutoScalingGroup name not found - AutoScalingGroup {tag['ResourceId']} not found")
        if tag.get("ResourceType") not in (None, RESOURCE_TYPE):
            raise invalid(f"Invalid resource type: {tag['ResourceType']}. Valid value: {RESOURCE_TYPE}")
        out[key] = {"ResourceId": name, "ResourceType": RESOURCE_TYPE, "Key": key, "Value": tag.get("Value") or "",
                    "PropagateAtLaunch": bool(tag.get("PropagateAtLaunch", False))}
    return list(out.values())


def merged_tags(current: list[dict], new: list[dict]) -> list[dict]:
    """current with new put over it by key; AWS's limit of 50 a group."""
    out = {t["Key"]: t for t in current}
    out.update({t["Key"]: t for t in new})
    if len(out) > MAX_TAGS:
        raise AWSError("LimitExceeded", f"The number of tags on an Auto Scaling group cannot exceed {MAX_TAGS}.")
    return sorted(out.values(), key=lambda t: t["Key"])
