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
from cloudlet.ids import now
from cloudlet.store.schema import ec2_addresses, ec2_network_interfaces, ec2_private_ips, subnets, vpcs

RESERVED_LOW, RESERVED_HIGH = 4, 1  # per subnet: network, router, DNS, spare ... broadcast
# what an Elastic IP's Address says of the ENI it is associated with
_ASSOCIATION_KEYS = ("AssociationId", "NetworkInterfaceId", "NetworkInterfaceOwnerId", "PrivateIpAddress",
                     "InstanceId")


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
        unmap(db, row)
    db.delete(ec2_network_interfaces, ec2_network_interfaces.c.eni_id == eni_id)


def unmap(db, row: dict) -> None:
    """An Elastic IP (its row) no longer associated with anything, as its Address says too."""
    body = {k: v for k, v in json.loads(row["body"]).items() if k not in _ASSOCIATION_KEYS}
    db.update(ec2_addresses, ec2_addresses.c.allocation_id == row["allocation_id"], eni_id=None, private_ip=None,
              body=json.dumps(body))


def in_pool(address: str, pool: str) -> bool:
    """Whether an address is one the host's public pool hands out."""
    try:
        wanted = ipaddress.ip_address(address)
    except ValueError:
        return False
    net = ipaddress.ip_network(pool)
    return wanted in net and wanted not in (net.network_address, net.broadcast_address, net.network_address + 1)


def public_ip(db, pool: str, avoid: str | None = None) -> str:
    """An address of the host's public pool no account has (the whole store is looked at:
    public addresses are the host's, not an account's), from a random place in it as AWS's
    are; `avoid` only when no other is left."""
    taken = {r[0] for r in db.conn.execute(select(ec2_addresses.c.public_ip))}
    net = ipaddress.ip_network(pool)
    first, count = int(net.network_address) + 2, net.num_addresses - 3  # less the host's gateway and broadcast
    start = secrets.randbelow(count) if count > 0 else 0
    for offset in range(max(count, 0)):
        address = str(ipaddress.ip_address(first + (start + offset) % count))
        if address not in taken and address != avoid:
            return address
    if avoid and avoid not in taken and in_pool(avoid, pool):
        return avoid
    raise AddressError("AddressLimitExceeded", "The maximum number of addresses has been reached: the host's "
                                               f"public pool {pool} has none left.")


# --- what the EC2 API does with an ENI once it is made ----------------------------------


def find(db, eni_id: str) -> dict | None:
    """The ENI's body (None: the account has no such ENI here)."""
    row = db.one(ec2_network_interfaces, ec2_network_interfaces.c.eni_id == eni_id)
    return json.loads(row["body"]) if row else None


def _by_device(bodies) -> list[dict]:
    return sorted(bodies, key=lambda b: (b.get("Attachment") or {}).get("DeviceIndex", 0))


def attached_to(db, instance_or_task: str) -> list[dict]:
    """The bodies of the ENIs attached to an instance or task, by device index."""
    rows = db.select(ec2_network_interfaces, ec2_network_interfaces.c.attached_to == instance_or_task)
    return _by_device(json.loads(r["body"]) for r in rows)


def of_instances(db) -> dict[str, list[dict]]:
    """instance id -> the bodies of its ENIs, by device index."""
    out: dict[str, list[dict]] = {}
    for row in db.select(ec2_network_interfaces, ec2_network_interfaces.c.attached_to.like("i-%")):
        out.setdefault(row["attached_to"], []).append(json.loads(row["body"]))
    return {instance: _by_device(bodies) for instance, bodies in out.items()}


def save(db, body: dict, **columns) -> None:
    db.update(ec2_network_interfaces, ec2_network_interfaces.c.eni_id == body["NetworkInterfaceId"],
              body=json.dumps(body), **columns)


def attach(db, body: dict, instance_id: str, device_index: int, delete_on_termination: bool) -> dict:
    """Attach the ENI (its body, saved) to an instance at a device index; its Attachment."""
    body["Attachment"] = {"AttachmentId": ids.resource_id("eni-attach"), "AttachTime": now(),
                          "DeleteOnTermination": delete_on_termination, "DeviceIndex": device_index,
                          "NetworkCardIndex": 0, "InstanceId": instance_id, "InstanceOwnerId": db.account_id,
                          "Status": "attached"}
    body["Status"] = "in-use"
    save(db, body, attached_to=instance_id)
    return body["Attachment"]


