"""An instance's network as RunInstances asks for it and DescribeInstances shows it.

RunInstances resolves its subnet, security groups and network interfaces (SubnetId,
SecurityGroupIds, SecurityGroups, PrivateIpAddress, Placement, NetworkInterfaces) in AWS's
order with AWS's errors, into a plan; each instance then gets its ENIs in the same
transaction (store/enis.py: the primary one, attached at device index 0, is where its
address is chosen) and, when the subnet maps public IPs on launch or the primary interface
asks for one, a public IP of the host's pool. DescribeInstances reads all of it back from the
ENIs (addresses, groups, public IP and DNS name), so it is never out of step with them."""

from __future__ import annotations

import json
from dataclasses import dataclass

from cloudlet.config import zones
from cloudlet.edge.errors import AWSError
from cloudlet.store import enis
from cloudlet.store.schema import subnets

from .instance_types import interface_limits
from .network_interfaces import GETTERS as INTERFACE_GETTERS
from .network_interfaces import find as find_eni
from .network_interfaces import new_interface
from .security_groups import MAX_PER_INTERFACE, find_group, resolve_groups
from .vpcs import default_vpc, find_subnet


@dataclass
class Interface:
    """One network interface of each instance to launch: a new one (spec) or an existing one."""

    index: int
    subnet: dict
    groups: list[dict]
    spec: dict
    existing: dict | None = None
    public_ip: bool = False
    delete_on_termination: bool = True


def maps_public_ip(subnet: dict) -> bool:
    """MapPublicIpOnLaunch of the subnet: default subnets have it, others not unless set."""
    return bool(json.loads(subnet["body"] or "{}").get("MapPublicIpOnLaunch", bool(subnet["default_for_az"])))


def instance_groups(db, pool: str, subnet: dict, group_ids: list[str] | None,
                    group_names: list[str] | None = None) -> list[dict]:
    """The groups an instance in the subnet is to have: each must exist and be of the subnet's
    VPC (names only in the default VPC), five at most."""
    group_ids, group_names = list(dict.fromkeys(group_ids or [])), list(dict.fromkeys(group_names or []))
    if len(group_ids) + len(group_names) > MAX_PER_INTERFACE:
        raise AWSError("SecurityGroupsPerInstanceLimitExceeded", "The maximum number of security groups per "
                       "instance has been reached.")
    for group_id in group_ids:
        group = find_group(db, pool, group_id=group_id)
        if group["VpcId"] != subnet["vpc_id"]:
            raise AWSError("InvalidParameter", f"Security group {group_id} and subnet {subnet['subnet_id']} belong "
                           "to different networks.")
    for name in group_names:
        find_group(db, pool, group_name=name)
    return resolve_groups(db, subnet["vpc_id"], group_ids, group_names)


def _subnet(db, pool: str, subnet_id: str | None, zone: str | None) -> dict:
    """The subnet named, else the default VPC's in the zone asked for (or its first)."""
    if zone and zone not in [z["ZoneName"] for z in zones(db.region)]:
        raise AWSError("InvalidParameterValue", f"Invalid availability zone: [{zone}]")
    if subnet_id:
        subnet = find_subnet(db, subnet_id, pool)
        if zone and zone != subnet["zone"]:
            raise AWSError("InvalidParameterValue", f"Value ({zone}) for parameter availabilityZone is invalid. "
                           f"Subnet '{subnet_id}' is in the availability zone {subnet['zone']}")
        return subnet
    default = default_vpc(db, pool)
    found = db.select(subnets, subnets.c.vpc_id == default["vpc_id"], subnets.c.default_for_az == 1,
                      *([subnets.c.zone == zone] if zone else []), order_by=subnets.c.zone)
    if not found:
        raise AWSError("InvalidSubnetID.NotFound", "No default subnet for availability zone: "
                       f"'{zone or db.region}'.")
    return found[0]


def _check_limits(plan: list[Interface], kind: str) -> None:
    """The instance type's interfaces per instance and addresses per interface."""
    most, per_interface = interface_limits(kind)
    if len(plan) > most or plan[-1].index >= most:
        raise AWSError("InvalidParameterValue", f"Network interface count {len(plan)} or device index "
                       f"{plan[-1].index} exceeds the limit for {kind}: {most} interfaces, device indexes 0 to "
                       f"{most - 1}.")
    for interface in plan:
        listed = interface.spec.get("PrivateIpAddresses") or []
        wanted = len(interface.existing["PrivateIpAddresses"]) if interface.existing else \
            1 + sum(not p.get("Primary") for p in listed) + (interface.spec.get("SecondaryPrivateIpAddressCount") or 0)
        if wanted > per_interface:
            raise AWSError("InvalidInterface.IpAddressLimitExceeded", f"The number of private IP addresses for the "
                           f"network interface at device index {interface.index} ({wanted}) exceeds the limit for "
                           f"{kind} ({per_interface}).")


