"""ELBv2 load balancers through boto3 and the AWS CLI: CreateLoadBalancer's shape and its
interfaces (requester-managed ENIs, public addresses), AWS's idempotency, the checks of names,
subnets, groups and schemes, Describe paging, attributes, SetSecurityGroups/SetSubnets,
DeleteLoadBalancer, and what another account's resources or hostile names and tags get."""

import json
import re
import secrets

import pytest

from tests.e2e.elbv2_helpers import refusal, tenant


@pytest.fixture(scope="module")
def t(server):
    return tenant(server, "elbv2-lbs")


def _name(prefix: str = "lb") -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


def _enis(t, lb: dict) -> list[dict]:
    _, kind, name, lb_id = lb["LoadBalancerArn"].rsplit("/", 3)
    found = t.ec2.describe_network_interfaces(
        Filters=[{"Name": "description", "Values": [f"ELB {kind}/{name}/{lb_id}"]}])["NetworkInterfaces"]
    return sorted(found, key=lambda e: e["SubnetId"])


def _default_group(t) -> str:
    return t.ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [t.vpc_id]},
                                                   {"Name": "group-name", "Values": ["default"]}])[
        "SecurityGroups"][0]["GroupId"]


def test_application_load_balancer_and_its_interfaces(t):
    name = _name()
    lb = t.elbv2.create_load_balancer(Name=name, Subnets=t.subnets[:2], Tags=[{"Key": "team", "Value": "web"}])[
        "LoadBalancers"][0]
    arn = lb["LoadBalancerArn"]
    assert re.fullmatch(rf"arn:aws:elasticloadbalancing:us-east-1:\d{{12}}:loadbalancer/app/{name}/[0-9a-f]{{16}}", arn)
    assert lb["DNSName"] == f"{name}-{arn.rsplit('/', 1)[1]}.us-east-1.elb.localhost"
    assert (lb["CanonicalHostedZoneId"], lb["Type"], lb["Scheme"], lb["State"], lb["IpAddressType"]) == (
        "Z35SXDOTRQ7X7K", "application", "internet-facing", {"Code": "provisioning"}, "ipv4")
    assert lb["VpcId"] == t.vpc_id and lb["SecurityGroups"] == [_default_group(t)]
    assert sorted(z["SubnetId"] for z in lb["AvailabilityZones"]) == t.subnets[:2]
    enis = _enis(t, lb)
    assert [e["SubnetId"] for e in enis] == t.subnets[:2]
    for eni in enis:
        assert (eni["RequesterManaged"], eni["RequesterId"], eni["Status"]) == (True, "amazon-elb", "in-use")
        assert [g["GroupId"] for g in eni["Groups"]] == lb["SecurityGroups"]
        assert eni["Association"]["PublicIp"]  # internet-facing: a public address each
    assert t.elbv2.describe_tags(ResourceArns=[arn])["TagDescriptions"] == [
        {"ResourceArn": arn, "Tags": [{"Key": "team", "Value": "web"}]}]
    assert t.elbv2.describe_load_balancers(LoadBalancerArns=[arn])["LoadBalancers"] == [lb]
    # the same name and settings: the same load balancer; other settings: refused
    again = t.elbv2.create_load_balancer(Name=name, Subnets=t.subnets[:2])["LoadBalancers"][0]
    assert again["LoadBalancerArn"] == arn and len(_enis(t, lb)) == 2
    assert refusal(t.elbv2.create_load_balancer, Name=name, Subnets=t.subnets[:2], Scheme="internal") == (
        "DuplicateLoadBalancerName", f"A load balancer with the same name '{name}' exists, but with different settings")
    t.elbv2.delete_load_balancer(LoadBalancerArn=arn)
    assert _enis(t, lb) == []  # its interfaces go with it
    t.elbv2.delete_load_balancer(LoadBalancerArn=arn)  # as AWS: what is gone is deleted again without a word
    assert refusal(t.elbv2.describe_load_balancers, LoadBalancerArns=[arn])[0] == "LoadBalancerNotFound"


