"""Subnets through boto3: zones, AvailableIpAddressCount as ENIs take addresses, attributes,
filters and paging, a subnet that cannot be deleted while an ENI is in it, what goes with a
deleted subnet, and AWS's refusals of ranges, conflicts and zones."""

import pytest

from tests.e2e.errors import code
from tests.e2e.vpc_helpers import by_vpc
from tests.e2e.vpc_helpers import shared_ec2  # noqa: F401  (the ec2 fixture the tests take)


@pytest.fixture
def vpc(ec2):
    vpc_id = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    yield vpc_id
    for s in ec2.describe_subnets(Filters=by_vpc(vpc_id))["Subnets"]:
        ec2.delete_subnet(SubnetId=s["SubnetId"])
    ec2.delete_vpc(VpcId=vpc_id)


def test_zones_by_name_by_id_and_spread(ec2, vpc):
    a = ec2.create_subnet(VpcId=vpc, CidrBlock="10.1.0.0/24", AvailabilityZone="us-east-1b")["Subnet"]
    b = ec2.create_subnet(VpcId=vpc, CidrBlock="10.1.1.0/24", AvailabilityZoneId="use1-az3")["Subnet"]
    c = ec2.create_subnet(VpcId=vpc, CidrBlock="10.1.2.0/24")["Subnet"]
    assert (a["AvailabilityZone"], a["AvailabilityZoneId"]) == ("us-east-1b", "use1-az2")
    assert (b["AvailabilityZone"], b["AvailabilityZoneId"]) == ("us-east-1c", "use1-az3")
    assert c["AvailabilityZone"] == "us-east-1a"  # the zone with none yet
    assert not a["DefaultForAz"] and not a["MapPublicIpOnLaunch"] and a["State"] == "available"
    assert a["SubnetArn"].endswith(f":subnet/{a['SubnetId']}") and a["OwnerId"] == a["SubnetArn"].split(":")[4]


@pytest.mark.parametrize("block, expected", [
    ("10.2.0.0/24", "InvalidSubnet.Range"), ("10.0.0.0/15", "InvalidSubnet.Range"),
    ("10.1.0.0/29", "InvalidSubnet.Range"), ("10.1.0.0/20", "InvalidSubnet.Conflict"),
    ("10.1.0.128/25", "InvalidSubnet.Conflict"), ("10.1.0.1/24", "InvalidParameterValue"),
    ("10.1.0.0/24; DROP", "InvalidParameterValue"), ("x" * 10000, "InvalidParameterValue"),
])
def test_range_and_conflict_refusals(ec2, vpc, block, expected):
    ec2.create_subnet(VpcId=vpc, CidrBlock="10.1.0.0/24")
    assert code(ec2.create_subnet, VpcId=vpc, CidrBlock=block) == expected
    assert len(ec2.describe_subnets(Filters=by_vpc(vpc))["Subnets"]) == 1


def test_other_refusals(ec2, vpc):
    assert code(ec2.create_subnet, VpcId=vpc, CidrBlock="10.1.0.0/24", AvailabilityZone="us-east-1z") == \
        "InvalidParameterValue"
    assert code(ec2.create_subnet, VpcId=vpc, CidrBlock="10.1.0.0/24", AvailabilityZoneId="euw1-az1") == \
        "InvalidParameterValue"
    assert code(ec2.create_subnet, VpcId=vpc, CidrBlock="10.1.0.0/24", AvailabilityZone="us-east-1a",
                AvailabilityZoneId="use1-az1") == "InvalidParameterCombination"
    assert code(ec2.create_subnet, VpcId="vpc-0123456789abcdef0", CidrBlock="10.1.0.0/24") == "InvalidVpcID.NotFound"
    assert code(ec2.create_subnet, VpcId="arn:aws:ecs:us-east-1:1:x", CidrBlock="10.1.0.0/24") == \
        "InvalidVpcID.Malformed"
    assert code(ec2.create_subnet, VpcId=vpc) == "MissingParameter"
    assert code(ec2.create_subnet, VpcId=vpc, CidrBlock="10.1.0.0/24", Ipv6CidrBlock="2001:db8::/64") == \
        "UnsupportedOperation"
    assert code(ec2.delete_subnet, SubnetId="subnet-0123456789abcdef0") == "InvalidSubnetID.NotFound"
    assert ec2.describe_subnets(Filters=by_vpc(vpc))["Subnets"] == []


def test_available_addresses_follow_the_enis(ec2, vpc):
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.1.9.0/28")["Subnet"]
    assert subnet["AvailableIpAddressCount"] == 16 - 5  # AWS keeps five of every subnet
    eni = ec2.create_network_interface(SubnetId=subnet["SubnetId"])["NetworkInterface"]
    assert eni["PrivateIpAddress"] == "10.1.9.4"
    count = lambda: ec2.describe_subnets(SubnetIds=[subnet["SubnetId"]])["Subnets"][0][
        "AvailableIpAddressCount"]
    assert count() == 10
    assert code(ec2.delete_subnet, SubnetId=subnet["SubnetId"]) == "DependencyViolation"
    ec2.delete_network_interface(NetworkInterfaceId=eni["NetworkInterfaceId"])
    assert count() == 11
    ec2.delete_subnet(SubnetId=subnet["SubnetId"])


