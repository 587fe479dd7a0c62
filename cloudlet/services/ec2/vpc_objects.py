"""What the VPC resources share: their kinds (id prefix, store kind, tag type, AWS's not-found
and malformed errors), the rows of ec2_vpc_objects (route tables, internet and NAT gateways,
network ACLs, security groups: one row each, the body as its Describe* returns it plus keys
starting with "_" that only cloudlet reads), and the answer every Describe* of them gives:
named ids that must all exist, EC2 filters, tags, MaxResults/NextToken."""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass

from cloudlet.edge.errors import AWSError
from cloudlet.services.common import filters, pagination, tags
from cloudlet.store.schema import ec2_vpc_objects as table
from cloudlet.store.schema import vpcs

_ID = re.compile(r"[a-z]+-(?:[0-9a-f]{8}|[0-9a-f]{17})")
_CIDR = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}/[0-9]{1,2}")


@dataclass(frozen=True)
class Kind:
    prefix: str  # "rtb" for rtb-0123...
    name: str  # the kind column of ec2_vpc_objects, e.g. "route-table"
    code: str  # AWS's error code stem, e.g. "InvalidRouteTableID"
    noun: str  # as AWS's messages name it, e.g. "routeTable"
    id_key: str  # the id's member in the object, e.g. "RouteTableId"
    tag_type: str = ""  # the tags' ResourceType, when it is not the name

    @property
    def resource_type(self) -> str:
        return self.tag_type or self.name

    def missing(self, object_id: str) -> AWSError:
        if not object_id.startswith(self.prefix + "-") or not _ID.fullmatch(object_id):
            return AWSError(f"{self.code}.Malformed", f'Invalid id: "{object_id}" (expecting "{self.prefix}-...")')
        return AWSError(f"{self.code}.NotFound", f"The {self.noun} ID '{object_id}' does not exist")


class _NatKind(Kind):
    def missing(self, object_id: str) -> AWSError:
        return AWSError("NatGatewayNotFound", f"NAT gateway {object_id} was not found")


VPC = Kind("vpc", "vpc", "InvalidVpcID", "vpc", "VpcId")
SUBNET = Kind("subnet", "subnet", "InvalidSubnetID", "subnet", "SubnetId")
ROUTE_TABLE = Kind("rtb", "route-table", "InvalidRouteTableID", "routeTable", "RouteTableId")
INTERNET_GATEWAY = Kind("igw", "internet-gateway", "InvalidInternetGatewayID", "internetGateway", "InternetGatewayId")
NETWORK_ACL = Kind("acl", "network-acl", "InvalidNetworkAclID", "networkAcl", "NetworkAclId")
NAT_GATEWAY = _NatKind("nat", "nat-gateway", "", "", "NatGatewayId", tag_type="natgateway")


def register_tags(kind: Kind, exists=None) -> None:
    """CreateTags, DescribeTags and TagSpecifications for a kind; exists(db, id) defaults to its
    row in ec2_vpc_objects."""
    tags.register(tags.ResourceKind(kind.prefix, kind.resource_type,
                                    exists or (lambda db, oid: _row(db, kind, oid) is not None),
                                    kind.missing(f"{kind.prefix}-{'0' * 17}").code))


def public(body: dict) -> dict:
    return {k: v for k, v in body.items() if not k.startswith("_")}


def cidr(value: str | None, parameter: str = "cidrBlock") -> ipaddress.IPv4Network:
    """An IPv4 CIDR block as AWS takes it: a.b.c.d/n without host bits."""
    try:
        if not value or not _CIDR.fullmatch(value):
            raise ValueError(value)
        return ipaddress.IPv4Network(value)
    except ValueError:
        raise AWSError("InvalidParameterValue", f"Value ({value}) for parameter {parameter} is invalid. "
                       "This is not a valid CIDR block.") from None


def _row(db, kind: Kind, object_id: str) -> dict | None:
    return db.one(table, table.c.object_id == object_id, table.c.kind == kind.name)


def find(db, kind: Kind, object_id: str) -> dict:
    """The body of the object, or AWS's error for an id that names none."""
    row = _row(db, kind, object_id or "")
    if row is None:
        raise kind.missing(object_id or "")
    return json.loads(row["body"])


def of_kind(db, kind: Kind, vpc_id: str | None = None) -> list[dict]:
    where = [table.c.kind == kind.name] + ([table.c.vpc_id == vpc_id] if vpc_id else [])
    return [json.loads(r["body"]) for r in db.select(table, *where, order_by=table.c.object_id)]


