"""Target groups: CreateTargetGroup, DescribeTargetGroups, ModifyTargetGroup,
DeleteTargetGroup and their attributes. Which load balancers use a group is worked out from
the listeners and rules (users.py) each time it is shown."""

from __future__ import annotations

from cloudlet.edge.errors import AWSError
from cloudlet.store import elbv2 as records
from cloudlet.store.elbv2 import load_balancers_of
from cloudlet.store.schema import vpcs

from . import attributes, lb_spec, tg_spec
from .errors import find, invalid, not_found
from .paging import page
from .tagging import checked_tags

MAX_TARGET_GROUPS = 3000  # AWS's quota per region
_COMPARED = ("Protocol", "Port", "VpcId", "TargetType", "ProtocolVersion", *tg_spec.SHOWN)


def shown(group: dict, users: dict) -> dict:
    return {**records.public(group), "LoadBalancerArns": users.get(group["TargetGroupArn"], [])}


class TargetGroups:
    def create_target_group(self, ctx, request):
        name = request["Name"]
        lb_spec.check_name(name, "Target group")
        basic = tg_spec.basics(request)
        check = tg_spec.health_check(basic, request)
        tags = checked_tags(request.get("Tags"))
        with ctx.write() as db:
            if db.one(vpcs, vpcs.c.vpc_id == basic["VpcId"]) is None:
                raise AWSError("ValidationError", f"The VPC ID '{basic['VpcId']}' is not found")
            same = records.by_name(db, records.TARGET_GROUP, name)
            wanted = {**basic, **check}
            if same is not None:
                if any(same.get(k) != wanted.get(k) for k in _COMPARED):
                    raise AWSError("DuplicateTargetGroupName", "A target group with the same name "
                                                               f"'{name}' exists, but with different settings")
                return {"TargetGroups": [shown(same, load_balancers_of(db))]}
            if records.count(db, records.TARGET_GROUP) >= MAX_TARGET_GROUPS:
                raise AWSError("TooManyTargetGroups", "The quota of target groups has been reached")
            arn = tg_spec.new_arn(db.region, db.account_id, name)
            group = {"TargetGroupArn": arn, "TargetGroupName": name, **wanted,
                     "_attributes": attributes.defaults(attributes.target_group(basic["Protocol"],
                                                                                basic["TargetType"])),
                     "_tags": tags}
            records.put(db, records.TARGET_GROUP, arn, name, group)
        return {"TargetGroups": [shown(group, {})]}

    def describe_target_groups(self, ctx, request):
        arns, names, lb = request.get("TargetGroupArns"), request.get("Names"), request.get("LoadBalancerArn")
        if sum(map(bool, (arns, names, lb))) > 1:
            raise invalid("Only one of load balancer ARN, target group ARNs and names can be specified")
        with ctx.read() as db:
            users = load_balancers_of(db)
            if arns:
                found = [find(db, records.TARGET_GROUP, arn) for arn in dict.fromkeys(arns)]
            elif names:
                found = [records.by_name(db, records.TARGET_GROUP, n) for n in dict.fromkeys(names)]
                if None in found:
                    raise not_found(records.TARGET_GROUP)
            else:
                if lb:
                    find(db, records.LOAD_BALANCER, lb)
                found = [g for g in records.objects_of(db, records.TARGET_GROUP)
                         if not lb or lb in users.get(g["TargetGroupArn"], [])]
        return page([shown(g, users) for g in found], lambda g: [g["TargetGroupName"], g["TargetGroupArn"]],
                    request, "TargetGroups")

    def modify_target_group(self, ctx, request):
        with ctx.write() as db:
            group = find(db, records.TARGET_GROUP, request["TargetGroupArn"])
            group.update(tg_spec.health_check(group, request, group))
            records.put(db, records.TARGET_GROUP, group["TargetGroupArn"], group["TargetGroupName"], group)
            out = shown(group, load_balancers_of(db))
        self.wake_controller()
        return {"TargetGroups": [out]}

    def delete_target_group(self, ctx, request):
        with ctx.write() as db:
            group = records.get(db, request["TargetGroupArn"], records.TARGET_GROUP)
            if group is None:
                return {}  # as AWS: deleting what is gone succeeds
            if load_balancers_of(db).get(group["TargetGroupArn"]):
                raise AWSError("ResourceInUse", f"Target group '{group['TargetGroupArn']}' is currently in use by a "
                                                "listener or a rule")
            records.delete(db, group["TargetGroupArn"])
        self.wake_controller()
        return {}

    def describe_target_group_attributes(self, ctx, request):
        with ctx.read() as db:
            group = find(db, records.TARGET_GROUP, request["TargetGroupArn"])
        return {"Attributes": [{"Key": k, "Value": v} for k, v in group["_attributes"].items()]}

    def modify_target_group_attributes(self, ctx, request):
        with ctx.write() as db:
            group = find(db, records.TARGET_GROUP, request["TargetGroupArn"])
            table = attributes.target_group(group["Protocol"], group["TargetType"])
            group["_attributes"] = attributes.changed(table, group["_attributes"], request["Attributes"],
                                                      "Target group")
            records.put(db, records.TARGET_GROUP, group["TargetGroupArn"], group["TargetGroupName"], group)
        self.wake_controller()
        return {"Attributes": [{"Key": k, "Value": v} for k, v in group["_attributes"].items()]}