def test_network_load_balancers_show_their_addresses(t):
    internal = t.elbv2.create_load_balancer(Name=_name("nlb"), Subnets=t.subnets[:1], Type="network",
                                            Scheme="internal")["LoadBalancers"][0]
    assert internal["DNSName"].startswith(f"internal-{internal['LoadBalancerName']}-")
    assert internal["CanonicalHostedZoneId"] == "Z26RNL4JYFTOTI" and "SecurityGroups" not in internal
    [eni] = _enis(t, internal)
    assert eni["Groups"] == [] and "Association" not in eni
    assert internal["AvailabilityZones"][0]["LoadBalancerAddresses"] == [
        {"PrivateIPv4Address": eni["PrivateIpAddress"]}]
    public = t.elbv2.create_load_balancer(Name=_name("nlb"), Subnets=t.subnets[:2], Type="network")["LoadBalancers"][0]
    addresses = {z["SubnetId"]: z["LoadBalancerAddresses"] for z in public["AvailabilityZones"]}
    assert addresses == {e["SubnetId"]: [{"IpAddress": e["Association"]["PublicIp"]}] for e in _enis(t, public)}
    assert refusal(t.elbv2.set_security_groups, LoadBalancerArn=internal["LoadBalancerArn"],
                   SecurityGroups=[_default_group(t)])[0] == "InvalidConfigurationRequest"
    # SetSubnets: an interface in, then out again
    zones = t.elbv2.set_subnets(LoadBalancerArn=internal["LoadBalancerArn"], Subnets=t.subnets[:2])
    assert sorted(z["SubnetId"] for z in zones["AvailabilityZones"]) == t.subnets[:2]
    assert [e["SubnetId"] for e in _enis(t, internal)] == t.subnets[:2]
    t.elbv2.set_subnets(LoadBalancerArn=internal["LoadBalancerArn"], Subnets=t.subnets[1:2])
    assert [e["SubnetId"] for e in _enis(t, internal)] == t.subnets[1:2]
    for lb in (internal, public):
        t.elbv2.delete_load_balancer(LoadBalancerArn=lb["LoadBalancerArn"])


def test_security_groups_follow_onto_the_interfaces(t):
    group = t.ec2.create_security_group(GroupName=_name("lbgroup"), Description="lb", VpcId=t.vpc_id)["GroupId"]
    lb = t.elbv2.create_load_balancer(Name=_name(), Subnets=t.subnets[:2], SecurityGroups=[group])["LoadBalancers"][0]
    assert lb["SecurityGroups"] == [group]
    default = _default_group(t)
    assert t.elbv2.set_security_groups(LoadBalancerArn=lb["LoadBalancerArn"], SecurityGroups=[default, group])[
        "SecurityGroupIds"] == [default, group]
    assert all([g["GroupId"] for g in e["Groups"]] == [default, group] for e in _enis(t, lb))
    assert refusal(t.elbv2.set_security_groups, LoadBalancerArn=lb["LoadBalancerArn"],
                   SecurityGroups=["sg-0123456789abcdef0"]) == (
        "InvalidSecurityGroup", "The security group 'sg-0123456789abcdef0' does not exist")
    t.elbv2.delete_load_balancer(LoadBalancerArn=lb["LoadBalancerArn"])
    t.ec2.delete_security_group(GroupId=group)


@pytest.mark.parametrize("name, message", [
    ("my_lb", "The load balancer name 'my_lb' can only contain characters that are alphanumeric characters or "
              "hyphens(-)"),
    ("a" * 33, f"The load balancer name '{'a' * 33}' cannot be longer than '32' characters"),
    ("-edge", "The load balancer name '-edge' cannot begin or end with '-'"),
    ("edge-", "The load balancer name 'edge-' cannot begin or end with '-'"),
    ("internal-web", "The load balancer name 'internal-web' cannot begin with 'internal-'"),
    ("web\nfrontend x", "The load balancer name 'web\nfrontend x' can only contain characters that are alphanumeric "
                        "characters or hyphens(-)"),
])
def test_names(t, name, message):
    assert refusal(t.elbv2.create_load_balancer, Name=name, Subnets=t.subnets[:2]) == ("ValidationError", message)


