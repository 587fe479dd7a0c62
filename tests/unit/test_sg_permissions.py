"""Security group permissions without a server: protocols, ports, CIDRs, the legacy members
and the folding of rules into IpPermissions."""

import pytest

from cloudlet.edge.errors import AWSError
from cloudlet.services.ec2 import sg_permissions as perms


@pytest.mark.parametrize("given, stored", [
    ("tcp", "tcp"), ("TCP", "tcp"), ("6", "tcp"), ("017", "udp"), ("1", "icmp"), ("icmpv6", "58"), ("58", "58"),
    ("-1", "-1"), ("50", "50"), ("0", "0"), ("255", "255"),
])
def test_protocols(given, stored):
    assert perms.protocol(given) == stored


@pytest.mark.parametrize("given", ["all", "256", "-2", "6.0", "\u0666", "", None, "tcp\x00"])
def test_unknown_protocols(given):
    with pytest.raises(AWSError) as err:
        perms.protocol(given)
    assert err.value.code == "InvalidParameterValue"


@pytest.mark.parametrize("proto, low, high, kept", [
    ("tcp", 22, 22, (22, 22)), ("udp", -1, -1, (0, 65535)), ("tcp", 0, 65535, (0, 65535)),
    ("icmp", 8, -1, (8, -1)), ("icmp", -1, -1, (-1, -1)), ("58", None, None, (-1, -1)),
    ("-1", 5, 9, (-1, -1)), ("47", None, None, (-1, -1)),
])
def test_ports_kept(proto, low, high, kept):
    assert perms.ports(proto, low, high) == kept


@pytest.mark.parametrize("proto, low, high, code", [
    ("tcp", None, 80, "InvalidParameterValue"), ("tcp", 80, 79, "InvalidParameterValue"),
    ("tcp", 0, 65536, "InvalidPermission.Malformed"), ("udp", -1, 5, "InvalidPermission.Malformed"),
    ("icmp", None, None, "InvalidParameterValue"), ("icmp", 256, 0, "InvalidPermission.Malformed"),
    ("icmp", -1, 0, "InvalidParameterValue"), ("58", 0, 300, "InvalidPermission.Malformed"),
])
def test_ports_refused(proto, low, high, code):
    with pytest.raises(AWSError) as err:
        perms.ports(proto, low, high)
    assert err.value.code == code


def test_cidrs_are_masked_and_checked():
    assert perms.cidr("10.1.2.3/8") == "10.0.0.0/8"
    assert perms.cidr("10.0.0.0/255.255.0.0") == "10.0.0.0/16"
    for bad in ("10.0.0.0", "10.0.0.0/33", "::/0", "010.0.0.0/8", "", None, "10.0.0.0/8 ", "x" * 70000):
        with pytest.raises(AWSError):
            perms.cidr(bad)


def test_legacy_members():
    assert perms.from_request({"IpProtocol": "tcp", "FromPort": 1, "ToPort": 2, "CidrIp": "1.0.0.0/8"}) == \
        [{"IpProtocol": "tcp", "FromPort": 1, "ToPort": 2, "IpRanges": [{"CidrIp": "1.0.0.0/8"}]}]
    assert [p["IpProtocol"] for p in perms.from_request({"SourceSecurityGroupName": "web"})] == ["tcp", "udp", "icmp"]
    for request in ({"SourceSecurityGroupName": "web", "CidrIp": "1.0.0.0/8"}, {"SourceSecurityGroupOwnerId": "1"},
                    {}, {"CidrIp": "1.0.0.0/8", "IpPermissions": [{"IpProtocol": "-1"}]}):
        with pytest.raises(AWSError):
            perms.from_request(request)


def test_rules_fold_into_permissions_by_protocol_and_ports():
    def rule(proto, low, high, peer, egress=False, **extra):
        return {"IsEgress": egress, "IpProtocol": proto, "FromPort": low, "ToPort": high, **peer, **extra}

    rules = [rule("tcp", 80, 80, {"CidrIpv4": "10.0.0.0/8"}, Description="lan"),
             rule("tcp", 80, 80, {"ReferencedGroupInfo": {"GroupId": "sg-1", "UserId": "1"}}),
             rule("-1", -1, -1, {"CidrIpv4": "0.0.0.0/0"}), rule("-1", -1, -1, {"CidrIpv4": "0.0.0.0/0"}, egress=True)]
    assert perms.ip_permissions(rules, egress=False) == [
        {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "IpRanges": [{"CidrIp": "10.0.0.0/8", "Description": "lan"}],
         "Ipv6Ranges": [], "PrefixListIds": [], "UserIdGroupPairs": [{"GroupId": "sg-1", "UserId": "1"}]},
        {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}], "Ipv6Ranges": [], "PrefixListIds": [],
         "UserIdGroupPairs": []}]
    assert perms.key(rules[0]) == perms.key({**rules[0], "Description": "other"})
