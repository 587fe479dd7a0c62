"""Subnets: a range of one of a VPC's CIDRs in one availability zone. The row has what is
found by (VPC, zone, CIDR, default for its zone); the body has the attributes
ModifySubnetAttribute changes. AvailableIpAddressCount is counted from the private addresses
in use (store/enis.py, which keeps AWS's five reserved addresses of every subnet). A new
subnet is associated with its VPC's default network ACL, and uses the VPC's main route table
until associated with another."""

from __future__ import annotations

import json

from cloudlet import ids
from cloudlet.config import zones
from cloudlet.edge.errors import AWSError
from cloudlet.store import enis
from cloudlet.store.schema import ec2_network_interfaces, subnets

from . import network_acls, route_tables, vpcs
from . import vpc_objects as objects
from .network_events import wake_network

KIND = objects.SUBNET
MAX_SUBNETS = 200  # AWS's default quota of subnets per VPC
objects.register_tags(KIND, lambda db, subnet_id: db.one(subnets, subnets.c.subnet_id == subnet_id) is not None)

_GETTERS = {
    "subnet-id": lambda s: s["SubnetId"], "vpc-id": lambda s: s["VpcId"], "state": lambda s: s["State"],
    "availability-zone": lambda s: s["AvailabilityZone"], "availability-zone-id": lambda s: s["AvailabilityZoneId"],
    "cidr-block": lambda s: s["CidrBlock"], "cidr": lambda s: s["CidrBlock"], "cidrBlock": lambda s: s["CidrBlock"],
    "default-for-az": lambda s: s["DefaultForAz"], "defaultForAz": lambda s: s["DefaultForAz"],
    "map-public-ip-on-launch": lambda s: s["MapPublicIpOnLaunch"], "owner-id": lambda s: s["OwnerId"],
    "subnet-arn": lambda s: s["SubnetArn"], "available-ip-address-count": lambda s: s["AvailableIpAddressCount"],
    "ipv6-native": lambda s: s["Ipv6Native"],
    "enable-dns64": lambda s: s["EnableDns64"],
    "map-customer-owned-ip-on-launch": lambda s: s["MapCustomerOwnedIpOnLaunch"],
    "private-dns-name-options-on-launch.hostname-type": lambda s: s["PrivateDnsNameOptionsOnLaunch"]["HostnameType"],
}


def attributes(map_public: bool) -> dict:
    """What a new subnet's body starts as: AWS's defaults, public addresses at launch as asked."""
    return {"MapPublicIpOnLaunch": map_public, "AssignIpv6AddressOnCreation": False, "EnableDns64": False,
            "MapCustomerOwnedIpOnLaunch": False, "Ipv6Native": False, "State": "available",
            "PrivateDnsNameOptionsOnLaunch": {"HostnameType": "ip-name", "EnableResourceNameDnsARecord": False,
                                              "EnableResourceNameDnsAAAARecord": False}}


def new_subnet(db, vpc: dict, zone: str, cidr: str, default_for_az: bool = False) -> dict:
    """The subnet's row, associated with the VPC's default network ACL (vpc: its body)."""
    subnet_id = ids.resource_id("subnet")
    db.insert(subnets, subnet_id=subnet_id, vpc_id=vpc["VpcId"], zone=zone, cidr=cidr,
              default_for_az=int(default_for_az), body=json.dumps(attributes(default_for_az)))
    acl = objects.find(db, objects.NETWORK_ACL, vpc["_defaultNetworkAclId"])
    network_acls.associate(db, acl, subnet_id)
    return db.one(subnets, subnets.c.subnet_id == subnet_id)


def complete(db, row: dict, vpc: dict) -> None:
    """A subnet recorded before subnets had attributes (a default VPC's, body '{}'): AWS's
    defaults for a default subnet, and its association with the default ACL."""
    db.update(subnets, subnets.c.subnet_id == row["subnet_id"], body=json.dumps(attributes(True)))
    network_acls.associate(db, objects.find(db, objects.NETWORK_ACL, vpc["_defaultNetworkAclId"]), row["subnet_id"])


