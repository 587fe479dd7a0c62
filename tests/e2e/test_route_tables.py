"""Route tables through boto3: routes to an internet gateway and to an interface, their state
as targets come and go, the local route that stays, associations (the main one included),
filters and paging, and AWS's refusals."""

import json

import pytest

from cloudlet.ids import now
from cloudlet.store import Store, enis
from cloudlet.store.schema import ec2_instances, ec2_network_interfaces, subnets
from tests.e2e.errors import code
from tests.e2e.vpc_helpers import by_vpc, vpc_with_subnet
from tests.e2e.vpc_helpers import shared_ec2  # noqa: F401  (the ec2 fixture the tests take)


@pytest.fixture
def net(ec2):
    """A VPC with a subnet, an attached internet gateway and a route table of its own."""
    vpc, subnet = vpc_with_subnet(ec2, "10.5.0.0/16", "10.5.1.0/24")
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    table = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    yield {"vpc": vpc, "subnet": subnet, "igw": igw, "table": table}
    for t in ec2.describe_route_tables(Filters=by_vpc(vpc))["RouteTables"]:
        for a in t["Associations"]:
            if not a["Main"]:
                ec2.disassociate_route_table(AssociationId=a["RouteTableAssociationId"])
    for t in ec2.describe_route_tables(Filters=by_vpc(vpc))["RouteTables"]:
        if not t["Associations"]:
            ec2.delete_route_table(RouteTableId=t["RouteTableId"])
    for eni in ec2.describe_network_interfaces(Filters=by_vpc(vpc))["NetworkInterfaces"]:
        ec2.delete_network_interface(NetworkInterfaceId=eni["NetworkInterfaceId"])
    ec2.detach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    ec2.delete_internet_gateway(InternetGatewayId=igw)
    ec2.delete_subnet(SubnetId=subnet)
    ec2.delete_vpc(VpcId=vpc)


def routes_of(ec2, table: str) -> list[tuple]:
    shown = ec2.describe_route_tables(RouteTableIds=[table])["RouteTables"][0]["Routes"]
    return [(r["DestinationCidrBlock"], r.get("GatewayId") or r.get("NetworkInterfaceId"), r["State"]) for r in shown]