def by_token(db, kind: Kind, token: str | None) -> dict | None:
    """The object an earlier create with this ClientToken made (AWS's idempotent retries)."""
    if not token:
        return None
    return next((b for b in of_kind(db, kind) if b.get("_clientToken") == token), None)


def insert(db, kind: Kind, object_id: str, vpc_id: str | None, body: dict) -> None:
    db.insert(table, object_id=object_id, kind=kind.name, vpc_id=vpc_id, body=json.dumps(body))


def save(db, object_id: str, body: dict, **values) -> None:
    db.update(table, table.c.object_id == object_id, body=json.dumps(body), **values)


def remove(db, object_id: str) -> None:
    db.delete(table, table.c.object_id == object_id)
    tags.drop_resource(db, object_id)


def tag_new(db, request: dict, kind: Kind, object_id: str) -> None:
    """The TagSpecifications of the create call that made the object."""
    tags.apply_specifications(db, request.get("TagSpecifications"), kind.resource_type, object_id,
                              allowed=(kind.resource_type,))


def shown(db, kind: Kind, body: dict) -> dict:
    """The object as a create call returns it: without internal keys, with its tags if any."""
    out = public(body)
    current = tags.get(db, body[kind.id_key])
    if current:
        out["Tags"] = tags.to_pairs(current)
    return out


def created(db, request: dict, kind: Kind, make) -> dict:
    """What a Create* of an object of a VPC (request["VpcId"]) answers: make(vpc, token)'s new
    body, tagged; or the object an earlier call with the same ClientToken made, as AWS retries."""
    token = request.get("ClientToken")
    body = by_token(db, kind, token)
    if body is None:
        _, vpc = find_vpc(db, request["VpcId"])
        body = make(vpc, token)
        tag_new(db, request, kind, body[kind.id_key])
    return shown(db, kind, body)


def find_vpc(db, vpc_id: str | None) -> tuple[dict, dict]:
    """(row, body) of one of the account's VPCs, or InvalidVpcID.NotFound."""
    row = db.one(vpcs, vpcs.c.vpc_id == (vpc_id or ""))
    if row is None:
        raise VPC.missing(vpc_id or "")
    return row, json.loads(row["body"])


def save_vpc(db, vpc_id: str, body: dict) -> None:
    db.update(vpcs, vpcs.c.vpc_id == vpc_id, body=json.dumps(body))


def one_attribute(request, members) -> str:
    """The one attribute member a Modify*Attribute request sets: AWS takes one a call."""
    given = [m for m in members if request.get(m) is not None]
    if len(given) != 1:
        names = ", ".join(m[:1].lower() + m[1:] for m in given)
        raise AWSError("InvalidParameterCombination",
                       f"Fields for multiple attribute types specified: {names}" if given else "No attributes specified.")
    return given[0]


def dependencies(kind: str, object_id: str) -> AWSError:
    return AWSError("DependencyViolation", f"The {kind} '{object_id}' has dependencies and cannot be deleted.")


def different_networks(one: str, other: str, what: str = "network gateway") -> AWSError:
    return AWSError("InvalidParameterValue", f"route table {one} and {what} {other} belong to different networks")


def answer(db, bodies: list[dict], kind: Kind, request: dict, ids_member: str, getters: dict, *,
           filters_member: str = "Filters", maximum: int = 1000, order=None) -> tuple[list[dict], str | None]:
    """A Describe* page: the named ids (each must exist), with tags, filtered, paged in id order
    (or order(body)'s)."""
    def id_of(body: dict) -> str:
        return body[kind.id_key]

    wanted = request.get(ids_member) or []
    if wanted and request.get("MaxResults") is not None:
        raise AWSError("InvalidParameterCombination", f"The parameter {ids_member[:1].lower()}{ids_member[1:]} cannot be used with the "
                       "parameter maxResults")
    known = {id_of(b) for b in bodies}
    missing = [w for w in wanted if w not in known]
    if missing:
        raise kind.missing(missing[0])
    chosen = [b for b in bodies if not wanted or id_of(b) in wanted]
    tag_map = tags.get_many(db, [id_of(b) for b in chosen])
    chosen = filters.apply(chosen, request.get(filters_member), getters, lambda b: tag_map[id_of(b)])
    page, token = pagination.page(
        chosen, key=order or id_of, token=request.get("NextToken"), max_results=request.get("MaxResults"), minimum=5,
        maximum=maximum, bad_token=lambda t: AWSError("InvalidParameterValue", f"Invalid value '{t}' for NextToken"))
    out = []
    for b in page:
        item = public(b)
        if tag_map[id_of(b)]:
            item["Tags"] = tags.to_pairs(tag_map[id_of(b)])
        out.append(item)
    return out, token
