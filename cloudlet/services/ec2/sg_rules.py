"""The rules of security groups: Authorize/RevokeSecurityGroupIngress/Egress,
DescribeSecurityGroupRules, ModifySecurityGroupRules and
UpdateSecurityGroupRuleDescriptionsIngress/Egress.

A request's permissions become one rule each per peer (sg_permissions.py); a change is
checked whole (duplicates, unknown groups, AWS's 60 rules per direction) before anything is
written, then the network reconciler is woken to enforce it.
"""

from __future__ import annotations

import json

from cloudlet import ids
from cloudlet.edge.errors import AWSError
from cloudlet.services.common import filters, pagination, tags
from cloudlet.store.schema import ec2_vpc_objects as objects
from cloudlet.store.schema import vpcs

from . import sg_permissions as perms
from .network_events import wake_network
from .security_groups import KIND, find_group, groups_of, new_rule, resolve_groups, save

RULE_TYPE = "security-group-rule"
_MISSING_SOURCE = "Missing source specification: include source security group or CIDR information"


def _rule_exists(db, rule_id: str) -> bool:
    # read-only (tags may ask in any transaction): a rule has an id only once its group has a row
    rows = db.select(objects, objects.c.kind == KIND)
    return any(r["SecurityGroupRuleId"] == rule_id for row in rows for r in json.loads(row["body"])["Rules"])


tags.register(tags.ResourceKind("sgr", RULE_TYPE, _rule_exists, "InvalidSecurityGroupRuleId.NotFound"))


def _check_rule_id(rule_id: str) -> None:
    if not rule_id.startswith("sgr-"):
        raise AWSError("InvalidSecurityGroupRuleId.Malformed", f'Invalid id: "{rule_id}" (expecting "sgr-...")')


def _rule_not_found(rule_id: str) -> AWSError:
    return AWSError("InvalidSecurityGroupRuleId.NotFound", f"The security group rule ID '{rule_id}' does not exist")


def _referenced(db, group: dict, group_id: str | None, group_name: str | None, user_id: str | None) -> dict:
    """The ReferencedGroupInfo of a rule whose peer is another group (or the group itself),
    which must be of the same account and VPC: none here can be peered."""
    if not group_id and not group_name:
        raise AWSError("MissingParameter", "Source group ID missing.")
    if user_id and user_id != db.account_id:
        raise AWSError("InvalidGroup.NotFound", f"The security group '{group_id or group_name}' does not exist")
    found = resolve_groups(db, group["VpcId"], [group_id] if group_id else None, None if group_id else [group_name])
    return {"GroupId": found[0]["GroupId"], "UserId": db.account_id}


def _rules_of(db, group: dict, permissions: list[dict], egress: bool) -> list[dict]:
    """The rules the permissions name, each with a new id (kept only if they are added)."""
    out = []
    for permission in permissions:
        proto = perms.protocol(permission.get("IpProtocol"))
        low, high = perms.ports(proto, permission.get("FromPort"), permission.get("ToPort"))
        for listed in permission.get("PrefixListIds") or []:
            raise AWSError("InvalidPrefixListID.NotFound", f"The prefix list ID '{listed.get('PrefixListId')}' does "
                           "not exist")
        for listed in permission.get("Ipv6Ranges") or []:
            raise AWSError("InvalidParameterValue", f"Value ({listed.get('CidrIpv6')}) for parameter cidrIpv6 is "
                           "invalid: this host's VPCs carry no IPv6 traffic.")
        ranges, pairs = permission.get("IpRanges") or [], permission.get("UserIdGroupPairs") or []
        if not ranges and not pairs:
            raise AWSError("MissingParameter", _MISSING_SOURCE)
        for block in ranges:
            peer = {"CidrIpv4": perms.cidr(block.get("CidrIp"))}
            out.append(new_rule(db, group["GroupId"], egress, proto, low, high, peer,
                                perms.description(block.get("Description"))))
        for pair in pairs:
            if pair.get("VpcPeeringConnectionId"):
                raise AWSError("InvalidVpcPeeringConnectionID.NotFound", "The vpcPeeringConnection ID "
                               f"'{pair['VpcPeeringConnectionId']}' does not exist")
            peer = _referenced(db, group, pair.get("GroupId"), pair.get("GroupName"), pair.get("UserId"))
            out.append(new_rule(db, group["GroupId"], egress, proto, low, high, {"ReferencedGroupInfo": peer},
                                perms.description(pair.get("Description"))))
    return out


def _check_unique(rules: list[dict]) -> None:
    seen = set()
    for rule in rules:
        if perms.key(rule) in seen:
            raise perms.duplicate(rule)
        seen.add(perms.key(rule))


