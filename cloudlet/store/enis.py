"""Network interfaces and the addresses they hold, as both the EC2 API (CreateNetworkInterface,
RunInstances, AllocateAddress, ...) and the controllers (an ECS task's ENI, made while it is
PROVISIONING) make and release them. Plain functions over a Scoped handle; the body of an
ENI is the NetworkInterface as DescribeNetworkInterfaces returns it.

Private addresses: AWS keeps five of every subnet (network, .1 router, .2 DNS, .3 spare,
broadcast); the others go lowest first, one row each in ec2_private_ips. Public addresses
come from the host's public pool (`cloudlet up --public-pool`), unique across accounts.
"""

from __future__ import annotations

import ipaddress
import json
import secrets

from sqlalchemy import select

from cloudlet import ids
from cloudlet.store.schema import ec2_addresses, ec2_network_interfaces, ec2_private_ips

RESERVED_LOW, RESERVED_HIGH = 4, 1  # per subnet: network, router, DNS, spare ... broadcast


class AddressError(Exception):
    """An AWS error (code, message) about an address: taken, outside the subnet, none left."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def usable(cidr: str) -> range:
    """The offsets in the subnet AWS hands out."""
    net = ipaddress.ip_network(cidr)
    return range(RESERVED_LOW, net.num_addresses - RESERVED_HIGH)


def free_count(db, subnet_id: str, cidr: str) -> int:
    """AvailableIpAddressCount: what is left of the usable addresses."""
    used = db.count(ec2_private_ips, ec2_private_ips.c.subnet_id == subnet_id)
    return max(0, len(usable(cidr)) - used)


def allocate_ip(db, vpc_id: str, subnet_id: str, cidr: str, eni_id: str, wanted: str | None = None) -> str:
    """An address of the subnet for eni_id: `wanted` if it is usable and free, else the lowest free."""
    net = ipaddress.ip_network(cidr)
    taken = {r["ip"] for r in db.select(ec2_private_ips, ec2_private_ips.c.vpc_id == vpc_id)}
    if wanted is not None:
        try:
            address = ipaddress.ip_address(wanted)
        except ValueError:
            raise AddressError("InvalidParameterValue", f"Invalid value '{wanted}' for PrivateIpAddress.") from None
        if address not in net:
            raise AddressError("InvalidParameterValue", f"Address {wanted} does not fall within the subnet's "
                                                        "address range")
        if int(address) - int(net.network_address) not in usable(cidr):
            raise AddressError("InvalidParameterValue", f"Address {wanted} is reserved by AWS in subnet {subnet_id}")
        if wanted in taken:
            raise AddressError("InvalidIPAddress.InUse", f"Address {wanted} is in use.")
        choice = wanted
    else:
        choice = next((str(net.network_address + i) for i in usable(cidr)
                       if str(net.network_address + i) not in taken), None)
        if choice is None:
            raise AddressError("InsufficientFreeAddressesInSubnet", f"Insufficient free IP addresses in subnet "
                                                                    f"{subnet_id}")
    db.insert(ec2_private_ips, vpc_id=vpc_id, ip=choice, subnet_id=subnet_id, eni_id=eni_id)
    return choice


def mac_address() -> str:
    """A locally administered unicast MAC, as AWS's 0a:... or 02:... ones are."""
    return "02:" + ":".join(secrets.token_hex(1) for _ in range(5))


def private_dns_name(address: str, region: str) -> str:
    host = "ip-" + address.replace(".", "-")
    return f"{host}.ec2.internal" if region == "us-east-1" else f"{host}.{region}.compute.internal"


def create_eni(db, subnet: dict, *, groups: list[dict], description: str = "", interface_type: str = "interface",
               requester_managed: bool = False, requester_id: str | None = None, private_ip: str | None = None,
               attached_to: str | None = None) -> dict:
    """A new ENI in subnet (its row) with a private address; groups: [{GroupId, GroupName}]."""
    eni_id = ids.resource_id("eni")
    address = allocate_ip(db, subnet["vpc_id"], subnet["subnet_id"], subnet["cidr"], eni_id, private_ip)
    dns = private_dns_name(address, db.region)
    body = {"NetworkInterfaceId": eni_id, "SubnetId": subnet["subnet_id"], "VpcId": subnet["vpc_id"],
            "AvailabilityZone": subnet["zone"], "Description": description, "Groups": groups,
            "InterfaceType": interface_type, "MacAddress": mac_address(), "OwnerId": db.account_id,
            "PrivateIpAddress": address, "PrivateDnsName": dns,
            "PrivateIpAddresses": [{"Primary": True, "PrivateIpAddress": address, "PrivateDnsName": dns}],
            "RequesterManaged": requester_managed, "SourceDestCheck": True, "Status": "available", "TagSet": [],
            "Ipv6Addresses": []}
    if requester_id:
        body["RequesterId"] = requester_id
    db.insert(ec2_network_interfaces, eni_id=eni_id, vpc_id=subnet["vpc_id"], subnet_id=subnet["subnet_id"],
              attached_to=attached_to, body=json.dumps(body))
    return body


def release_eni(db, eni_id: str) -> None:
    """The ENI and its private addresses go; public addresses given at launch go back to the
    pool, Elastic IPs stay allocated, disassociated."""
    db.delete(ec2_private_ips, ec2_private_ips.c.eni_id == eni_id)
    db.delete(ec2_addresses, ec2_addresses.c.eni_id == eni_id, ec2_addresses.c.allocation_id.like("ipv4pool-%"))
    for row in db.select(ec2_addresses, ec2_addresses.c.eni_id == eni_id):
        body = json.loads(row["body"])
        for key in ("AssociationId", "NetworkInterfaceId", "NetworkInterfaceOwnerId", "PrivateIpAddress",
                    "InstanceId"):
            body.pop(key, None)
        db.update(ec2_addresses, ec2_addresses.c.allocation_id == row["allocation_id"], eni_id=None,
                  private_ip=None, body=json.dumps(body))
    db.delete(ec2_network_interfaces, ec2_network_interfaces.c.eni_id == eni_id)


def public_ip(db, pool: str) -> str:
    """The lowest address of the host's public pool no account has (the whole store is
    looked at: public addresses are the host's, not an account's)."""
    net = ipaddress.ip_network(pool)
    taken = {r[0] for r in db.conn.execute(select(ec2_addresses.c.public_ip))}
    for address in list(net.hosts())[1:]:  # the first is the pool's gateway on the host
        if str(address) not in taken:
            return str(address)
    raise AddressError("AddressLimitExceeded", "The maximum number of addresses has been reached: the host's "
                                               f"public pool {pool} has none left.")
