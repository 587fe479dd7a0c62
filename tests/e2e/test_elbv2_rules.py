"""ELBv2 listener rules through boto3: conditions as AWS checks and shows them (its limits and
allowed characters, hostile values refused or kept as AWS does), actions (one terminal action,
weighted forwards), priorities (PriorityInUse, SetRulePriorities all or nothing), the default
rule's protections, TooManyRules, and another account's rules."""

import pytest

from tests.e2e.elbv2_helpers import forward, forwarded, refusal, tenant


@pytest.fixture(scope="module")
def t(server):
    return tenant(server, "elbv2-rules")


@pytest.fixture(scope="module")
def group(t):
    return t.target_group()


@pytest.fixture
def listener(t, group):
    lb = t.load_balancer()
    arn = t.elbv2.create_listener(LoadBalancerArn=lb, Protocol="HTTP", Port=80,
                                  DefaultActions=forward(group))["Listeners"][0]["ListenerArn"]
    yield arn
    t.elbv2.delete_load_balancer(LoadBalancerArn=lb)


def path(*values):
    return [{"Field": "path-pattern", "PathPatternConfig": {"Values": list(values)}}]


def test_create_and_describe(t, listener, group):
    made = t.elbv2.create_rule(ListenerArn=listener, Priority=20, Conditions=[{"Field": "path-pattern",
                                                                              "Values": ["/img/*"]}],
                               Actions=forward(group), Tags=[{"Key": "k", "Value": "v"}])["Rules"][0]
    assert made["RuleArn"].startswith(listener.replace(":listener/", ":listener-rule/") + "/")
    assert made["Priority"] == "20" and made["IsDefault"] is False and made["Actions"] == [forwarded(group)]
    assert made["Conditions"] == [{"Field": "path-pattern", "Values": ["/img/*"],
                                   "PathPatternConfig": {"Values": ["/img/*"]}}]
    t.elbv2.create_rule(ListenerArn=listener, Priority=3, Actions=forward(group), Conditions=[
        {"Field": "host-header", "HostHeaderConfig": {"Values": ["*.example.com"]}},
        {"Field": "http-request-method", "HttpRequestMethodConfig": {"Values": ["GET", "HEAD"]}},
        {"Field": "source-ip", "SourceIpConfig": {"Values": ["10.0.0.0/8", "2001:db8::/32"]}}])
    rules = t.elbv2.describe_rules(ListenerArn=listener)["Rules"]
    assert [r["Priority"] for r in rules] == ["3", "20", "default"]
    page = t.elbv2.describe_rules(ListenerArn=listener, PageSize=2)
    assert len(page["Rules"]) == 2 and page["NextMarker"]
    assert t.elbv2.describe_rules(ListenerArn=listener, Marker=page["NextMarker"])["Rules"] == rules[2:]
    assert t.elbv2.describe_tags(ResourceArns=[made["RuleArn"]])["TagDescriptions"][0]["Tags"] == \
        [{"Key": "k", "Value": "v"}]
    assert refusal(t.elbv2.create_rule, ListenerArn=listener, Priority=20, Conditions=path("/x"),
                   Actions=forward(group)) == ("PriorityInUse", "Priority '20' is currently in use")
    for priority in (0, 50001):
        assert refusal(t.loose.create_rule, ListenerArn=listener, Priority=priority, Conditions=path("/x"),
                       Actions=forward(group))[0] == "ValidationError"


@pytest.mark.parametrize("conditions, words", [
    (path("/a", "/b", "/c", "/d"), "'3' values"),
    (path("/a", "/b", "/c") + [{"Field": "host-header", "HostHeaderConfig": {"Values": ["a.com", "b.com", "c.com"]}}],
     "'5' condition values"),
    (path("/a") + path("/b"), "one 'path-pattern'"),
    (path("/*?*?*?"), "'5' wildcards"),
    ([{"Field": "cookie", "Values": ["x"]}], "must be one of"),
    ([{"Field": "http-header", "Values": ["x"]}], "HttpHeaderConfig"),
    (path(), "at least one value"),
    ([], "at least one condition"),
])
def test_condition_limits(t, listener, group, conditions, words):
    code, message = refusal(t.elbv2.create_rule, ListenerArn=listener, Priority=1, Conditions=conditions,
                            Actions=forward(group))
    assert code == "ValidationError" and words in message


def header(name, value="v"):
    return [{"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": name, "Values": [value]}}]


