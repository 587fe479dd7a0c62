"""VPCs through the stock AWS CLI and boto3: the issue's walkthrough, what a new VPC and the
default VPC come with, attributes, filters and paging, overlapping CIDRs (in one account and
across two), AWS's refusals, a VPC that cannot be deleted until its contents are, the default
VPC deleted and made again, and a default VPC recorded before VPCs had their objects."""

import pytest

from cloudlet.store import Store
from cloudlet.store.schema import subnets, vpcs
from tests.e2e.errors import code
from tests.e2e.vpc_helpers import account_client, by_vpc, cli, cli_refusal, vpc_with_subnet
from tests.e2e.vpc_helpers import shared_ec2  # noqa: F401  (the ec2 fixture the tests take)


def test_walkthrough_with_the_aws_cli(server):
    vpc = cli(server, "create-vpc", "--cidr-block", "10.0.0.0/16")["Vpc"]["VpcId"]
    public = cli(server, "create-subnet", "--vpc-id", vpc, "--cidr-block", "10.0.1.0/24")["Subnet"]["SubnetId"]
    private = cli(server, "create-subnet", "--vpc-id", vpc, "--cidr-block", "10.0.2.0/24")["Subnet"]["SubnetId"]
    igw = cli(server, "create-internet-gateway")["InternetGateway"]["InternetGatewayId"]
    cli(server, "attach-internet-gateway", "--internet-gateway-id", igw, "--vpc-id", vpc)
    table = cli(server, "create-route-table", "--vpc-id", vpc)["RouteTable"]["RouteTableId"]
    assert cli(server, "create-route", "--route-table-id", table, "--destination-cidr-block", "0.0.0.0/0",
               "--gateway-id", igw) == {"Return": True}
    association = cli(server, "associate-route-table", "--route-table-id", table, "--subnet-id", public)
    cli(server, "modify-subnet-attribute", "--subnet-id", public, "--map-public-ip-on-launch")

    shown = {s["SubnetId"]: s for s in cli(server, "describe-subnets", "--filters",
                                           f"Name=vpc-id,Values={vpc}")["Subnets"]}
    assert shown[public]["MapPublicIpOnLaunch"] and not shown[private]["MapPublicIpOnLaunch"]
    routes = cli(server, "describe-route-tables", "--route-table-ids", table)["RouteTables"][0]
    assert [(r["DestinationCidrBlock"], r.get("GatewayId"), r["State"]) for r in routes["Routes"]] == \
        [("10.0.0.0/16", "local", "active"), ("0.0.0.0/0", igw, "active")]
    assert [a["SubnetId"] for a in routes["Associations"]] == [public]
    assert cli(server, "describe-internet-gateways", "--internet-gateway-ids", igw)["InternetGateways"][0][
        "Attachments"] == [{"State": "available", "VpcId": vpc}]

    assert "DependencyViolation" in cli_refusal(server, "delete-vpc", "--vpc-id", vpc)
    cli(server, "disassociate-route-table", "--association-id", association["AssociationId"])
    cli(server, "delete-route-table", "--route-table-id", table)
    cli(server, "detach-internet-gateway", "--internet-gateway-id", igw, "--vpc-id", vpc)
    cli(server, "delete-internet-gateway", "--internet-gateway-id", igw)
    for subnet in (public, private):
        cli(server, "delete-subnet", "--subnet-id", subnet)
    cli(server, "delete-vpc", "--vpc-id", vpc)
    assert "InvalidVpcID.NotFound" in cli_refusal(server, "describe-vpcs", "--vpc-ids", vpc)


