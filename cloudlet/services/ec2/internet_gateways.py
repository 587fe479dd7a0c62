"""Internet gateways: a VPC's way to and from the internet for the addresses that have a
public IP (the network reconciler NATs them there). One gateway is attached to at most one
VPC and a VPC has at most one; the row's vpc_id is the VPC it is attached to. Routes to a
detached gateway stay, blackholed."""

from __future__ import annotations

from sqlalchemy import select

from cloudlet import ids
from cloudlet.edge.errors import AWSError
from cloudlet.store.schema import ec2_addresses, ec2_network_interfaces

from . import routes, vpcs
from . import vpc_objects as objects
from .network_events import wake_network

KIND = objects.INTERNET_GATEWAY
objects.register_tags(KIND)

_GETTERS = {"internet-gateway-id": lambda g: g["InternetGatewayId"], "owner-id": lambda g: g["OwnerId"],
            "attachment.vpc-id": lambda g: [a["VpcId"] for a in g["Attachments"]],
            "attachment.state": lambda g: [a["State"] for a in g["Attachments"]]}


def new_gateway(db) -> dict:
    gateway_id = ids.resource_id("igw")
    body = {"InternetGatewayId": gateway_id, "OwnerId": db.account_id, "Attachments": []}
    objects.insert(db, KIND, gateway_id, None, body)
    return body


def attach(db, gateway: dict, vpc_id: str) -> None:
    if gateway["Attachments"]:
        raise AWSError("Resource.AlreadyAssociated", f"resource {gateway['InternetGatewayId']} is already attached to "
                       f"network {gateway['Attachments'][0]['VpcId']}")
    if objects.of_kind(db, KIND, vpc_id):
        raise AWSError("InvalidParameterValue", f"Network {vpc_id} already has an internet gateway attached")
    gateway["Attachments"] = [{"VpcId": vpc_id, "State": "available"}]
    objects.save(db, gateway["InternetGatewayId"], gateway, vpc_id=vpc_id)
    routes.refresh_vpc(db, vpc_id)


def _has_public_addresses(db, vpc_id: str) -> bool:
    in_vpc = select(ec2_network_interfaces.c.eni_id).where(
        ec2_network_interfaces.c.account_id == db.account_id, ec2_network_interfaces.c.region == db.region,
        ec2_network_interfaces.c.vpc_id == vpc_id)
    return db.one(ec2_addresses, ec2_addresses.c.eni_id.in_(in_vpc)) is not None


class InternetGateways:
    def create_internet_gateway(self, ctx, request):
        with vpcs.session(ctx) as db:
            body = new_gateway(db)
            objects.tag_new(db, request, KIND, body["InternetGatewayId"])
            out = objects.shown(db, KIND, body)
        return {"InternetGateway": out}

    def delete_internet_gateway(self, ctx, request):
        with vpcs.session(ctx) as db:
            body = objects.find(db, KIND, request["InternetGatewayId"])
            if body["Attachments"]:
                raise objects.dependencies("internetGateway", body["InternetGatewayId"])
            objects.remove(db, body["InternetGatewayId"])
        return {}

    def attach_internet_gateway(self, ctx, request):
        with vpcs.session(ctx) as db:
            body = objects.find(db, KIND, request["InternetGatewayId"])
            row, _ = objects.find_vpc(db, request["VpcId"])
            attach(db, body, row["vpc_id"])
        wake_network(ctx)
        return {}

    def detach_internet_gateway(self, ctx, request):
        with vpcs.session(ctx) as db:
            body = objects.find(db, KIND, request["InternetGatewayId"])
            row, _ = objects.find_vpc(db, request["VpcId"])
            if row["vpc_id"] not in [a["VpcId"] for a in body["Attachments"]]:
                raise AWSError("Gateway.NotAttached", f"resource {body['InternetGatewayId']} is not attached to "
                               f"network {row['vpc_id']}")
            if _has_public_addresses(db, row["vpc_id"]):
                raise AWSError("DependencyViolation", f"Network {row['vpc_id']} has some mapped public address(es). "
                               "Please unmap those public address(es) before detaching the gateway.")
            body["Attachments"] = []
            objects.save(db, body["InternetGatewayId"], body, vpc_id=None)
            routes.refresh_vpc(db, row["vpc_id"])
        wake_network(ctx)
        return {}

    def describe_internet_gateways(self, ctx, request):
        with vpcs.session(ctx) as db:
            page, token = objects.answer(db, objects.of_kind(db, KIND), KIND, request, "InternetGatewayIds", _GETTERS)
        return {"InternetGateways": page, "NextToken": token}
