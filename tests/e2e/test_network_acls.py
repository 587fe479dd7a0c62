"""Network ACLs through the stock AWS CLI and boto3: a VPC's default ACL and a new one, entries
(protocols by name and number, port ranges, ICMP, the rule numbers AWS allows), moving a
subnet's association, filters, and AWS's refusals."""

import pytest

from tests.e2e.errors import code
from tests.e2e.vpc_helpers import by_vpc, cli, vpc_with_subnet
from tests.e2e.vpc_helpers import shared_ec2  # noqa: F401  (the ec2 fixture the tests take)


@pytest.fixture
def net(ec2):
    vpc, subnet = vpc_with_subnet(ec2, "10.8.0.0/16", "10.8.1.0/24")
    acl = ec2.create_network_acl(VpcId=vpc, TagSpecifications=[
        {"ResourceType": "network-acl", "Tags": [{"Key": "Name", "Value": "strict"}]}])["NetworkAcl"]
    yield {"vpc": vpc, "subnet": subnet, "acl": acl}
    ec2.delete_subnet(SubnetId=subnet)
    ec2.delete_network_acl(NetworkAclId=acl["NetworkAclId"])
    ec2.delete_vpc(VpcId=vpc)


def entries(ec2, acl_id: str) -> list[tuple]:
    shown = ec2.describe_network_acls(NetworkAclIds=[acl_id])["NetworkAcls"][0]["Entries"]
    return [(e["RuleNumber"], e["Egress"], e["Protocol"], e["RuleAction"], e["CidrBlock"],
             e.get("PortRange"), e.get("IcmpTypeCode")) for e in shown]


def test_entries_with_the_aws_cli(server):
    vpc = cli(server, "create-vpc", "--cidr-block", "10.9.0.0/16")["Vpc"]["VpcId"]
    acl = cli(server, "create-network-acl", "--vpc-id", vpc)["NetworkAcl"]
    assert not acl["IsDefault"] and [(e["RuleNumber"], e["RuleAction"]) for e in acl["Entries"]] == \
        [(32767, "deny"), (32767, "deny")]
    cli(server, "create-network-acl-entry", "--network-acl-id", acl["NetworkAclId"], "--ingress", "--rule-number",
        "100", "--protocol", "tcp", "--port-range", "From=443,To=443", "--cidr-block", "0.0.0.0/0",
        "--rule-action", "allow")
    cli(server, "create-network-acl-entry", "--network-acl-id", acl["NetworkAclId"], "--egress", "--rule-number",
        "100", "--protocol", "-1", "--cidr-block", "0.0.0.0/0", "--rule-action", "allow")
    shown = cli(server, "describe-network-acls", "--network-acl-ids", acl["NetworkAclId"])["NetworkAcls"][0]
    assert [(e["RuleNumber"], e["Egress"], e["Protocol"], e.get("PortRange")) for e in shown["Entries"]] == \
        [(100, True, "-1", None), (32767, True, "-1", None), (100, False, "6", {"From": 443, "To": 443}),
         (32767, False, "-1", None)]
    cli(server, "delete-network-acl", "--network-acl-id", acl["NetworkAclId"])
    cli(server, "delete-vpc", "--vpc-id", vpc)


def test_create_replace_and_delete_entries(ec2, net):
    acl = net["acl"]["NetworkAclId"]
    ec2.create_network_acl_entry(NetworkAclId=acl, RuleNumber=10, Protocol="udp", RuleAction="allow", Egress=False,
                                 CidrBlock="10.0.0.0/8", PortRange={"From": 53, "To": 53})
    ec2.create_network_acl_entry(NetworkAclId=acl, RuleNumber=20, Protocol="1", RuleAction="allow", Egress=False,
                                 CidrBlock="0.0.0.0/0", IcmpTypeCode={"Type": 8, "Code": -1})
    ec2.create_network_acl_entry(NetworkAclId=acl, RuleNumber=10, Protocol="47", RuleAction="deny", Egress=True,
                                 CidrBlock="192.0.2.0/24")
    assert entries(ec2, acl) == [
        (10, True, "47", "deny", "192.0.2.0/24", None, None), (32767, True, "-1", "deny", "0.0.0.0/0", None, None),
        (10, False, "17", "allow", "10.0.0.0/8", {"From": 53, "To": 53}, None),
        (20, False, "1", "allow", "0.0.0.0/0", None, {"Code": -1, "Type": 8}),
        (32767, False, "-1", "deny", "0.0.0.0/0", None, None)]
    assert code(ec2.create_network_acl_entry, NetworkAclId=acl, RuleNumber=10, Protocol="-1", RuleAction="allow",
                Egress=False, CidrBlock="0.0.0.0/0") == "NetworkAclEntryAlreadyExists"
    ec2.replace_network_acl_entry(NetworkAclId=acl, RuleNumber=10, Protocol="tcp", RuleAction="deny", Egress=False,
                                  CidrBlock="10.0.0.0/8", PortRange={"From": 1, "To": 1024})
    assert entries(ec2, acl)[2] == (10, False, "6", "deny", "10.0.0.0/8", {"From": 1, "To": 1024}, None)
    assert code(ec2.replace_network_acl_entry, NetworkAclId=acl, RuleNumber=11, Protocol="-1", RuleAction="allow",
                Egress=False, CidrBlock="0.0.0.0/0") == "InvalidNetworkAclEntry.NotFound"
    ec2.delete_network_acl_entry(NetworkAclId=acl, RuleNumber=10, Egress=True)
    assert code(ec2.delete_network_acl_entry, NetworkAclId=acl, RuleNumber=10, Egress=True) == \
        "InvalidNetworkAclEntry.NotFound"
    assert code(ec2.delete_network_acl_entry, NetworkAclId=acl, RuleNumber=32767, Egress=True) == \
        "InvalidParameterValue"
    assert [e[:2] for e in entries(ec2, acl)] == [(32767, True), (10, False), (20, False), (32767, False)]


