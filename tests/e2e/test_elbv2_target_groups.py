"""ELBv2 target groups through boto3: AWS's health check defaults per protocol, the range and
syntax checks, idempotency, DescribeTargetGroups by load balancer (worked out from the
listeners that forward), ResourceInUse, attributes per protocol, and another account's groups
and VPCs."""

import secrets

import pytest

from tests.e2e.elbv2_helpers import forward, refusal, tenant


@pytest.fixture(scope="module")
def t(server):
    return tenant(server, "elbv2-groups")


def _name() -> str:
    return f"tg-{secrets.token_hex(4)}"


def _create(t, **kw) -> dict:
    args = {"Name": _name(), "Protocol": "HTTP", "Port": 80, "VpcId": t.vpc_id, **kw}
    return t.elbv2.create_target_group(**args)["TargetGroups"][0]


def _attributes(t, arn: str) -> dict:
    return {a["Key"]: a["Value"] for a in t.elbv2.describe_target_group_attributes(TargetGroupArn=arn)["Attributes"]}


def test_http_defaults_and_idempotency(t):
    name = _name()
    group = _create(t, Name=name, Tags=[{"Key": "app", "Value": "web"}])
    arn = group["TargetGroupArn"]
    assert arn.startswith("arn:aws:elasticloadbalancing:us-east-1:") and f":targetgroup/{name}/" in arn
    expected = {"TargetGroupArn": arn, "TargetGroupName": name, "Protocol": "HTTP", "Port": 80, "VpcId": t.vpc_id,
                "HealthCheckProtocol": "HTTP", "HealthCheckPort": "traffic-port", "HealthCheckEnabled": True,
                "HealthCheckIntervalSeconds": 30, "HealthCheckTimeoutSeconds": 5, "HealthyThresholdCount": 5,
                "UnhealthyThresholdCount": 2, "HealthCheckPath": "/", "Matcher": {"HttpCode": "200"},
                "LoadBalancerArns": [], "TargetType": "instance", "ProtocolVersion": "HTTP1",
                "IpAddressType": "ipv4"}
    assert group == expected
    assert t.elbv2.create_target_group(Name=name, Protocol="HTTP", Port=80, VpcId=t.vpc_id)["TargetGroups"] == [
        expected]
    assert refusal(t.elbv2.create_target_group, Name=name, Protocol="HTTP", Port=81, VpcId=t.vpc_id) == (
        "DuplicateTargetGroupName", f"A target group with the same name '{name}' exists, but with different settings")
    assert t.elbv2.describe_tags(ResourceArns=[arn])["TagDescriptions"][0]["Tags"] == [{"Key": "app", "Value": "web"}]
    assert t.elbv2.describe_target_groups(Names=[name])["TargetGroups"] == [expected]
    t.elbv2.delete_target_group(TargetGroupArn=arn)
    t.elbv2.delete_target_group(TargetGroupArn=arn)  # gone already: as AWS, no error
    assert refusal(t.elbv2.describe_target_groups, TargetGroupArns=[arn]) == (
        "TargetGroupNotFound", "One or more target groups not found")


@pytest.mark.parametrize("protocol, check, timeout, matcher", [
    ("TCP", "TCP", 10, None), ("UDP", "TCP", 10, None), ("TLS", "TCP", 10, None), ("TCP_UDP", "TCP", 10, None)])
def test_network_protocol_defaults(t, protocol, check, timeout, matcher):
    group = _create(t, Protocol=protocol)
    assert (group["HealthCheckProtocol"], group["HealthCheckTimeoutSeconds"]) == (check, timeout)
    assert "HealthCheckPath" not in group and "Matcher" not in group and "ProtocolVersion" not in group
    t.elbv2.delete_target_group(TargetGroupArn=group["TargetGroupArn"])


def test_http_checks_of_a_tcp_group(t):
    group = _create(t, Protocol="TCP", HealthCheckProtocol="HTTP", TargetType="ip")
    assert (group["HealthCheckTimeoutSeconds"], group["HealthCheckPath"], group["Matcher"]) == (
        6, "/", {"HttpCode": "200-399"})
    changed = t.elbv2.modify_target_group(TargetGroupArn=group["TargetGroupArn"], HealthCheckPath="/health",
                                          HealthCheckIntervalSeconds=10, Matcher={"HttpCode": "200,301-302"},
                                          HealthCheckPort="8081")["TargetGroups"][0]
    assert (changed["HealthCheckPath"], changed["HealthCheckIntervalSeconds"], changed["Matcher"],
            changed["HealthCheckPort"], changed["HealthCheckTimeoutSeconds"]) == (
        "/health", 10, {"HttpCode": "200,301-302"}, "8081", 6)
    assert refusal(t.elbv2.modify_target_group, TargetGroupArn=group["TargetGroupArn"],
                   HealthCheckTimeoutSeconds=20)[0] == "ValidationError"  # not under the interval of 10
    assert t.elbv2.describe_target_groups(TargetGroupArns=[group["TargetGroupArn"]])["TargetGroups"] == [changed]
    t.elbv2.delete_target_group(TargetGroupArn=group["TargetGroupArn"])


