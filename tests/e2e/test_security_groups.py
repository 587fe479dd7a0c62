"""Security groups through the stock AWS CLI and boto3: the issue's walkthrough, the default
group of every VPC, create/delete/describe with filters, paging and tags, and AWS's refusals
(names, duplicates, the default group, groups still in use)."""

import base64
import json

import pytest

from tests.e2e.errors import code


@pytest.fixture(scope="module")
def account(server):
    return server.new_account("security-groups")


@pytest.fixture(scope="module")
def ec2(server, account):
    key, secret = account
    return server.client("ec2", key=key, secret=secret)


@pytest.fixture(scope="module")
def raw(server, account):
    """A client that leaves the checking of bounds to the server."""
    key, secret = account
    return server.client("ec2", key=key, secret=secret, validate=False)


@pytest.fixture(scope="module")
def default_vpc(ec2):
    return ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]


def cli(server, *args) -> dict:
    out = server.aws("ec2", *args).stdout
    return json.loads(out) if out.strip() else {}


def test_walkthrough_with_the_aws_cli(server):
    vpc = cli(server, "describe-vpcs", "--filters", "Name=is-default,Values=true")["Vpcs"][0]["VpcId"]
    web = cli(server, "create-security-group", "--group-name", "walk-web", "--description", "web", "--vpc-id", vpc)
    db = cli(server, "create-security-group", "--group-name", "walk-db", "--description", "db", "--vpc-id", vpc)
    try:
        assert web["GroupId"].startswith("sg-") and len(web["GroupId"]) == 20
        assert web["SecurityGroupArn"].endswith(f":security-group/{web['GroupId']}")
        opened = cli(server, "authorize-security-group-ingress", "--group-id", web["GroupId"], "--protocol", "tcp",
                     "--port", "80", "--cidr", "0.0.0.0/0")
        [rule] = opened["SecurityGroupRules"]
        assert opened["Return"] is True and rule["SecurityGroupRuleId"].startswith("sgr-")
        assert (rule["IpProtocol"], rule["FromPort"], rule["ToPort"], rule["CidrIpv4"], rule["IsEgress"]) == \
            ("tcp", 80, 80, "0.0.0.0/0", False)
        from_web = cli(server, "authorize-security-group-ingress", "--group-id", db["GroupId"], "--protocol", "tcp",
                       "--port", "5432", "--source-group", web["GroupId"])["SecurityGroupRules"][0]
        assert from_web["ReferencedGroupInfo"]["GroupId"] == web["GroupId"] and from_web["FromPort"] == 5432
        rules = cli(server, "describe-security-group-rules", "--filters",
                    f"Name=group-id,Values={db['GroupId']}")["SecurityGroupRules"]
        assert sorted((r["IsEgress"], r["IpProtocol"]) for r in rules) == [(False, "tcp"), (True, "-1")]
        described = cli(server, "describe-security-groups", "--group-ids", db["GroupId"])["SecurityGroups"][0]
        assert described["IpPermissions"][0]["UserIdGroupPairs"][0]["GroupId"] == web["GroupId"]
        assert described["IpPermissionsEgress"][0]["IpRanges"] == [{"CidrIp": "0.0.0.0/0"}]
        revoked = cli(server, "revoke-security-group-ingress", "--group-id", web["GroupId"], "--protocol", "tcp",
                      "--port", "80", "--cidr", "0.0.0.0/0")
        assert [r["SecurityGroupRuleId"] for r in revoked["RevokedSecurityGroupRules"]] == \
            [rule["SecurityGroupRuleId"]]
        assert cli(server, "describe-security-groups", "--group-ids", web["GroupId"])["SecurityGroups"][0][
            "IpPermissions"] == []
        refused = server.aws("ec2", "delete-security-group", "--group-id", web["GroupId"], check=False)
        assert refused.returncode != 0 and "DependencyViolation" in refused.stderr  # db's rule still names web
    finally:
        server.aws("ec2", "delete-security-group", "--group-id", db["GroupId"])
        server.aws("ec2", "delete-security-group", "--group-id", web["GroupId"])


