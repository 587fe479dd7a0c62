"""A load balancer's records compiled into the plan its proxy runs: listeners bound on every
interface, rules in priority order with their conditions and actions, target groups with
their attributes and health checks, draining targets, and what a tenant cannot slip in
(target ids that are not addresses, another account's groups)."""

import json

from cloudlet.agent.lb.plan import Condition, FixedResponse, Forward, Redirect
from cloudlet.control.elb_plans import compile_lb
from cloudlet.store import elbv2 as records
from cloudlet.store.schema import ec2_instances
from cloudlet.store.scoped import Scoped

ARN = "arn:aws:elasticloadbalancing:us-east-1:123456789012:"
LB = {"LoadBalancerArn": ARN + "loadbalancer/app/shop/aaaa", "LoadBalancerName": "shop", "Type": "application",
      "_attributes": {"idle_timeout.timeout_seconds": "30"}}
GROUP = ARN + "targetgroup/web/bbbb"


def group(db, arn: str, **more) -> None:
    body = {"TargetGroupArn": arn, "Protocol": "HTTP", "Port": 80, "TargetType": "ip", "HealthCheckProtocol": "HTTP",
            "HealthCheckPort": "traffic-port", "HealthCheckPath": "/up", "HealthCheckIntervalSeconds": 5,
            "HealthCheckTimeoutSeconds": 2, "HealthyThresholdCount": 3, "UnhealthyThresholdCount": 2,
            "Matcher": {"HttpCode": "200-299"}, **more}
    records.put(db, records.TARGET_GROUP, arn, arn.split("/")[1], body)


def listener(db, protocol="HTTP", port=80, actions=None) -> str:
    arn = ARN + f"listener/app/shop/aaaa/l{port}"
    records.put(db, records.LISTENER, arn, "", {
        "ListenerArn": arn, "Protocol": protocol, "Port": port,
        "DefaultActions": actions or [{"Type": "forward", "TargetGroupArn": GROUP}]}, parent=LB["LoadBalancerArn"])
    return arn


NETNS = {"eni-1": "ns-one", "eni-2": "ns-two"}
ADDRESSES = {"eni-1": "10.0.1.5", "eni-2": "10.0.2.5"}


def compiled(db, lb=LB, certificate=lambda arn: None):
    return compile_lb(db, lb, NETNS, ADDRESSES, certificate)


def test_a_listener_binds_every_interface_and_forwards_to_its_group(db):
    group(db, GROUP, _attributes={"slow_start.duration_seconds": "30", "stickiness.enabled": "true",
                                  "stickiness.lb_cookie.duration_seconds": "600",
                                  "load_balancing.algorithm.type": "least_outstanding_requests"})
    listener(db)
    records.register(db, GROUP, "10.0.1.20", 80)
    records.register(db, GROUP, "10.0.1.21", 8080)
    records.deregister(db, GROUP, "10.0.1.21", 8080)
    out = compiled(db)
    front, = out.plan.frontends
    assert [(b.address, b.port, b.netns) for b in front.binds] == [("10.0.1.5", 80, "ns-one"), ("10.0.2.5", 80, "ns-two")]
    assert front.mode == "http" and front.idle_timeout == 30 and front.default == Forward((("tg-bbbb", 1),))
    back, = out.plan.backends
    assert (back.algorithm, back.slow_start, back.sticky_seconds) == ("leastconn", 30, 600)
    assert (back.health.protocol, back.health.path, back.health.codes, back.health.port) == ("http", "/up", "200-299",
                                                                                             None)
    # the one just registered is held (counted down until its checks pass); the other drains
    assert [(s.address, s.port, s.netns, s.draining, s.held) for s in back.servers] == [
        ("10.0.1.20", 80, "ns-one", False, True), ("10.0.1.21", 8080, "ns-one", True, False)]
    records.set_health(db, GROUP, "10.0.1.20", 80, records.HEALTHY, None)
    assert [(s.draining, s.held) for s in compiled(db).plan.backends[0].servers] == [(False, False), (True, False)]
    assert out.servers[("tg-bbbb", "10.0.1.20_80")][0] == GROUP


