"""What is done to a network interface once it exists: AttachNetworkInterface and
DetachNetworkInterface (to an instance of its availability zone, at a device index), its
attributes (security groups, source/destination check, description, DeleteOnTermination) and
its secondary private addresses (AssignPrivateIpAddresses, UnassignPrivateIpAddresses).
Every change that alters traffic wakes the network reconciler once its transaction is done."""

from __future__ import annotations

import json

from cloudlet.edge.errors import AWSError
from cloudlet.store import enis
from cloudlet.store.schema import ec2_network_interfaces

from . import addresses, instance_types
from .network_events import wake_network
from .network_interfaces import MAX_ADDRESSES, check_description, find
from .security_groups import resolve_groups
from .vpc_objects import one_attribute


def _by_attachment(db, attachment_id: str) -> dict:
    for row in db.select(ec2_network_interfaces, ec2_network_interfaces.c.attached_to.is_not(None)):
        body = json.loads(row["body"])
        if (body.get("Attachment") or {}).get("AttachmentId") == attachment_id:
            return body
    raise AWSError("InvalidAttachmentID.NotFound", f"The network interface attachment ID '{attachment_id}' does not "
                   "exist")


def _address_limit(db, body: dict, rows) -> int:
    """How many private addresses the ENI may have: its instance type's per-interface figure
    when attached to an instance, else AWS's most."""
    instance = (body.get("Attachment") or {}).get("InstanceId")
    if not instance:
        return MAX_ADDRESSES
    return instance_types.interface_limits(json.loads(rows(db, [instance])[0]["body"])["InstanceType"])[1]


