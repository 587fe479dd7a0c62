"""The routes of a route table: CreateRoute, ReplaceRoute, DeleteRoute, and each route's State.

A route sends a destination CIDR to one target: the VPC ("local", the route every table has
for the VPC's CIDR), the internet gateway attached to the VPC, a NAT gateway of the VPC, or
a network interface of the VPC (an instance's primary one when an instance is named). Inside
the VPC's CIDR only an interface can be a target (middlebox routing, as AWS allows). A route
whose target is gone (a detached gateway, a deleted NAT gateway or interface) stays, with
State "blackhole", until it is replaced or deleted."""

from __future__ import annotations

from cloudlet.edge.errors import AWSError
from cloudlet.store.schema import ec2_instances, ec2_network_interfaces

from . import vpc_objects as objects
from . import vpcs
from .network_events import wake_network

MAX_ROUTES = 50  # AWS's default quota of routes per route table
_TARGETS = ("GatewayId", "NatGatewayId", "NetworkInterfaceId", "InstanceId")
# Targets AWS has that this cloud offers none of: a request naming one names nothing that exists.
_ABSENT = {"VpcPeeringConnectionId": ("InvalidVpcPeeringConnectionID.NotFound", "vpcPeeringConnection"),
           "TransitGatewayId": ("InvalidTransitGatewayID.NotFound", "transitGateway"),
           "EgressOnlyInternetGatewayId": ("InvalidGatewayID.NotFound", "gateway"),
           "LocalGatewayId": ("InvalidLocalGatewayID.NotFound", "localGateway"),
           "CarrierGatewayId": ("InvalidCarrierGatewayID.NotFound", "carrierGateway"),
           "VpcEndpointId": ("InvalidVpcEndpointId.NotFound", "vpcEndpoint"),
           "CoreNetworkArn": ("InvalidParameterValue", "coreNetwork"),
           "OdbNetworkArn": ("InvalidParameterValue", "odbNetwork")}
_LIVE_NAT = ("pending", "available")
_LOCAL = {"GatewayId": "local"}


def local(cidr: str) -> dict:
    return {"DestinationCidrBlock": cidr, "GatewayId": "local", "State": "active", "Origin": "CreateRouteTable"}


def _destination(request) -> str:
    if request.get("DestinationIpv6CidrBlock") or request.get("DestinationPrefixListId"):
        raise AWSError("UnsupportedOperation", "VPCs here are IPv4 only: routes take a DestinationCidrBlock.")
    if not request.get("DestinationCidrBlock"):
        raise AWSError("MissingParameter", "The request must contain the parameter destinationCidrBlock")
    return str(objects.cidr(request["DestinationCidrBlock"], "destinationCidrBlock"))


def _interface(db, table: dict, eni_id: str) -> dict:
    row = db.one(ec2_network_interfaces, ec2_network_interfaces.c.eni_id == eni_id)
    if row is None:
        raise AWSError("InvalidNetworkInterfaceID.NotFound", f"The networkInterface ID '{eni_id}' does not exist")
    if row["vpc_id"] != table["VpcId"]:
        raise objects.different_networks(table["RouteTableId"], eni_id, "interface")
    return _through(eni_id, row["attached_to"], db.account_id)


def _through(eni_id: str, attached_to: str | None, account_id: str) -> dict:
    out = {"NetworkInterfaceId": eni_id}
    if attached_to and attached_to.startswith("i-"):
        out.update(InstanceId=attached_to, InstanceOwnerId=account_id)
    return out


def _instance(db, table: dict, instance_id: str) -> dict:
    if db.one(ec2_instances, ec2_instances.c.instance_id == instance_id) is None:
        raise AWSError("InvalidInstanceID.NotFound", f"The instance ID '{instance_id}' does not exist")
    interfaces = db.select(ec2_network_interfaces, ec2_network_interfaces.c.attached_to == instance_id)
    if len(interfaces) > 1:
        raise AWSError("InvalidInstanceID", f"There are multiple interfaces attached to instance '{instance_id}'. "
                       "Please specify an interface ID for the operation instead.")
    if not interfaces:
        raise AWSError("InvalidParameterValue", f"Instance {instance_id} has no network interface to route to.")
    return _interface(db, table, interfaces[0]["eni_id"])


