"""Network interfaces (ENIs): CreateNetworkInterface, DeleteNetworkInterface and
DescribeNetworkInterfaces. An ENI is a row of ec2_network_interfaces whose body is what
DescribeNetworkInterfaces shows (cloudlet/store/enis.py makes and changes them); the ENIs of
instances (made by RunInstances) and of ECS tasks (made by the task controller) are listed
here too. Attachments, attributes and secondary addresses are in eni_attributes.py."""

from __future__ import annotations

import json

from cloudlet.edge.errors import AWSError
from cloudlet.services.common import filters, pagination, tags
from cloudlet.store import enis
from cloudlet.store.schema import ec2_network_interfaces as table

from .network_events import wake_network
from .security_groups import resolve_groups
from .vpcs import find_subnet

MAX_ADDRESSES = 50  # private addresses per ENI: what AWS's largest instance types take
MAX_DESCRIPTION = 255
CREATABLE_TYPES = ("interface", "efa", "trunk")  # efa-only has no address, branch needs VLANs: neither here


def _exists(db, eni_id: str) -> bool:
    return enis.find(db, eni_id) is not None


tags.register(tags.ResourceKind("eni", "network-interface", _exists, "InvalidNetworkInterfaceID.NotFound"))


def find(db, eni_id: str) -> dict:
    """The ENI's body, or AWS's error for an id that is malformed or names nothing here."""
    if not eni_id.startswith("eni-"):
        raise AWSError("InvalidNetworkInterfaceId.Malformed", f"Invalid id: \"{eni_id}\" (expecting \"eni-...\")")
    body = enis.find(db, eni_id)
    if body is None:
        raise AWSError("InvalidNetworkInterfaceID.NotFound", f"The networkInterface ID '{eni_id}' does not exist")
    return body


def check_description(description: str) -> str:
    if len(description) > MAX_DESCRIPTION:
        raise AWSError("InvalidParameterValue", f"Value for parameter description is invalid: it is longer than "
                       f"{MAX_DESCRIPTION} characters.")
    return description


def _requested_addresses(request) -> tuple[str | None, list[str], int]:
    """(primary address asked for, secondary ones asked for, how many more to choose) from
    PrivateIpAddress, PrivateIpAddresses and SecondaryPrivateIpAddressCount."""
    listed = request.get("PrivateIpAddresses") or []
    primaries = [p.get("PrivateIpAddress") for p in listed if p.get("Primary")]
    if len(primaries) > 1:
        raise AWSError("InvalidParameterValue", "Only one primary private IP address can be specified.")
    primary = request.get("PrivateIpAddress")
    if primary and primaries and primaries[0] != primary:
        raise AWSError("InvalidParameterCombination", "The primary private IP address given in PrivateIpAddress "
                       "and in PrivateIpAddresses differ.")
    primary = primary or (primaries[0] if primaries else None)
    secondary = [p.get("PrivateIpAddress") or "" for p in listed if not p.get("Primary")]
    count = request.get("SecondaryPrivateIpAddressCount")
    if count and secondary:
        raise AWSError("InvalidParameterCombination", "You may specify secondary private IP addresses or a count of "
                       "them, not both.")
    if count is not None and count < 0:
        raise AWSError("InvalidParameterValue", f"Value ({count}) for parameter secondaryPrivateIpAddressCount is "
                       "invalid. It must not be negative.")
    if 1 + len(secondary) + (count or 0) > MAX_ADDRESSES:
        raise AWSError("PrivateIpAddressLimitExceeded", "Number of private addresses will exceed limit.")
    return primary, secondary, count or 0


def new_interface(db, subnet: dict, groups: list[dict], request) -> dict:
    """An ENI in the subnet as CreateNetworkInterface (or a RunInstances interface spec) asks
    for it: its addresses, description and type; an address that cannot be had is AWS's error."""
    primary, secondary, count = _requested_addresses(request)
    kind = request.get("InterfaceType") or "interface"
    if kind not in CREATABLE_TYPES:
        raise AWSError("InvalidParameterValue", f"Value ({kind}) for parameter interfaceType is invalid. Supported "
                       f"here: {', '.join(CREATABLE_TYPES)}.")
    description = check_description(request.get("Description") or "")
    try:
        body = enis.create_eni(db, subnet, groups=groups, description=description, interface_type=kind,
                               private_ip=primary)
        for address in secondary + [None] * count:
            enis.add_ip(db, body, address)
    except enis.AddressError as e:
        raise AWSError(e.code, e.message) from None
    return body


def described(body: dict, tag_map: dict[str, str]) -> dict:
    return {**{k: v for k, v in body.items() if not k.startswith("_")}, "TagSet": tags.to_pairs(tag_map)}


