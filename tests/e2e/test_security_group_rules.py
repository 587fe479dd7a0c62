"""Security group rules through boto3: every form of Authorize/Revoke (IpPermissions with
ranges, groups, protocols by name and number, ICMP; the legacy top-level members; rule ids),
DescribeSecurityGroupRules with filters and paging, ModifySecurityGroupRules and the
description updates, tags on rules, and AWS's refusals, none of which leaves a rule behind."""

import pytest
from botocore.exceptions import ClientError

from tests.e2e.errors import code


@pytest.fixture(scope="module")
def account(server):
    return server.new_account("security-group-rules")


@pytest.fixture(scope="module")
def ec2(server, account):
    return server.client("ec2", key=account[0], secret=account[1])


@pytest.fixture
def group(ec2, request):
    group_id = ec2.create_security_group(GroupName=request.node.name[:200], Description="rules")["GroupId"]
    yield group_id
    ec2.delete_security_group(GroupId=group_id)  # its rules go with it


def rules_of(ec2, group_id: str) -> list[dict]:
    return ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [group_id]}])[
        "SecurityGroupRules"]


def ingress(ec2, group_id: str) -> list[tuple]:
    return sorted((r["IpProtocol"], r["FromPort"], r["ToPort"], r.get("CidrIpv4") or
                   r["ReferencedGroupInfo"]["GroupId"], r.get("Description"))
                  for r in rules_of(ec2, group_id) if not r["IsEgress"])


def tcp(port, cidr="10.0.0.0/8", **extra):
    return {"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "IpRanges": [{"CidrIp": cidr, **extra}]}


def test_protocols_ports_and_peers(ec2, group):
    other = ec2.create_security_group(GroupName="peer", Description="peer")["GroupId"]
    try:
        out = ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[
            {"IpProtocol": "6", "FromPort": 8000, "ToPort": 8080,
             "IpRanges": [{"CidrIp": "192.168.7.9/24", "Description": "office"}, {"CidrIp": "172.16.0.0/12"}]},
            {"IpProtocol": "UDP", "FromPort": -1, "ToPort": -1, "UserIdGroupPairs": [{"GroupId": other}]},
            {"IpProtocol": "icmp", "FromPort": 8, "ToPort": -1, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
            {"IpProtocol": "50", "FromPort": 1, "ToPort": 2, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
            {"IpProtocol": "icmpv6", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
            {"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupName": "peer", "Description": "by name"}]},
        ])
        assert out["Return"] is True and len(out["SecurityGroupRules"]) == 7
        assert ingress(ec2, group) == sorted([
            ("tcp", 8000, 8080, "192.168.7.0/24", "office"), ("tcp", 8000, 8080, "172.16.0.0/12", None),
            ("udp", 0, 65535, other, None), ("icmp", 8, -1, "0.0.0.0/0", None), ("50", -1, -1, "0.0.0.0/0", None),
            ("58", -1, -1, "0.0.0.0/0", None), ("-1", -1, -1, other, "by name")])
        permissions = ec2.describe_security_groups(GroupIds=[group])["SecurityGroups"][0]["IpPermissions"]
        web = next(p for p in permissions if p["IpProtocol"] == "tcp")
        assert (web["FromPort"], web["ToPort"]) == (8000, 8080)
        assert web["IpRanges"] == [{"CidrIp": "192.168.7.0/24", "Description": "office"}, {"CidrIp": "172.16.0.0/12"}]
        assert "FromPort" not in next(p for p in permissions if p["IpProtocol"] == "50")
        assert code(ec2.delete_security_group, GroupId=other) == "DependencyViolation"
        revoked = ec2.revoke_security_group_ingress(GroupId=group, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 8000, "ToPort": 8080, "IpRanges": [{"CidrIp": "192.168.7.0/24"}]},
            {"IpProtocol": "17", "FromPort": 0, "ToPort": 65535, "UserIdGroupPairs": [{"GroupId": other}]},
            {"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": other}]}])
        assert sorted(r.get("CidrIpv4") or r["ReferencedGroupId"] for r in revoked["RevokedSecurityGroupRules"]) == \
            sorted(["192.168.7.0/24", other, other])
        assert "UnknownIpPermissions" not in revoked
        ec2.delete_security_group(GroupId=other)  # nothing names it any more
    finally:
        if ec2.describe_security_groups(Filters=[{"Name": "group-id", "Values": [other]}])["SecurityGroups"]:
            ec2.delete_security_group(GroupId=other)