@pytest.mark.parametrize("changes, code", [
    ({"Protocol": "GENEVE", "Port": 6081}, "UnsupportedProtocol"),
    ({"TargetType": "lambda"}, "ValidationError"),
    ({"TargetType": "alb", "Protocol": "HTTP"}, "InvalidConfigurationRequest"),
    ({"HealthCheckTimeoutSeconds": 30, "HealthCheckIntervalSeconds": 30}, "ValidationError"),
    ({"HealthCheckIntervalSeconds": 4}, "ValidationError"),
    ({"HealthyThresholdCount": 11}, "ValidationError"),
    ({"Matcher": {"HttpCode": "abc"}}, "ValidationError"),
    ({"Matcher": {"HttpCode": "200-"}}, "ValidationError"),
    ({"Matcher": {"HttpCode": "500"}}, "ValidationError"),  # an ALB's codes stop at 499
    ({"HealthCheckPath": "health"}, "ValidationError"),
    ({"HealthCheckPath": "/a b"}, "ValidationError"),
    ({"HealthCheckPath": "/" + "p" * 1024}, "ValidationError"),
    ({"HealthCheckPort": "70000"}, "ValidationError"),
    ({"HealthCheckPort": "80; rm -rf /"}, "ValidationError"),
    ({"HealthCheckProtocol": "TCP"}, "ValidationError"),  # not for an HTTP group
    ({"Protocol": "TCP", "Matcher": {"HttpCode": "200"}}, "ValidationError"),  # a TCP check has no matcher
    ({"ProtocolVersion": "HTTP3"}, "ValidationError"),
    ({"Protocol": "TCP", "ProtocolVersion": "HTTP2"}, "ValidationError"),
    ({"IpAddressType": "ipv6"}, "InvalidConfigurationRequest"),
    ({"Port": 0}, "ValidationError"),
    ({"Port": 65536}, "ValidationError"),
    ({"VpcId": "vpc-0123456789abcdef0"}, "ValidationError"),
    ({"Name": "my_group"}, "ValidationError"),
    ({"Name": "t" * 33}, "ValidationError"),
    ({"Name": "-group"}, "ValidationError"),
    ({"Tags": [{"Key": "k", "Value": "$(reboot)"}]}, "ValidationError"),
])
def test_refusals(t, changes, code):
    args = {"Name": _name(), "Protocol": "HTTP", "Port": 80, "VpcId": t.vpc_id, **changes}
    assert refusal(t.loose.create_target_group, **args)[0] == code
    assert refusal(t.elbv2.describe_target_groups, Names=[args["Name"]])[0] in ("TargetGroupNotFound",
                                                                               "ValidationError")


def test_name_messages(t):
    create = t.elbv2.create_target_group
    assert refusal(create, Name="update_config", Protocol="HTTP", Port=80, VpcId=t.vpc_id) == (
        "ValidationError", "Target group name 'update_config' can only contain characters that are alphanumeric "
                           "characters or hyphens(-)")
    assert refusal(create, Name="g" * 33, Protocol="HTTP", Port=80, VpcId=t.vpc_id) == (
        "ValidationError", f"Target group name '{'g' * 33}' cannot be longer than '32' characters")


def test_used_by_a_load_balancer(t):
    group = _create(t)["TargetGroupArn"]
    idle = _create(t)["TargetGroupArn"]
    lb = t.load_balancer()
    listener = t.elbv2.create_listener(LoadBalancerArn=lb, Protocol="HTTP", Port=80, DefaultActions=forward(group))[
        "Listeners"][0]["ListenerArn"]
    shown = t.elbv2.describe_target_groups(LoadBalancerArn=lb)["TargetGroups"]
    assert [(g["TargetGroupArn"], g["LoadBalancerArns"]) for g in shown] == [(group, [lb])]
    assert t.elbv2.describe_target_groups(TargetGroupArns=[idle])["TargetGroups"][0]["LoadBalancerArns"] == []
    code, message = refusal(t.elbv2.delete_target_group, TargetGroupArn=group)
    assert code == "ResourceInUse" and group in message
    assert refusal(t.elbv2.describe_target_groups, LoadBalancerArn=lb, Names=["x"])[0] == "ValidationError"
    t.elbv2.delete_listener(ListenerArn=listener)
    assert t.elbv2.describe_target_groups(LoadBalancerArn=lb)["TargetGroups"] == []
    t.elbv2.delete_target_group(TargetGroupArn=group)
    t.elbv2.delete_load_balancer(LoadBalancerArn=lb)
    t.elbv2.delete_target_group(TargetGroupArn=idle)
    assert refusal(t.elbv2.describe_target_groups, LoadBalancerArn=lb)[0] == "LoadBalancerNotFound"