def test_subnets_schemes_and_types(t):
    create = t.elbv2.create_load_balancer
    assert refusal(create, Name=_name(), Subnets=t.subnets[:1]) == (
        "ValidationError", "At least two subnets in two different Availability Zones must be specified")
    assert refusal(create, Name=_name(), Subnets=[t.subnets[0], "subnet-0123456789abcdef0"]) == (
        "SubnetNotFound", "The subnet ID 'subnet-0123456789abcdef0' is not valid")
    zone = t.ec2.describe_subnets(SubnetIds=[t.subnets[0]])["Subnets"][0]["AvailabilityZone"]
    cidr = t.ec2.describe_vpcs(VpcIds=[t.vpc_id])["Vpcs"][0]["CidrBlock"]  # the default VPC's /16 of the pool
    twin = t.ec2.create_subnet(VpcId=t.vpc_id, CidrBlock=cidr.replace(".0.0/16", ".250.0/24"),
                               AvailabilityZone=zone)["Subnet"]["SubnetId"]
    vpc = t.ec2.create_vpc(CidrBlock="10.77.0.0/16")["Vpc"]["VpcId"]
    lone = t.ec2.create_subnet(VpcId=vpc, CidrBlock="10.77.1.0/24")["Subnet"]["SubnetId"]
    try:
        assert refusal(create, Name=_name(), Subnets=[t.subnets[0], twin], Type="network")[0] == \
            "InvalidConfigurationRequest"
        assert refusal(create, Name=_name(), Subnets=[t.subnets[0], lone], Type="network")[0] == \
            "InvalidConfigurationRequest"
        assert refusal(create, Name=_name(), Subnets=[lone], Type="network") == (
            "InvalidSubnet", f"VPC {vpc} has no internet gateway")
        internal = create(Name=_name(), Subnets=[lone], Type="network", Scheme="internal")["LoadBalancers"][0]
        t.elbv2.delete_load_balancer(LoadBalancerArn=internal["LoadBalancerArn"])
    finally:
        t.ec2.delete_subnet(SubnetId=twin)
        t.ec2.delete_subnet(SubnetId=lone)
        t.ec2.delete_vpc(VpcId=vpc)
    code, message = refusal(create, Name=_name(), Subnets=t.subnets[:2], Type="gateway")
    assert code == "ValidationError" and "'gateway' is not supported" in message
    assert refusal(create, Name=_name(), Subnets=t.subnets[:2], IpAddressType="dualstack")[0] == \
        "InvalidConfigurationRequest"
    assert refusal(create, Name=_name(), Subnets=t.subnets[:2], SecurityGroups=["sg-0123456789abcdef0"])[0] == \
        "InvalidSecurityGroup"
    # nothing half made: no interface of a refused load balancer is left
    assert not [e for e in t.ec2.describe_network_interfaces()["NetworkInterfaces"] if e.get("RequesterId") ==
                "amazon-elb"]


def test_describe_by_name_and_paging(t):
    made = [t.elbv2.create_load_balancer(Name=_name("pg"), Subnets=t.subnets[:1], Type="network",
                                         Scheme="internal")["LoadBalancers"][0] for _ in range(3)]
    names = sorted(lb["LoadBalancerName"] for lb in made)
    assert [lb["LoadBalancerName"] for lb in t.elbv2.describe_load_balancers(Names=names)["LoadBalancers"]] == names
    assert refusal(t.elbv2.describe_load_balancers, Names=[names[0], "nope", "gone"]) == (
        "LoadBalancerNotFound", "Load balancers '[nope, gone]' not found")
    assert refusal(t.elbv2.describe_load_balancers, Names=names, LoadBalancerArns=[made[0]["LoadBalancerArn"]])[0] \
        == "ValidationError"
    seen, marker = [], None
    while True:
        page = t.elbv2.describe_load_balancers(PageSize=1, **({"Marker": marker} if marker else {}))
        seen += [lb["LoadBalancerName"] for lb in page["LoadBalancers"]]
        marker = page.get("NextMarker")
        if not marker:
            break
    assert set(names) <= set(seen) and len(seen) == len(set(seen))
    assert refusal(t.elbv2.describe_load_balancers, Marker="not-a-marker")[0] == "ValidationError"
    for lb in made:
        t.elbv2.delete_load_balancer(LoadBalancerArn=lb["LoadBalancerArn"])