def test_the_legacy_members(ec2, group):
    ec2.authorize_security_group_ingress(GroupId=group, IpProtocol="tcp", FromPort=22, ToPort=22, CidrIp="10.9.0.0/16")
    ec2.authorize_security_group_ingress(GroupName=group_name(ec2, group), SourceSecurityGroupName="default")
    default = ec2.describe_security_groups(GroupNames=["default"])["SecurityGroups"][0]["GroupId"]
    assert ingress(ec2, group) == sorted([("tcp", 22, 22, "10.9.0.0/16", None), ("tcp", 0, 65535, default, None),
                                          ("udp", 0, 65535, default, None), ("icmp", -1, -1, default, None)])
    assert code(ec2.authorize_security_group_ingress, GroupId=group, SourceSecurityGroupName="default",
                IpProtocol="tcp") == "InvalidParameterCombination"
    assert code(ec2.authorize_security_group_ingress, GroupId=group, SourceSecurityGroupOwnerId="123456789012") == \
        "MissingParameter"
    assert code(ec2.authorize_security_group_ingress, GroupId=group, IpProtocol="tcp", FromPort=1, ToPort=1) == \
        "MissingParameter"
    assert code(ec2.authorize_security_group_ingress, GroupId=group, CidrIp="10.0.0.0/8",
                IpPermissions=[tcp(1)]) == "MissingParameter"
    assert code(ec2.authorize_security_group_ingress, GroupId=group) == "MissingParameter"
    ec2.revoke_security_group_ingress(GroupId=group, IpProtocol="tcp", FromPort=22, ToPort=22, CidrIp="10.9.0.0/16")
    assert len(ingress(ec2, group)) == 3


def group_name(ec2, group_id: str) -> str:
    return ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]["GroupName"]