@pytest.mark.parametrize("kw, expected", [
    ({"RuleNumber": 0}, "InvalidParameterValue"), ({"RuleNumber": 32767}, "InvalidParameterValue"),
    ({"Protocol": "tcp"}, "MissingParameter"), ({"Protocol": "icmp"}, "MissingParameter"),
    ({"Protocol": "256"}, "InvalidParameterValue"), ({"Protocol": "sctp-ish"}, "InvalidParameterValue"),
    ({"Protocol": "6", "PortRange": {"From": 80, "To": 70}}, "InvalidParameterValue"),
    ({"Protocol": "6", "PortRange": {"From": 0, "To": 70000}}, "InvalidParameterValue"),
    ({"Protocol": "1", "IcmpTypeCode": {"Type": 300, "Code": 0}}, "InvalidParameterValue"),
    ({"CidrBlock": "10.0.0.0/40"}, "InvalidParameterValue"), ({"CidrBlock": None}, "MissingParameter"),
    ({"CidrBlock": None, "Ipv6CidrBlock": "::/0"}, "UnsupportedOperation"),
    ({"NetworkAclId": "acl-0123456789abcdef0"}, "InvalidNetworkAclID.NotFound"),
    ({"NetworkAclId": "sg-0123456789abcdef0"}, "InvalidNetworkAclID.Malformed"),
])
def test_entry_refusals(ec2, net, kw, expected):
    request = {"NetworkAclId": net["acl"]["NetworkAclId"], "RuleNumber": 5, "Protocol": "-1", "RuleAction": "allow",
               "Egress": False, "CidrBlock": "0.0.0.0/0", **kw}
    assert code(ec2.create_network_acl_entry, **{k: v for k, v in request.items() if v is not None}) == expected
    assert len(entries(ec2, net["acl"]["NetworkAclId"])) == 2


def test_an_acl_has_twenty_rules_a_direction(ec2, net):
    acl = net["acl"]["NetworkAclId"]
    for number in range(1, 21):
        ec2.create_network_acl_entry(NetworkAclId=acl, RuleNumber=number, Protocol="-1", RuleAction="allow",
                                     Egress=True, CidrBlock="0.0.0.0/0")
    assert code(ec2.create_network_acl_entry, NetworkAclId=acl, RuleNumber=21, Protocol="-1", RuleAction="allow",
                Egress=True, CidrBlock="0.0.0.0/0") == "NetworkAclEntryLimitExceeded"
    ec2.create_network_acl_entry(NetworkAclId=acl, RuleNumber=21, Protocol="-1", RuleAction="allow", Egress=False,
                                 CidrBlock="0.0.0.0/0")


def test_associations_and_deletion(ec2, net):
    vpc, subnet, acl = net["vpc"], net["subnet"], net["acl"]["NetworkAclId"]
    default = ec2.describe_network_acls(Filters=by_vpc(vpc) + [{"Name": "default", "Values": ["true"]}])[
        "NetworkAcls"][0]
    assert [a["SubnetId"] for a in default["Associations"]] == [subnet]
    moved = ec2.replace_network_acl_association(
        AssociationId=default["Associations"][0]["NetworkAclAssociationId"], NetworkAclId=acl)["NewAssociationId"]
    by = lambda name, value: [a["NetworkAclId"] for a in ec2.describe_network_acls(
        Filters=[{"Name": name, "Values": [value]}])["NetworkAcls"]]
    assert by("association.subnet-id", subnet) == [acl] and by("association.association-id", moved) == [acl]
    assert by("tag:Name", "strict") == [acl] and by("default", "false") == [acl]
    assert code(ec2.delete_network_acl, NetworkAclId=acl) == "DependencyViolation"
    assert code(ec2.delete_network_acl, NetworkAclId=default["NetworkAclId"]) == "InvalidParameterValue"
    assert code(ec2.replace_network_acl_association, AssociationId="aclassoc-0123456789abcdef0",
                NetworkAclId=acl) == "InvalidAssociationID.NotFound"
    other_vpc = ec2.create_vpc(CidrBlock="10.8.0.0/16")["Vpc"]["VpcId"]
    other = ec2.create_network_acl(VpcId=other_vpc)["NetworkAcl"]["NetworkAclId"]
    assert code(ec2.replace_network_acl_association, AssociationId=moved, NetworkAclId=other) == \
        "InvalidParameterValue"
    ec2.delete_network_acl(NetworkAclId=other)
    ec2.delete_vpc(VpcId=other_vpc)
    back = ec2.replace_network_acl_association(AssociationId=moved, NetworkAclId=default["NetworkAclId"])
    assert by("association.subnet-id", subnet) == [default["NetworkAclId"]] and back["NewAssociationId"] != moved
    assert code(ec2.describe_network_acls, NetworkAclIds=["acl-0123456789abcdef0"]) == "InvalidNetworkAclID.NotFound"