def test_rules_in_priority_order_with_their_conditions_and_actions(db):
    group(db, GROUP)
    other = ARN + "targetgroup/other/cccc"
    group(db, other)
    arn = listener(db)
    rules = [("20", [{"Field": "host-header", "HostHeaderConfig": {"Values": ["*.shop.example"]}}],
              [{"Type": "redirect", "RedirectConfig": {"Protocol": "HTTPS", "Port": "443", "Host": "#{host}",
                                                       "Path": "/#{path}", "Query": "#{query}",
                                                       "StatusCode": "HTTP_301"}}]),
             ("5", [{"Field": "path-pattern", "Values": ["/api/*"]},
                    {"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": "X-Tier", "Values": ["gold"]}},
                    {"Field": "query-string", "QueryStringConfig": {"Values": [{"Key": "v", "Value": "2"}]}}],
              [{"Type": "forward", "ForwardConfig": {
                  "TargetGroups": [{"TargetGroupArn": GROUP, "Weight": 1}, {"TargetGroupArn": other, "Weight": 3}],
                  "TargetGroupStickinessConfig": {"Enabled": True, "DurationSeconds": 120}}}]),
             ("default", [], [{"Type": "forward", "TargetGroupArn": GROUP}]),
             ("9", [{"Field": "http-request-method", "HttpRequestMethodConfig": {"Values": ["DELETE"]}}],
              [{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "403", "MessageBody": "no"}}])]
    for n, (priority, conditions, actions) in enumerate(rules):
        records.put(db, records.RULE, f"{arn}/r{n}", "", {"RuleArn": f"{arn}/r{n}", "Priority": priority,
                                                           "Conditions": conditions, "Actions": actions}, parent=arn)
    front, = compiled(db).plan.frontends
    assert [r.priority for r in front.rules] == [5, 9, 20]
    first, second, third = front.rules
    assert first.conditions == (Condition("path", ("/api/*",)), Condition("header", ("gold",), name="X-Tier"),
                                Condition("query", pairs=(("v", "2"),)))
    assert first.action == Forward((("tg-bbbb", 1), ("tg-cccc", 3)), sticky_seconds=120)
    assert second.action == FixedResponse(403, None, "no")
    assert third.action == Redirect(301, protocol="HTTPS", port="443")


def test_what_a_tenant_cannot_slip_into_a_plan(db):
    group(db, GROUP)
    records.register(db, GROUP, "10.0.1.20\n    server evil 10.6.6.6:80", 80)  # not an address: never a server
    theirs = "arn:aws:elasticloadbalancing:us-east-1:222222222222:targetgroup/theirs/dddd"
    group(Scoped(db.conn, "222222222222", "us-east-1"), theirs)
    listener(db, actions=[{"Type": "forward", "TargetGroupArn": theirs}])
    listener(db, port=81)
    out = compiled(db)
    by_port = {f.binds[0].port: f for f in out.plan.frontends}
    assert by_port[80].default == FixedResponse(503, "text/plain", "")  # another account's group is none of ours
    assert [b.name for b in out.plan.backends] == ["tg-bbbb"] and out.plan.backends[0].servers == ()
    assert out.skipped and "not an address" in out.skipped[0]


def test_tls_listeners_need_their_certificate_and_network_listeners_are_routed(db):
    group(db, GROUP, Protocol="TCP", HealthCheckProtocol="TCP")
    records.put(db, records.LISTENER, ARN + "listener/net/shop/aaaa/tls", "", {
        "ListenerArn": ARN + "listener/net/shop/aaaa/tls", "Protocol": "TLS", "Port": 443,
        "Certificates": [{"CertificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/gone"}],
        "DefaultActions": [{"Type": "forward", "TargetGroupArn": GROUP}]}, parent=LB["LoadBalancerArn"])
    listener(db, protocol="TCP", port=5432)
    nlb = {**LB, "Type": "network"}
    out = compiled(db, nlb)
    assert out.plan.frontends == () and "certificate" in out.skipped[0]
    assert [b.name for b in out.plan.backends] == ["tg-bbbb"]  # the TCP listener's group: health-checked
    out = compiled(db, nlb, certificate=lambda arn: "/data/elb/aaaa/gone.pem")
    front, = out.plan.frontends
    assert front.mode == "tcp" and {b.certificates for b in front.binds} == {("/data/elb/aaaa/gone.pem",)}


def test_instance_targets_are_reached_at_their_private_address_while_running(db):
    group(db, GROUP, TargetType="instance")
    listener(db)
    for instance_id, state, address in (("i-0000000000000000a", "running", "10.0.1.30"),
                                        ("i-0000000000000000b", "stopped", "10.0.1.31")):
        db.insert(ec2_instances, instance_id=instance_id, desired=state, state=state, updated_at="",
                  body=json.dumps({"InstanceId": instance_id, "PrivateIpAddress": address}))
        records.register(db, GROUP, instance_id, 80)
    records.register(db, GROUP, "i-0000000000000000c", 80)  # no such instance
    assert [(s.name, s.address) for s in compiled(db).plan.backends[0].servers] == [
        ("i-0000000000000000a_80", "10.0.1.30")]


def test_an_unhealthy_target_has_a_backup_twin_so_that_the_group_fails_open(db):
    group(db, GROUP)
    listener(db)
    for address, state in (("10.0.1.40", records.HEALTHY), ("10.0.1.41", records.UNHEALTHY)):
        records.register(db, GROUP, address, 80)
        records.set_health(db, GROUP, address, 80, state, None)
    servers = compiled(db).plan.backends[0].servers
    assert [(s.name, s.address, s.backup) for s in servers] == [
        ("10.0.1.40_80", "10.0.1.40", False), ("10.0.1.41_80", "10.0.1.41", False),
        ("10.0.1.41_80_open", "10.0.1.41", True)]
    assert set(compiled(db).servers) == {("tg-bbbb", "10.0.1.40_80"), ("tg-bbbb", "10.0.1.41_80")}  # twins: no health