def _shown(db, row: dict, zone_ids: dict) -> dict:
    return {"SubnetId": row["subnet_id"], "VpcId": row["vpc_id"], "CidrBlock": row["cidr"],
            "AvailabilityZone": row["zone"], "AvailabilityZoneId": zone_ids.get(row["zone"]),
            "AvailableIpAddressCount": enis.free_count(db, row["subnet_id"], row["cidr"]),
            "DefaultForAz": bool(row["default_for_az"]), "OwnerId": db.account_id,
            "SubnetArn": ids.arn("ec2", db.region, db.account_id, f"subnet/{row['subnet_id']}"),
            "Ipv6CidrBlockAssociationSet": [], **json.loads(row["body"])}


def _zone(db, request, vpc_id: str) -> str:
    known = zones(db.region)
    name, zone_id = request.get("AvailabilityZone"), request.get("AvailabilityZoneId")
    if name and zone_id:
        raise AWSError("InvalidParameterCombination", "Only one of availabilityZone or availabilityZoneId may be "
                       "specified.")
    if name or zone_id:
        field, key = ("availabilityZone", "ZoneName") if name else ("availabilityZoneId", "ZoneId")
        found = [z["ZoneName"] for z in known if z[key] == (name or zone_id)]
        if not found:
            raise AWSError("InvalidParameterValue", f"Value ({name or zone_id}) for parameter {field} is invalid. "
                           "Subnets can currently only be created in the following availability zones: "
                           f"{', '.join(z[key] for z in known)}.")
        return found[0]
    used = [r["zone"] for r in db.select(subnets, subnets.c.vpc_id == vpc_id)]
    return min((z["ZoneName"] for z in known), key=used.count)  # AWS spreads them; the least used first


def _check_block(db, block: str, vpc: dict) -> str:
    net = objects.cidr(block)
    if not 16 <= net.prefixlen <= 28 or not net.subnet_of(objects.cidr(vpc["CidrBlock"])):
        raise AWSError("InvalidSubnet.Range", f"The CIDR '{block}' is invalid.")
    others = db.select(subnets, subnets.c.vpc_id == vpc["VpcId"])
    if any(net.overlaps(objects.cidr(o["cidr"])) for o in others):
        raise AWSError("InvalidSubnet.Conflict", f"The CIDR '{block}' conflicts with another subnet")
    if len(others) >= MAX_SUBNETS:
        raise AWSError("SubnetLimitExceeded", "The maximum number of subnets has been reached.")
    return str(net)


def find(db, subnet_id: str | None) -> dict:
    row = db.one(subnets, subnets.c.subnet_id == (subnet_id or ""))
    if row is None:
        raise KIND.missing(subnet_id or "")
    return row


# ModifySubnetAttribute: member -> how it changes the body; one member a call, as AWS takes them.
def _flag(key: str, inner: str | None = None, refuse_true: str | None = None):
    def change(body: dict, value) -> None:
        if refuse_true and value["Value"]:
            raise AWSError("InvalidParameterValue", refuse_true)
        (body[inner] if inner else body)[key] = bool(value["Value"])
    return change


def _hostname_type(body: dict, value: str) -> None:
    body["PrivateDnsNameOptionsOnLaunch"]["HostnameType"] = value


def _outposts_only(body: dict, value) -> None:
    raise AWSError("InvalidParameterValue", "Customer-owned IP pools and LNIs belong to subnets on an Outpost; "
                   "there are none here.")


