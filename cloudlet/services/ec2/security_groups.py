"""EC2 security groups: CreateSecurityGroup, DeleteSecurityGroup, DescribeSecurityGroups and
the two questions about references across VPCs, which no VPC here can make.

A group is a "security-group" row of ec2_vpc_objects whose body is the group as AWS shows
it, but with its rules as a list of SecurityGroupRules ("Rules", see sg_permissions.py) that
DescribeSecurityGroups folds into IpPermissions. The rules are the network reconciler's to
enforce; the API only records them (sg_rules.py changes them) and wakes it.

Every VPC has a default group, named "default", whose id is the VPC row's security_group_id
and whose row is made the first time anything reads it (ensure_default_group). Network
interfaces name their groups through resolve_groups.
"""

from __future__ import annotations

import json

from cloudlet import ids
from cloudlet.edge.errors import AWSError
from cloudlet.services.common import filters, pagination, tags
from cloudlet.store.schema import ec2_network_interfaces, vpcs
from cloudlet.store.schema import ec2_vpc_objects as objects

from .network_events import wake_network
from .sg_permissions import TEXT, TEXT_SET, description, ip_permissions
from .vpcs import default_vpc

KIND = "security-group"
MAX_GROUPS = 2500  # AWS's default quota of VPC security groups per region
MAX_PER_INTERFACE = 5


def _exists(db, group_id: str) -> bool:
    return bool(db.one(objects, objects.c.object_id == group_id, objects.c.kind == KIND)
                or db.one(vpcs, vpcs.c.security_group_id == group_id))


tags.register(tags.ResourceKind("sg", KIND, _exists, "InvalidGroup.NotFound"))


def new_rule(db, group_id: str, egress: bool, proto: str, low: int, high: int, peer: dict,
             text: str | None = None) -> dict:
    """A rule of group_id; peer is {"CidrIpv4": ...} or {"ReferencedGroupInfo": {...}}."""
    rule = {"SecurityGroupRuleId": ids.resource_id("sgr"), "GroupId": group_id, "GroupOwnerId": db.account_id,
            "IsEgress": egress, "IpProtocol": proto, "FromPort": low, "ToPort": high, **peer}
    if text is not None:
        rule["Description"] = text
    return rule


def _new_group(db, group_id: str, name: str, text: str, vpc_id: str, rules: list[dict]) -> dict:
    body = {"GroupId": group_id, "GroupName": name, "Description": text, "VpcId": vpc_id,
            "OwnerId": db.account_id,
            "SecurityGroupArn": ids.arn("ec2", db.region, db.account_id, f"security-group/{group_id}"),
            "Rules": rules}
    db.insert(objects, object_id=group_id, kind=KIND, vpc_id=vpc_id, body=json.dumps(body))
    return body


def _everywhere(db, group_id: str) -> dict:
    return new_rule(db, group_id, True, "-1", -1, -1, {"CidrIpv4": "0.0.0.0/0"})


def ensure_default_group(db, vpc_row: dict) -> dict:
    """The VPC's default group, made on first use as AWS has it: all traffic in from its own
    members, all traffic out."""
    group_id = vpc_row["security_group_id"]
    row = db.one(objects, objects.c.object_id == group_id)
    if row:
        return json.loads(row["body"])
    itself = new_rule(db, group_id, False, "-1", -1, -1,
                      {"ReferencedGroupInfo": {"GroupId": group_id, "UserId": db.account_id}})
    return _new_group(db, group_id, "default", "default VPC security group", vpc_row["vpc_id"],
                      [itself, _everywhere(db, group_id)])


def save(db, group: dict) -> None:
    db.update(objects, objects.c.object_id == group["GroupId"], body=json.dumps(group))


def same_name(a: str, b: str) -> bool:
    return a.lower() == b.lower()  # AWS: group names are case-insensitive


def _vpc(db, vpc_id: str) -> dict:
    row = db.one(vpcs, vpcs.c.vpc_id == vpc_id)
    if row is None:
        raise AWSError("InvalidVpcID.NotFound", f"The vpc ID '{vpc_id}' does not exist")
    return row


def groups_of(db, vpc_id: str | None = None) -> list[dict]:
    """The groups of one VPC, or of every VPC, default groups included."""
    for vpc in db.select(vpcs, *([vpcs.c.vpc_id == vpc_id] if vpc_id else [])):
        ensure_default_group(db, vpc)
    where = [objects.c.kind == KIND] + ([objects.c.vpc_id == vpc_id] if vpc_id else [])
    return [json.loads(r["body"]) for r in db.select(objects, *where, order_by=objects.c.object_id)]


def check_id(group_id: str) -> None:
    if not group_id.startswith("sg-"):
        raise AWSError("InvalidGroupId.Malformed", f'Invalid id: "{group_id}" (expecting "sg-...")')


