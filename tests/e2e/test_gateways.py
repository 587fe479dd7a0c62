"""Internet and NAT gateways through boto3: one gateway a VPC and one VPC a gateway, detaching
refused while public addresses are mapped in the VPC, a NAT gateway recorded pending with its
own interface and Elastic IP (the network reconciler, not the API, makes it available), routes
to it, its deletion, and AWS's refusals."""

import time

import pytest

from tests.e2e.errors import code
from tests.e2e.vpc_helpers import by_vpc, vpc_with_subnet
from tests.e2e.vpc_helpers import shared_ec2  # noqa: F401  (the ec2 fixture the tests take)


@pytest.fixture
def net(ec2):
    vpc, subnet = vpc_with_subnet(ec2, "10.3.0.0/16", "10.3.0.0/24")
    igw = ec2.create_internet_gateway(TagSpecifications=[
        {"ResourceType": "internet-gateway", "Tags": [{"Key": "Name", "Value": "way-out"}]}])["InternetGateway"]
    yield {"vpc": vpc, "subnet": subnet, "igw": igw}
    current = ec2.describe_internet_gateways(InternetGatewayIds=[igw["InternetGatewayId"]])["InternetGateways"][0]
    for attachment in current["Attachments"]:
        ec2.detach_internet_gateway(InternetGatewayId=igw["InternetGatewayId"], VpcId=attachment["VpcId"])
    ec2.delete_internet_gateway(InternetGatewayId=igw["InternetGatewayId"])
    ec2.delete_subnet(SubnetId=subnet)
    ec2.delete_vpc(VpcId=vpc)


def test_internet_gateway_attachments(ec2, net):
    vpc, igw = net["vpc"], net["igw"]["InternetGatewayId"]
    assert net["igw"]["Attachments"] == [] and net["igw"]["Tags"] == [{"Key": "Name", "Value": "way-out"}]
    assert code(ec2.detach_internet_gateway, InternetGatewayId=igw, VpcId=vpc) == "Gateway.NotAttached"
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    assert code(ec2.attach_internet_gateway, InternetGatewayId=igw, VpcId=vpc) == "Resource.AlreadyAssociated"
    second = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    assert code(ec2.attach_internet_gateway, InternetGatewayId=second, VpcId=vpc) == "InvalidParameterValue"
    other = ec2.create_vpc(CidrBlock="10.4.0.0/16")["Vpc"]["VpcId"]
    assert code(ec2.attach_internet_gateway, InternetGatewayId=igw, VpcId=other) == "Resource.AlreadyAssociated"
    assert code(ec2.detach_internet_gateway, InternetGatewayId=igw, VpcId=other) == "Gateway.NotAttached"
    assert code(ec2.delete_internet_gateway, InternetGatewayId=igw) == "DependencyViolation"
    by = lambda name, value: [g["InternetGatewayId"] for g in ec2.describe_internet_gateways(
        Filters=[{"Name": name, "Values": [value]}])["InternetGateways"]]
    assert by("attachment.vpc-id", vpc) == [igw] and by("tag:Name", "way-out") == [igw]
    assert igw in by("attachment.state", "available")
    assert len(by("attachment.state", "available")) == 2  # the account's default VPC has one too
    assert len(ec2.describe_internet_gateways()["InternetGateways"]) == 3
    ec2.delete_internet_gateway(InternetGatewayId=second)
    ec2.delete_vpc(VpcId=other)
    assert code(ec2.attach_internet_gateway, InternetGatewayId="igw-0123456789abcdef0", VpcId=vpc) == \
        "InvalidInternetGatewayID.NotFound"
    assert code(ec2.attach_internet_gateway, InternetGatewayId=igw, VpcId="vpc-0123456789abcdef0") == \
        "InvalidVpcID.NotFound"
    assert code(ec2.delete_internet_gateway, InternetGatewayId="igw-0123456789abcdef0") == \
        "InvalidInternetGatewayID.NotFound"


