"""Route tables and their associations. Every VPC has one main table (the association AWS
marks Main, which no subnet names), which serves each subnet that has no association of its
own; a subnet has at most one. A table starts with the "local" route of its VPC's CIDR.
The routes themselves are routes.py's; the network reconciler enforces both."""

from __future__ import annotations

from cloudlet import ids
from cloudlet.edge.errors import AWSError
from cloudlet.store.schema import subnets

from . import routes, vpcs
from . import vpc_objects as objects
from .network_events import wake_network

KIND = objects.ROUTE_TABLE
objects.register_tags(KIND)


def association(table_id: str, subnet_id: str | None = None) -> dict:
    """A new association of the table: with a subnet, or the VPC's main one."""
    out = {"Main": subnet_id is None, "RouteTableAssociationId": ids.resource_id("rtbassoc"),
           "RouteTableId": table_id, "AssociationState": {"State": "associated"}}
    if subnet_id:
        out["SubnetId"] = subnet_id
    return out


def new_table(db, vpc_id: str, cidr: str, main: bool = False, token: str | None = None) -> dict:
    table_id = ids.resource_id("rtb")
    body = {"RouteTableId": table_id, "VpcId": vpc_id, "OwnerId": db.account_id, "Routes": [routes.local(cidr)],
            "Associations": [association(table_id)] if main else [], "PropagatingVgws": []}
    if token:
        body["_clientToken"] = token
    objects.insert(db, KIND, table_id, vpc_id, body)
    return body


def forget_subnet(db, vpc_id: str, subnet_id: str) -> None:
    """A deleted subnet's association goes with it."""
    for body in objects.of_kind(db, KIND, vpc_id):
        kept = [a for a in body["Associations"] if a.get("SubnetId") != subnet_id]
        if len(kept) != len(body["Associations"]):
            body["Associations"] = kept
            objects.save(db, body["RouteTableId"], body)


def _holding(db, association_id: str) -> tuple[dict, dict]:
    """(table, association) of an association id of the account's."""
    for body in objects.of_kind(db, KIND):
        for a in body["Associations"]:
            if a["RouteTableAssociationId"] == association_id:
                return body, a
    raise AWSError("InvalidAssociationID.NotFound", f"The association ID '{association_id}' does not exist")


def _flag(values) -> list[str]:
    return ["true" if v else "false" for v in values]


def _route_values(key: str):
    return lambda table: [r.get(key) for r in table["Routes"]]


_GETTERS = {
    "route-table-id": lambda t: t["RouteTableId"], "vpc-id": lambda t: t["VpcId"], "owner-id": lambda t: t["OwnerId"],
    "association.route-table-association-id": lambda t: [a["RouteTableAssociationId"] for a in t["Associations"]],
    "association.route-table-id": lambda t: [a["RouteTableId"] for a in t["Associations"]],
    "association.subnet-id": lambda t: [a.get("SubnetId") for a in t["Associations"]],
    "association.gateway-id": lambda t: [a.get("GatewayId") for a in t["Associations"]],
    "association.main": lambda t: _flag(a["Main"] for a in t["Associations"]),
    **{f"route.{name}": _route_values(key) for name, key in (
        ("destination-cidr-block", "DestinationCidrBlock"), ("gateway-id", "GatewayId"),
        ("instance-id", "InstanceId"), ("nat-gateway-id", "NatGatewayId"),
        ("network-interface-id", "NetworkInterfaceId"), ("origin", "Origin"), ("state", "State"),
        ("destination-ipv6-cidr-block", "DestinationIpv6CidrBlock"),
        ("destination-prefix-list-id", "DestinationPrefixListId"),
        ("egress-only-internet-gateway-id", "EgressOnlyInternetGatewayId"),
        ("transit-gateway-id", "TransitGatewayId"), ("vpc-peering-connection-id", "VpcPeeringConnectionId"))},
}