_ATTRIBUTES = {
    "MapPublicIpOnLaunch": _flag("MapPublicIpOnLaunch"),
    "AssignIpv6AddressOnCreation": _flag("AssignIpv6AddressOnCreation", refuse_true=(
        "Invalid value 'true' for assignIpv6AddressOnCreation. Cannot set assignIpv6AddressOnCreation to true "
        "unless the subnet has an IPv6 CIDR block associated with it.")),
    "EnableDns64": _flag("EnableDns64"),
    "PrivateDnsHostnameTypeOnLaunch": _hostname_type,
    "EnableResourceNameDnsARecordOnLaunch": _flag("EnableResourceNameDnsARecord", "PrivateDnsNameOptionsOnLaunch"),
    "EnableResourceNameDnsAAAARecordOnLaunch": _flag("EnableResourceNameDnsAAAARecord",
                                                     "PrivateDnsNameOptionsOnLaunch"),
    "MapCustomerOwnedIpOnLaunch": _flag("MapCustomerOwnedIpOnLaunch", refuse_true=(
        "Cannot map customer-owned IPs on launch: the subnet is not on an Outpost.")),
    "CustomerOwnedIpv4Pool": _outposts_only, "EnableLniAtDeviceIndex": _outposts_only,
    "DisableLniAtDeviceIndex": _outposts_only,
}


class Subnets:
    def create_subnet(self, ctx, request):
        if request.get("Ipv6CidrBlock") or request.get("Ipv6Native") or request.get("Ipv6IpamPoolId"):
            raise AWSError("UnsupportedOperation", "VPCs here are IPv4 only: a subnet takes a CidrBlock.")
        if request.get("Ipv4IpamPoolId") or request.get("OutpostArn"):
            raise AWSError("UnsupportedOperation", "IPAM pools and Outposts are not offered here.")
        if not request.get("CidrBlock"):
            raise AWSError("MissingParameter", "Either 'cidrBlock' or 'ipv4IpamPoolId' should be provided.")
        with vpcs.session(ctx) as db:
            _, vpc = objects.find_vpc(db, request["VpcId"])
            block = _check_block(db, request["CidrBlock"], vpc)
            row = new_subnet(db, vpc, _zone(db, request, vpc["VpcId"]), block)
            objects.tag_new(db, request, KIND, row["subnet_id"])
            out = objects.shown(db, KIND, _shown(db, row, _zone_ids(db)))
        wake_network(ctx)
        return {"Subnet": out}

    def delete_subnet(self, ctx, request):
        with vpcs.session(ctx) as db:
            row = find(db, request["SubnetId"])
            if db.one(ec2_network_interfaces, ec2_network_interfaces.c.subnet_id == row["subnet_id"]):
                raise objects.dependencies("subnet", row["subnet_id"])
            db.delete(subnets, subnets.c.subnet_id == row["subnet_id"])
            route_tables.forget_subnet(db, row["vpc_id"], row["subnet_id"])
            network_acls.forget_subnet(db, row["vpc_id"], row["subnet_id"])
            objects.remove(db, row["subnet_id"])
        wake_network(ctx)
        return {}

    def describe_subnets(self, ctx, request):
        with vpcs.session(ctx) as db:
            zone_ids = _zone_ids(db)
            bodies = [_shown(db, r, zone_ids) for r in db.select(subnets, order_by=subnets.c.subnet_id)]
            page, token = objects.answer(db, bodies, KIND, request, "SubnetIds", _GETTERS,
                                         order=lambda s: (s["AvailabilityZone"], s["SubnetId"]))
        return {"Subnets": page, "NextToken": token}

    def modify_subnet_attribute(self, ctx, request):
        member = objects.one_attribute(request, _ATTRIBUTES)
        with vpcs.session(ctx) as db:
            row = find(db, request["SubnetId"])
            body = json.loads(row["body"])
            _ATTRIBUTES[member](body, request[member])
            db.update(subnets, subnets.c.subnet_id == row["subnet_id"], body=json.dumps(body))
        return {}


def _zone_ids(db) -> dict:
    return {z["ZoneName"]: z["ZoneId"] for z in zones(db.region)}