def test_detaching_waits_for_mapped_addresses(ec2, net):
    vpc, igw = net["vpc"], net["igw"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    eni = ec2.create_network_interface(SubnetId=net["subnet"])["NetworkInterface"]["NetworkInterfaceId"]
    elastic = ec2.allocate_address(Domain="vpc")
    association = ec2.associate_address(AllocationId=elastic["AllocationId"], NetworkInterfaceId=eni)
    assert code(ec2.detach_internet_gateway, InternetGatewayId=igw, VpcId=vpc) == "DependencyViolation"
    ec2.disassociate_address(AssociationId=association["AssociationId"])
    ec2.detach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    ec2.release_address(AllocationId=elastic["AllocationId"])
    ec2.delete_network_interface(NetworkInterfaceId=eni)


def test_nat_gateway_lifecycle(ec2, net):
    vpc, subnet, igw = net["vpc"], net["subnet"], net["igw"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    elastic = ec2.allocate_address(Domain="vpc")
    nat = ec2.create_nat_gateway(SubnetId=subnet, AllocationId=elastic["AllocationId"], TagSpecifications=[
        {"ResourceType": "natgateway", "Tags": [{"Key": "Name", "Value": "out"}]}])["NatGateway"]
    assert (nat["State"], nat["VpcId"], nat["SubnetId"], nat["ConnectivityType"]) == ("pending", vpc, subnet,
                                                                                     "public")
    assert nat["Tags"] == [{"Key": "Name", "Value": "out"}]
    [address] = nat["NatGatewayAddresses"]
    assert (address["AllocationId"], address["PublicIp"], address["IsPrimary"]) == \
        (elastic["AllocationId"], elastic["PublicIp"], True)
    eni = ec2.describe_network_interfaces(NetworkInterfaceIds=[address["NetworkInterfaceId"]])["NetworkInterfaces"][0]
    assert (eni["InterfaceType"], eni["Description"], eni["RequesterManaged"], eni["PrivateIpAddress"]) == \
        ("nat_gateway", f"Interface for NAT Gateway {nat['NatGatewayId']}", True, address["PrivateIp"])
    shown = ec2.describe_addresses(AllocationIds=[elastic["AllocationId"]])["Addresses"][0]
    assert (shown["NetworkInterfaceId"], shown["PrivateIpAddress"]) == (eni["NetworkInterfaceId"], eni[
        "PrivateIpAddress"])
    assert code(ec2.create_nat_gateway, SubnetId=subnet, AllocationId=elastic["AllocationId"]) == \
        "Resource.AlreadyAssociated"

    private = ec2.create_subnet(VpcId=vpc, CidrBlock="10.3.1.0/24")["Subnet"]["SubnetId"]
    table = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", NatGatewayId=nat["NatGatewayId"])
    route = lambda: ec2.describe_route_tables(RouteTableIds=[table])["RouteTables"][0]["Routes"][1]
    assert (route()["NatGatewayId"], route()["State"]) == (nat["NatGatewayId"], "active")
    assert code(ec2.detach_internet_gateway, InternetGatewayId=igw, VpcId=vpc) == "DependencyViolation"
    assert code(ec2.delete_subnet, SubnetId=subnet) == "DependencyViolation"
    by = lambda name, value: [n["NatGatewayId"] for n in ec2.describe_nat_gateways(
        Filter=[{"Name": name, "Values": [value]}])["NatGateways"]]
    assert by("vpc-id", vpc) == by("subnet-id", subnet) == by("tag:Name", "out") == [nat["NatGatewayId"]]

    assert ec2.delete_nat_gateway(NatGatewayId=nat["NatGatewayId"])["NatGatewayId"] == nat["NatGatewayId"]
    assert route()["State"] == "blackhole"
    deadline = time.monotonic() + 30  # deleted once the network reconciler has taken it down
    while ec2.describe_nat_gateways(NatGatewayIds=[nat["NatGatewayId"]])["NatGateways"][0]["State"] != "deleted":
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert "NetworkInterfaceId" not in ec2.describe_addresses(AllocationIds=[elastic["AllocationId"]])["Addresses"][0]
    assert ec2.describe_network_interfaces(Filters=by_vpc(vpc))["NetworkInterfaces"] == []
    ec2.delete_nat_gateway(NatGatewayId=nat["NatGatewayId"])  # deleting already: nothing more to do
    ec2.delete_route_table(RouteTableId=table)
    ec2.delete_subnet(SubnetId=private)
    ec2.release_address(AllocationId=elastic["AllocationId"])


def test_nat_gateway_refusals(ec2, net):
    subnet = net["subnet"]
    elastic = ec2.allocate_address(Domain="vpc")["AllocationId"]
    failed = ec2.create_nat_gateway(SubnetId=subnet, AllocationId=elastic)["NatGateway"]  # no internet gateway
    assert (failed["State"], failed["FailureCode"]) == ("failed", "Gateway.NotAttached")
    assert ec2.describe_network_interfaces(Filters=by_vpc(net["vpc"]))["NetworkInterfaces"] == []
    for kw, expected in (({"SubnetId": subnet}, "MissingParameter"),
                         ({"AllocationId": elastic}, "MissingParameter"),
                         ({"SubnetId": subnet, "AllocationId": elastic, "ConnectivityType": "private"},
                          "UnsupportedOperation"),
                         ({"SubnetId": "subnet-0123456789abcdef0", "AllocationId": elastic},
                          "InvalidSubnetID.NotFound"),
                         ({"SubnetId": subnet, "AllocationId": "eipalloc-0123456789abcdef0"},
                          "InvalidAllocationID.NotFound")):
        assert code(ec2.create_nat_gateway, **kw) == expected, kw
    assert code(ec2.delete_nat_gateway, NatGatewayId="nat-0123456789abcdef0") == "NatGatewayNotFound"
    assert code(ec2.describe_nat_gateways, NatGatewayIds=["nat-0123456789abcdef0"]) == "NatGatewayNotFound"
    assert [n["State"] for n in ec2.describe_nat_gateways(Filter=by_vpc(net["vpc"]))["NatGateways"]] == ["failed"]
    ec2.release_address(AllocationId=elastic)