def test_a_new_vpc_and_what_it_comes_with(ec2):
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16", InstanceTenancy="dedicated", TagSpecifications=[
        {"ResourceType": "vpc", "Tags": [{"Key": "Name", "Value": "new"}]}])["Vpc"]
    assert vpc["State"] == "available" and not vpc["IsDefault"] and vpc["InstanceTenancy"] == "dedicated"
    assert vpc["Tags"] == [{"Key": "Name", "Value": "new"}] and vpc["CidrBlock"] == "10.20.0.0/16"
    assert [a["CidrBlock"] for a in vpc["CidrBlockAssociationSet"]] == ["10.20.0.0/16"]
    assert not any(k.startswith("_") for k in vpc)
    tables = ec2.describe_route_tables(Filters=by_vpc(vpc["VpcId"]))["RouteTables"]
    assert [[a["Main"] for a in t["Associations"]] for t in tables] == [[True]]
    assert tables[0]["Routes"] == [{"DestinationCidrBlock": "10.20.0.0/16", "GatewayId": "local",
                                    "Origin": "CreateRouteTable", "State": "active"}]
    acls = ec2.describe_network_acls(Filters=by_vpc(vpc["VpcId"]))["NetworkAcls"]
    assert [(a["IsDefault"], a["Associations"]) for a in acls] == [(True, [])]
    assert [(e["RuleNumber"], e["Egress"], e["RuleAction"]) for e in acls[0]["Entries"]] == \
        [(100, True, "allow"), (32767, True, "deny"), (100, False, "allow"), (32767, False, "deny")]
    groups = ec2.describe_security_groups(Filters=by_vpc(vpc["VpcId"]))["SecurityGroups"]
    assert [g["GroupName"] for g in groups] == ["default"]
    assert ec2.describe_internet_gateways(Filters=[{"Name": "attachment.vpc-id", "Values": [vpc["VpcId"]]}])[
        "InternetGateways"] == []
    rules = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [groups[0]["GroupId"]]}])[
        "SecurityGroupRules"]
    ec2.create_tags(Resources=[groups[0]["GroupId"], rules[0]["SecurityGroupRuleId"]], Tags=[{"Key": "k", "Value": "v"}])
    ec2.delete_vpc(VpcId=vpc["VpcId"])  # with what it came with, and nothing else
    assert ec2.describe_tags(Filters=[{"Name": "key", "Values": ["k"]}])["Tags"] == []
    assert ec2.describe_route_tables(Filters=by_vpc(vpc["VpcId"]))["RouteTables"] == []
    assert ec2.describe_network_acls(Filters=by_vpc(vpc["VpcId"]))["NetworkAcls"] == []


def test_attributes(ec2):
    vpc = ec2.create_vpc(CidrBlock="10.21.0.0/16")["Vpc"]["VpcId"]
    attribute = lambda name: ec2.describe_vpc_attribute(VpcId=vpc, Attribute=name)
    assert attribute("enableDnsSupport")["EnableDnsSupport"] == {"Value": True}
    assert attribute("enableDnsHostnames")["EnableDnsHostnames"] == {"Value": False}
    assert attribute("enableNetworkAddressUsageMetrics")["EnableNetworkAddressUsageMetrics"] == {"Value": False}
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsSupport={"Value": False})
    assert attribute("enableDnsHostnames")["EnableDnsHostnames"] == {"Value": True}
    assert attribute("enableDnsSupport")["EnableDnsSupport"] == {"Value": False}
    assert code(ec2.modify_vpc_attribute, VpcId=vpc, EnableDnsSupport={"Value": True},
                EnableDnsHostnames={"Value": True}) == "InvalidParameterCombination"
    assert code(ec2.modify_vpc_attribute, VpcId=vpc) == "InvalidParameterCombination"
    assert code(ec2.describe_vpc_attribute, VpcId="vpc-0123456789abcdef0", Attribute="enableDnsSupport") == \
        "InvalidVpcID.NotFound"
    ec2.delete_vpc(VpcId=vpc)


@pytest.mark.parametrize("block, expected", [
    ("10.0.0.0/15", "InvalidVpc.Range"), ("10.0.0.0/29", "InvalidVpc.Range"), ("127.0.0.0/16", "InvalidVpc.Range"),
    ("224.0.0.0/16", "InvalidVpc.Range"), ("10.0.0.0/33", "InvalidParameterValue"),
    ("10.0.0.1/16", "InvalidParameterValue"), ("not-a-cidr", "InvalidParameterValue"),
    ("10.0.0.0/16" + "0" * 5000, "InvalidParameterValue"), ("10.0.0.0/16\n", "InvalidParameterValue"),
    ("１０.0.0.0/16", "InvalidParameterValue"), ("arn:aws:ecs:us-east-1:1:cluster/x", "InvalidParameterValue"),
])
def test_create_vpc_refusals(ec2, block, expected):
    assert code(ec2.create_vpc, CidrBlock=block) == expected