def find_group(db, pool: str, group_id: str | None = None, group_name: str | None = None) -> dict:
    """The group a request names: by id, or by name in the default VPC (as AWS, which takes
    names only there)."""
    if group_id:
        check_id(group_id)
        row = db.one(objects, objects.c.object_id == group_id, objects.c.kind == KIND)
        if row:
            return json.loads(row["body"])
        vpc = db.one(vpcs, vpcs.c.security_group_id == group_id)
        if vpc is None:
            raise AWSError("InvalidGroup.NotFound", f"The security group '{group_id}' does not exist")
        return ensure_default_group(db, vpc)
    if not group_name:
        raise AWSError("MissingParameter", "The request must contain the parameter groupName or groupId")
    vpc_id = default_vpc(db, pool)["vpc_id"]
    found = [g for g in groups_of(db, vpc_id) if same_name(g["GroupName"], group_name)]
    if not found:
        raise AWSError("InvalidGroup.NotFound", f"The security group '{group_name}' does not exist in default VPC "
                       f"'{vpc_id}'")
    return found[0]


def resolve_groups(db, vpc_id: str, group_ids: list[str] | None = None,
                   group_names: list[str] | None = None) -> list[dict]:
    """The groups a network interface in vpc_id is to have, as [{"GroupId", "GroupName"}]:
    those named by id or name (the VPC's default group when none is), each once, five at
    most; a group of another VPC is not found, as on AWS."""
    vpc = _vpc(db, vpc_id)
    default = ensure_default_group(db, vpc)
    if not group_ids and not group_names:
        return [{"GroupId": default["GroupId"], "GroupName": default["GroupName"]}]
    in_vpc = groups_of(db, vpc_id)
    chosen: dict[str, dict] = {}
    for group_id in group_ids or []:
        check_id(group_id)
        found = next((g for g in in_vpc if g["GroupId"] == group_id), None)
        if found is None:
            raise AWSError("InvalidGroup.NotFound", f"The security group '{group_id}' does not exist in VPC "
                           f"'{vpc_id}'")
        chosen[group_id] = found
    for name in group_names or []:
        found = next((g for g in in_vpc if same_name(g["GroupName"], name)), None)
        if found is None:
            raise AWSError("InvalidGroup.NotFound", f"The security group '{name}' does not exist in VPC '{vpc_id}'")
        chosen[found["GroupId"]] = found
    if len(chosen) > MAX_PER_INTERFACE:
        raise AWSError("SecurityGroupsPerInterfaceLimitExceeded", "The maximum number of security groups per "
                       "interface has been reached.")
    return [{"GroupId": g["GroupId"], "GroupName": g["GroupName"]} for g in chosen.values()]


def _check_name(name: str) -> None:
    if not name:
        raise AWSError("MissingParameter", "The request must contain the parameter groupName")
    if name.lower().startswith("sg-"):
        raise AWSError("InvalidParameterValue", f"Value ({name}) for parameter GroupName is invalid. Group names may "
                       "not be in the format sg-*.")
    if not TEXT.fullmatch(name):
        raise AWSError("InvalidParameterValue", "Invalid security group name. Valid names are strings less than 256 "
                       f"characters from the following set:  {TEXT_SET}")
    if same_name(name, "default"):
        raise AWSError("InvalidGroup.Reserved", "The security group 'default' is reserved")


def _users(db, group_id: str) -> bool:
    """Whether a network interface has the group."""
    return any(any(g.get("GroupId") == group_id for g in json.loads(r["body"]).get("Groups") or [])
               for r in db.select(ec2_network_interfaces))


def _shown(group: dict, tag_map: dict) -> dict:
    shown = {k: v for k, v in group.items() if k != "Rules" and not k.startswith("_")}
    shown["IpPermissions"] = ip_permissions(group["Rules"], egress=False)
    shown["IpPermissionsEgress"] = ip_permissions(group["Rules"], egress=True)
    if tag_map.get(group["GroupId"]):
        shown["Tags"] = tags.to_pairs(tag_map[group["GroupId"]])
    return shown


def _permission_getters(prefix: str, egress: bool, names: dict[str, str]) -> dict:
    def values(field):
        def get(group):
            rules = [r for r in group["Rules"] if r["IsEgress"] == egress]
            return [v for v in (field(r) for r in rules) if v is not None]
        return get

    referenced = lambda r: (r.get("ReferencedGroupInfo") or {}).get("GroupId")
    return {f"{prefix}.cidr": values(lambda r: r.get("CidrIpv4")),
            f"{prefix}.from-port": values(lambda r: r["FromPort"]),
            f"{prefix}.to-port": values(lambda r: r["ToPort"]),
            f"{prefix}.protocol": values(lambda r: r["IpProtocol"]),
            f"{prefix}.group-id": values(referenced),
            f"{prefix}.group-name": values(lambda r: names.get(referenced(r))),
            f"{prefix}.user-id": values(lambda r: (r.get("ReferencedGroupInfo") or {}).get("UserId")),
            f"{prefix}.ipv6-cidr": values(lambda r: r.get("CidrIpv6")),
            f"{prefix}.prefix-list-id": values(lambda r: r.get("PrefixListId"))}