def test_the_default_group_of_a_vpc(ec2, default_vpc):
    [default] = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [default_vpc]},
                                                      {"Name": "group-name", "Values": ["default"]}])["SecurityGroups"]
    assert default["Description"] == "default VPC security group"
    [inbound] = default["IpPermissions"]
    assert inbound["IpProtocol"] == "-1" and "FromPort" not in inbound and inbound["IpRanges"] == []
    assert inbound["UserIdGroupPairs"] == [{"GroupId": default["GroupId"], "UserId": default["OwnerId"]}]
    assert [(p["IpProtocol"], p["IpRanges"]) for p in default["IpPermissionsEgress"]] == \
        [("-1", [{"CidrIp": "0.0.0.0/0"}])]
    assert ec2.describe_security_groups(GroupNames=["default"])["SecurityGroups"] == [default]
    assert code(ec2.delete_security_group, GroupId=default["GroupId"]) == "CannotDelete"
    assert code(ec2.delete_security_group, GroupName="default") == "CannotDelete"
    assert code(ec2.create_security_group, GroupName="default", Description="x") == "InvalidGroup.Reserved"
    assert code(ec2.create_security_group, GroupName="DEFAULT", Description="x") == "InvalidGroup.Reserved"
    # its rules are the account's to change, as on AWS
    ec2.revoke_security_group_egress(GroupId=default["GroupId"], IpPermissions=[
        {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    assert ec2.describe_security_groups(GroupIds=[default["GroupId"]])["SecurityGroups"][0]["IpPermissionsEgress"] \
        == []
    ec2.authorize_security_group_egress(GroupId=default["GroupId"], IpPermissions=[
        {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])


def test_a_new_vpc_has_a_default_group_of_its_own(ec2):
    vpc = ec2.create_vpc(CidrBlock="10.40.0.0/16")["Vpc"]["VpcId"]
    groups = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["SecurityGroups"]
    assert [g["GroupName"] for g in groups] == ["default"]
    web = ec2.create_security_group(GroupName="web", Description="web", VpcId=vpc)["GroupId"]
    [created] = ec2.describe_security_groups(GroupIds=[web])["SecurityGroups"]
    assert created["VpcId"] == vpc and created["IpPermissions"] == []
    assert [(p["IpProtocol"], p["IpRanges"]) for p in created["IpPermissionsEgress"]] == \
        [("-1", [{"CidrIp": "0.0.0.0/0"}])]
    # names are unique per VPC, not per account; the default VPC's "web" is another group
    other = ec2.create_security_group(GroupName="web", Description="web")["GroupId"]
    assert code(ec2.create_security_group, GroupName="WEB", Description="web", VpcId=vpc) == "InvalidGroup.Duplicate"
    # a name names a group of the default VPC only
    assert ec2.describe_security_groups(GroupNames=["web"])["SecurityGroups"][0]["GroupId"] == other
    ec2.delete_security_group(GroupName="web")
    ec2.delete_security_group(GroupId=web)
    assert code(ec2.describe_security_groups, GroupIds=[web]) == "InvalidGroup.NotFound"


@pytest.mark.parametrize("name, description, expected", [
    ("sg-web", "x", "InvalidParameterValue"),
    ("SG-web", "x", "InvalidParameterValue"),
    ("x" * 256, "x", "InvalidParameterValue"),
    ("caf\u00e9", "x", "InvalidParameterValue"),
    ("semi\nline", "x", "InvalidParameterValue"),
    ("web", "d" * 256, "InvalidParameterValue"),
    ("web", "<script>", "InvalidParameterValue"),
    ("", "x", "MissingParameter"),
    ("web", "", "MissingParameter"),
])
def test_names_and_descriptions_refused(ec2, name, description, expected):
    assert code(ec2.create_security_group, GroupName=name, Description=description) == expected
    assert not ec2.describe_security_groups(Filters=[{"Name": "description", "Values": [description]}])[
        "SecurityGroups"]


def test_create_refusals(ec2):
    assert code(ec2.create_security_group, GroupName="web", Description="x", VpcId="vpc-0123456789abcdef0") == \
        "InvalidVpcID.NotFound"
    assert code(ec2.create_security_group, GroupName="web", Description="x", VpcId="arn:aws:ecs:us-east-1:1:x") == \
        "InvalidVpcID.NotFound"
    assert code(ec2.create_security_group, GroupName="web", Description="x", TagSpecifications=[
        {"ResourceType": "instance", "Tags": [{"Key": "a", "Value": "b"}]}]) == "InvalidParameterValue"
    assert code(ec2.create_security_group, GroupName="web", Description="x", TagSpecifications=[
        {"ResourceType": "security-group", "Tags": [{"Key": "aws:x", "Value": "b"}]}]) == "InvalidParameterValue"
    assert not ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": ["web"]}])["SecurityGroups"]
    assert code(ec2.create_security_group, GroupName="web", Description="x", DryRun=True) == "DryRunOperation"


def test_tags_filters_and_paging(ec2, raw, default_vpc):
    made = [ec2.create_security_group(GroupName=f"page-{i}", Description=f"page group {i}", TagSpecifications=[
        {"ResourceType": "security-group", "Tags": [{"Key": "suite", "Value": "paging"}, {"Key": "n", "Value": str(i)}]}])
        for i in range(7)]
    ids = sorted(m["GroupId"] for m in made)
    try:
        assert made[0]["Tags"] == [{"Key": "n", "Value": "0"}, {"Key": "suite", "Value": "paging"}]
        tagged = [{"Name": "tag:suite", "Values": ["paging"]}]
        seen, token, pages = [], None, 0
        while True:
            page = ec2.describe_security_groups(Filters=tagged, MaxResults=5, **({"NextToken": token} if token else {}))
            seen += [g["GroupId"] for g in page["SecurityGroups"]]
            pages += 1
            token = page.get("NextToken")
            if not token:
                break
        assert sorted(seen) == ids and pages == 2

        def by(name, *values):
            return sorted(g["GroupId"] for g in ec2.describe_security_groups(
                Filters=[{"Name": name, "Values": list(values)}, *tagged])["SecurityGroups"])

        assert by("group-name", "page-1", "page-2") == sorted([made[1]["GroupId"], made[2]["GroupId"]])
        assert by("description", "page group ?") == ids
        assert by("group-name", "page-\\*") == []
        assert by("vpc-id", default_vpc) == ids
        assert by("tag:n", "3") == [made[3]["GroupId"]]
        assert by("owner-id", ec2.describe_security_groups(GroupIds=[ids[0]])["SecurityGroups"][0]["OwnerId"]) == ids
        ec2.authorize_security_group_ingress(GroupId=made[0]["GroupId"], IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "10.1.0.0/16"}]}])
        ec2.authorize_security_group_ingress(GroupId=made[1]["GroupId"], IpPermissions=[
            {"IpProtocol": "udp", "FromPort": 53, "ToPort": 53, "UserIdGroupPairs": [{"GroupId": made[0]["GroupId"]}]}])
        assert by("ip-permission.cidr", "10.1.0.0/16") == [made[0]["GroupId"]]
        assert by("ip-permission.from-port", "22") == [made[0]["GroupId"]]
        assert by("ip-permission.to-port", "53") == [made[1]["GroupId"]]
        assert by("ip-permission.protocol", "udp") == [made[1]["GroupId"]]
        assert by("ip-permission.group-id", made[0]["GroupId"]) == [made[1]["GroupId"]]
        assert by("ip-permission.group-name", "page-0") == [made[1]["GroupId"]]
        assert by("egress.ip-permission.cidr", "0.0.0.0/0") == ids
        assert by("egress.ip-permission.protocol", "tcp") == []
        assert by("ip-permission.ipv6-cidr", "::/0") == [] and by("ip-permission.prefix-list-id", "pl-1") == []
        assert code(ec2.describe_security_groups, Filters=[{"Name": "colour", "Values": ["x"]}]) == \
            "InvalidParameterValue"
        assert code(raw.describe_security_groups, MaxResults=4) == "InvalidParameterValue"
        assert code(ec2.describe_security_groups, MaxResults=5, NextToken="not-a-token") == "InvalidNextToken"
        forged = base64.urlsafe_b64encode(b"[{}]").decode()
        assert code(ec2.describe_security_groups, MaxResults=5, NextToken=forged) == "InvalidNextToken"
        assert [g["GroupId"] for g in ec2.describe_security_groups(GroupIds=ids[:2], MaxResults=5)[
            "SecurityGroups"]] == ids[:2]
        ec2.delete_tags(Resources=[ids[0]], Tags=[{"Key": "n"}])
        assert {t["Key"] for t in ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [ids[0]]}])["Tags"]} \
            == {"suite"}
    finally:
        ec2.revoke_security_group_ingress(GroupId=made[1]["GroupId"], IpPermissions=[
            {"IpProtocol": "udp", "FromPort": 53, "ToPort": 53, "UserIdGroupPairs": [{"GroupId": made[0]["GroupId"]}]}])
        for group_id in ids:
            ec2.delete_security_group(GroupId=group_id)
    assert ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": ids}])["Tags"] == []