def test_create_vpc_refuses_what_is_not_offered(ec2):
    before = ec2.describe_vpcs()["Vpcs"]
    assert code(ec2.create_vpc) == "MissingParameter"
    assert code(ec2.create_vpc, CidrBlock="10.0.0.0/16", AmazonProvidedIpv6CidrBlock=True) == "UnsupportedOperation"
    assert code(ec2.create_vpc, CidrBlock="10.0.0.0/16", InstanceTenancy="host") == "UnsupportedTenancy"
    assert code(ec2.create_vpc, CidrBlock="10.0.0.0/16", TagSpecifications=[
        {"ResourceType": "subnet", "Tags": [{"Key": "a", "Value": "b"}]}]) == "InvalidParameterValue"
    assert code(ec2.create_vpc, CidrBlock="10.0.0.0/16", TagSpecifications=[
        {"ResourceType": "vpc", "Tags": [{"Key": "aws:x", "Value": "b"}]}]) == "InvalidParameterValue"
    assert ec2.describe_vpcs()["Vpcs"] == before  # nothing half-made


def test_filters_and_pages(ec2):
    made = [ec2.create_vpc(CidrBlock=f"10.{30 + i}.0.0/16", TagSpecifications=[
        {"ResourceType": "vpc", "Tags": [{"Key": "team", "Value": "blue" if i % 2 else "red"}]}])["Vpc"]["VpcId"]
        for i in range(6)]
    by = lambda name, *values: {v["VpcId"] for v in ec2.describe_vpcs(
        Filters=[{"Name": name, "Values": list(values)}])["Vpcs"]}
    assert by("tag:team", "blue") == set(made[1::2])
    assert by("cidr", "10.30.0.0/16") == {made[0]}
    assert by("cidr-block-association.cidr-block", "10.3?.0.0/16") == set(made)
    assert by("is-default", "false") >= set(made) and not by("is-default", "false") & by("is-default", "true")
    assert by("state", "available") >= set(made) and by("tag-key", "team") == set(made)
    seen, token = [], None
    while True:
        page = ec2.describe_vpcs(MaxResults=5, **({"NextToken": token} if token else {}))
        assert len(page["Vpcs"]) <= 5
        seen += [v["VpcId"] for v in page["Vpcs"]]
        token = page.get("NextToken")
        if not token:
            break
    assert len(seen) == len(set(seen)) == len(ec2.describe_vpcs()["Vpcs"]) >= 7
    assert code(ec2.describe_vpcs, VpcIds=made[:1], MaxResults=5) == "InvalidParameterCombination"
    assert code(ec2.describe_vpcs, VpcIds=[made[0], "vpc-0123456789abcdef0"]) == "InvalidVpcID.NotFound"
    assert code(ec2.describe_vpcs, VpcIds=["subnet-0123456789abcdef0"]) == "InvalidVpcID.Malformed"
    assert code(ec2.describe_vpcs, Filters=[{"Name": "no-such-filter", "Values": ["x"]}]) == "InvalidParameterValue"
    assert code(ec2.describe_vpcs, NextToken="garbage") == "InvalidParameterValue"
    for vpc in made:
        ec2.delete_vpc(VpcId=vpc)


def test_overlapping_cidrs_in_one_account_and_across_two(server, ec2):
    first, first_subnet = vpc_with_subnet(ec2)
    second, second_subnet = vpc_with_subnet(ec2)
    other = account_client(server, "vpcs-other")
    third, third_subnet = vpc_with_subnet(other)
    cidrs = {v["VpcId"]: v["CidrBlock"] for v in ec2.describe_vpcs(VpcIds=[first, second])["Vpcs"]}
    assert cidrs == {first: "10.0.0.0/16", second: "10.0.0.0/16"}
    assert other.describe_subnets(SubnetIds=[third_subnet])["Subnets"][0]["CidrBlock"] == "10.0.1.0/24"
    assert code(other.describe_vpcs, VpcIds=[first]) == "InvalidVpcID.NotFound"  # nothing crosses accounts
    assert code(ec2.create_subnet, VpcId=third, CidrBlock="10.0.2.0/24") == "InvalidVpcID.NotFound"
    for client, vpc, subnet in ((ec2, first, first_subnet), (ec2, second, second_subnet), (other, third, third_subnet)):
        client.delete_subnet(SubnetId=subnet)
        client.delete_vpc(VpcId=vpc)