def test_attributes_per_protocol(t):
    http = _create(t)["TargetGroupArn"]
    got = _attributes(t, http)
    assert (got["deregistration_delay.timeout_seconds"], got["stickiness.enabled"], got["stickiness.type"],
            got["slow_start.duration_seconds"], got["load_balancing.algorithm.type"]) == (
        "300", "false", "lb_cookie", "0", "round_robin")
    assert "proxy_protocol_v2.enabled" not in got
    modify = t.elbv2.modify_target_group_attributes
    changed = modify(TargetGroupArn=http, Attributes=[{"Key": "slow_start.duration_seconds", "Value": "60"},
                                                      {"Key": "stickiness.type", "Value": "app_cookie"}])
    assert {"Key": "slow_start.duration_seconds", "Value": "60"} in changed["Attributes"]
    for key, value in [("slow_start.duration_seconds", "10"), ("deregistration_delay.timeout_seconds", "3601"),
                       ("load_balancing.algorithm.type", "random"), ("proxy_protocol_v2.enabled", "true"),
                       ("stickiness.app_cookie.cookie_name", "x" * 300)]:
        assert refusal(modify, TargetGroupArn=http, Attributes=[{"Key": key, "Value": value}])[0] == "ValidationError"
    assert _attributes(t, http)["stickiness.type"] == "app_cookie"  # a refused call changed nothing
    instance_tcp, ip_tcp = _create(t, Protocol="TCP")["TargetGroupArn"], _create(t, Protocol="TCP", TargetType="ip")[
        "TargetGroupArn"]
    assert _attributes(t, instance_tcp)["preserve_client_ip.enabled"] == "true"
    assert _attributes(t, ip_tcp)["preserve_client_ip.enabled"] == "false"
    assert _attributes(t, ip_tcp)["proxy_protocol_v2.enabled"] == "false"
    modify(TargetGroupArn=ip_tcp, Attributes=[{"Key": "proxy_protocol_v2.enabled", "Value": "true"}])
    assert _attributes(t, ip_tcp)["proxy_protocol_v2.enabled"] == "true"
    udp = _create(t, Protocol="UDP", TargetType="ip")["TargetGroupArn"]
    assert _attributes(t, udp)["preserve_client_ip.enabled"] == "true"
    assert refusal(modify, TargetGroupArn=udp, Attributes=[{"Key": "preserve_client_ip.enabled", "Value": "false"}])[
        0] == "ValidationError"  # AWS keeps the client's address for UDP
    for arn in (http, instance_tcp, ip_tcp, udp):
        t.elbv2.delete_target_group(TargetGroupArn=arn)


def test_paging(t):
    made = sorted(_create(t)["TargetGroupName"] for _ in range(3))
    seen, marker = [], None
    while True:
        page = t.elbv2.describe_target_groups(PageSize=2, **({"Marker": marker} if marker else {}))
        assert len(page["TargetGroups"]) <= 2
        seen += [g["TargetGroupName"] for g in page["TargetGroups"]]
        marker = page.get("NextMarker")
        if not marker:
            break
    assert set(made) <= set(seen) and len(seen) == len(set(seen))
    for g in t.elbv2.describe_target_groups(Names=made)["TargetGroups"]:
        t.elbv2.delete_target_group(TargetGroupArn=g["TargetGroupArn"])


def test_another_accounts_groups_and_vpcs(server, t):
    other = tenant(server, "elbv2-groups-other")
    theirs = other.elbv2.create_target_group(Name=_name(), Protocol="HTTP", Port=80, VpcId=other.vpc_id)[
        "TargetGroups"][0]
    arn = theirs["TargetGroupArn"]
    assert refusal(t.elbv2.describe_target_groups, TargetGroupArns=[arn])[0] == "TargetGroupNotFound"
    assert refusal(t.elbv2.describe_target_groups, Names=[theirs["TargetGroupName"]])[0] == "TargetGroupNotFound"
    assert refusal(t.elbv2.modify_target_group, TargetGroupArn=arn, HealthCheckPath="/x")[0] == "TargetGroupNotFound"
    assert refusal(t.elbv2.register_targets, TargetGroupArn=arn, Targets=[{"Id": "10.0.0.5"}])[0] == \
        "TargetGroupNotFound"
    assert refusal(t.elbv2.create_target_group, Name=_name(), Protocol="HTTP", Port=80, VpcId=other.vpc_id)[0] == \
        "ValidationError"  # their VPC is not ours
    t.elbv2.delete_target_group(TargetGroupArn=arn)  # not ours: answered as gone, and it stays
    assert other.elbv2.describe_target_groups(TargetGroupArns=[arn])["TargetGroups"][0]["TargetGroupArn"] == arn
    other.elbv2.delete_target_group(TargetGroupArn=arn)