def test_lookups_refused(ec2, default_vpc):
    for call in (ec2.describe_security_groups, ec2.delete_security_group):
        args = {"GroupIds": ["sg-0123456789abcdef0"]} if call == ec2.describe_security_groups else \
            {"GroupId": "sg-0123456789abcdef0"}
        assert code(call, **args) == "InvalidGroup.NotFound"
        malformed = {k: (["web"] if isinstance(v, list) else "web") for k, v in args.items()}
        assert code(call, **malformed) == "InvalidGroupId.Malformed"
    assert code(ec2.describe_security_groups, GroupNames=["no-such-group"]) == "InvalidGroup.NotFound"
    assert code(ec2.delete_security_group, GroupName="no-such-group") == "InvalidGroup.NotFound"
    assert code(ec2.delete_security_group) == "MissingParameter"
    assert code(ec2.describe_security_group_references, GroupId=["sg-0123456789abcdef0"]) == "InvalidGroup.NotFound"
    assert code(ec2.describe_stale_security_groups, VpcId="vpc-0123456789abcdef0") == "InvalidVpcID.NotFound"


def test_references_and_stale_groups_cannot_cross_vpcs(ec2, raw, default_vpc):
    default = ec2.describe_security_groups(GroupNames=["default"])["SecurityGroups"][0]["GroupId"]
    assert ec2.describe_security_group_references(GroupId=[default])["SecurityGroupReferenceSet"] == []
    assert ec2.describe_stale_security_groups(VpcId=default_vpc)["StaleSecurityGroupSet"] == []
    assert code(raw.describe_stale_security_groups, VpcId=default_vpc, MaxResults=256) == "InvalidParameterValue"