@pytest.mark.parametrize("permission, expected", [
    (tcp(70000), "InvalidPermission.Malformed"),
    ({"IpProtocol": "tcp", "FromPort": 90, "ToPort": 80, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
     "InvalidParameterValue"),
    ({"IpProtocol": "tcp", "FromPort": -1, "ToPort": 80, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
     "InvalidPermission.Malformed"),
    ({"IpProtocol": "udp", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}, "InvalidParameterValue"),
    ({"IpProtocol": "icmp", "FromPort": 300, "ToPort": 0, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
     "InvalidPermission.Malformed"),
    ({"IpProtocol": "icmp", "FromPort": -1, "ToPort": 3, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
     "InvalidParameterValue"),
    ({"IpProtocol": "icmp", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}, "InvalidParameterValue"),
    ({"IpProtocol": "all", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}, "InvalidParameterValue"),
    ({"IpProtocol": "256", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}, "InvalidParameterValue"),
    ({"IpRanges": [{"CidrIp": "0.0.0.0/0"}]}, "InvalidParameterValue"),
    (tcp(80, "10.0.0.0/33"), "InvalidParameterValue"),
    (tcp(80, "10.0.0.0"), "InvalidParameterValue"),
    (tcp(80, "::/0"), "InvalidParameterValue"),
    (tcp(80, "arn:aws:ec2:us-east-1:1:vpc/vpc-1"), "InvalidParameterValue"),
    (tcp(80, "10.0.0.0/8", Description="x" * 256), "InvalidParameterValue"),
    (tcp(80, "10.0.0.0/8", Description="caf\u00e9"), "InvalidParameterValue"),
    ({"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80}, "MissingParameter"),
    ({"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "PrefixListIds": [{"PrefixListId": "pl-63a5400a"}]},
     "InvalidPrefixListID.NotFound"),
    ({"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "Ipv6Ranges": [{"CidrIpv6": "::/0"}]},
     "InvalidParameterValue"),
    ({"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "UserIdGroupPairs": [{"GroupId": "sg-0123456789abcdef0"}]},
     "InvalidGroup.NotFound"),
    ({"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "UserIdGroupPairs": [{"GroupId": "web"}]},
     "InvalidGroupId.Malformed"),
    ({"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "UserIdGroupPairs": [{"GroupName": "nobody"}]},
     "InvalidGroup.NotFound"),
    ({"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "UserIdGroupPairs": [{"Description": "x"}]},
     "MissingParameter"),
])
def test_bad_permissions_are_refused_whole(ec2, group, permission, expected):
    for call in (ec2.authorize_security_group_ingress, ec2.authorize_security_group_egress):
        assert code(call, GroupId=group, IpPermissions=[tcp(443), permission]) == expected
    assert ingress(ec2, group) == []
    assert len(rules_of(ec2, group)) == 1  # the egress rule every new group has


def message(call, **kw) -> str:
    with pytest.raises(ClientError) as err:
        call(**kw)
    return err.value.response["Error"]["Message"]


def test_duplicates_and_the_rule_limit(ec2, group):
    ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[tcp(80), {
        "IpProtocol": "icmp", "FromPort": -1, "ToPort": -1, "IpRanges": [{"CidrIp": "10.0.0.0/24"}]}])
    assert message(ec2.authorize_security_group_ingress, GroupId=group, IpPermissions=[tcp(80)]) == \
        'the specified rule "peer: 10.0.0.0/8, TCP, from port: 80, to port: 80, ALLOW" already exists'
    assert message(ec2.authorize_security_group_ingress, GroupId=group, IpPermissions=[{
        "IpProtocol": "1", "FromPort": -1, "ToPort": -1, "IpRanges": [{"CidrIp": "10.0.0.0/24"}]}]) == \
        'the specified rule "peer: 10.0.0.0/24, ICMP, type: ALL, code: ALL, ALLOW" already exists'
    for again in (tcp(80), {"IpProtocol": "6", "FromPort": 80, "ToPort": 80, "IpRanges": [{"CidrIp": "10.1.2.3/8"}]},
                  tcp(80, Description="described differently")):
        assert code(ec2.authorize_security_group_ingress, GroupId=group, IpPermissions=[tcp(81), again]) == \
            "InvalidPermission.Duplicate"
    assert code(ec2.authorize_security_group_ingress, GroupId=group, IpPermissions=[tcp(82), tcp(82)]) == \
        "InvalidPermission.Duplicate"
    assert code(ec2.authorize_security_group_egress, GroupId=group, IpPermissions=[
        {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]) == "InvalidPermission.Duplicate"
    ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 1000, "ToPort": 1000,
         "IpRanges": [{"CidrIp": f"10.{i}.0.0/16"} for i in range(58)]}])
    assert len(ingress(ec2, group)) == 60
    assert code(ec2.authorize_security_group_ingress, GroupId=group, IpPermissions=[tcp(2000)]) == \
        "RulesPerSecurityGroupLimitExceeded"
    # a group reference counts as a rule too
    assert code(ec2.authorize_security_group_ingress, GroupId=group, IpPermissions=[
        {"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": group}]}]) == "RulesPerSecurityGroupLimitExceeded"
    ec2.authorize_security_group_egress(GroupId=group, IpPermissions=[tcp(2000)])  # the other direction has room
    assert len(ingress(ec2, group)) == 60


def test_revoking_what_is_not_there(ec2, group):
    vpc = ec2.create_vpc(CidrBlock="10.50.0.0/16")["Vpc"]["VpcId"]
    private = ec2.create_security_group(GroupName="private", Description="x", VpcId=vpc)["GroupId"]
    try:
        # a default VPC's group answers with what it lacks
        out = ec2.revoke_security_group_ingress(GroupId=group, IpPermissions=[tcp(25)])
        assert out["Return"] is True and out["RevokedSecurityGroupRules"] == []
        assert out["UnknownIpPermissions"][0]["IpRanges"] == [{"CidrIp": "10.0.0.0/8"}]
        # any other VPC's refuses, and revokes nothing of the request
        ec2.authorize_security_group_ingress(GroupId=private, IpPermissions=[tcp(22)])
        assert code(ec2.revoke_security_group_ingress, GroupId=private, IpPermissions=[tcp(22), tcp(25)]) == \
            "InvalidPermission.NotFound"
        assert len(ingress(ec2, private)) == 1
        ec2.revoke_security_group_ingress(GroupId=private, IpPermissions=[tcp(22)])
        assert code(ec2.revoke_security_group_ingress, GroupId=group, SecurityGroupRuleIds=["sgr-0123456789abcdef0"]) \
            == "InvalidSecurityGroupRuleId.NotFound"
        assert code(ec2.revoke_security_group_ingress, GroupId=group, SecurityGroupRuleIds=["rule-1"]) == \
            "InvalidSecurityGroupRuleId.Malformed"
        egress = [r["SecurityGroupRuleId"] for r in rules_of(ec2, group) if r["IsEgress"]]
        assert code(ec2.revoke_security_group_ingress, GroupId=group, SecurityGroupRuleIds=egress) == \
            "InvalidSecurityGroupRuleId.NotFound"  # an egress rule is no ingress rule
        # a group of another VPC cannot be a peer
        assert code(ec2.authorize_security_group_ingress, GroupId=group, IpPermissions=[
            {"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": private}]}]) == "InvalidGroup.NotFound"
    finally:
        ec2.delete_security_group(GroupId=private)


def test_rules_by_id_tags_and_paging(server, account, ec2, group):
    out = ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[tcp(p) for p in range(100, 106)],
                                               TagSpecifications=[{"ResourceType": "security-group-rule",
                                                                   "Tags": [{"Key": "app", "Value": "web"}]}])
    made = [r["SecurityGroupRuleId"] for r in out["SecurityGroupRules"]]
    assert all(r["Tags"] == [{"Key": "app", "Value": "web"}] for r in out["SecurityGroupRules"])
    assert out["SecurityGroupRules"][0]["SecurityGroupRuleArn"].endswith(f":security-group-rule/{made[0]}")
    ec2.create_tags(Resources=[made[0]], Tags=[{"Key": "first", "Value": "yes"}])
    assert [r["SecurityGroupRuleId"] for r in ec2.describe_security_group_rules(Filters=[
        {"Name": "tag:first", "Values": ["yes"]}])["SecurityGroupRules"]] == [made[0]]
    assert ec2.describe_security_group_rules(SecurityGroupRuleIds=[made[1]])["SecurityGroupRules"][0]["FromPort"] == 101
    seen, token = [], None
    while True:
        page = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [group]}], MaxResults=5,
                                                 **({"NextToken": token} if token else {}))
        seen += [r["SecurityGroupRuleId"] for r in page["SecurityGroupRules"]]
        token = page.get("NextToken")
        if not token:
            break
    assert len(seen) == 7 and set(made) <= set(seen)
    assert code(ec2.describe_security_group_rules, SecurityGroupRuleIds=["sgr-0123456789abcdef0"]) == \
        "InvalidSecurityGroupRuleId.NotFound"
    raw = server.client("ec2", key=account[0], secret=account[1], validate=False)
    assert code(raw.describe_security_group_rules, MaxResults=1001) == "InvalidParameterValue"
    assert code(ec2.describe_security_group_rules, Filters=[{"Name": "cidr", "Values": ["x"]}]) == \
        "InvalidParameterValue"
    revoked = ec2.revoke_security_group_ingress(GroupId=group, SecurityGroupRuleIds=made[:2])
    assert sorted(r["SecurityGroupRuleId"] for r in revoked["RevokedSecurityGroupRules"]) == sorted(made[:2])
    assert ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": made[:2]}])["Tags"] == []
    assert code(ec2.create_tags, Resources=[made[0]], Tags=[{"Key": "a", "Value": "b"}]) == \
        "InvalidSecurityGroupRuleId.NotFound"


def test_modify_and_describe_rules(ec2, group):
    [rule] = ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[tcp(80)])["SecurityGroupRules"]
    rid = rule["SecurityGroupRuleId"]
    ec2.modify_security_group_rules(GroupId=group, SecurityGroupRules=[{"SecurityGroupRuleId": rid, "SecurityGroupRule": {
        "IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIpv4": "192.0.2.0/24", "Description": "tls"}}])
    assert ingress(ec2, group) == [("tcp", 443, 443, "192.0.2.0/24", "tls")]
    assert rid in {r["SecurityGroupRuleId"] for r in rules_of(ec2, group)}  # the same rule, replaced
    ec2.modify_security_group_rules(GroupId=group, SecurityGroupRules=[{"SecurityGroupRuleId": rid, "SecurityGroupRule": {
        "IpProtocol": "-1", "ReferencedGroupId": group}}])
    assert ingress(ec2, group) == [("-1", -1, -1, group, None)]
    for bad, expected in (({"IpProtocol": "tcp", "FromPort": 1, "ToPort": 1}, "MissingParameter"),
                          ({"IpProtocol": "tcp", "FromPort": 1, "ToPort": 1, "CidrIpv4": "1.2.3.0/24",
                            "ReferencedGroupId": group}, "InvalidParameterCombination"),
                          ({"IpProtocol": "tcp", "FromPort": 1, "ToPort": 1, "CidrIpv4": "1.2.3.0/33"},
                           "InvalidParameterValue"),
                          ({"IpProtocol": "tcp", "FromPort": 1, "ToPort": 1, "CidrIpv6": "::/0"},
                           "InvalidParameterValue"),
                          ({"IpProtocol": "tcp", "FromPort": 1, "ToPort": 1, "PrefixListId": "pl-1"},
                           "InvalidPrefixListID.NotFound")):
        assert code(ec2.modify_security_group_rules, GroupId=group, SecurityGroupRules=[
            {"SecurityGroupRuleId": rid, "SecurityGroupRule": bad}]) == expected
    [extra] = ec2.authorize_security_group_egress(GroupId=group, IpPermissions=[tcp(9)])["SecurityGroupRules"]
    assert code(ec2.modify_security_group_rules, GroupId=group, SecurityGroupRules=[
        {"SecurityGroupRuleId": extra["SecurityGroupRuleId"], "SecurityGroupRule": {
            "IpProtocol": "-1", "CidrIpv4": "0.0.0.0/0"}}]) == "InvalidPermission.Duplicate"  # the one every group has
    assert ingress(ec2, group) == [("-1", -1, -1, group, None)]
    assert code(ec2.modify_security_group_rules, GroupId=group, SecurityGroupRules=[
        {"SecurityGroupRuleId": "sgr-0123456789abcdef0", "SecurityGroupRule": {"IpProtocol": "-1"}}]) == \
        "InvalidSecurityGroupRuleId.NotFound"