def query(key, value):
    return [{"Field": "query-string", "QueryStringConfig": {"Values": [{"Key": key, "Value": value}]}}]


def host(value):
    return [{"Field": "host-header", "HostHeaderConfig": {"Values": [value]}}]


@pytest.mark.parametrize("conditions", [
    path("/a\nb"), path("/a b"), path("/a#b"), path("/a\\b"), path("/" + "a" * 128), path("/a{b}"),
    host("evil.com\"; x"), host("a b.com"), host("a\tb"), host("h" * 129),
    header("X Forwarded"), header("X-A:"), header("X-A\n"), header("X-A", "v\r\nX-B: 1"), header("X-A", "v\x00"),
    header("X" * 41),
    query("a", "b c"), query("a#", "b"), query("a", "b\"c"), query("a", "b\nc"), query("a", ""),
    [{"Field": "http-request-method", "HttpRequestMethodConfig": {"Values": ["get"]}}],
    [{"Field": "http-request-method", "HttpRequestMethodConfig": {"Values": ["GET POST"]}}],
    [{"Field": "source-ip", "SourceIpConfig": {"Values": ["10.0.0.1\n"]}}],
    [{"Field": "source-ip", "SourceIpConfig": {"Values": ["any"]}}],
])
def test_hostile_conditions_refused(t, listener, group, conditions):
    code, _ = refusal(t.elbv2.create_rule, ListenerArn=listener, Priority=1, Conditions=conditions,
                      Actions=forward(group))
    assert code == "ValidationError"
    assert [r["Priority"] for r in t.elbv2.describe_rules(ListenerArn=listener)["Rules"]] == ["default"]


def test_what_aws_allows_is_kept(t, listener, group):
    kept = [
        {"Field": "path-pattern", "PathPatternConfig": {"Values": ["/a\"b'c@d:e+f&g$~"]}},
        {"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": "X-Odd#Name",
                                                      "Values": ["say \"hi\" \\ 'there'"]}},
        {"Field": "query-string", "QueryStringConfig": {"Values": [{"Value": "lit\\*star"},
                                                                   {"Key": "k", "Value": "v;w=(x)"}]}},
    ]
    rule = t.elbv2.create_rule(ListenerArn=listener, Priority=7, Conditions=kept, Actions=forward(group))["Rules"][0]
    assert rule["Conditions"] == [{"Field": c["Field"], **{k: v for k, v in c.items() if k != "Field"}} for c in kept]


def test_actions(t, listener, group):
    others = [t.target_group() for _ in range(5)]
    weighted = {"TargetGroups": [{"TargetGroupArn": g, "Weight": w} for g, w in zip([group] + others[:4],
                                                                                    [0, 1, 10, 100, 999])],
                "TargetGroupStickinessConfig": {"Enabled": True, "DurationSeconds": 604800}}
    rule = t.elbv2.create_rule(ListenerArn=listener, Priority=1, Conditions=path("/w"),
                               Actions=[{"Type": "forward", "ForwardConfig": weighted}])["Rules"][0]
    assert rule["Actions"] == [{"Type": "forward", "Order": 1, "ForwardConfig": weighted}]
    bad = [
        [{"Type": "forward", "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": g} for g in [group] + others]}}],
        [{"Type": "forward", "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": group, "Weight": 1000}]}}],
        [{"Type": "forward", "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": group}] * 2}}],
        [{"Type": "forward", "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": group}],
                                               "TargetGroupStickinessConfig": {"Enabled": True,
                                                                               "DurationSeconds": 604801}}}],
        [{"Type": "forward", "TargetGroupArn": group, "Order": 1},
         {"Type": "fixed-response", "Order": 2, "FixedResponseConfig": {"StatusCode": "200"}}],
        [{"Type": "forward", "TargetGroupArn": group, "ForwardConfig": {"TargetGroups": [
            {"TargetGroupArn": others[0]}]}}],
        [{"Type": "authenticate-oidc", "Order": 1, "AuthenticateOidcConfig": {
            "Issuer": "https://idp", "AuthorizationEndpoint": "https://idp/a", "TokenEndpoint": "https://idp/t",
            "UserInfoEndpoint": "https://idp/u", "ClientId": "c", "ClientSecret": "s"}},
         {"Type": "forward", "TargetGroupArn": group, "Order": 2}],
    ]
    for actions in bad:
        assert refusal(t.elbv2.create_rule, ListenerArn=listener, Priority=2, Conditions=path("/x"),
                       Actions=actions)[0] == "ValidationError", actions