def _gateway(db, table: dict, gateway_id: str) -> dict:
    if gateway_id == "local":
        return dict(_LOCAL)
    if not gateway_id.startswith("igw-"):
        raise AWSError("InvalidGatewayID.NotFound", f"The gateway ID '{gateway_id}' does not exist")
    try:
        gateway = objects.find(db, objects.INTERNET_GATEWAY, gateway_id)
    except AWSError:
        raise AWSError("InvalidGatewayID.NotFound", f"The gateway ID '{gateway_id}' does not exist") from None
    if table["VpcId"] not in [a["VpcId"] for a in gateway["Attachments"]]:
        raise objects.different_networks(table["RouteTableId"], gateway_id)
    return {"GatewayId": gateway_id}


def _nat(db, table: dict, nat_id: str) -> dict:
    nat = objects.find(db, objects.NAT_GATEWAY, nat_id)
    if nat["State"] not in _LIVE_NAT:
        raise objects.NAT_GATEWAY.missing(nat_id)
    if nat["VpcId"] != table["VpcId"]:
        raise objects.different_networks(table["RouteTableId"], nat_id, "nat gateway")
    return {"NatGatewayId": nat_id}


_RESOLVE = {"GatewayId": _gateway, "NatGatewayId": _nat, "NetworkInterfaceId": _interface, "InstanceId": _instance}


def _target(db, table: dict, request) -> dict:
    """The route's target members, checked: exactly one, existing, in the table's VPC."""
    given = [m for m in (*_TARGETS, *_ABSENT) if request.get(m)]
    if not given:
        raise AWSError("MissingParameter", "The request must contain exactly one of gatewayId, natGatewayId, "
                       "networkInterfaceId or instanceId")
    if len(given) > 1:
        raise AWSError("InvalidParameterCombination", f"The parameter {given[0]} cannot be used with the parameter "
                       f"{given[1]}")
    member = given[0]
    if member in _ABSENT:
        code, noun = _ABSENT[member]
        raise AWSError(code, f"The {noun} ID '{request[member]}' does not exist")
    return _RESOLVE[member](db, table, request[member])


def _check_allowed(destination: str, vpc_cidr: str, target: dict, local_route: bool) -> None:
    """Only the VPC's own route goes to "local"; inside the VPC's CIDR only an interface is a
    target besides it."""
    if target == _LOCAL:
        if not local_route:
            raise AWSError("InvalidParameterValue", f"The local target can only be used with the route for the "
                           f"VPC's CIDR block {vpc_cidr}.")
    elif "NetworkInterfaceId" not in target and \
            objects.cidr(destination).subnet_of(objects.cidr(vpc_cidr)):
        raise AWSError("InvalidParameterValue", f"The destination CIDR block {destination} is equal to or more "
                       "specific than one of this VPC's CIDR blocks. This route can target only an interface or an "
                       "instance.")


def _same_target(route: dict, target: dict) -> bool:
    return all(route.get(k) == v for k, v in target.items()) and \
        not any(route.get(k) for k in _TARGETS if k not in target)


def _table(db, request) -> tuple[dict, dict]:
    table = objects.find(db, objects.ROUTE_TABLE, request["RouteTableId"])
    _, vpc = objects.find_vpc(db, table["VpcId"])
    return table, vpc


def _find(table: dict, destination: str) -> dict | None:
    return next((r for r in table["Routes"] if r.get("DestinationCidrBlock") == destination), None)


def _route_of(db, request, destination: str, missing) -> tuple[dict, dict, dict]:
    """(table, VPC, route) the request names; missing(table id) is AWS's error when there is no such route."""
    table, vpc = _table(db, request)
    existing = _find(table, destination)
    if existing is None:
        raise missing(table["RouteTableId"])
    return table, vpc, existing


def _live(db) -> tuple[dict, set, dict]:
    """What route targets exist now: gateway -> the VPC it is attached to, the NAT gateways that
    pass traffic, interface -> what it is attached to."""
    attached = {g["InternetGatewayId"]: a["VpcId"] for g in objects.of_kind(db, objects.INTERNET_GATEWAY)
                for a in g["Attachments"]}
    nats = {n["NatGatewayId"] for n in objects.of_kind(db, objects.NAT_GATEWAY) if n["State"] in _LIVE_NAT}
    interfaces = {r["eni_id"]: r["attached_to"] for r in db.select(ec2_network_interfaces)}
    return attached, nats, interfaces