def _from_interfaces(db, pool: str, specs: list[dict], count: int, zone: str | None) -> list[Interface]:
    indexes = [s.get("DeviceIndex") for s in specs]
    if None in indexes or min(i for i in indexes if i is not None) < 0:
        raise AWSError("InvalidParameterValue", "Each network interface requires a device index of 0 or more.")
    if len(set(indexes)) != len(indexes):
        raise AWSError("InvalidParameterValue", "Each network interface requires a unique device index.")
    if 0 not in indexes:
        raise AWSError("InvalidParameterValue", "When specifying network interfaces, you must include a device "
                       "at index 0.")
    plan = []
    for spec in sorted(specs, key=lambda s: s["DeviceIndex"]):
        public = spec.get("AssociatePublicIpAddress")
        if public is not None and (spec["DeviceIndex"] != 0 or len(specs) > 1):
            raise AWSError("InvalidParameterCombination", "The associatePublicIPAddress parameter can only be "
                           "specified for the network interface with DeviceIndex 0 of a single network interface.")
        if spec.get("NetworkCardIndex") not in (None, 0):
            raise AWSError("InvalidParameterValue", f"Value ({spec['NetworkCardIndex']}) for parameter "
                           "networkCardIndex is invalid. Instances here have one network card, 0.")
        if spec.get("NetworkInterfaceId"):
            plan.append(_existing(db, spec, count, public))
            continue
        if not spec.get("SubnetId") and spec["DeviceIndex"] != 0:
            raise AWSError("InvalidParameterValue", "A subnet ID is required for the network interface at device "
                           f"index {spec['DeviceIndex']}.")
        subnet = _subnet(db, pool, spec.get("SubnetId"), zone)
        if count > 1 and (spec.get("PrivateIpAddress") or any(p.get("PrivateIpAddress")
                                                              for p in spec.get("PrivateIpAddresses") or [])):
            raise AWSError("InvalidParameterCombination", "Cannot specify a private IP address when launching more "
                           "than one instance.")
        plan.append(Interface(spec["DeviceIndex"], subnet, instance_groups(db, pool, subnet, spec.get("Groups")),
                              spec, public_ip=maps_public_ip(subnet) if public is None else bool(public),
                              delete_on_termination=spec.get("DeleteOnTermination", True)))
    if any(i.subnet["zone"] != plan[0].subnet["zone"] for i in plan):
        raise AWSError("InvalidParameterCombination", "The network interfaces of an instance must all be in the "
                       "same availability zone.")
    return plan


def _existing(db, spec: dict, count: int, public: bool | None) -> Interface:
    body = find_eni(db, spec["NetworkInterfaceId"])
    if count > 1:
        raise AWSError("InvalidParameterCombination", "A network interface ID can be given only when launching one "
                       "instance.")
    if body["Status"] != "available":
        raise AWSError("InvalidNetworkInterface.InUse", f"Interface: [{body['NetworkInterfaceId']}] in use.")
    if public is not None or any(spec.get(k) for k in ("SubnetId", "Groups", "PrivateIpAddress",
                                                       "PrivateIpAddresses", "SecondaryPrivateIpAddressCount")):
        raise AWSError("InvalidParameterCombination", "An existing network interface is taken as it is: its subnet, "
                       "groups, addresses and public IP cannot be given with its NetworkInterfaceId.")
    subnet = enis.subnet_of(db, body)
    return Interface(spec["DeviceIndex"], subnet, body["Groups"], spec, existing=body,
                     delete_on_termination=bool(spec.get("DeleteOnTermination", False)))


def plan(db, pool: str, request, count: int, kind: str) -> list[Interface]:
    """The network interfaces each instance (of the type) a RunInstances request launches
    gets, primary first."""
    interfaces = _plan(db, pool, request, count)
    _check_limits(interfaces, kind)
    return interfaces


