"""VPCs, and the default VPC every account has in every region, as on AWS.

A VPC is born with its main route table (the local route of its CIDR), its default network
ACL (all traffic allowed both ways) and its default security group, in the same transaction.
The default VPC also has an internet gateway, attached, with the main table's 0.0.0.0/0 route
to it, and one default subnet a zone (/20s that map public IPs at launch); it is made the
first time anything asks (`session`), and again only by CreateDefaultVpc once DeleteVpc has
deleted it. A VPC recorded before it had these objects (its body '{}') gets them at that
same first look, so that older state keeps working.

Each VPC has a router of its own on this host, so the accounts' own VPCs may overlap anything;
default VPCs take a /16 of the host's VPC pool (`cloudlet up --vpc-pool`, 172.16.0.0/12 by
default) no other VPC has, from the top down, so that the first default VPC has AWS's
172.31.0.0/16.
"""

from __future__ import annotations

import ipaddress
import json
from contextlib import contextmanager

from sqlalchemy import select

from cloudlet import ids
from cloudlet.config import zones
from cloudlet.edge.errors import AWSError
from cloudlet.services.common import tags
from cloudlet.store.schema import ec2_network_interfaces, ec2_vpc_objects, subnets, vpcs

from . import internet_gateways, network_acls, route_tables, routes
from . import subnets as subnet_api
from . import vpc_objects as objects
from .network_events import wake_network

KIND = objects.VPC
objects.register_tags(KIND, lambda db, vpc_id: db.one(vpcs, vpcs.c.vpc_id == vpc_id) is not None)