class RouteTables:
    def create_route_table(self, ctx, request):
        with vpcs.session(ctx) as db:
            out = objects.created(db, request, KIND,
                                  lambda vpc, token: new_table(db, vpc["VpcId"], vpc["CidrBlock"], token=token))
        return {"RouteTable": out, "ClientToken": request.get("ClientToken")}

    def delete_route_table(self, ctx, request):
        with vpcs.session(ctx) as db:
            body = objects.find(db, KIND, request["RouteTableId"])
            if body["Associations"]:  # the main table's included: it always has its Main one
                raise objects.dependencies("routeTable", body["RouteTableId"])
            objects.remove(db, body["RouteTableId"])
        return {}

    def describe_route_tables(self, ctx, request):
        with vpcs.session(ctx) as db:
            bodies = routes.refresh(db, objects.of_kind(db, KIND))
            page, token = objects.answer(db, bodies, KIND, request, "RouteTableIds", _GETTERS, maximum=100)
        return {"RouteTables": page, "NextToken": token}

    def associate_route_table(self, ctx, request):
        if request.get("GatewayId") or request.get("PublicIpv4Pool"):
            raise AWSError("UnsupportedOperation", "Gateway route tables are not offered: associate a subnet.")
        if not request.get("SubnetId"):
            raise AWSError("MissingParameter", "The request must contain the parameter subnetId")
        with vpcs.session(ctx) as db:
            body = objects.find(db, KIND, request["RouteTableId"])
            subnet = db.one(subnets, subnets.c.subnet_id == request["SubnetId"])
            if subnet is None:
                raise objects.SUBNET.missing(request["SubnetId"])
            if subnet["vpc_id"] != body["VpcId"]:
                raise objects.different_networks(body["RouteTableId"], subnet["subnet_id"], "subnet")
            if any(a.get("SubnetId") == subnet["subnet_id"]
                   for t in objects.of_kind(db, KIND, body["VpcId"]) for a in t["Associations"]):
                raise AWSError("Resource.AlreadyAssociated", "the specified association for route table "
                               f"{body['RouteTableId']} conflicts with an existing association")
            made = association(body["RouteTableId"], subnet["subnet_id"])
            body["Associations"].append(made)
            objects.save(db, body["RouteTableId"], body)
        wake_network(ctx)
        return {"AssociationId": made["RouteTableAssociationId"], "AssociationState": made["AssociationState"]}

    def disassociate_route_table(self, ctx, request):
        with vpcs.session(ctx) as db:
            body, held = _holding(db, request["AssociationId"])
            if held["Main"]:
                raise AWSError("InvalidParameterValue", "cannot disassociate the main route table association "
                               f"{held['RouteTableAssociationId']}")
            body["Associations"].remove(held)
            objects.save(db, body["RouteTableId"], body)
        wake_network(ctx)
        return {}

    def replace_route_table_association(self, ctx, request):
        """Move an association (a subnet's, or the VPC's main one) to another table of the VPC;
        AWS gives the moved association a new id."""
        with vpcs.session(ctx) as db:
            old, held = _holding(db, request["AssociationId"])
            new = objects.find(db, KIND, request["RouteTableId"])
            if new["VpcId"] != old["VpcId"]:
                raise objects.different_networks(new["RouteTableId"], held.get("SubnetId") or old["VpcId"],
                                                 "subnet" if held.get("SubnetId") else "network")
            old["Associations"].remove(held)
            objects.save(db, old["RouteTableId"], old)
            if new["RouteTableId"] == old["RouteTableId"]:
                new = old
            made = association(new["RouteTableId"], held.get("SubnetId"))
            new["Associations"].append(made)
            objects.save(db, new["RouteTableId"], new)
            if held["Main"]:
                row, vpc = objects.find_vpc(db, new["VpcId"])
                vpc["_mainRouteTableId"] = new["RouteTableId"]
                objects.save_vpc(db, row["vpc_id"], vpc)
        wake_network(ctx)
        return {"NewAssociationId": made["RouteTableAssociationId"], "AssociationState": made["AssociationState"]}