def _plan(db, pool: str, request, count: int) -> list[Interface]:
    specs = request.get("NetworkInterfaces") or []
    zone = (request.get("Placement") or {}).get("AvailabilityZone")
    if specs:
        for key, what in (("SubnetId", "an instance-level subnet ID may"),
                          ("SecurityGroupIds", "an instance-level security groups may"),
                          ("SecurityGroups", "an instance-level security groups may"),
                          ("PrivateIpAddress", "an instance-level private IP address should")):
            if request.get(key):
                raise AWSError("InvalidParameterCombination", f"Network interfaces and {what} not be specified on "
                               "the same request")
        return _from_interfaces(db, pool, specs, count, zone)
    subnet = _subnet(db, pool, request.get("SubnetId"), zone)
    if request.get("SecurityGroups") and not default_vpc(db, pool)["vpc_id"] == subnet["vpc_id"]:
        raise AWSError("InvalidParameterCombination", "The parameter groupName cannot be used with the parameter "
                       "subnet")
    if request.get("PrivateIpAddress") and count > 1:
        raise AWSError("InvalidParameterCombination", "Cannot specify a private IP address when launching more "
                       "than one instance.")
    groups = instance_groups(db, pool, subnet, request.get("SecurityGroupIds"), request.get("SecurityGroups"))
    spec = {"PrivateIpAddress": request.get("PrivateIpAddress")}
    return [Interface(0, subnet, groups, spec, public_ip=maps_public_ip(subnet))]


def make(db, pool: str, interfaces: list[Interface], instance_id: str) -> list[dict]:
    """The ENIs of one instance, attached to it (their bodies), the primary one's public IP too."""
    made = []
    for interface in interfaces:
        body = interface.existing or new_interface(db, interface.subnet, interface.groups, interface.spec)
        enis.attach(db, body, instance_id, interface.index, interface.delete_on_termination)
        if interface.public_ip:
            try:
                enis.give_launch_ip(db, body, pool)
            except enis.AddressError as e:
                raise AWSError(e.code, e.message) from None
        made.append(body)
    return made


def shown(body: dict, attached: list[dict]) -> dict:
    """The instance's body with what its ENIs say (they are attached by device index): its
    addresses, DNS names, groups, source/destination check and network interfaces."""
    if not attached:
        body.pop("PublicIpAddress", None)
        return {**body, "NetworkInterfaces": [], "SecurityGroups": body.get("SecurityGroups", [])}
    primary = attached[0]
    association = primary.get("Association") or {}
    groups = list({g["GroupId"]: g for eni in attached for g in eni["Groups"]}.values())
    out = {**body, "PrivateIpAddress": primary["PrivateIpAddress"], "PrivateDnsName": primary["PrivateDnsName"],
           "PublicDnsName": association.get("PublicDnsName", ""), "SecurityGroups": groups,
           "SourceDestCheck": primary["SourceDestCheck"], "SubnetId": primary["SubnetId"], "VpcId": primary["VpcId"],
           "NetworkInterfaces": [{k: v for k, v in eni.items() if not k.startswith("_")} for eni in attached]}
    if association.get("PublicIp"):
        out["PublicIpAddress"] = association["PublicIp"]
    else:
        out.pop("PublicIpAddress", None)
    return out


def _of_interfaces(getter):
    """An instance's network-interface.* filter: the interfaces filter's, on each of its ENIs."""
    def values(body: dict) -> list:
        got = [getter(eni) for eni in body["NetworkInterfaces"]]
        return [v for g in got for v in (g if isinstance(g, list) else [g])]
    return values


GETTERS = {
    "instance.group-id": lambda b: [g["GroupId"] for g in b["SecurityGroups"]],
    "instance.group-name": lambda b: [g["GroupName"] for g in b["SecurityGroups"]],
    "group-id": lambda b: [g["GroupId"] for g in b["SecurityGroups"]],
    "group-name": lambda b: [g["GroupName"] for g in b["SecurityGroups"]],
    "ip-address": lambda b: b.get("PublicIpAddress"),
    "dns-name": lambda b: b.get("PublicDnsName"),
    "private-ip-address": lambda b: b.get("PrivateIpAddress"),
    "private-dns-name": lambda b: b.get("PrivateDnsName"),
    "source-dest-check": lambda b: b.get("SourceDestCheck"),
    **{f"network-interface.{name}": _of_interfaces(getter) for name, getter in INTERFACE_GETTERS.items()},
}