class SecurityGroups:
    def create_security_group(self, ctx, request):
        name, text = request["GroupName"], request["Description"]
        _check_name(name)
        if not text:
            raise AWSError("MissingParameter", "The request must contain the parameter groupDescription")
        description(text, "security group")
        with ctx.write() as db:
            vpc = _vpc(db, request["VpcId"]) if request.get("VpcId") else default_vpc(db, self.config.vpc_pool)
            if any(same_name(g["GroupName"], name) for g in groups_of(db, vpc["vpc_id"])):
                raise AWSError("InvalidGroup.Duplicate", f"The security group '{name}' already exists for VPC "
                               f"'{vpc['vpc_id']}'")
            if db.count(objects, objects.c.kind == KIND) >= MAX_GROUPS:
                raise AWSError("SecurityGroupLimitExceeded", "The maximum number of security groups has been reached.")
            group_id = ids.resource_id("sg")
            group = _new_group(db, group_id, name, text, vpc["vpc_id"], [_everywhere(db, group_id)])
            applied = tags.apply_specifications(db, request.get("TagSpecifications"), KIND, group_id,
                                                allowed=(KIND,))
        wake_network(ctx)
        return {"GroupId": group_id, "SecurityGroupArn": group["SecurityGroupArn"],
                "Tags": tags.to_pairs(applied) or None}

    def delete_security_group(self, ctx, request):
        with ctx.write() as db:
            group = find_group(db, self.config.vpc_pool, request.get("GroupId"), request.get("GroupName"))
            group_id = group["GroupId"]
            if db.one(vpcs, vpcs.c.security_group_id == group_id):
                raise AWSError("CannotDelete", f'the specified group: "{group_id}" name: "default" cannot be deleted '
                               "by a user")
            referenced = any(r.get("ReferencedGroupInfo", {}).get("GroupId") == group_id
                             for other in groups_of(db) if other["GroupId"] != group_id for r in other["Rules"])
            if referenced or _users(db, group_id):
                raise AWSError("DependencyViolation", f"resource {group_id} has a dependent object")
            db.delete(objects, objects.c.object_id == group_id)
            for rid in [group_id] + [r["SecurityGroupRuleId"] for r in group["Rules"]]:
                tags.drop_resource(db, rid)
        wake_network(ctx)
        return {"Return": True, "GroupId": group_id}

    def describe_security_groups(self, ctx, request):
        wanted_ids, wanted_names = request.get("GroupIds") or [], request.get("GroupNames") or []
        for group_id in wanted_ids:
            check_id(group_id)
        with ctx.write() as db:
            default_id = default_vpc(db, self.config.vpc_pool)["vpc_id"]
            groups = groups_of(db)
            tag_map = tags.get_many(db, [g["GroupId"] for g in groups])
        known = {g["GroupId"] for g in groups}
        names = {g["GroupId"]: g["GroupName"] for g in groups}
        for group_id in wanted_ids:
            if group_id not in known:
                raise AWSError("InvalidGroup.NotFound", f"The security group '{group_id}' does not exist")
        in_default = [g for g in groups if g["VpcId"] == default_id]
        for name in wanted_names:
            if not any(same_name(g["GroupName"], name) for g in in_default):
                raise AWSError("InvalidGroup.NotFound", f"The security group '{name}' does not exist in default VPC "
                               f"'{default_id}'")
        if wanted_ids or wanted_names:
            groups = [g for g in groups if g["GroupId"] in wanted_ids
                      or (g["VpcId"] == default_id and any(same_name(g["GroupName"], n) for n in wanted_names))]
        getters = {"group-id": lambda g: g["GroupId"], "group-name": lambda g: g["GroupName"],
                   "description": lambda g: g["Description"], "vpc-id": lambda g: g["VpcId"],
                   "owner-id": lambda g: g["OwnerId"],
                   **_permission_getters("ip-permission", False, names),
                   **_permission_getters("egress.ip-permission", True, names)}
        groups = filters.apply(groups, request.get("Filters"), getters, lambda g: tag_map.get(g["GroupId"], {}))
        chunk, token = pagination.page(groups, key=lambda g: g["GroupId"], token=request.get("NextToken"),
                                       max_results=request.get("MaxResults"), minimum=5, maximum=1000)
        return {"SecurityGroups": [_shown(g, tag_map) for g in chunk], "NextToken": token}

    def describe_security_group_references(self, ctx, request):
        """Only a peered VPC's groups can reference a group of another VPC, and no VPC here
        can be peered: every group is checked, and none has references."""
        with ctx.write() as db:
            for group_id in request["GroupId"]:
                find_group(db, self.config.vpc_pool, group_id)
        return {"SecurityGroupReferenceSet": []}

    def describe_stale_security_groups(self, ctx, request):
        """A stale rule references a group of a peered VPC that is gone; with no peering
        here, a VPC's groups are never stale."""
        with ctx.read() as db:
            _vpc(db, request["VpcId"])
        chunk, token = pagination.page([], key=lambda g: g["GroupId"], token=request.get("NextToken"),
                                       max_results=request.get("MaxResults"), minimum=5, maximum=255)
        return {"StaleSecurityGroupSet": chunk, "NextToken": token}