def test_modify_and_default_rule(t, listener, group):
    rule = t.elbv2.create_rule(ListenerArn=listener, Priority=5, Conditions=path("/a"),
                               Actions=forward(group))["Rules"][0]["RuleArn"]
    changed = t.elbv2.modify_rule(RuleArn=rule, Conditions=host("api.example.com"))["Rules"][0]
    assert changed["Conditions"] == [{"Field": "host-header", "HostHeaderConfig": {"Values": ["api.example.com"]}}]
    assert changed["Actions"] == [forwarded(group)]
    default = t.elbv2.describe_rules(ListenerArn=listener)["Rules"][-1]["RuleArn"]
    fixed = [{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404"}}]
    t.elbv2.modify_rule(RuleArn=default, Actions=fixed)
    shown = t.elbv2.describe_listeners(ListenerArns=[listener])["Listeners"][0]["DefaultActions"]
    assert shown == [{**fixed[0], "Order": 1}]
    assert refusal(t.elbv2.modify_rule, RuleArn=default, Conditions=path("/x"))[0] == "OperationNotPermitted"
    assert refusal(t.elbv2.delete_rule, RuleArn=default)[0] == "OperationNotPermitted"
    t.elbv2.delete_rule(RuleArn=rule)
    assert refusal(t.elbv2.delete_rule, RuleArn=rule)[0] == "RuleNotFound"


def test_set_rule_priorities(t, listener, group):
    arns = [t.elbv2.create_rule(ListenerArn=listener, Priority=p, Conditions=path(f"/{p}"),
                                Actions=forward(group))["Rules"][0]["RuleArn"] for p in (1, 2, 3)]
    swapped = t.elbv2.set_rule_priorities(RulePriorities=[{"RuleArn": arns[0], "Priority": 2},
                                                          {"RuleArn": arns[1], "Priority": 1}])["Rules"]
    assert [(r["RuleArn"], r["Priority"]) for r in swapped] == [(arns[1], "1"), (arns[0], "2")]
    before = t.elbv2.describe_rules(ListenerArn=listener)["Rules"]
    code, _ = refusal(t.elbv2.set_rule_priorities, RulePriorities=[{"RuleArn": arns[0], "Priority": 10},
                                                                   {"RuleArn": arns[1], "Priority": 3}])
    assert code == "PriorityInUse"
    assert t.elbv2.describe_rules(ListenerArn=listener)["Rules"] == before  # all or nothing
    default = before[-1]["RuleArn"]
    assert refusal(t.elbv2.set_rule_priorities, RulePriorities=[{"RuleArn": default, "Priority": 9}])[0] == \
        "OperationNotPermitted"
    assert refusal(t.elbv2.set_rule_priorities, RulePriorities=[{"RuleArn": arns[0], "Priority": 9},
                                                                {"RuleArn": arns[1], "Priority": 9}])[0] == \
        "ValidationError"


def test_too_many_rules(t, listener, group):
    for priority in range(1, 101):
        t.elbv2.create_rule(ListenerArn=listener, Priority=priority, Conditions=path(f"/{priority}"),
                            Actions=forward(group))
    assert refusal(t.elbv2.create_rule, ListenerArn=listener, Priority=101, Conditions=path("/x"),
                   Actions=forward(group))[0] == "TooManyRules"


def test_another_accounts_rules(t, server, listener, group):
    rule = t.elbv2.create_rule(ListenerArn=listener, Priority=1, Conditions=path("/a"),
                               Actions=forward(group))["Rules"][0]["RuleArn"]
    other = tenant(server, "elbv2-rules-other")
    for call, kw in ((other.elbv2.describe_rules, {"RuleArns": [rule]}),
                     (other.elbv2.delete_rule, {"RuleArn": rule}),
                     (other.elbv2.modify_rule, {"RuleArn": rule, "Conditions": path("/b")}),
                     (other.elbv2.set_rule_priorities, {"RulePriorities": [{"RuleArn": rule, "Priority": 5}]})):
        assert refusal(call, **kw)[0] == "RuleNotFound"
    assert refusal(other.elbv2.create_rule, ListenerArn=listener, Priority=1, Conditions=path("/a"),
                   Actions=forward(other.target_group()))[0] == "ListenerNotFound"