def _shown(db, rule: dict, tag_map: dict) -> dict:
    return {**rule, "Tags": tags.to_pairs(tag_map.get(rule["SecurityGroupRuleId"], {})),
            "SecurityGroupRuleArn": ids.arn("ec2", db.region, db.account_id,
                                            f"security-group-rule/{rule['SecurityGroupRuleId']}")}


def _revoked(rule: dict) -> dict:
    out = {k: rule[k] for k in ("SecurityGroupRuleId", "GroupId", "IsEgress", "IpProtocol", "FromPort", "ToPort",
                                "CidrIpv4", "Description") if k in rule}
    if "ReferencedGroupInfo" in rule:
        out["ReferencedGroupId"] = rule["ReferencedGroupInfo"]["GroupId"]
    return out


def _by_id(group: dict, rule_ids: list[str], egress: bool) -> list[dict]:
    """The group's rules of one direction named by id, each once."""
    rules = {r["SecurityGroupRuleId"]: r for r in group["Rules"] if r["IsEgress"] == egress}
    for rule_id in rule_ids:
        _check_rule_id(rule_id)
        if rule_id not in rules:
            raise _rule_not_found(rule_id)
    return [rules[i] for i in dict.fromkeys(rule_ids)]


def _matching(db, group: dict, permissions: list[dict], egress: bool) -> tuple[list[dict], list[dict]]:
    """(the group's rules the permissions name, the named rules it does not have)."""
    index = {perms.key(r): r for r in group["Rules"]}
    named = _rules_of(db, group, permissions, egress)
    found = {perms.key(r): index[perms.key(r)] for r in named if perms.key(r) in index}
    return list(found.values()), [r for r in named if perms.key(r) not in index]


