"""Auto Scaling groups: CreateAutoScalingGroup, UpdateAutoScalingGroup,
DeleteAutoScalingGroup, DescribeAutoScalingGroups and SetDesiredCapacity. They record what
the group should be; the group controller (control/autoscaling.py) launches and terminates
its instances to match."""

from __future__ import annotations

import time

from cloudlet.control import asg_records as records
from cloudlet.edge.errors import AWSError

from . import capacity, group_spec, templates, traffic
from .errors import find_group, invalid, page, paged
from .hooks import new_hook
from .instances import shown_in_group
from .policies import drop_policies

MAX_GROUPS = 500  # AWS's default quota of groups per region
# Members kept as given, for Describe to show (their checks are in group_spec.check_settings).
_KEPT = ("DefaultCooldown", "HealthCheckType", "HealthCheckGracePeriod", "TerminationPolicies",
         "NewInstancesProtectedFromScaleIn", "CapacityRebalance", "MaxInstanceLifetime", "DefaultInstanceWarmup",
         "Context", "DesiredCapacityType", "InstanceMaintenancePolicy", "DeletionProtection",
         "AvailabilityZoneDistribution", "AvailabilityZoneImpairmentPolicy", "CapacityReservationSpecification",
         "InstanceLifecyclePolicy", "ServiceLinkedRoleARN")


def shown(db, group: dict, with_instances: bool = True) -> dict:
    out = records.public(group)
    if with_instances:
        out["Instances"] = [shown_in_group(i) for i in records.of_group(db, records.INSTANCE,
                                                                         group["AutoScalingGroupName"])]
    return out


def _tag_filter(spec: dict):
    name, values = spec.get("Name") or "", spec.get("Values") or []
    if name == "tag-key":
        return lambda g: any(t["Key"] in values for t in g.get("Tags", []))
    if name == "tag-value":
        return lambda g: any(t["Value"] in values for t in g.get("Tags", []))
    if name.startswith("tag:"):
        return lambda g: any(t["Key"] == name[4:] and t["Value"] in values for t in g.get("Tags", []))
    raise invalid(f"Filter name {name} is not supported. Valid filter names are tag-key, tag-value and tag:<key>.")


