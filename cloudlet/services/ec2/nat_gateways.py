"""Public NAT gateways: the way out to the internet for subnets without public addresses, in
a public subnet, through an Elastic IP. CreateNatGateway records one "pending" with its own
requester-managed interface in the subnet (which the Elastic IP is associated with, as AWS
shows it); DeleteNatGateway records "deleting". The network reconciler makes it "available"
once it is in place, and "deleted" once it is gone, releasing its interface (and so its
Elastic IP): the API never says so itself. One made in a VPC without an internet gateway
fails at once, as on AWS."""

from __future__ import annotations

import json

from cloudlet import ids
from cloudlet.edge.errors import AWSError
from cloudlet.ids import now
from cloudlet.store import enis
from cloudlet.store.schema import ec2_network_interfaces

from . import addresses, routes, subnets, vpcs
from . import vpc_objects as objects
from .network_events import wake_network

KIND = objects.NAT_GATEWAY
objects.register_tags(KIND)

_GETTERS = {"nat-gateway-id": lambda n: n["NatGatewayId"], "state": lambda n: n["State"],
            "subnet-id": lambda n: n["SubnetId"], "vpc-id": lambda n: n["VpcId"]}


def _refuse_unoffered(request) -> None:
    if (request.get("ConnectivityType") or "public") != "public":
        raise AWSError("UnsupportedOperation", "Private NAT gateways are not offered here: only public ones.")
    if (request.get("AvailabilityMode") or "zonal") != "zonal" or request.get("AvailabilityZoneAddresses"):
        raise AWSError("UnsupportedOperation", "Regional NAT gateways are not offered here: only zonal ones.")
    if request.get("SecondaryAllocationIds") or request.get("SecondaryPrivateIpAddresses") or \
            request.get("SecondaryPrivateIpAddressCount"):
        raise AWSError("UnsupportedOperation", "NAT gateways here have one address: no secondary ones.")
    for member in ("SubnetId", "AllocationId"):
        if not request.get(member):
            raise AWSError("MissingParameter", f"The request must contain the parameter {member}")


def _interface(db, subnet: dict, nat_id: str, private_ip: str | None) -> dict:
    try:
        eni = enis.create_eni(db, subnet, groups=[], description=f"Interface for NAT Gateway {nat_id}",
                              interface_type="nat_gateway", requester_managed=True, private_ip=private_ip,
                              attached_to=nat_id)
    except enis.AddressError as e:
        raise AWSError(e.code, e.message) from None
    eni["Status"] = "in-use"  # AWS shows a NAT gateway's interface in use from the start
    db.update(ec2_network_interfaces, ec2_network_interfaces.c.eni_id == eni["NetworkInterfaceId"],
              body=json.dumps(eni))
    return eni


def _new_gateway(db, subnet: dict, elastic: dict, private_ip: str | None) -> dict:
    """A NAT gateway's body: pending with its interface and Elastic IP; failed at once, as AWS
    fails it, in a VPC without an internet gateway."""
    nat_id = ids.resource_id("nat")
    body = {"NatGatewayId": nat_id, "SubnetId": subnet["subnet_id"], "VpcId": subnet["vpc_id"],
            "ConnectivityType": "public", "CreateTime": now()}
    if not objects.of_kind(db, objects.INTERNET_GATEWAY, subnet["vpc_id"]):
        return {**body, "State": "failed", "FailureCode": "Gateway.NotAttached",
                "FailureMessage": f"Network {subnet['vpc_id']} has no Internet gateway attached",
                "NatGatewayAddresses": [{"AllocationId": elastic["allocation_id"], "IsPrimary": True,
                                         "Status": "failed"}]}
    eni = _interface(db, subnet, nat_id, private_ip)
    association = addresses.associate(db, elastic, eni["NetworkInterfaceId"], eni["PrivateIpAddress"])
    return {**body, "State": "pending", "NatGatewayAddresses": [{
        "AllocationId": elastic["allocation_id"], "PublicIp": elastic["public_ip"], "PrivateIp": eni["PrivateIpAddress"],
        "NetworkInterfaceId": eni["NetworkInterfaceId"], "AssociationId": association, "IsPrimary": True,
        "Status": "succeeded"}]}


class NatGateways:
    def create_nat_gateway(self, ctx, request):
        _refuse_unoffered(request)
        token = request.get("ClientToken")
        with vpcs.session(ctx) as db:
            body = objects.by_token(db, KIND, token)
            if body is None:
                subnet = subnets.find(db, request["SubnetId"])
                elastic = addresses.find(db, request["AllocationId"])
                if elastic["eni_id"]:
                    raise AWSError("Resource.AlreadyAssociated", f"Elastic IP address [{elastic['allocation_id']}] "
                                   "is already associated")
                body = _new_gateway(db, subnet, elastic, request.get("PrivateIpAddress"))
                if token:
                    body["_clientToken"] = token
                objects.insert(db, KIND, body["NatGatewayId"], subnet["vpc_id"], body)
                objects.tag_new(db, request, KIND, body["NatGatewayId"])
            out = objects.shown(db, KIND, body)
        wake_network(ctx)
        return {"NatGateway": out, "ClientToken": token}

    def delete_nat_gateway(self, ctx, request):
        with vpcs.session(ctx) as db:
            body = objects.find(db, KIND, request["NatGatewayId"])
            if body["State"] not in ("deleting", "deleted"):
                body["State"] = "deleting"
                objects.save(db, body["NatGatewayId"], body)
                routes.refresh_vpc(db, body["VpcId"])
        wake_network(ctx)
        return {"NatGatewayId": body["NatGatewayId"]}

    def describe_nat_gateways(self, ctx, request):
        with vpcs.session(ctx) as db:
            page, token = objects.answer(db, objects.of_kind(db, KIND), KIND, request, "NatGatewayIds", _GETTERS,
                                         filters_member="Filter")
        return {"NatGateways": page, "NextToken": token}