def test_groups_are_an_accounts_own(server, ec2):
    mine = ec2.create_security_group(GroupName="private", Description="x")["GroupId"]
    try:
        other = server.client("ec2")  # the cloudlet profile's account
        assert code(other.describe_security_groups, GroupIds=[mine]) == "InvalidGroup.NotFound"
        assert code(other.delete_security_group, GroupId=mine) == "InvalidGroup.NotFound"
        assert code(other.authorize_security_group_ingress, GroupId=mine, IpProtocol="tcp", FromPort=1, ToPort=1,
                    CidrIp="0.0.0.0/0") == "InvalidGroup.NotFound"
        theirs = other.describe_security_groups(GroupNames=["default"])["SecurityGroups"][0]["GroupId"]
        assert code(ec2.authorize_security_group_ingress, GroupId=mine, IpPermissions=[
            {"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": theirs}]}]) == "InvalidGroup.NotFound"
    finally:
        ec2.delete_security_group(GroupId=mine)


def test_a_group_in_use_by_a_network_interface_stays(ec2, default_vpc):
    group = ec2.create_security_group(GroupName="in-use", Description="x")["GroupId"]
    subnet = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [default_vpc]}])["Subnets"][0]["SubnetId"]
    eni = ec2.create_network_interface(SubnetId=subnet, Groups=[group])["NetworkInterface"]
    try:
        assert [g["GroupId"] for g in eni["Groups"]] == [group]
        assert code(ec2.delete_security_group, GroupId=group) == "DependencyViolation"
        assert ec2.describe_security_groups(GroupIds=[group])["SecurityGroups"]
    finally:
        ec2.delete_network_interface(NetworkInterfaceId=eni["NetworkInterfaceId"])
    ec2.delete_security_group(GroupId=group)