def test_attributes_and_deletion_protection(t):
    alb = t.elbv2.create_load_balancer(Name=_name(), Subnets=t.subnets[:2])["LoadBalancers"][0]["LoadBalancerArn"]
    nlb = t.elbv2.create_load_balancer(Name=_name(), Subnets=t.subnets[:1], Type="network", Scheme="internal")[
        "LoadBalancers"][0]["LoadBalancerArn"]
    got = {a["Key"]: a["Value"] for a in t.elbv2.describe_load_balancer_attributes(LoadBalancerArn=alb)["Attributes"]}
    assert got["idle_timeout.timeout_seconds"] == "60" and got["routing.http2.enabled"] == "true"
    assert got["deletion_protection.enabled"] == "false" and got["access_logs.s3.enabled"] == "false"
    net = {a["Key"]: a["Value"] for a in t.elbv2.describe_load_balancer_attributes(LoadBalancerArn=nlb)["Attributes"]}
    assert net["load_balancing.cross_zone.enabled"] == "false" and "idle_timeout.timeout_seconds" not in net
    modify = t.elbv2.modify_load_balancer_attributes
    changed = modify(LoadBalancerArn=alb, Attributes=[{"Key": "idle_timeout.timeout_seconds", "Value": "120"}])
    assert {"Key": "idle_timeout.timeout_seconds", "Value": "120"} in changed["Attributes"]
    for key, value in [("idle_timeout.timeout_seconds", "0"), ("idle_timeout.timeout_seconds", "4001"),
                       ("routing.http2.enabled", "yes"), ("no.such.key", "1")]:
        assert refusal(modify, LoadBalancerArn=alb, Attributes=[{"Key": key, "Value": value}])[0] == "ValidationError"
    code, message = refusal(modify, LoadBalancerArn=alb, Attributes=[
        {"Key": "access_logs.s3.enabled", "Value": "true"}, {"Key": "access_logs.s3.bucket", "Value": "my-logs"}])
    assert code == "InvalidConfigurationRequest" and "my-logs" in message
    assert refusal(modify, LoadBalancerArn=nlb, Attributes=[
        {"Key": "idle_timeout.timeout_seconds", "Value": "60"}])[0] == "ValidationError"  # not a key of an NLB
    modify(LoadBalancerArn=alb, Attributes=[{"Key": "deletion_protection.enabled", "Value": "true"}])
    assert refusal(t.elbv2.delete_load_balancer, LoadBalancerArn=alb)[0] == "OperationNotPermitted"
    modify(LoadBalancerArn=alb, Attributes=[{"Key": "deletion_protection.enabled", "Value": "false"}])
    for arn in (alb, nlb):
        t.elbv2.delete_load_balancer(LoadBalancerArn=arn)


def test_ip_address_type_and_account_limits(t):
    lb = t.elbv2.create_load_balancer(Name=_name(), Subnets=t.subnets[:1], Type="network", Scheme="internal")[
        "LoadBalancers"][0]["LoadBalancerArn"]
    assert t.elbv2.set_ip_address_type(LoadBalancerArn=lb, IpAddressType="ipv4")["IpAddressType"] == "ipv4"
    assert refusal(t.elbv2.set_ip_address_type, LoadBalancerArn=lb, IpAddressType="dualstack")[0] == \
        "InvalidConfigurationRequest"
    t.elbv2.delete_load_balancer(LoadBalancerArn=lb)
    limits = {x["Name"]: x["Max"] for x in t.elbv2.describe_account_limits()["Limits"]}
    assert limits["application-load-balancers"] == "50" and limits["target-groups"] == "3000"


def test_another_accounts_load_balancers_are_not_found(server, t):
    other = tenant(server, "elbv2-lbs-other")
    name = _name()
    theirs = other.elbv2.create_load_balancer(Name=name, Subnets=other.subnets[:2])["LoadBalancers"][0]
    arn = theirs["LoadBalancerArn"]
    assert refusal(t.elbv2.describe_load_balancers, LoadBalancerArns=[arn])[0] == "LoadBalancerNotFound"
    assert refusal(t.elbv2.describe_load_balancers, Names=[name])[0] == "LoadBalancerNotFound"
    assert refusal(t.elbv2.describe_tags, ResourceArns=[arn])[0] == "LoadBalancerNotFound"
    assert refusal(t.elbv2.modify_load_balancer_attributes, LoadBalancerArn=arn, Attributes=[
        {"Key": "deletion_protection.enabled", "Value": "true"}])[0] == "LoadBalancerNotFound"
    # their subnets and groups are not ours to use either
    assert refusal(t.elbv2.create_load_balancer, Name=_name(), Subnets=other.subnets[:2])[0] == "SubnetNotFound"
    t.elbv2.delete_load_balancer(LoadBalancerArn=arn)  # answered as for any ARN not ours: and it stays
    assert other.elbv2.describe_load_balancers(LoadBalancerArns=[arn])["LoadBalancers"][0]["LoadBalancerArn"] == arn
    mine = t.elbv2.create_load_balancer(Name=name, Subnets=t.subnets[:2])["LoadBalancers"][0]  # names are per account
    assert mine["LoadBalancerArn"] != arn
    for tenant_, lb in ((other, arn), (t, mine["LoadBalancerArn"])):
        tenant_.elbv2.delete_load_balancer(LoadBalancerArn=lb)