# What an account that deleted its default VPC has instead (until CreateDefaultVpc): a row of
# this kind, so that the default VPC is not made again behind its back.
_NO_DEFAULT = "no-default-vpc"
# Ranges no VPC may have: this network, loopback, link-local, multicast and reserved.
_RESTRICTED = [ipaddress.IPv4Network(n) for n in ("0.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "224.0.0.0/3")]
# NAT gateways in these states have no interface left: they keep no VPC from going.
_GONE = ("deleted", "failed")
# ModifyVpcAttribute's members -> the attribute's name (DescribeVpcAttribute, the body's "_" key).
_ATTRIBUTES = {"EnableDnsSupport": "enableDnsSupport", "EnableDnsHostnames": "enableDnsHostnames",
               "EnableNetworkAddressUsageMetrics": "enableNetworkAddressUsageMetrics"}

_GETTERS = {
    "vpc-id": lambda v: v["VpcId"], "cidr": lambda v: v["CidrBlock"], "state": lambda v: v["State"],
    "is-default": lambda v: v["IsDefault"], "owner-id": lambda v: v["OwnerId"],
    "dhcp-options-id": lambda v: v["DhcpOptionsId"], "instance-tenancy": lambda v: v["InstanceTenancy"],
    "cidr-block-association.cidr-block": lambda v: [a["CidrBlock"] for a in v["CidrBlockAssociationSet"]],
    "cidr-block-association.association-id": lambda v: [a["AssociationId"] for a in v["CidrBlockAssociationSet"]],
    "cidr-block-association.state": lambda v: [a["CidrBlockState"]["State"] for a in v["CidrBlockAssociationSet"]],
    **{f"ipv6-cidr-block-association.{name}": lambda v: [] for name in (
        "ipv6-cidr-block", "ipv6-pool", "association-id", "state")},
}


AWS_DEFAULT_CIDR = "172.31.0.0/16"


def _free_cidr(db, pool: str) -> str:
    """A /16 of the pool no VPC on the host has, so that the host reaches the default VPC's
    private addresses; once the pool is used up, AWS's own 172.31.0.0/16, which each VPC's
    router keeps apart as well (the host then reaches them at public addresses only)."""
    taken = {row[0] for row in db.conn.execute(select(vpcs.c.cidr))}  # every account's: one host
    for cidr in reversed(list(ipaddress.ip_network(pool).subnets(new_prefix=16))):
        if str(cidr) not in taken:
            return str(cidr)
    return AWS_DEFAULT_CIDR


def _body(db, vpc_id: str, cidr: str, default: bool, tenancy: str = "default") -> dict:
    return {"VpcId": vpc_id, "CidrBlock": cidr, "State": "available", "DhcpOptionsId": "default",
            "InstanceTenancy": tenancy, "IsDefault": default, "OwnerId": db.account_id,
            "CidrBlockAssociationSet": [{"AssociationId": ids.resource_id("vpc-cidr-assoc"), "CidrBlock": cidr,
                                         "CidrBlockState": {"State": "associated"}}],
            "BlockPublicAccessStates": {"InternetGatewayBlockMode": "off"},
            "_enableDnsSupport": True, "_enableDnsHostnames": default, "_enableNetworkAddressUsageMetrics": False}


def _furnish(db, row: dict, body: dict) -> None:
    """Make the objects the VPC (row and body, the body saved) has from its start."""
    # security_groups reads the default VPC from here: imported when first needed, not at load
    from .security_groups import ensure_default_group

    vpc_id, cidr = row["vpc_id"], row["cidr"]
    table = route_tables.new_table(db, vpc_id, cidr, main=True)
    acl = network_acls.new_acl(db, vpc_id, default=True)
    body.update(_mainRouteTableId=table["RouteTableId"], _defaultNetworkAclId=acl["NetworkAclId"])
    objects.save_vpc(db, vpc_id, body)
    ensure_default_group(db, row)
    if not row["is_default"]:
        return
    gateway = internet_gateways.new_gateway(db)
    internet_gateways.attach(db, gateway, vpc_id)
    routes.add(db, table, "0.0.0.0/0", {"GatewayId": gateway["InternetGatewayId"]})
    old = db.select(subnets, subnets.c.vpc_id == vpc_id)
    for subnet in old:
        subnet_api.complete(db, subnet, body)
    if not old:
        for zone, block in zip(zones(db.region), ipaddress.ip_network(cidr).subnets(new_prefix=20)):
            subnet_api.new_subnet(db, body, zone["ZoneName"], str(block), default_for_az=True)


def _new_vpc(db, cidr: str, default: bool, tenancy: str = "default") -> dict:
    vpc_id = ids.resource_id("vpc")
    body = _body(db, vpc_id, cidr, default, tenancy)
    db.insert(vpcs, vpc_id=vpc_id, cidr=cidr, is_default=int(default), security_group_id=ids.resource_id("sg"),
              body=json.dumps(body))
    _furnish(db, db.one(vpcs, vpcs.c.vpc_id == vpc_id), body)
    return body


def prepared(db, pool: str) -> dict | None:
    """The account's default VPC in the region, made or completed first if need be; None once
    the account has deleted it."""
    row = db.one(vpcs, vpcs.c.is_default == 1)
    if row is None:
        if db.one(ec2_vpc_objects, ec2_vpc_objects.c.kind == _NO_DEFAULT):
            return None
        _new_vpc(db, _free_cidr(db, pool), default=True)
    elif not json.loads(row["body"]):
        _furnish(db, row, _body(db, row["vpc_id"], row["cidr"], True))
    return db.one(vpcs, vpcs.c.is_default == 1)


def default_vpc(db, pool: str) -> dict:
    """The account's default VPC in the region (made, with its objects, on first use)."""
    row = prepared(db, pool)
    if row is None:
        raise AWSError("VPCIdNotSpecified", "No default VPC for this user.")
    return row


@contextmanager
def session(ctx):
    """A write transaction in which the default VPC is there (as on AWS, where every account has one)."""
    with ctx.write() as db:
        prepared(db, ctx.config.vpc_pool)
        yield db


def find_subnet(db, subnet_id: str, pool: str) -> dict:
    prepared(db, pool)
    return subnet_api.find(db, subnet_id)


def _block(request) -> str:
    if request.get("AmazonProvidedIpv6CidrBlock") or request.get("Ipv6CidrBlock") or request.get("Ipv6Pool") or \
            request.get("Ipv6IpamPoolId"):
        raise AWSError("UnsupportedOperation", "VPCs here are IPv4 only: no IPv6 CIDR block can be associated.")
    if request.get("Ipv4IpamPoolId") or request.get("VpcEncryptionControl"):
        raise AWSError("UnsupportedOperation", "IPAM pools and VPC encryption controls are not offered here.")
    if not request.get("CidrBlock"):
        raise AWSError("MissingParameter", "Either 'cidrBlock' or 'ipv4IpamPoolId' should be provided.")
    net = objects.cidr(request["CidrBlock"])
    if not 16 <= net.prefixlen <= 28 or any(net.overlaps(r) for r in _RESTRICTED):
        raise AWSError("InvalidVpc.Range", f"The CIDR '{request['CidrBlock']}' is invalid.")
    return str(net)


def _dependents(db, vpc_id: str, body: dict, group_id: str) -> bool:
    own = {body.get("_mainRouteTableId"), body.get("_defaultNetworkAclId"), group_id}
    inside = [r for r in db.select(ec2_vpc_objects, ec2_vpc_objects.c.vpc_id == vpc_id) if r["object_id"] not in own]
    return bool(db.one(subnets, subnets.c.vpc_id == vpc_id)
                or db.one(ec2_network_interfaces, ec2_network_interfaces.c.vpc_id == vpc_id)
                or any(json.loads(r["body"]).get("State") not in _GONE for r in inside))


class Vpcs:
    def create_vpc(self, ctx, request):
        block = _block(request)
        tenancy = request.get("InstanceTenancy") or "default"
        if tenancy not in ("default", "dedicated"):
            raise AWSError("UnsupportedTenancy", f"The tenancy value {tenancy} is not supported.")
        with session(ctx) as db:
            body = _new_vpc(db, block, default=False, tenancy=tenancy)
            objects.tag_new(db, request, KIND, body["VpcId"])
            out = objects.shown(db, KIND, body)
        wake_network(ctx)
        return {"Vpc": out}

    def create_default_vpc(self, ctx, request):
        with ctx.write() as db:
            if prepared(db, self.config.vpc_pool):
                raise AWSError("DefaultVpcAlreadyExists", "A Default VPC already exists for this account in this "
                               "region.")
            db.delete(ec2_vpc_objects, ec2_vpc_objects.c.kind == _NO_DEFAULT)
            out = objects.shown(db, KIND, _new_vpc(db, _free_cidr(db, self.config.vpc_pool), default=True))
        wake_network(ctx)
        return {"Vpc": out}

    def delete_vpc(self, ctx, request):
        with session(ctx) as db:
            row, body = objects.find_vpc(db, request["VpcId"])
            if _dependents(db, row["vpc_id"], body, row["security_group_id"]):
                raise objects.dependencies("vpc", row["vpc_id"])
            group = db.one(ec2_vpc_objects, ec2_vpc_objects.c.object_id == row["security_group_id"])
            for rule in json.loads(group["body"])["Rules"] if group else []:
                tags.drop_resource(db, rule["SecurityGroupRuleId"])
            for own in (body["_mainRouteTableId"], body["_defaultNetworkAclId"], row["security_group_id"]):
                objects.remove(db, own)
            db.delete(vpcs, vpcs.c.vpc_id == row["vpc_id"])
            objects.remove(db, row["vpc_id"])
            if row["is_default"]:
                db.insert(ec2_vpc_objects, object_id=_NO_DEFAULT, kind=_NO_DEFAULT, vpc_id=None, body="{}")
        wake_network(ctx)
        return {}

    def describe_vpcs(self, ctx, request):
        with session(ctx) as db:
            bodies = [json.loads(r["body"]) for r in db.select(vpcs)]
            page, token = objects.answer(db, bodies, KIND, request, "VpcIds", _GETTERS)
        return {"Vpcs": page, "NextToken": token}

    def describe_vpc_attribute(self, ctx, request):
        member = next((m for m, name in _ATTRIBUTES.items() if name == request["Attribute"]), None)
        if member is None:
            raise AWSError("InvalidParameterValue", f"Value ({request['Attribute']}) for parameter attribute is "
                           "invalid. Unknown attribute.")
        with session(ctx) as db:
            _, body = objects.find_vpc(db, request["VpcId"])
        return {"VpcId": body["VpcId"], member: {"Value": body[f"_{request['Attribute']}"]}}

    def modify_vpc_attribute(self, ctx, request):
        member = objects.one_attribute(request, _ATTRIBUTES)
        with session(ctx) as db:
            row, body = objects.find_vpc(db, request["VpcId"])
            body[f"_{_ATTRIBUTES[member]}"] = bool(request[member]["Value"])
            objects.save_vpc(db, row["vpc_id"], body)
        wake_network(ctx)  # the VPC's resolver answers, or not, by it
        return {}