class Groups:
    def create_auto_scaling_group(self, ctx, request):
        name = request["AutoScalingGroupName"]
        low, high = request["MinSize"], request["MaxSize"]
        desired = request.get("DesiredCapacity", low)
        group_spec.check_sizes(low, high, desired)
        group_spec.check_settings(request)
        hooks = [new_hook(ctx.account_id, name, spec) for spec in request.get("LifecycleHookSpecificationList") or []]
        tags = group_spec.merged_tags([], group_spec.group_tags(name, request.get("Tags") or []))
        with ctx.write() as db:
            if records.load(db, records.GROUP, name, name) is not None:
                raise AWSError("AlreadyExists", f"AutoScalingGroup by this name already exists - A group with the "
                                                f"name {name} already exists")
            if records.count(db, records.GROUP) >= MAX_GROUPS:
                raise AWSError("LimitExceeded", f"You have reached the limit of {MAX_GROUPS} Auto Scaling groups "
                                                "in this region.")
            found = templates.source(db, request, required=True)
            group = {
                "AutoScalingGroupName": name, "AutoScalingGroupARN": records.group_arn(ctx.region, ctx.account_id,
                                                                                        name),
                "MinSize": low, "MaxSize": high, "DesiredCapacity": desired, "DefaultCooldown": 300,
                "LoadBalancerNames": [], "TargetGroupARNs": [], "HealthCheckType": "EC2", "HealthCheckGracePeriod": 0,
                "CreatedTime": time.time(), "SuspendedProcesses": [], "EnabledMetrics": [], "Tags": tags,
                "TerminationPolicies": ["Default"], "NewInstancesProtectedFromScaleIn": False,
                "CapacityRebalance": False, "TrafficSources": [],
                "ServiceLinkedRoleARN": f"arn:aws:iam::{ctx.account_id}:role/aws-service-role/"
                                        f"autoscaling.amazonaws.com/{records.ROLE}",
                **{k: request[k] for k in _KEPT if request.get(k) is not None},
                **group_spec.placement(db, self.config.vpc_pool, request.get("VPCZoneIdentifier"),
                                       request.get("AvailabilityZones")),
            }
            templates.apply(group, found)
            traffic.on_create(db, group, request)
            if desired:
                group["_cause"] = records.desired_changed("a user request created an AutoScalingGroup", 0, desired)
            records.save_group(db, group)
            for hook in hooks:
                records.save(db, records.HOOK, name, hook["LifecycleHookName"], hook)
        self.wake()
        return {}

    def update_auto_scaling_group(self, ctx, request):
        name = request["AutoScalingGroupName"]
        group_spec.check_settings(request)
        with ctx.write() as db:
            group = find_group(db, name)
            old = group["DesiredCapacity"]
            low, high = request.get("MinSize", group["MinSize"]), request.get("MaxSize", group["MaxSize"])
            desired = request.get("DesiredCapacity")
            if desired is None:  # a new bound moves the desired capacity inside it, as AWS does
                desired = min(max(old, low), high) if low <= high else old
            group_spec.check_sizes(low, high, desired)
            found = templates.source(db, request, required=False)
            if found is not None:
                templates.apply(group, found)
            if request.get("VPCZoneIdentifier") or request.get("AvailabilityZones"):
                group.update(group_spec.placement(db, self.config.vpc_pool, request.get("VPCZoneIdentifier"),
                                                  request.get("AvailabilityZones")))
            group.update({k: request[k] for k in _KEPT if request.get(k) is not None}, MinSize=low, MaxSize=high,
                         DesiredCapacity=desired)
            if desired != old:
                group["_cause"] = records.desired_changed(records.constraints("a user request", group), old, desired)
            records.save_group(db, group)
        self.wake()
        return {}

    def delete_auto_scaling_group(self, ctx, request):
        name, force = request["AutoScalingGroupName"], bool(request.get("ForceDelete"))
        with ctx.write() as db:
            group = find_group(db, name, deleting_ok=True)
            if group.get("Status"):
                return {}  # being deleted already
            protection = group.get("DeletionProtection", "none")
            if protection == "prevent-all-deletion" or (force and protection == "prevent-force-deletion"):
                raise invalid(f"Deletion of AutoScalingGroup {name} is prevented by its DeletionProtection "
                              f"({protection}).")
            instances = records.of_group(db, records.INSTANCE, name)
            if not force and instances:
                raise AWSError("ResourceInUse", "You cannot delete an AutoScalingGroup while there are instances "
                                                "or pending Spot instance request(s) still in the group.")
            if not force and records.in_progress(db, name):
                raise AWSError("ScalingActivityInProgress", "You cannot delete an AutoScalingGroup while there "
                                                            "are scaling activities in progress for that group.")
            drop_policies(db, name)  # and the alarms target tracking made for them
            if not instances:
                records.drop_group(db, name)
                return {}
            for kind in (records.HOOK, records.SCHEDULED, records.REFRESH):  # ForceDelete: no waiting on them
                records.drop_kind(db, kind, name)
            capacity.set_desired(group, 0, "a user request forced the deletion of the AutoScalingGroup")
            group.update(Status="Delete in progress", MinSize=0, MaxSize=0)
            records.save_group(db, group)
        self.wake()
        return {}

    def describe_auto_scaling_groups(self, ctx, request):
        names = request.get("AutoScalingGroupNames")
        checks = [_tag_filter(f) for f in request.get("Filters") or []]
        with ctx.read() as db:
            groups = [g for g in records.every(db, records.GROUP) if (not names or g["AutoScalingGroupName"] in names)
                      and all(check(g) for check in checks)]
            got, token = page(groups, lambda g: g["AutoScalingGroupName"], request)
            out = [shown(db, g, request.get("IncludeInstances", True)) for g in got]
        return paged("AutoScalingGroups", out, token)

    def set_desired_capacity(self, ctx, request):
        name, desired = request["AutoScalingGroupName"], request["DesiredCapacity"]
        with ctx.write() as db:
            group = find_group(db, name)
            if desired > group["MaxSize"]:
                raise invalid(f"New SetDesiredCapacity value {desired} is above max value {group['MaxSize']} for "
                              "the AutoScalingGroup.")
            if desired < group["MinSize"]:
                raise invalid(f"New SetDesiredCapacity value {desired} is below min value {group['MinSize']} for "
                              "the AutoScalingGroup.")
            if request.get("HonorCooldown"):
                capacity.refuse_in_cooldown(db, group)
            if capacity.set_desired(group, desired, "a user request explicitly set group desired capacity",
                                    group.get("DefaultCooldown", 300)):
                records.save_group(db, group)
        self.wake()
        return {}
