"""Network ACLs: stateless rules, by rule number, that every subnet's traffic passes in and
out. Every VPC has a default ACL (all traffic allowed both ways by rule 100), and every
subnet is associated with exactly one ACL, the default one until ReplaceNetworkAclAssociation
moves it; above every ACL's own rules lies rule 32767, the deny no one can change. The
entries are acl_entries.py's; the network reconciler enforces them."""

from __future__ import annotations

from cloudlet import ids
from cloudlet.edge.errors import AWSError

from . import acl_entries, vpcs
from . import vpc_objects as objects
from .network_events import wake_network

KIND = objects.NETWORK_ACL
objects.register_tags(KIND)


def new_acl(db, vpc_id: str, default: bool = False, token: str | None = None) -> dict:
    acl_id = ids.resource_id("acl")
    body = {"NetworkAclId": acl_id, "VpcId": vpc_id, "IsDefault": default, "OwnerId": db.account_id,
            "Entries": acl_entries.initial(allow_all=default), "Associations": []}
    if token:
        body["_clientToken"] = token
    objects.insert(db, KIND, acl_id, vpc_id, body)
    return body


def associate(db, acl: dict, subnet_id: str) -> dict:
    """Give the subnet to the ACL (its body, saved); the new association."""
    made = {"NetworkAclAssociationId": ids.resource_id("aclassoc"), "NetworkAclId": acl["NetworkAclId"],
            "SubnetId": subnet_id}
    acl["Associations"].append(made)
    objects.save(db, acl["NetworkAclId"], acl)
    return made


def forget_subnet(db, vpc_id: str, subnet_id: str) -> None:
    """A deleted subnet's association goes with it."""
    for body in objects.of_kind(db, KIND, vpc_id):
        kept = [a for a in body["Associations"] if a["SubnetId"] != subnet_id]
        if len(kept) != len(body["Associations"]):
            body["Associations"] = kept
            objects.save(db, body["NetworkAclId"], body)


def _entry_values(field: str, inner: str | None = None):
    def get(acl: dict) -> list:
        values = [e.get(field) for e in acl["Entries"]]
        return [v.get(inner) if isinstance(v, dict) else None for v in values] if inner else values
    return get


_GETTERS = {
    "network-acl-id": lambda a: a["NetworkAclId"], "vpc-id": lambda a: a["VpcId"], "owner-id": lambda a: a["OwnerId"],
    "default": lambda a: a["IsDefault"],
    "association.association-id": lambda a: [x["NetworkAclAssociationId"] for x in a["Associations"]],
    "association.network-acl-id": lambda a: [x["NetworkAclId"] for x in a["Associations"]],
    "association.subnet-id": lambda a: [x["SubnetId"] for x in a["Associations"]],
    "entry.cidr": _entry_values("CidrBlock"), "entry.egress": _entry_values("Egress"),
    "entry.protocol": _entry_values("Protocol"), "entry.rule-action": _entry_values("RuleAction"),
    "entry.rule-number": _entry_values("RuleNumber"),
    "entry.icmp.code": _entry_values("IcmpTypeCode", "Code"), "entry.icmp.type": _entry_values("IcmpTypeCode", "Type"),
    "entry.port-range.from": _entry_values("PortRange", "From"), "entry.port-range.to": _entry_values("PortRange", "To"),
}


class NetworkAcls(acl_entries.AclEntries):
    def create_network_acl(self, ctx, request):
        with vpcs.session(ctx) as db:
            out = objects.created(db, request, KIND, lambda vpc, token: new_acl(db, vpc["VpcId"], token=token))
        return {"NetworkAcl": out, "ClientToken": request.get("ClientToken")}

    def delete_network_acl(self, ctx, request):
        with vpcs.session(ctx) as db:
            body = objects.find(db, KIND, request["NetworkAclId"])
            if body["IsDefault"]:
                raise AWSError("InvalidParameterValue", f"cannot delete default network ACL {body['NetworkAclId']}")
            if body["Associations"]:
                raise objects.dependencies("networkAcl", body["NetworkAclId"])
            objects.remove(db, body["NetworkAclId"])
        return {}

    def describe_network_acls(self, ctx, request):
        with vpcs.session(ctx) as db:
            page, token = objects.answer(db, objects.of_kind(db, KIND), KIND, request, "NetworkAclIds", _GETTERS)
        return {"NetworkAcls": page, "NextToken": token}

    def replace_network_acl_association(self, ctx, request):
        with vpcs.session(ctx) as db:
            held = next(((acl, a) for acl in objects.of_kind(db, KIND) for a in acl["Associations"]
                         if a["NetworkAclAssociationId"] == request["AssociationId"]), None)
            if held is None:
                raise AWSError("InvalidAssociationID.NotFound",
                               f"The association ID '{request['AssociationId']}' does not exist")
            old, association = held
            new = objects.find(db, KIND, request["NetworkAclId"])
            if new["VpcId"] != old["VpcId"]:
                raise AWSError("InvalidParameterValue", f"Network ACL {new['NetworkAclId']} and subnet "
                               f"{association['SubnetId']} belong to different networks")
            old["Associations"].remove(association)
            objects.save(db, old["NetworkAclId"], old)
            made = associate(db, old if new["NetworkAclId"] == old["NetworkAclId"] else new, association["SubnetId"])
        wake_network(ctx)
        return {"NewAssociationId": made["NetworkAclAssociationId"]}