class EniAttributes:
    def attach_network_interface(self, ctx, request):
        index = request["DeviceIndex"]
        with ctx.write() as db:
            body = find(db, request["NetworkInterfaceId"])
            row = self._rows(db, [request["InstanceId"]])[0]
            instance = json.loads(row["body"])
            if row["state"] not in ("pending", "running", "stopped"):
                raise AWSError("IncorrectInstanceState", f"The instance '{row['instance_id']}' is not in a valid "
                               "state for this operation.")
            if body["Status"] != "available":
                raise AWSError("InvalidNetworkInterface.InUse", f"Interface: [{body['NetworkInterfaceId']}] in use.")
            if request.get("NetworkCardIndex") not in (None, 0):
                raise AWSError("InvalidParameterValue", f"Value ({request['NetworkCardIndex']}) for parameter "
                               f"networkCardIndex is invalid. {instance['InstanceType']} has one network card, 0.")
            most, per_interface = instance_types.interface_limits(instance["InstanceType"])
            if not 0 <= index < most:  # so that a free index is also within the type's count of interfaces
                raise AWSError("InvalidParameterValue", f"Value ({index}) for parameter deviceIndex is invalid. "
                               f"{instance['InstanceType']} takes device indexes 0 to {most - 1}.")
            if body["AvailabilityZone"] != instance["Placement"]["AvailabilityZone"]:
                raise AWSError("InvalidParameterCombination", f"The network interface {body['NetworkInterfaceId']} "
                               f"and the instance {row['instance_id']} are not in the same availability zone.")
            attached = enis.attached_to(db, row["instance_id"])
            if any(a["Attachment"]["DeviceIndex"] == index for a in attached):
                raise AWSError("InvalidParameterValue", f"Instance '{row['instance_id']}' already has an interface "
                               f"attached at device index '{index}'.")
            if len(body["PrivateIpAddresses"]) > per_interface:
                raise AWSError("PrivateIpAddressLimitExceeded", f"Number of private addresses will exceed limit for "
                               f"{instance['InstanceType']}.")
            attachment = enis.attach(db, body, row["instance_id"], index, delete_on_termination=False)
        wake_network(ctx)
        return {"AttachmentId": attachment["AttachmentId"], "NetworkCardIndex": 0}

    def detach_network_interface(self, ctx, request):
        with ctx.write() as db:
            body = _by_attachment(db, request["AttachmentId"])
            if body["RequesterManaged"]:
                kind = request["AttachmentId"].rsplit("-", 1)[0]
                raise AWSError("OperationNotPermitted", f"You are not allowed to manage '{kind}' attachments.")
            if body["Attachment"]["DeviceIndex"] == 0:
                raise AWSError("OperationNotPermitted", "The network interface at device index 0 cannot be detached.")
            enis.detach(db, body)
        wake_network(ctx)
        return {}

    def modify_network_interface_attribute(self, ctx, request):
        unsupported = [a for a in ("AssociatePublicIpAddress", "EnaSrdSpecification", "ConnectionTrackingSpecification",
                                   "EnablePrimaryIpv6", "AssociatedSubnetIds") if request.get(a) is not None]
        if unsupported:
            raise AWSError("UnsupportedOperation", f"Modifying {unsupported[0]} of a network interface is not "
                           "supported here.")
        attribute = one_attribute(request, ("Description", "SourceDestCheck", "Groups", "Attachment"))
        with ctx.write() as db:
            body = find(db, request["NetworkInterfaceId"])
            if attribute == "Description":
                body["Description"] = check_description(request["Description"].get("Value") or "")
            if attribute == "SourceDestCheck":
                body["SourceDestCheck"] = bool(request["SourceDestCheck"].get("Value"))
            if attribute == "Groups":
                body["Groups"] = resolve_groups(db, body["VpcId"], request["Groups"])
            if attribute == "Attachment":
                change = request["Attachment"]
                if (body.get("Attachment") or {}).get("AttachmentId") != change.get("AttachmentId"):
                    raise AWSError("InvalidAttachmentID.NotFound", f"The network interface attachment ID "
                                   f"'{change.get('AttachmentId')}' does not exist")
                if change.get("DeleteOnTermination") is not None:
                    body["Attachment"]["DeleteOnTermination"] = bool(change["DeleteOnTermination"])
            enis.save(db, body)
        if attribute in ("Groups", "SourceDestCheck"):
            wake_network(ctx)
        return {}

    def describe_network_interface_attribute(self, ctx, request):
        attribute = request.get("Attribute")
        with ctx.read() as db:
            body = find(db, request["NetworkInterfaceId"])
        values = {"description": ("Description", {"Value": body["Description"]}),
                  "groupSet": ("Groups", body["Groups"]),
                  "sourceDestCheck": ("SourceDestCheck", {"Value": body["SourceDestCheck"]}),
                  "attachment": ("Attachment", body.get("Attachment")),
                  "associatePublicIpAddress": ("AssociatePublicIpAddress", bool(body.get("Association")))}
        if attribute is None:  # the model's enum: the edge refused any other value
            raise AWSError("MissingParameter", "The request must contain the parameter Attribute")
        key, value = values[attribute]
        out = {"NetworkInterfaceId": body["NetworkInterfaceId"]}
        if value is not None:
            out[key] = value
        return out

    def assign_private_ip_addresses(self, ctx, request):
        wanted, count = request.get("PrivateIpAddresses") or [], request.get("SecondaryPrivateIpAddressCount")
        if request.get("Ipv4Prefixes") or request.get("Ipv4PrefixCount"):
            raise AWSError("UnsupportedOperation", "IPv4 prefixes are not supported here.")
        if wanted and count is not None:
            raise AWSError("InvalidParameterCombination", "You may specify secondary private IP addresses or a "
                           "count of them, not both.")
        if not wanted and not count:
            raise AWSError("MissingParameter", "The request must contain the parameter PrivateIpAddresses or "
                           "SecondaryPrivateIpAddressCount")
        with ctx.write() as db:
            body = find(db, request["NetworkInterfaceId"])
            if len(body["PrivateIpAddresses"]) + (count or len(set(wanted))) > _address_limit(db, body, self._rows):
                raise AWSError("PrivateIpAddressLimitExceeded", "Number of private addresses will exceed limit.")
            assigned = []
            try:
                for address in list(dict.fromkeys(wanted)) or [None] * count:
                    holder = enis.holder_of(db, body["VpcId"], address) if address else None
                    if holder == body["NetworkInterfaceId"]:
                        continue  # already its own
                    moved = self._take_from(db, holder, address) if holder and request.get("AllowReassignment") \
                        else None
                    assigned.append(enis.add_ip(db, body, address))
                    if moved:
                        addresses.associate(db, moved, body["NetworkInterfaceId"], assigned[-1])
            except enis.AddressError as e:
                raise AWSError(e.code, e.message) from None
        wake_network(ctx)
        return {"NetworkInterfaceId": body["NetworkInterfaceId"],
                "AssignedPrivateIpAddresses": [{"PrivateIpAddress": a} for a in assigned]}

    @staticmethod
    def _take_from(db, holder: str, address: str) -> dict | None:
        """AllowReassignment: a secondary address of another ENI comes off it (its Elastic IP,
        returned, moves along, as on AWS); a primary one never moves."""
        other = enis.find(db, holder)
        if any(p["PrivateIpAddress"] == address and p["Primary"] for p in other["PrivateIpAddresses"]):
            raise AWSError("InvalidParameterValue", f"Address {address} is the primary private IP address of "
                           f"{holder} and cannot be reassigned.")
        return enis.remove_ip(db, other, address)

    def unassign_private_ip_addresses(self, ctx, request):
        if request.get("Ipv4Prefixes"):
            raise AWSError("UnsupportedOperation", "IPv4 prefixes are not supported here.")
        wanted = request.get("PrivateIpAddresses") or []
        if not wanted:
            raise AWSError("MissingParameter", "The request must contain the parameter PrivateIpAddresses")
        with ctx.write() as db:
            body = find(db, request["NetworkInterfaceId"])
            secondary = {p["PrivateIpAddress"] for p in body["PrivateIpAddresses"] if not p["Primary"]}
            if any(a not in secondary for a in wanted):
                raise AWSError("InvalidParameterValue", f"Some of the specified addresses are not assigned to "
                               f"interface {body['NetworkInterfaceId']}")
            for address in dict.fromkeys(wanted):
                enis.remove_ip(db, body, address)
        wake_network(ctx)
        return {}