def detach(db, body: dict) -> None:
    body.pop("Attachment", None)
    body["Status"] = "available"
    save(db, body, attached_to=None)


def subnet_of(db, body: dict) -> dict:
    return db.one(subnets, subnets.c.subnet_id == body["SubnetId"])


def add_ip(db, body: dict, wanted: str | None = None) -> str:
    """A secondary private address for the ENI (its body, saved): `wanted`, or the lowest free."""
    subnet = subnet_of(db, body)
    address = allocate_ip(db, body["VpcId"], body["SubnetId"], subnet["cidr"], body["NetworkInterfaceId"], wanted)
    body["PrivateIpAddresses"].append({"Primary": False, "PrivateIpAddress": address,
                                       "PrivateDnsName": private_dns_name(address, db.region)})
    save(db, body)
    return address


def holder_of(db, vpc_id: str, address: str) -> str | None:
    """The ENI that has a private address of the VPC, if any."""
    row = db.one(ec2_private_ips, ec2_private_ips.c.vpc_id == vpc_id, ec2_private_ips.c.ip == address)
    return row["eni_id"] if row else None


def remove_ip(db, body: dict, address: str) -> dict | None:
    """Take a secondary address off the ENI (its body, saved); the Elastic IP it had is
    disassociated and returned (its row) so that a caller moving the address can take it along."""
    body["PrivateIpAddresses"] = [p for p in body["PrivateIpAddresses"] if p["PrivateIpAddress"] != address]
    save(db, body)
    db.delete(ec2_private_ips, ec2_private_ips.c.vpc_id == body["VpcId"], ec2_private_ips.c.ip == address)
    held = db.one(ec2_addresses, ec2_addresses.c.eni_id == body["NetworkInterfaceId"],
                  ec2_addresses.c.private_ip == address)
    if held:
        unmap(db, held)
    return held


def default_groups(db, vpc_id: str) -> list[dict]:
    """The VPC's default security group, as an ENI's Groups name it."""
    vpc = db.one(vpcs, vpcs.c.vpc_id == vpc_id)
    return [{"GroupId": vpc["security_group_id"], "GroupName": "default"}]


def public_dns_name(address: str, region: str) -> str:
    host = "ec2-" + address.replace(".", "-")
    return f"{host}.compute-1.amazonaws.com" if region == "us-east-1" else f"{host}.{region}.compute.amazonaws.com"


def set_association(db, body: dict, private_ip: str, association: dict | None) -> None:
    """Which public address a private address of the ENI (its body, saved) has, if any; the
    primary address's is the ENI's own Association too, as DescribeNetworkInterfaces shows it."""
    for entry in body["PrivateIpAddresses"]:
        if entry["PrivateIpAddress"] != private_ip:
            continue
        if association:
            entry["Association"] = association
        else:
            entry.pop("Association", None)
        if entry["Primary"]:
            if association:
                body["Association"] = association
            else:
                body.pop("Association", None)
    save(db, body)


def give_launch_ip(db, body: dict, pool: str) -> str:
    """A public IP of the host's pool for the ENI's primary address, as AWS gives at launch:
    no Elastic IP, not listed by DescribeAddresses, gone at a stop."""
    address = public_ip(db, pool, avoid=body.get("_released"))  # AWS's next public IP is a new one
    db.insert(ec2_addresses, allocation_id=ids.resource_id("ipv4pool"), public_ip=address,
              eni_id=body["NetworkInterfaceId"], private_ip=body["PrivateIpAddress"],
              body=json.dumps({"PublicIp": address}))
    set_association(db, body, body["PrivateIpAddress"], {"IpOwnerId": "amazon", "PublicIp": address,
                                                         "PublicDnsName": public_dns_name(address, db.region)})
    return address


def take_launch_ip(db, body: dict) -> None:
    """The ENI's launch-time public IP, if it has one, back to the pool."""
    rows = db.select(ec2_addresses, ec2_addresses.c.eni_id == body["NetworkInterfaceId"],
                     ec2_addresses.c.allocation_id.like("ipv4pool-%"))
    for row in rows:
        db.delete(ec2_addresses, ec2_addresses.c.allocation_id == row["allocation_id"])
        body["_released"] = row["public_ip"]
        set_association(db, body, row["private_ip"], None)