def _field(field: str):
    return lambda e: e.get(field)


def _member(key: str, field: str):
    return lambda e: (e.get(key) or {}).get(field)


def _associations(field: str):
    return lambda e: [p["Association"][field] for p in e["PrivateIpAddresses"] if p.get("Association")]


GETTERS = {
    "addresses.private-ip-address": lambda e: [p["PrivateIpAddress"] for p in e["PrivateIpAddresses"]],
    "addresses.primary": lambda e: [p["Primary"] for p in e["PrivateIpAddresses"]],
    "addresses.association.public-ip": _associations("PublicIp"),
    "addresses.association.owner-id": _associations("IpOwnerId"),
    "group-id": lambda e: [g["GroupId"] for g in e["Groups"]],
    "group-name": lambda e: [g["GroupName"] for g in e["Groups"]],
    **{f"association.{name}": _member("Association", field) for name, field in (
        ("public-ip", "PublicIp"), ("public-dns-name", "PublicDnsName"), ("ip-owner-id", "IpOwnerId"),
        ("allocation-id", "AllocationId"), ("association-id", "AssociationId"))},
    **{f"attachment.{name}": _member("Attachment", field) for name, field in (
        ("attachment-id", "AttachmentId"), ("instance-id", "InstanceId"), ("instance-owner-id", "InstanceOwnerId"),
        ("device-index", "DeviceIndex"), ("status", "Status"), ("attach-time", "AttachTime"),
        ("delete-on-termination", "DeleteOnTermination"))},
    **{name: _field(field) for name, field in (
        ("availability-zone", "AvailabilityZone"), ("description", "Description"), ("interface-type", "InterfaceType"),
        ("mac-address", "MacAddress"), ("network-interface-id", "NetworkInterfaceId"), ("owner-id", "OwnerId"),
        ("private-dns-name", "PrivateDnsName"), ("private-ip-address", "PrivateIpAddress"),
        ("requester-id", "RequesterId"), ("requester-managed", "RequesterManaged"),
        ("source-dest-check", "SourceDestCheck"), ("status", "Status"), ("subnet-id", "SubnetId"),
        ("vpc-id", "VpcId"))},
}


class NetworkInterfaces:
    def create_network_interface(self, ctx, request):
        with ctx.write() as db:
            subnet = find_subnet(db, request["SubnetId"], self.config.vpc_pool)
            groups = resolve_groups(db, subnet["vpc_id"], request.get("Groups"))
            try:
                body = new_interface(db, subnet, groups, request)
            except AWSError as e:
                if e.code != "InvalidIPAddress.InUse":
                    raise
                raise AWSError(e.code, "The specified address is already in use.") from None
            applied = tags.apply_specifications(db, request.get("TagSpecifications"), "network-interface",
                                                body["NetworkInterfaceId"], allowed=("network-interface",))
        out = {"NetworkInterface": described(body, applied)}
        if request.get("ClientToken"):
            out["ClientToken"] = request["ClientToken"]
        return out

    def delete_network_interface(self, ctx, request):
        with ctx.write() as db:
            body = find(db, request["NetworkInterfaceId"])
            if body["Status"] != "available":
                # what AWS answers for an ENI that is attached, whoever attached it
                raise AWSError("InvalidParameterValue",
                               f"Network interface '{body['NetworkInterfaceId']}' is currently in use.")
            enis.release_eni(db, body["NetworkInterfaceId"])
            tags.drop_resource(db, body["NetworkInterfaceId"])
        wake_network(ctx)
        return {}

    def describe_network_interfaces(self, ctx, request):
        wanted = request.get("NetworkInterfaceIds")
        if wanted and request.get("MaxResults") is not None:
            raise AWSError("InvalidParameterCombination", "The parameter NetworkInterfaceIds cannot be used with the "
                           "parameter MaxResults")
        with ctx.read() as db:
            for eni_id in wanted or []:
                find(db, eni_id)
            rows = db.select(table, *([table.c.eni_id.in_(wanted)] if wanted else []), order_by=table.c.eni_id)
            tag_map = tags.get_many(db, [r["eni_id"] for r in rows])
        bodies = [described(json.loads(r["body"]), tag_map[r["eni_id"]]) for r in rows]
        bodies = filters.apply(bodies, request.get("Filters"), GETTERS,
                               tags_of=lambda e: {t["Key"]: t["Value"] for t in e["TagSet"]})
        chunk, token = pagination.page(bodies, key=lambda e: e["NetworkInterfaceId"], token=request.get("NextToken"),
                                       max_results=request.get("MaxResults"), minimum=5, maximum=1000)
        return {"NetworkInterfaces": chunk, "NextToken": token}
