"""ELBv2 listeners through boto3: CreateListener's checks (protocols per load balancer type,
ports, certificates, SSL policies, forward targets), AWS's idempotency, the default rule kept in
step, ModifyListener, DeleteListener, certificates, attributes, DescribeSSLPolicies, and what
another account's ARNs or hostile redirect and fixed-response values get."""

import pytest

from tests.e2e.elbv2_helpers import forward, forwarded, refusal, tenant


@pytest.fixture(scope="module")
def t(server):
    return tenant(server, "elbv2-listeners")


@pytest.fixture(scope="module")
def alb(t):
    return t.load_balancer()


def test_create_describe_and_idempotency(t, alb):
    group = t.target_group()
    made = t.elbv2.create_listener(LoadBalancerArn=alb, Protocol="HTTP", Port=8080, DefaultActions=forward(group),
                                   Tags=[{"Key": "team", "Value": "web"}])["Listeners"][0]
    arn = made["ListenerArn"]
    assert arn.startswith(alb.replace(":loadbalancer/", ":listener/") + "/") and len(arn.rsplit("/", 1)[1]) == 16
    assert made["DefaultActions"] == [forwarded(group)] and made["Port"] == 8080 and made["Protocol"] == "HTTP"
    again = t.elbv2.create_listener(LoadBalancerArn=alb, Protocol="HTTP", Port=8080, DefaultActions=forward(group))
    assert again["Listeners"][0]["ListenerArn"] == arn  # the same settings: the same listener
    code, message = refusal(t.elbv2.create_listener, LoadBalancerArn=alb, Protocol="HTTP", Port=8080,
                            DefaultActions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "200"}}])
    assert code == "DuplicateListener" and alb in message
    rules = t.elbv2.describe_rules(ListenerArn=arn)["Rules"]
    assert [(r["Priority"], r["IsDefault"], r["Conditions"], r["Actions"]) for r in rules] == \
        [("default", True, [], [forwarded(group)])]
    assert t.elbv2.describe_listeners(ListenerArns=[arn])["Listeners"] == [made]
    tags = t.elbv2.describe_tags(ResourceArns=[arn])["TagDescriptions"][0]["Tags"]
    assert tags == [{"Key": "team", "Value": "web"}]


@pytest.mark.parametrize("kind, protocol, allowed", [
    ("application", "TCP", "HTTPS, HTTP"), ("network", "HTTP", "TLS, TCP, TCP_UDP, UDP")])
def test_protocols_of_each_type(t, kind, protocol, allowed):
    lb = t.load_balancer(kind)
    group = t.target_group("TCP" if kind == "network" else "HTTP")
    code, message = refusal(t.elbv2.create_listener, LoadBalancerArn=lb, Protocol=protocol, Port=80,
                            DefaultActions=forward(group))
    assert (code, message) == ("ValidationError", f"Listener protocol '{protocol}' must be one of '{allowed}'")


def test_network_listener_groups(t):
    nlb = t.load_balancer("network")
    tcp, udp, http = t.target_group("TCP"), t.target_group("UDP", 53), t.target_group("HTTP")
    code, message = refusal(t.elbv2.create_listener, LoadBalancerArn=nlb, Protocol="TCP", Port=80,
                            DefaultActions=forward(http))
    assert code == "IncompatibleProtocols" and http in message
    assert refusal(t.elbv2.create_listener, LoadBalancerArn=nlb, Protocol="TCP", Port=80,
                   DefaultActions=forward(udp))[0] == "IncompatibleProtocols"
    code, _ = refusal(t.elbv2.create_listener, LoadBalancerArn=nlb, Protocol="TCP", Port=80,
                      DefaultActions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "200"}}])
    assert code == "InvalidLoadBalancerAction"  # a network load balancer only forwards
    made = t.elbv2.create_listener(LoadBalancerArn=nlb, Protocol="UDP", Port=53, DefaultActions=forward(udp))
    listener = made["Listeners"][0]
    assert listener["DefaultActions"] == [forwarded(udp)] and ":listener/net/" in listener["ListenerArn"]
    code, _ = refusal(t.elbv2.create_rule, ListenerArn=listener["ListenerArn"], Priority=1,
                      Conditions=[{"Field": "path-pattern", "Values": ["/"]}], Actions=forward(udp))
    assert code == "ValidationError"  # rules are an application load balancer's