def test_a_vpc_is_deleted_only_once_its_contents_are(ec2):
    vpc, subnet = vpc_with_subnet(ec2, "10.40.0.0/16", "10.40.0.0/24")
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    table = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    acl = ec2.create_network_acl(VpcId=vpc)["NetworkAcl"]["NetworkAclId"]
    group = ec2.create_security_group(VpcId=vpc, GroupName="web", Description="web")["GroupId"]
    eni = ec2.create_network_interface(SubnetId=subnet)["NetworkInterface"]["NetworkInterfaceId"]
    undo = [lambda: ec2.delete_network_interface(NetworkInterfaceId=eni),
            lambda: ec2.delete_subnet(SubnetId=subnet),
            lambda: ec2.detach_internet_gateway(InternetGatewayId=igw, VpcId=vpc),
            lambda: ec2.delete_route_table(RouteTableId=table),
            lambda: ec2.delete_network_acl(NetworkAclId=acl),
            lambda: ec2.delete_security_group(GroupId=group)]
    for step in undo:
        assert code(ec2.delete_vpc, VpcId=vpc) == "DependencyViolation"
        step()
    ec2.delete_vpc(VpcId=vpc)
    ec2.delete_internet_gateway(InternetGatewayId=igw)
    assert code(ec2.delete_vpc, VpcId=vpc) == "InvalidVpcID.NotFound"