def test_routes_and_their_state(ec2, net):
    table, igw = net["table"], net["igw"]
    ec2.create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    ec2.create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)  # the same again: done
    assert code(ec2.create_route, RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", GatewayId="local") == \
        "RouteAlreadyExists"
    eni = ec2.create_network_interface(SubnetId=net["subnet"])["NetworkInterface"]["NetworkInterfaceId"]
    ec2.create_route(RouteTableId=table, DestinationCidrBlock="192.168.0.0/16", NetworkInterfaceId=eni)
    ec2.create_route(RouteTableId=table, DestinationCidrBlock="10.5.1.0/24", NetworkInterfaceId=eni)  # middlebox
    assert routes_of(ec2, table) == [("10.5.0.0/16", "local", "active"), ("0.0.0.0/0", igw, "active"),
                                     ("192.168.0.0/16", eni, "active"), ("10.5.1.0/24", eni, "active")]

    ec2.detach_internet_gateway(InternetGatewayId=igw, VpcId=net["vpc"])
    ec2.delete_network_interface(NetworkInterfaceId=eni)
    assert [state for _, _, state in routes_of(ec2, table)] == ["active", "blackhole", "blackhole", "blackhole"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=net["vpc"])
    assert routes_of(ec2, table)[1] == ("0.0.0.0/0", igw, "active")

    ec2.delete_route(RouteTableId=table, DestinationCidrBlock="192.168.0.0/16")
    ec2.delete_route(RouteTableId=table, DestinationCidrBlock="10.5.1.0/24")
    assert code(ec2.delete_route, RouteTableId=table, DestinationCidrBlock="192.168.0.0/16") == "InvalidRoute.NotFound"
    assert code(ec2.delete_route, RouteTableId=table, DestinationCidrBlock="10.5.0.0/16") == "InvalidParameterValue"
    assert [d for d, _, _ in routes_of(ec2, table)] == ["10.5.0.0/16", "0.0.0.0/0"]


def test_replace_route_and_the_local_route(ec2, net):
    table, igw = net["table"], net["igw"]
    eni = ec2.create_network_interface(SubnetId=net["subnet"])["NetworkInterface"]["NetworkInterfaceId"]
    ec2.create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    ec2.replace_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", NetworkInterfaceId=eni)
    assert routes_of(ec2, table)[1] == ("0.0.0.0/0", eni, "active")
    assert code(ec2.replace_route, RouteTableId=table, DestinationCidrBlock="10.9.0.0/16", GatewayId=igw) == \
        "InvalidParameterValue"
    assert code(ec2.replace_route, RouteTableId=table, DestinationCidrBlock="10.5.0.0/16", GatewayId=igw) == \
        "InvalidParameterValue"  # the local route takes an interface, or local again, only
    ec2.replace_route(RouteTableId=table, DestinationCidrBlock="10.5.0.0/16", NetworkInterfaceId=eni)
    assert routes_of(ec2, table)[0] == ("10.5.0.0/16", eni, "active")
    assert code(ec2.delete_route, RouteTableId=table, DestinationCidrBlock="10.5.0.0/16") == "InvalidParameterValue"
    ec2.replace_route(RouteTableId=table, DestinationCidrBlock="10.5.0.0/16", LocalTarget=True)
    assert routes_of(ec2, table)[0] == ("10.5.0.0/16", "local", "active")
    assert code(ec2.replace_route, RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", LocalTarget=True) == \
        "InvalidParameterValue"


@pytest.mark.parametrize("kw, expected", [
    ({"DestinationCidrBlock": "10.5.2.0/24", "GatewayId": "IGW"}, "InvalidParameterValue"),
    ({"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": "igw-0123456789abcdef0"}, "InvalidGatewayID.NotFound"),
    ({"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": "vgw-0123456789abcdef0"}, "InvalidGatewayID.NotFound"),
    ({"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": "OTHER"}, "InvalidParameterValue"),
    ({"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": "UNATTACHED"}, "InvalidParameterValue"),
    ({"DestinationCidrBlock": "0.0.0.0/0", "NatGatewayId": "nat-0123456789abcdef0"}, "NatGatewayNotFound"),
    ({"DestinationCidrBlock": "0.0.0.0/0", "NetworkInterfaceId": "eni-0123456789abcdef0"},
     "InvalidNetworkInterfaceID.NotFound"),
    ({"DestinationCidrBlock": "0.0.0.0/0", "InstanceId": "i-0123456789abcdef0"}, "InvalidInstanceID.NotFound"),
    ({"DestinationCidrBlock": "0.0.0.0/0", "VpcPeeringConnectionId": "pcx-0123456789abcdef0"},
     "InvalidVpcPeeringConnectionID.NotFound"),
    ({"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": "IGW", "NatGatewayId": "nat-0123456789abcdef0"},
     "InvalidParameterCombination"),
    ({"DestinationCidrBlock": "0.0.0.0/0"}, "MissingParameter"),
    ({"GatewayId": "IGW"}, "MissingParameter"),
    ({"DestinationCidrBlock": "0.0.0.0/33", "GatewayId": "IGW"}, "InvalidParameterValue"),
    ({"DestinationIpv6CidrBlock": "::/0", "GatewayId": "IGW"}, "UnsupportedOperation"),
    ({"DestinationCidrBlock": "10.6.0.0/16", "GatewayId": "local"}, "InvalidParameterValue"),
])
def test_create_route_refusals(ec2, net, kw, expected):
    other_vpc = ec2.create_vpc(CidrBlock="10.6.0.0/16")["Vpc"]["VpcId"]
    other = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=other, VpcId=other_vpc)
    unattached = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    names = {"IGW": net["igw"], "OTHER": other, "UNATTACHED": unattached}
    kw = {k: names.get(v, v) for k, v in kw.items()}
    assert code(ec2.create_route, RouteTableId=net["table"], **kw) == expected
    assert [d for d, _, _ in routes_of(ec2, net["table"])] == ["10.5.0.0/16"]
    ec2.detach_internet_gateway(InternetGatewayId=other, VpcId=other_vpc)
    for gateway in (other, unattached):
        ec2.delete_internet_gateway(InternetGatewayId=gateway)
    ec2.delete_vpc(VpcId=other_vpc)


def test_unknown_tables(ec2):
    assert code(ec2.create_route, RouteTableId="rtb-0123456789abcdef0", DestinationCidrBlock="0.0.0.0/0",
                GatewayId="local") == "InvalidRouteTableID.NotFound"
    assert code(ec2.describe_route_tables, RouteTableIds=["rtb-x"]) == "InvalidRouteTableID.Malformed"
    assert code(ec2.delete_route_table, RouteTableId="rtb-0123456789abcdef0") == "InvalidRouteTableID.NotFound"
    assert code(ec2.create_route_table, VpcId="vpc-0123456789abcdef0") == "InvalidVpcID.NotFound"
    assert code(ec2.disassociate_route_table, AssociationId="rtbassoc-0123456789abcdef0") == \
        "InvalidAssociationID.NotFound"


def test_associations_and_the_main_table(ec2, net):
    vpc, subnet, table = net["vpc"], net["subnet"], net["table"]
    main = ec2.describe_route_tables(Filters=by_vpc(vpc) + [{"Name": "association.main", "Values": ["true"]}])[
        "RouteTables"]
    assert len(main) == 1 and main[0]["RouteTableId"] != table
    main_id, main_association = main[0]["RouteTableId"], main[0]["Associations"][0]["RouteTableAssociationId"]
    made = ec2.associate_route_table(RouteTableId=table, SubnetId=subnet)
    assert made["AssociationState"] == {"State": "associated"} and made["AssociationId"].startswith("rtbassoc-")
    assert code(ec2.associate_route_table, RouteTableId=main_id, SubnetId=subnet) == "Resource.AlreadyAssociated"
    assert code(ec2.delete_route_table, RouteTableId=table) == "DependencyViolation"
    assert code(ec2.delete_route_table, RouteTableId=main_id) == "DependencyViolation"
    assert code(ec2.disassociate_route_table, AssociationId=main_association) == "InvalidParameterValue"
    other_vpc, other_subnet = vpc_with_subnet(ec2, "10.7.0.0/16", "10.7.0.0/24")
    assert code(ec2.associate_route_table, RouteTableId=table, SubnetId=other_subnet) == "InvalidParameterValue"
    assert code(ec2.associate_route_table, RouteTableId=table, SubnetId="subnet-0123456789abcdef0") == \
        "InvalidSubnetID.NotFound"

    moved = ec2.replace_route_table_association(AssociationId=made["AssociationId"], RouteTableId=main_id)
    assert moved["NewAssociationId"] != made["AssociationId"]
    assert [a.get("SubnetId") for a in ec2.describe_route_tables(RouteTableIds=[main_id])["RouteTables"][0][
        "Associations"]] == [None, subnet]
    # the main association moves to another table, which then is the main one
    new_main = ec2.replace_route_table_association(AssociationId=main_association, RouteTableId=table)
    now = {t["RouteTableId"]: t["Associations"] for t in ec2.describe_route_tables(Filters=by_vpc(vpc))["RouteTables"]}
    assert [(a["Main"], a["RouteTableAssociationId"]) for a in now[table]] == [(True, new_main["NewAssociationId"])]
    assert [a["SubnetId"] for a in now[main_id]] == [subnet]
    ec2.disassociate_route_table(AssociationId=moved["NewAssociationId"])
    ec2.delete_route_table(RouteTableId=main_id)  # no longer the main one
    assert code(ec2.delete_vpc, VpcId=other_vpc) == "DependencyViolation"
    ec2.delete_subnet(SubnetId=other_subnet)
    ec2.delete_vpc(VpcId=other_vpc)


def test_filters_tags_and_pages(ec2, net):
    vpc, table = net["vpc"], net["table"]
    ec2.create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", GatewayId=net["igw"])
    ec2.associate_route_table(RouteTableId=table, SubnetId=net["subnet"])
    tagged = ec2.create_route_table(VpcId=vpc, TagSpecifications=[
        {"ResourceType": "route-table", "Tags": [{"Key": "Name", "Value": "private"}]}])["RouteTable"]
    assert tagged["Tags"] == [{"Key": "Name", "Value": "private"}]
    by = lambda name, *values: {t["RouteTableId"] for t in ec2.describe_route_tables(
        Filters=by_vpc(vpc) + [{"Name": name, "Values": list(values)}])["RouteTables"]}
    assert by("route.gateway-id", net["igw"]) == {table}
    assert by("route.destination-cidr-block", "0.0.0.0/0") == {table}
    assert by("association.subnet-id", net["subnet"]) == {table}
    assert by("tag:Name", "private") == {tagged["RouteTableId"]}
    assert len(by("route.origin", "CreateRouteTable")) == 3 and by("route.state", "blackhole") == set()
    assert by("association.main", "false") == {table}
    for _ in range(3):
        ec2.create_route_table(VpcId=vpc)
    first = ec2.describe_route_tables(Filters=by_vpc(vpc), MaxResults=5)
    rest = ec2.describe_route_tables(Filters=by_vpc(vpc), MaxResults=5, NextToken=first["NextToken"])
    assert len(first["RouteTables"]) == 5 and len(rest["RouteTables"]) == 1 and "NextToken" not in rest
    assert code(ec2.describe_route_tables, Filters=[{"Name": "route.bogus", "Values": ["x"]}]) == \
        "InvalidParameterValue"


def test_a_route_to_an_instance_goes_to_its_interface(server, ec2, net):
    """An instance as a stopped one is recorded, with interfaces made as RunInstances makes them."""
    account = server.client("sts", key=server.vpc_core_account[0], secret=server.vpc_core_account[1]
                            ).get_caller_identity()["Account"]
    store = Store(server.data_dir / "state.db")
    with store.scoped(account, "us-east-1") as db:
        body = {"InstanceId": "i-0a0a0a0a0a0a0a0a0", "State": {"Code": 80, "Name": "stopped"}, "_run": {}}
        db.insert(ec2_instances, instance_id=body["InstanceId"], desired="stopped", state="stopped",
                  body=json.dumps(body), updated_at=now())
        subnet = db.one(subnets, subnets.c.subnet_id == net["subnet"])
        first = enis.create_eni(db, subnet, groups=[], attached_to=body["InstanceId"])["NetworkInterfaceId"]
    ec2.create_route(RouteTableId=net["table"], DestinationCidrBlock="172.16.0.0/12", InstanceId=body["InstanceId"])
    route = ec2.describe_route_tables(RouteTableIds=[net["table"]])["RouteTables"][0]["Routes"][1]
    assert (route["InstanceId"], route["NetworkInterfaceId"], route["InstanceOwnerId"]) == \
        (body["InstanceId"], first, account)
    with store.scoped(account, "us-east-1") as db:
        enis.create_eni(db, subnet, groups=[], attached_to=body["InstanceId"])
    assert code(ec2.create_route, RouteTableId=net["table"], DestinationCidrBlock="192.168.0.0/16",
                InstanceId=body["InstanceId"]) == "InvalidInstanceID"
    ec2.delete_route(RouteTableId=net["table"], DestinationCidrBlock="172.16.0.0/12")
    with store.scoped(account, "us-east-1") as db:
        for eni in db.select(ec2_network_interfaces, ec2_network_interfaces.c.attached_to == body["InstanceId"]):
            enis.release_eni(db, eni["eni_id"])
        db.delete(ec2_instances, ec2_instances.c.instance_id == body["InstanceId"])
    store.close()