def test_forward_targets_checked(t, server):
    lb = t.load_balancer()
    missing = t.target_group().replace("targetgroup/tg-", "targetgroup/xx-")
    code, message = refusal(t.elbv2.create_listener, LoadBalancerArn=lb, Protocol="HTTP", Port=81,
                            DefaultActions=forward(missing))
    assert (code, message) == ("TargetGroupNotFound", f"Target groups '{missing}' not found")
    other = tenant(server, "elbv2-listeners-other")
    theirs = other.target_group()
    assert refusal(t.elbv2.create_listener, LoadBalancerArn=lb, Protocol="HTTP", Port=81,
                   DefaultActions=forward(theirs))[0] == "TargetGroupNotFound"
    assert refusal(other.elbv2.create_listener, LoadBalancerArn=lb, Protocol="HTTP", Port=81,
                   DefaultActions=forward(theirs))[0] == "LoadBalancerNotFound"
    mine = t.elbv2.create_listener(LoadBalancerArn=lb, Protocol="HTTP", Port=81,
                                   DefaultActions=forward(t.target_group()))["Listeners"][0]["ListenerArn"]
    for call, kw in ((other.elbv2.describe_listeners, {"ListenerArns": [mine]}),
                     (other.elbv2.delete_listener, {"ListenerArn": mine}),
                     (other.elbv2.describe_rules, {"ListenerArn": mine})):
        assert refusal(call, **kw)[0] == "ListenerNotFound"


def test_a_group_serves_one_load_balancer(t):
    group = t.target_group()
    first, second = t.load_balancer(), t.load_balancer()
    t.elbv2.create_listener(LoadBalancerArn=first, Protocol="HTTP", Port=80, DefaultActions=forward(group))
    t.elbv2.create_listener(LoadBalancerArn=first, Protocol="HTTP", Port=81, DefaultActions=forward(group))
    code, message = refusal(t.elbv2.create_listener, LoadBalancerArn=second, Protocol="HTTP", Port=80,
                            DefaultActions=forward(group))
    assert code == "TargetGroupAssociationLimit" and group in message