def test_the_default_vpc_and_its_objects(server):
    ec2 = account_client(server, "vpcs-default", region="eu-west-2")
    vpc = ec2.describe_vpcs()["Vpcs"][0]
    assert vpc["IsDefault"] and vpc["CidrBlock"].endswith("/16")
    assert ec2.describe_vpc_attribute(VpcId=vpc["VpcId"], Attribute="enableDnsHostnames")[
        "EnableDnsHostnames"] == {"Value": True}
    subnets_ = ec2.describe_subnets(Filters=by_vpc(vpc["VpcId"]))["Subnets"]
    assert [(s["AvailabilityZone"], s["DefaultForAz"], s["MapPublicIpOnLaunch"]) for s in subnets_] == \
        [(f"eu-west-2{z}", True, True) for z in "abc"]
    assert all(s["AvailableIpAddressCount"] == 4096 - 5 for s in subnets_)
    igw = ec2.describe_internet_gateways()["InternetGateways"]
    assert [g["Attachments"] for g in igw] == [[{"State": "available", "VpcId": vpc["VpcId"]}]]
    table = ec2.describe_route_tables()["RouteTables"]
    assert [(r["DestinationCidrBlock"], r["GatewayId"], r["State"]) for r in table[0]["Routes"]] == \
        [(vpc["CidrBlock"], "local", "active"), ("0.0.0.0/0", igw[0]["InternetGatewayId"], "active")]
    acl = ec2.describe_network_acls()["NetworkAcls"]
    assert sorted(a["SubnetId"] for a in acl[0]["Associations"]) == sorted(s["SubnetId"] for s in subnets_)
    assert code(ec2.create_default_vpc) == "DefaultVpcAlreadyExists"

    # Deleted (its contents first, as on AWS), it stays deleted until CreateDefaultVpc.
    ec2.detach_internet_gateway(InternetGatewayId=igw[0]["InternetGatewayId"], VpcId=vpc["VpcId"])
    ec2.delete_internet_gateway(InternetGatewayId=igw[0]["InternetGatewayId"])
    for s in subnets_:
        ec2.delete_subnet(SubnetId=s["SubnetId"])
    ec2.delete_vpc(VpcId=vpc["VpcId"])
    assert ec2.describe_vpcs()["Vpcs"] == [] and ec2.describe_subnets()["Subnets"] == []
    again = ec2.create_default_vpc()["Vpc"]
    assert again["IsDefault"] and again["VpcId"] != vpc["VpcId"]
    assert [v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"]] == [again["VpcId"]]
    assert len(ec2.describe_subnets(Filters=by_vpc(again["VpcId"]))["Subnets"]) == 3


def test_a_default_vpc_from_before_its_objects_gets_them(server):
    """Rows as a cloudlet before migration 9 left them (bodies '{}'): the first look completes them."""
    key, secret = server.new_account("vpcs-old-state")
    ec2 = server.client("ec2", key=key, secret=secret)
    account = server.client("sts", key=key, secret=secret).get_caller_identity()["Account"]
    store = Store(server.data_dir / "state.db")
    with store.scoped(account, "us-east-1") as db:
        db.insert(vpcs, vpc_id="vpc-0aaaaaaaaaaaaaaaa", cidr="172.20.0.0/16", is_default=1,
                  security_group_id="sg-0aaaaaaaaaaaaaaaa", body="{}")
        db.insert(subnets, subnet_id="subnet-0aaaaaaaaaaaaaaaa", vpc_id="vpc-0aaaaaaaaaaaaaaaa", zone="us-east-1a",
                  cidr="172.20.0.0/20", default_for_az=1, body="{}")
    store.close()
    vpc = ec2.describe_vpcs()["Vpcs"]
    assert [(v["VpcId"], v["IsDefault"], v["State"]) for v in vpc] == [("vpc-0aaaaaaaaaaaaaaaa", True, "available")]
    subnet = ec2.describe_subnets()["Subnets"]
    assert [(s["SubnetId"], s["MapPublicIpOnLaunch"]) for s in subnet] == [("subnet-0aaaaaaaaaaaaaaaa", True)]
    assert [g["GroupId"] for g in ec2.describe_security_groups()["SecurityGroups"]] == ["sg-0aaaaaaaaaaaaaaaa"]
    routes = ec2.describe_route_tables()["RouteTables"][0]["Routes"]
    assert [r["DestinationCidrBlock"] for r in routes] == ["172.20.0.0/16", "0.0.0.0/0"]
    acl = ec2.describe_network_acls()["NetworkAcls"][0]
    assert [a["SubnetId"] for a in acl["Associations"]] == ["subnet-0aaaaaaaaaaaaaaaa"]
    assert ec2.describe_vpcs()["Vpcs"] == vpc  # completed once, the same since


def test_tags_and_dry_runs_on_every_kind(ec2):
    vpc, subnet = vpc_with_subnet(ec2, "10.50.0.0/16", "10.50.0.0/24")
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    table = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    acl = ec2.create_network_acl(VpcId=vpc)["NetworkAcl"]["NetworkAclId"]
    kinds = {vpc: "vpc", subnet: "subnet", igw: "internet-gateway", table: "route-table", acl: "network-acl"}
    ec2.create_tags(Resources=list(kinds), Tags=[{"Key": "stage", "Value": "test"}])
    tagged = ec2.describe_tags(Filters=[{"Name": "key", "Values": ["stage"]}])["Tags"]
    assert {t["ResourceId"]: t["ResourceType"] for t in tagged} == kinds
    assert ec2.describe_internet_gateways(InternetGatewayIds=[igw])["InternetGateways"][0]["Tags"] == [
        {"Key": "stage", "Value": "test"}]
    assert code(ec2.create_tags, Resources=["rtb-0123456789abcdef0"], Tags=[{"Key": "a", "Value": "b"}]) == \
        "InvalidRouteTableID.NotFound"
    for call, kw in ((ec2.create_vpc, {"CidrBlock": "10.0.0.0/16"}), (ec2.delete_vpc, {"VpcId": vpc}),
                     (ec2.create_subnet, {"VpcId": vpc, "CidrBlock": "10.50.1.0/24"}),
                     (ec2.attach_internet_gateway, {"InternetGatewayId": igw, "VpcId": vpc}),
                     (ec2.create_route, {"RouteTableId": table, "DestinationCidrBlock": "0.0.0.0/0", "GatewayId": igw}),
                     (ec2.delete_network_acl, {"NetworkAclId": acl})):
        assert code(call, DryRun=True, **kw) == "DryRunOperation"
    ec2.delete_network_acl(NetworkAclId=acl)
    ec2.delete_route_table(RouteTableId=table)
    ec2.delete_internet_gateway(InternetGatewayId=igw)
    ec2.delete_subnet(SubnetId=subnet)
    ec2.delete_vpc(VpcId=vpc)
    assert ec2.describe_tags(Filters=[{"Name": "key", "Values": ["stage"]}])["Tags"] == []