def test_tags_hostile_and_limits(t):
    arn = t.elbv2.create_load_balancer(Name=_name(), Subnets=t.subnets[:1], Type="network", Scheme="internal")[
        "LoadBalancers"][0]["LoadBalancerArn"]
    odd = [{"Key": "a b=c:d/e+f-@_.", "Value": "ünïcode value =+-@:/ "}, {"Key": "empty", "Value": ""}]
    t.elbv2.add_tags(ResourceArns=[arn], Tags=odd)
    assert t.elbv2.describe_tags(ResourceArns=[arn])["TagDescriptions"][0]["Tags"] == odd
    assert refusal(t.loose.add_tags, ResourceArns=[arn], Tags=[{"Key": "x", "Value": "<script>'\"</script>"}])[0] == \
        "ValidationError"  # outside the model's pattern
    assert refusal(t.loose.add_tags, ResourceArns=[arn], Tags=[{"Key": "k", "Value": "1"}, {"Key": "k", "Value": "2"}]
                   )[0] == "DuplicateTagKeys"
    assert refusal(t.elbv2.add_tags, ResourceArns=[arn], Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(49)])[0] \
        == "TooManyTags"  # 2 + 49 > 50
    assert len(t.elbv2.describe_tags(ResourceArns=[arn])["TagDescriptions"][0]["Tags"]) == 2  # nothing half added
    t.elbv2.remove_tags(ResourceArns=[arn], TagKeys=["empty"])
    kept = t.elbv2.describe_tags(ResourceArns=[arn])["TagDescriptions"][0]["Tags"]
    assert [x["Key"] for x in kept] == [odd[0]["Key"]]
    others = [a for a in (f"{arn[:-2]}{i:02x}" for i in range(22)) if a != arn][:21]  # 22 different ARNs in all
    assert refusal(t.elbv2.describe_tags, ResourceArns=[arn, *others])[0] == "ValidationError"  # over 20 ARNs
    assert refusal(t.elbv2.describe_tags, ResourceArns=["not-an-arn"])[0] == "ValidationError"
    t.elbv2.delete_load_balancer(LoadBalancerArn=arn)
    assert refusal(t.elbv2.describe_tags, ResourceArns=[arn])[0] == "LoadBalancerNotFound"


def test_huge_inputs_are_refused_not_failed(t):
    assert refusal(t.elbv2.create_load_balancer, Name="x" * 10000, Subnets=t.subnets[:2])[0] == "ValidationError"
    assert refusal(t.elbv2.describe_load_balancers, Names=["y" * 5000])[0] == "LoadBalancerNotFound"
    assert refusal(t.loose.describe_load_balancers, LoadBalancerArns=["arn:aws:elasticloadbalancing:" + "z" * 4000])[
        0] in ("LoadBalancerNotFound", "ValidationError")


def test_the_aws_cli(server):
    ec2 = server.client("ec2")
    vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    subnets = sorted(s["SubnetId"] for s in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])[
        "Subnets"])[:2]
    name = _name("cli")
    made = json.loads(server.aws("elbv2", "create-load-balancer", "--name", name, "--subnets", *subnets,
                                 "--tags", "Key=via,Value=cli").stdout)["LoadBalancers"][0]
    shown = json.loads(server.aws("elbv2", "describe-load-balancers", "--names", name).stdout)["LoadBalancers"]
    assert [lb["LoadBalancerArn"] for lb in shown] == [made["LoadBalancerArn"]]
    missing = server.aws("elbv2", "describe-load-balancers", "--names", "no-such-lb", check=False)
    assert missing.returncode != 0 and "LoadBalancerNotFound" in missing.stderr
    server.aws("elbv2", "delete-load-balancer", "--load-balancer-arn", made["LoadBalancerArn"])