def test_https_certificates_and_policies(t, server, alb):
    group = t.target_group()
    base = dict(LoadBalancerArn=alb, Protocol="HTTPS", Port=443, DefaultActions=forward(group))
    assert refusal(t.elbv2.create_listener, **base) == \
        ("ValidationError", "A certificate must be specified for HTTPS listeners")
    fake = t.certificate().rsplit("/", 1)[0] + "/00000000-0000-0000-0000-000000000000"
    assert refusal(t.elbv2.create_listener, **base, Certificates=[{"CertificateArn": fake}])[0] == "CertificateNotFound"
    theirs = tenant(server, "elbv2-certs-other").certificate()
    assert refusal(t.elbv2.create_listener, **base, Certificates=[{"CertificateArn": theirs}])[0] == \
        "CertificateNotFound"
    cert, extra = t.certificate(), t.certificate("api.example.com")
    assert refusal(t.elbv2.create_listener, **base, Certificates=[{"CertificateArn": cert}],
                   SslPolicy="ELBSecurityPolicy-Nope")[0] == "SSLPolicyNotFound"
    listener = t.elbv2.create_listener(**base, Certificates=[{"CertificateArn": cert}])["Listeners"][0]
    assert listener["SslPolicy"] == "ELBSecurityPolicy-2016-08"
    assert listener["Certificates"] == [{"CertificateArn": cert}]
    arn = listener["ListenerArn"]
    assert t.elbv2.add_listener_certificates(ListenerArn=arn, Certificates=[{"CertificateArn": extra}])[
        "Certificates"] == [{"CertificateArn": extra, "IsDefault": False}]
    shown = t.elbv2.describe_listener_certificates(ListenerArn=arn)["Certificates"]
    assert shown == [{"CertificateArn": cert, "IsDefault": True}, {"CertificateArn": extra, "IsDefault": False}]
    assert refusal(t.elbv2.remove_listener_certificates, ListenerArn=arn,
                   Certificates=[{"CertificateArn": cert}])[0] == "OperationNotPermitted"
    t.elbv2.remove_listener_certificates(ListenerArn=arn, Certificates=[{"CertificateArn": extra}])
    assert len(t.elbv2.describe_listener_certificates(ListenerArn=arn)["Certificates"]) == 1
    changed = t.elbv2.modify_listener(ListenerArn=arn, SslPolicy="ELBSecurityPolicy-TLS13-1-2-2021-06")
    assert changed["Listeners"][0]["SslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    plain = t.elbv2.modify_listener(ListenerArn=arn, Protocol="HTTP", Port=8443)["Listeners"][0]
    assert "SslPolicy" not in plain and "Certificates" not in plain and plain["Port"] == 8443


def test_modify_keeps_default_rule_in_step(t, alb):
    group, other = t.target_group(), t.target_group()
    arn = t.elbv2.create_listener(LoadBalancerArn=alb, Protocol="HTTP", Port=9000,
                                  DefaultActions=forward(group))["Listeners"][0]["ListenerArn"]
    t.elbv2.create_listener(LoadBalancerArn=alb, Protocol="HTTP", Port=9001, DefaultActions=forward(group))
    assert refusal(t.elbv2.modify_listener, ListenerArn=arn, Port=9001)[0] == "DuplicateListener"
    assert refusal(t.elbv2.modify_listener, ListenerArn=arn, Protocol="HTTPS")[0] == "ValidationError"
    t.elbv2.modify_listener(ListenerArn=arn, DefaultActions=forward(other))
    default = t.elbv2.describe_rules(ListenerArn=arn)["Rules"][-1]
    assert default["IsDefault"] and default["Actions"] == [forwarded(other)]
    t.elbv2.delete_listener(ListenerArn=arn)
    assert refusal(t.elbv2.describe_rules, RuleArns=[default["RuleArn"]])[0] == "RuleNotFound"
    assert refusal(t.elbv2.delete_listener, ListenerArn=arn)[0] == "ListenerNotFound"


def test_describe_pages(t):
    lb, group = t.load_balancer(), t.target_group()
    for port in (80, 443, 8080):
        t.elbv2.create_listener(LoadBalancerArn=lb, Protocol="HTTP", Port=port, DefaultActions=forward(group))
    first = t.elbv2.describe_listeners(LoadBalancerArn=lb, PageSize=2)
    rest = t.elbv2.describe_listeners(LoadBalancerArn=lb, PageSize=2, Marker=first["NextMarker"])
    assert [x["Port"] for x in first["Listeners"] + rest["Listeners"]] == [80, 443, 8080]
    assert "NextMarker" not in rest
    assert refusal(t.elbv2.describe_listeners)[0] == "ValidationError"


def test_attributes(t, alb):
    arn = t.elbv2.create_listener(LoadBalancerArn=alb, Protocol="HTTP", Port=7000,
                                  DefaultActions=forward(t.target_group()))["Listeners"][0]["ListenerArn"]
    assert t.elbv2.describe_listener_attributes(ListenerArn=arn)["Attributes"] == \
        [{"Key": "routing.http.response.server.enabled", "Value": "true"}]
    t.elbv2.modify_listener_attributes(ListenerArn=arn, Attributes=[
        {"Key": "routing.http.response.server.enabled", "Value": "false"}])
    assert t.elbv2.describe_listener_attributes(ListenerArn=arn)["Attributes"][0]["Value"] == "false"
    for bad in ({"Key": "routing.http.response.server.enabled", "Value": "yes\nno"},
                {"Key": "tcp.idle_timeout.seconds", "Value": "100"}):
        assert refusal(t.elbv2.modify_listener_attributes, ListenerArn=arn, Attributes=[bad])[0] == "ValidationError"


def test_ssl_policies(t):
    policies = {p["Name"]: p for p in t.elbv2.describe_ssl_policies()["SslPolicies"]}
    for name in ("ELBSecurityPolicy-2016-08", "ELBSecurityPolicy-TLS13-1-2-2021-06",
                 "ELBSecurityPolicy-TLS-1-2-2017-01", "ELBSecurityPolicy-FS-1-2-Res-2020-10"):
        assert name in policies
    classic = policies["ELBSecurityPolicy-2016-08"]
    assert classic["SslProtocols"] == ["TLSv1.2", "TLSv1.1", "TLSv1"]
    assert classic["Ciphers"][0] == {"Name": "ECDHE-ECDSA-AES128-GCM-SHA256", "Priority": 1}
    assert policies["ELBSecurityPolicy-TLS13-1-2-2021-06"]["Ciphers"][0]["Name"] == "TLS_AES_128_GCM_SHA256"
    one = t.elbv2.describe_ssl_policies(Names=["ELBSecurityPolicy-TLS-1-2-2017-01"])["SslPolicies"]
    assert [p["SslProtocols"] for p in one] == [["TLSv1.2"]]
    assert refusal(t.elbv2.describe_ssl_policies, Names=["ELBSecurityPolicy-2016-08", "nope"])[0] == \
        "SSLPolicyNotFound"


@pytest.mark.parametrize("config", [
    {"Host": "evil.com\n  server x 1.2.3.4", "StatusCode": "HTTP_301"},
    {"Host": "a b", "StatusCode": "HTTP_301"},
    {"Path": "/x\"; acl", "StatusCode": "HTTP_302"},
    {"Path": "no-slash", "StatusCode": "HTTP_302"},
    {"Path": "/a#b", "StatusCode": "HTTP_302"},
    {"Query": "a=1\r\nSet-Cookie: x", "StatusCode": "HTTP_302"},
    {"Query": "a=\\1", "StatusCode": "HTTP_302"},
    {"Host": "h" * 129, "StatusCode": "HTTP_301"},
    {"Port": "99999", "StatusCode": "HTTP_301"},
    {"Protocol": "FTP", "StatusCode": "HTTP_301"},
])
def test_hostile_redirects_refused(t, alb, config):
    code, _ = refusal(t.elbv2.create_listener, LoadBalancerArn=alb, Protocol="HTTP", Port=6000,
                      DefaultActions=[{"Type": "redirect", "RedirectConfig": config}])
    assert code == "ValidationError"


def test_redirects_and_fixed_responses_kept(t, alb):
    redirect = {"Protocol": "HTTPS", "Port": "443", "Host": "#{host}.example.com", "Path": "/new/#{path}",
                "Query": "from=#{query}", "StatusCode": "HTTP_301"}
    made = t.elbv2.create_listener(LoadBalancerArn=alb, Protocol="HTTP", Port=6001,
                                   DefaultActions=[{"Type": "redirect", "RedirectConfig": redirect}])
    assert made["Listeners"][0]["DefaultActions"] == [{"Type": "redirect", "Order": 1, "RedirectConfig": redirect}]
    body = 'line one\n"quoted" \\ back # hash\r\n' + "x" * 900  # AWS keeps a body as given
    fixed = {"StatusCode": "503", "ContentType": "application/json", "MessageBody": body}
    arn = made["Listeners"][0]["ListenerArn"]
    t.elbv2.modify_listener(ListenerArn=arn, DefaultActions=[{"Type": "fixed-response", "FixedResponseConfig": fixed}])
    shown = t.elbv2.describe_listeners(ListenerArns=[arn])["Listeners"][0]["DefaultActions"][0]
    assert shown["FixedResponseConfig"] == fixed
    for bad in ({"StatusCode": "200", "MessageBody": "x" * 1025}, {"StatusCode": "302"},
                {"StatusCode": "200", "MessageBody": "nul\x00 bell\x07"},
                {"StatusCode": "200", "ContentType": "text/html\nX: y"}):
        assert refusal(t.elbv2.modify_listener, ListenerArn=arn,
                       DefaultActions=[{"Type": "fixed-response", "FixedResponseConfig": bad}])[0] == "ValidationError"
    code, message = refusal(t.elbv2.modify_listener, ListenerArn=arn, DefaultActions=[
        {"Type": "authenticate-cognito", "AuthenticateCognitoConfig": {
            "UserPoolArn": "arn:aws:cognito-idp:us-east-1:111111111111:userpool/x", "UserPoolClientId": "c",
            "UserPoolDomain": "d"}}])
    assert code == "ValidationError" and "identity provider" in message