def test_attributes(ec2, vpc):
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.1.3.0/24")["Subnet"]["SubnetId"]
    ec2.modify_subnet_attribute(SubnetId=subnet, MapPublicIpOnLaunch={"Value": True})
    ec2.modify_subnet_attribute(SubnetId=subnet, PrivateDnsHostnameTypeOnLaunch="resource-name")
    ec2.modify_subnet_attribute(SubnetId=subnet, EnableResourceNameDnsARecordOnLaunch={"Value": True})
    ec2.modify_subnet_attribute(SubnetId=subnet, EnableDns64={"Value": True})
    shown = ec2.describe_subnets(SubnetIds=[subnet])["Subnets"][0]
    assert shown["MapPublicIpOnLaunch"] and shown["EnableDns64"]
    assert shown["PrivateDnsNameOptionsOnLaunch"] == {"HostnameType": "resource-name",
                                                      "EnableResourceNameDnsARecord": True,
                                                      "EnableResourceNameDnsAAAARecord": False}
    assert code(ec2.modify_subnet_attribute, SubnetId=subnet, MapPublicIpOnLaunch={"Value": False},
                EnableDns64={"Value": False}) == "InvalidParameterCombination"
    assert code(ec2.modify_subnet_attribute, SubnetId=subnet) == "InvalidParameterCombination"
    assert code(ec2.modify_subnet_attribute, SubnetId=subnet, AssignIpv6AddressOnCreation={"Value": True}) == \
        "InvalidParameterValue"
    assert code(ec2.modify_subnet_attribute, SubnetId=subnet, MapCustomerOwnedIpOnLaunch={"Value": True}) == \
        "InvalidParameterValue"
    assert code(ec2.modify_subnet_attribute, SubnetId="subnet-0123456789abcdef0",
                MapPublicIpOnLaunch={"Value": True}) == "InvalidSubnetID.NotFound"
    ec2.modify_subnet_attribute(SubnetId=subnet, MapPublicIpOnLaunch={"Value": False})
    assert not ec2.describe_subnets(SubnetIds=[subnet])["Subnets"][0]["MapPublicIpOnLaunch"]


def test_filters_and_pages(ec2, vpc):
    made = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.1.{10 + i}.0/24", TagSpecifications=[
        {"ResourceType": "subnet", "Tags": [{"Key": "tier", "Value": "web" if i < 2 else "db"}]}])["Subnet"]
        for i in range(6)]
    ec2.modify_subnet_attribute(SubnetId=made[0]["SubnetId"], MapPublicIpOnLaunch={"Value": True})
    by = lambda name, *values: {s["SubnetId"] for s in ec2.describe_subnets(
        Filters=by_vpc(vpc) + [{"Name": name, "Values": list(values)}])["Subnets"]}
    ids = [s["SubnetId"] for s in made]
    assert by("tag:tier", "web") == set(ids[:2])
    assert by("cidr-block", "10.1.10.0/24", "10.1.11.0/24") == set(ids[:2]) == by("cidr", "10.1.1?.0/24") - \
        set(ids[2:])
    assert by("map-public-ip-on-launch", "true") == {ids[0]}
    assert by("default-for-az", "false") == set(ids) and by("default-for-az", "true") == set()
    assert by("availability-zone", made[0]["AvailabilityZone"]) == {
        s["SubnetId"] for s in made if s["AvailabilityZone"] == made[0]["AvailabilityZone"]}
    assert by("availability-zone-id", "use1-az*") == set(ids) and by("state", "available") == set(ids)
    assert by("subnet-id", ids[3]) == {ids[3]}
    pages, token = [], None
    while True:
        page = ec2.describe_subnets(Filters=by_vpc(vpc), MaxResults=5, **({"NextToken": token} if token else {}))
        pages.append([s["SubnetId"] for s in page["Subnets"]])
        token = page.get("NextToken")
        if not token:
            break
    assert [len(p) for p in pages] == [5, 1] and sorted(s for p in pages for s in p) == sorted(ids)
    assert code(ec2.describe_subnets, SubnetIds=ids[:1], MaxResults=5) == "InvalidParameterCombination"
    assert code(ec2.describe_subnets, SubnetIds=["subnet-0123456789abcdef0"]) == "InvalidSubnetID.NotFound"


def test_a_deleted_subnet_takes_its_associations_along(ec2, vpc):
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.1.4.0/24")["Subnet"]["SubnetId"]
    table = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.associate_route_table(RouteTableId=table, SubnetId=subnet)
    acl = ec2.describe_network_acls(Filters=by_vpc(vpc))["NetworkAcls"][0]
    assert [a["SubnetId"] for a in acl["Associations"]] == [subnet]
    ec2.delete_subnet(SubnetId=subnet)
    assert ec2.describe_route_tables(RouteTableIds=[table])["RouteTables"][0]["Associations"] == []
    assert ec2.describe_network_acls(Filters=by_vpc(vpc))["NetworkAcls"][0]["Associations"] == []
    ec2.delete_route_table(RouteTableId=table)