class SecurityGroupRules:
    def _group(self, db, request) -> dict:
        return find_group(db, self.config.vpc_pool, request.get("GroupId"), request.get("GroupName"))

    def _authorize(self, ctx, request, egress: bool) -> dict:
        permissions = perms.from_request(request)
        with ctx.write() as db:
            group = self._group(db, request)
            added = _rules_of(db, group, permissions, egress)
            _check_unique(group["Rules"] + added)
            if sum(r["IsEgress"] == egress for r in group["Rules"]) + len(added) > perms.MAX_RULES:
                raise AWSError("RulesPerSecurityGroupLimitExceeded", "The maximum number of rules per security group "
                               "has been reached.")
            group["Rules"].extend(added)
            save(db, group)
            for rule in added:
                tags.apply_specifications(db, request.get("TagSpecifications"), RULE_TYPE, rule["SecurityGroupRuleId"],
                                          allowed=(RULE_TYPE,))
            tag_map = tags.get_many(db, [r["SecurityGroupRuleId"] for r in added])
            shown = [_shown(db, r, tag_map) for r in added]
        wake_network(ctx)
        return {"Return": True, "SecurityGroupRules": shown}

    def authorize_security_group_ingress(self, ctx, request):
        return self._authorize(ctx, request, egress=False)

    def authorize_security_group_egress(self, ctx, request):
        return self._authorize(ctx, request, egress=True)

    def _revoke(self, ctx, request, egress: bool) -> dict:
        rule_ids = request.get("SecurityGroupRuleIds")
        with ctx.write() as db:
            group = self._group(db, request)
            if rule_ids:
                if any(request.get(k) is not None for k in ("IpPermissions", "CidrIp", "IpProtocol", "FromPort",
                                                            "ToPort", "SourceSecurityGroupName")):
                    raise AWSError("InvalidParameterCombination", "The parameter securityGroupRuleIds cannot be used "
                                   "with the parameter ipPermissions or its legacy members")
                gone, unknown = _by_id(group, rule_ids, egress), []
            else:
                gone, unknown = _matching(db, group, perms.from_request(request), egress)
                in_default = db.one(vpcs, vpcs.c.vpc_id == group["VpcId"], vpcs.c.is_default == 1)
                if unknown and not in_default:
                    # AWS: a default VPC's groups answer with the rules they lack; others refuse
                    raise AWSError("InvalidPermission.NotFound", "The specified rule does not exist in this security "
                                   "group.")
            dropped = {r["SecurityGroupRuleId"] for r in gone}
            group["Rules"] = [r for r in group["Rules"] if r["SecurityGroupRuleId"] not in dropped]
            save(db, group)
            for rule_id in dropped:
                tags.drop_resource(db, rule_id)
        wake_network(ctx)
        return {"Return": True, "UnknownIpPermissions": perms.ip_permissions(unknown, egress) or None,
                "RevokedSecurityGroupRules": [_revoked(r) for r in gone]}

    def revoke_security_group_ingress(self, ctx, request):
        return self._revoke(ctx, request, egress=False)

    def revoke_security_group_egress(self, ctx, request):
        return self._revoke(ctx, request, egress=True)

    def describe_security_group_rules(self, ctx, request):
        wanted = request.get("SecurityGroupRuleIds") or []
        for rule_id in wanted:
            _check_rule_id(rule_id)
        with ctx.write() as db:
            rules = [r for g in groups_of(db) for r in g["Rules"]]
            tag_map = tags.get_many(db, [r["SecurityGroupRuleId"] for r in rules])
            known = {r["SecurityGroupRuleId"] for r in rules}
            for rule_id in wanted:
                if rule_id not in known:
                    raise _rule_not_found(rule_id)
            if wanted:
                rules = [r for r in rules if r["SecurityGroupRuleId"] in wanted]
            getters = {"group-id": lambda r: r["GroupId"], "security-group-rule-id": lambda r: r["SecurityGroupRuleId"]}
            rules = filters.apply(rules, request.get("Filters"), getters,
                                  lambda r: tag_map.get(r["SecurityGroupRuleId"], {}))
            chunk, token = pagination.page(rules, key=lambda r: (r["GroupId"], r["SecurityGroupRuleId"]),
                                           token=request.get("NextToken"), max_results=request.get("MaxResults"),
                                           minimum=5, maximum=1000)
            shown = [_shown(db, r, tag_map) for r in chunk]
        return {"SecurityGroupRules": shown, "NextToken": token}

    def modify_security_group_rules(self, ctx, request):
        """Each named rule replaced whole (its id, group and direction kept)."""
        with ctx.write() as db:
            group = find_group(db, self.config.vpc_pool, request["GroupId"])
            rules = {r["SecurityGroupRuleId"]: r for r in group["Rules"]}
            for update in request["SecurityGroupRules"]:
                rule_id = update["SecurityGroupRuleId"]
                _check_rule_id(rule_id)
                if rule_id not in rules:
                    raise _rule_not_found(rule_id)
                rules[rule_id] = self._replacement(db, group, rules[rule_id], update.get("SecurityGroupRule"))
            group["Rules"] = list(rules.values())
            _check_unique(group["Rules"])
            save(db, group)
        wake_network(ctx)
        return {"Return": True}

    def _replacement(self, db, group: dict, rule: dict, spec: dict | None) -> dict:
        if spec is None:
            raise AWSError("MissingParameter", "The request must contain the parameter SecurityGroupRule")
        peers = [k for k in ("CidrIpv4", "CidrIpv6", "PrefixListId", "ReferencedGroupId") if spec.get(k)]
        if not peers:
            raise AWSError("MissingParameter", _MISSING_SOURCE)
        if len(peers) > 1:
            raise AWSError("InvalidParameterCombination", f"The parameter {peers[0]} cannot be used with the parameter "
                           f"{peers[1]}")
        permission = {"IpProtocol": spec.get("IpProtocol"), "FromPort": spec.get("FromPort"),
                      "ToPort": spec.get("ToPort")}
        listed = {"Description": spec.get("Description")}
        if spec.get("CidrIpv4"):
            permission["IpRanges"] = [{"CidrIp": spec["CidrIpv4"], **listed}]
        elif spec.get("ReferencedGroupId"):
            permission["UserIdGroupPairs"] = [{"GroupId": spec["ReferencedGroupId"], **listed}]
        elif spec.get("CidrIpv6"):
            permission["Ipv6Ranges"] = [{"CidrIpv6": spec["CidrIpv6"]}]
        else:
            permission["PrefixListIds"] = [{"PrefixListId": spec["PrefixListId"]}]
        [new] = _rules_of(db, group, [permission], rule["IsEgress"])
        return {**new, "SecurityGroupRuleId": rule["SecurityGroupRuleId"]}

    def _update_descriptions(self, ctx, request, egress: bool) -> dict:
        by_id, permissions = request.get("SecurityGroupRuleDescriptions"), request.get("IpPermissions")
        if not by_id and not permissions:
            raise AWSError("MissingParameter", "The request must contain the parameter ipPermissions or "
                           "securityGroupRuleDescriptions")
        with ctx.write() as db:
            group = self._group(db, request)
            changes = [(_by_id(group, [entry.get("SecurityGroupRuleId") or ""], egress)[0], entry.get("Description"))
                       for entry in by_id or []]
            if permissions:
                index = {perms.key(r): r for r in group["Rules"]}
                for named in _rules_of(db, group, permissions, egress):
                    if perms.key(named) not in index:
                        raise AWSError("InvalidPermission.NotFound", "The specified rule does not exist in this "
                                       "security group.")
                    changes.append((index[perms.key(named)], named.get("Description")))
            for rule, text in changes:
                rule.pop("Description", None)
                if perms.description(text) is not None:
                    rule["Description"] = text
            save(db, group)
        wake_network(ctx)
        return {"Return": True}

    def update_security_group_rule_descriptions_ingress(self, ctx, request):
        return self._update_descriptions(ctx, request, egress=False)

    def update_security_group_rule_descriptions_egress(self, ctx, request):
        return self._update_descriptions(ctx, request, egress=True)