def test_rule_descriptions(ec2, group):
    [rule] = ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[tcp(80)])["SecurityGroupRules"]
    ec2.update_security_group_rule_descriptions_ingress(GroupId=group, IpPermissions=[
        tcp(80, Description="http from the LAN")])
    assert ingress(ec2, group)[0][4] == "http from the LAN"
    ec2.update_security_group_rule_descriptions_ingress(GroupId=group, SecurityGroupRuleDescriptions=[
        {"SecurityGroupRuleId": rule["SecurityGroupRuleId"], "Description": "by id"}])
    assert ingress(ec2, group)[0][4] == "by id"
    ec2.update_security_group_rule_descriptions_ingress(GroupId=group, SecurityGroupRuleDescriptions=[
        {"SecurityGroupRuleId": rule["SecurityGroupRuleId"]}])
    assert ingress(ec2, group)[0][4] is None
    assert code(ec2.update_security_group_rule_descriptions_ingress, GroupId=group,
                IpPermissions=[tcp(81, Description="x")]) == "InvalidPermission.NotFound"
    assert code(ec2.update_security_group_rule_descriptions_egress, GroupId=group, SecurityGroupRuleDescriptions=[
        {"SecurityGroupRuleId": rule["SecurityGroupRuleId"], "Description": "x"}]) == \
        "InvalidSecurityGroupRuleId.NotFound"
    assert code(ec2.update_security_group_rule_descriptions_ingress, GroupId=group, SecurityGroupRuleDescriptions=[
        {"SecurityGroupRuleId": rule["SecurityGroupRuleId"], "Description": "<b>"}]) == "InvalidParameterValue"
    assert code(ec2.update_security_group_rule_descriptions_ingress, GroupId=group) == "MissingParameter"
    assert ingress(ec2, group)[0][4] is None