def _current(route: dict, vpc_id: str, live, account_id: str) -> dict:
    attached, nats, interfaces = live
    route = {k: v for k, v in route.items() if k not in ("InstanceId", "InstanceOwnerId")}
    gateway = route.get("GatewayId")
    if route.get("NetworkInterfaceId"):
        ok = route["NetworkInterfaceId"] in interfaces
        if ok:
            route.update(_through(route["NetworkInterfaceId"], interfaces[route["NetworkInterfaceId"]], account_id))
    elif route.get("NatGatewayId"):
        ok = route["NatGatewayId"] in nats
    else:
        ok = gateway in (None, "local") or attached.get(gateway) == vpc_id
    route["State"] = "active" if ok else "blackhole"
    return route


def refresh(db, tables: list[dict]) -> list[dict]:
    """The tables with each route's State (and instance) as its target is now, saved where it changed."""
    live = _live(db)
    for table in tables:
        updated = [_current(r, table["VpcId"], live, db.account_id) for r in table["Routes"]]
        if updated != table["Routes"]:
            table["Routes"] = updated
            objects.save(db, table["RouteTableId"], table)
    return tables


def refresh_vpc(db, vpc_id: str) -> None:
    refresh(db, objects.of_kind(db, objects.ROUTE_TABLE, vpc_id))


def save(db, table: dict) -> None:
    """The table (its routes changed) saved, with each route's State as its target is now."""
    live = _live(db)
    table["Routes"] = [_current(r, table["VpcId"], live, db.account_id) for r in table["Routes"]]
    objects.save(db, table["RouteTableId"], table)


def add(db, table: dict, destination: str, target: dict) -> None:
    """A route of the caller's (the default VPC's way out is made here too)."""
    table["Routes"].append({"DestinationCidrBlock": destination, **target, "State": "active", "Origin": "CreateRoute"})
    save(db, table)


class Routes:
    def create_route(self, ctx, request):
        destination = _destination(request)
        with vpcs.session(ctx) as db:
            table, vpc = _table(db, request)
            target = _target(db, table, request)
            existing = _find(table, destination)
            if existing is not None:
                if _same_target(existing, target):
                    return {"Return": True}  # AWS takes a repeated CreateRoute as done
                raise AWSError("RouteAlreadyExists", f"The route identified by {destination} already exists.")
            _check_allowed(destination, vpc["CidrBlock"], target, local_route=False)
            if len(table["Routes"]) >= MAX_ROUTES:
                raise AWSError("RouteLimitExceeded", "The maximum number of routes has been reached.")
            add(db, table, destination, target)
        wake_network(ctx)
        return {"Return": True}

    def replace_route(self, ctx, request):
        destination = _destination(request)
        with vpcs.session(ctx) as db:
            table, vpc, existing = _route_of(db, request, destination, lambda _: AWSError(
                "InvalidParameterValue", f"There is no route defined for '{destination}' in the route table. Use "
                "CreateRoute instead."))
            target = _LOCAL if request.get("LocalTarget") else _target(db, table, request)
            _check_allowed(destination, vpc["CidrBlock"], target, local_route=existing["Origin"] == "CreateRouteTable")
            index = table["Routes"].index(existing)
            table["Routes"][index] = {"DestinationCidrBlock": destination, **target, "State": "active",
                                      "Origin": existing["Origin"]}
            save(db, table)
        wake_network(ctx)
        return {}

    def delete_route(self, ctx, request):
        destination = _destination(request)
        with vpcs.session(ctx) as db:
            table, _, existing = _route_of(db, request, destination, lambda table_id: AWSError(
                "InvalidRoute.NotFound", f"no route with destination-cidr-block {destination} in route table "
                f"{table_id}"))
            if existing["Origin"] == "CreateRouteTable":
                raise AWSError("InvalidParameterValue", f"cannot remove local route {destination} in route table "
                               f"{table['RouteTableId']}")
            table["Routes"].remove(existing)
            objects.save(db, table["RouteTableId"], table)
        wake_network(ctx)
        return {}
