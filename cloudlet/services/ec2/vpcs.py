"""The default VPC every account has in every region, as on AWS: one subnet per availability
zone and a default security group, made the first time anything asks for them.

All VPCs share this host, where a subnet becomes a bridge, so their address ranges must not
overlap: each gets a /16 of the host's VPC pool (`cloudlet up --vpc-pool`, 172.16.0.0/12 by
default), from the top down, so that the first default VPC has AWS's 172.31.0.0/16. Two
cloudlets on one host need pools of their own.
"""

import ipaddress

from sqlalchemy import select

from cloudlet import ids
from cloudlet.config import zones
from cloudlet.edge.errors import AWSError
from cloudlet.services.common import filters
from cloudlet.store.schema import subnets, vpcs

def _free_cidr(db, pool: str) -> str:
    taken = {row[0] for row in db.conn.execute(select(vpcs.c.cidr))}  # every account's: one host
    for cidr in reversed(list(ipaddress.ip_network(pool).subnets(new_prefix=16))):
        if str(cidr) not in taken:
            return str(cidr)
    raise AWSError("VpcLimitExceeded", "This host has no address range left for another VPC.")


def default_vpc(db, pool: str) -> dict:
    """The account's default VPC in the region (made, with its subnets, on first use)."""
    row = db.one(vpcs, vpcs.c.is_default == 1)
    if row:
        return row
    cidr = ipaddress.ip_network(_free_cidr(db, pool))
    vpc_id = ids.resource_id("vpc")
    db.insert(vpcs, vpc_id=vpc_id, cidr=str(cidr), is_default=1, security_group_id=ids.resource_id("sg"))
    for zone, block in zip(zones(db.region), cidr.subnets(new_prefix=20)):
        db.insert(subnets, subnet_id=ids.resource_id("subnet"), vpc_id=vpc_id, zone=zone["ZoneName"],
                  cidr=str(block), default_for_az=1)
    return db.one(vpcs, vpcs.c.vpc_id == vpc_id)


def find_subnet(db, subnet_id: str, pool: str) -> dict:
    default_vpc(db, pool)
    row = db.one(subnets, subnets.c.subnet_id == subnet_id)
    if row is None:
        raise AWSError("InvalidSubnetID.NotFound", f"The subnet ID '{subnet_id}' does not exist")
    return row


def _missing(wanted, found, code: str, what: str) -> None:
    absent = [w for w in wanted or [] if w not in found]
    if absent:
        raise AWSError(code, f"The {what} '{absent[0]}' does not exist")


class Vpcs:
    def _listed(self, ctx, table, order, key: str, wanted: list[str] | None, code: str, what: str) -> list[dict]:
        """The rows asked for (all when none is named), the default VPC made first if need be;
        a name that matches nothing is AWS's not-found error."""
        with ctx.write() as db:
            default_vpc(db, self.config.vpc_pool)
            rows = db.select(table, order_by=order)
        _missing(wanted, {r[key] for r in rows}, code, what)
        return [r for r in rows if not wanted or r[key] in wanted]

    def describe_vpcs(self, ctx, request):
        rows = self._listed(ctx, vpcs, vpcs.c.vpc_id, "vpc_id", request.get("VpcIds"), "InvalidVpcID.NotFound",
                            "vpc ID")
        out = [{"VpcId": r["vpc_id"], "CidrBlock": r["cidr"], "State": "available", "IsDefault": bool(r["is_default"]),
                "OwnerId": ctx.account_id, "InstanceTenancy": "default", "DhcpOptionsId": "default",
                "CidrBlockAssociationSet": [{"AssociationId": f"vpc-cidr-assoc-{r['vpc_id'][4:]}",
                                             "CidrBlock": r["cidr"], "CidrBlockState": {"State": "associated"}}]}
               for r in rows]
        getters = {"vpc-id": lambda v: v["VpcId"], "is-default": lambda v: v["IsDefault"],
                   "cidr": lambda v: v["CidrBlock"], "cidr-block-association.cidr-block": lambda v: v["CidrBlock"],
                   "state": lambda v: v["State"], "owner-id": lambda v: v["OwnerId"]}
        return {"Vpcs": filters.apply(out, request.get("Filters"), getters)}

    def describe_subnets(self, ctx, request):
        rows = self._listed(ctx, subnets, subnets.c.zone, "subnet_id", request.get("SubnetIds"),
                            "InvalidSubnetID.NotFound", "subnet ID")
        zone_ids = {z["ZoneName"]: z["ZoneId"] for z in zones(ctx.region)}
        out = [{"SubnetId": r["subnet_id"], "VpcId": r["vpc_id"], "CidrBlock": r["cidr"],
                "AvailabilityZone": r["zone"], "AvailabilityZoneId": zone_ids.get(r["zone"]),
                "AvailableIpAddressCount": ipaddress.ip_network(r["cidr"]).num_addresses - 5,
                "DefaultForAz": bool(r["default_for_az"]), "MapPublicIpOnLaunch": True, "State": "available",
                "OwnerId": ctx.account_id, "SubnetArn": ctx.arn("ec2", f"subnet/{r['subnet_id']}")}
               for r in rows]
        getters = {"subnet-id": lambda s: s["SubnetId"], "vpc-id": lambda s: s["VpcId"],
                   "availability-zone": lambda s: s["AvailabilityZone"], "default-for-az": lambda s: s["DefaultForAz"],
                   "cidr-block": lambda s: s["CidrBlock"], "state": lambda s: s["State"]}
        return {"Subnets": filters.apply(out, request.get("Filters"), getters)}
