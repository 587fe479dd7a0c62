"""AWS/ApplicationELB and AWS/NetworkELB datapoints from two readings of a proxy's `show stat`
(rows as HAProxy writes them, read by agent/lb/stats.py) and a real store's records: names,
dimensions, growth between readings, resets that never go negative, and each account's data
kept in its own account."""

import pytest

from cloudlet.agent.lb.stats import counters
from cloudlet.control.elb_metrics import ELBMetrics, growth
from cloudlet.store import Store
from cloudlet.store import elbv2 as records
from cloudlet.store import metrics

ACCOUNT, OTHER = "123456789012", "210987654321"
ARN = f"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}:"
LB = {"LoadBalancerArn": ARN + "loadbalancer/app/shop/aaaa", "LoadBalancerName": "shop", "Type": "application"}
NLB = {"LoadBalancerArn": ARN + "loadbalancer/net/pipe/cccc", "LoadBalancerName": "pipe", "Type": "network"}
GROUP, TCP_GROUP = ARN + "targetgroup/web/bbbb", ARN + "targetgroup/raw/dddd"
LB_DIM, TG_DIM = ("LoadBalancer", "app/shop/aaaa"), ("TargetGroup", "targetgroup/web/bbbb")
NOW = 1_800_000_000


def stat(requests: int, ok: int, not_found: int, proxy_503: int, fixed_404: int, rtime: int = 40,
         conns: int = 0) -> list[dict[str, str]]:
    """`show stat` of one listener and one group of two servers: ok 2xx and not_found 4xx from
    the servers (split between them), proxy_503 made by the proxy for the group, fixed_404 the
    listener's own fixed responses."""
    front = {"pxname": "l80", "svname": "FRONTEND", "req_tot": str(requests + fixed_404), "scur": str(conns),
             "stot": str(requests + fixed_404), "hrsp_2xx": str(ok), "hrsp_4xx": str(not_found + fixed_404),
             "hrsp_5xx": str(proxy_503), "intercepted": str(fixed_404)}
    back = {"pxname": "tg-bbbb", "svname": "BACKEND", "req_tot": str(requests), "stot": str(requests), "scur": "1",
            "hrsp_2xx": str(ok), "hrsp_4xx": str(not_found), "hrsp_5xx": str(proxy_503), "rtime": str(rtime),
            "act": "2"}
    servers = [{"pxname": "tg-bbbb", "svname": f"10.0.1.{n}_80", "hrsp_2xx": str(ok // 2 + n % 2 * (ok % 2)),
                "hrsp_4xx": str(not_found if n == 1 else 0), "status": "UP"} for n in (1, 2)]
    return [front, back] + servers


@pytest.fixture
def store(tmp_path):
    store = Store(tmp_path / "s.db")
    with store.scoped(ACCOUNT, "us-east-1") as db:
        for lb, group, name in ((LB, GROUP, "web"), (NLB, TCP_GROUP, "raw")):
            records.put(db, records.LOAD_BALANCER, lb["LoadBalancerArn"], lb["LoadBalancerName"], lb)
            records.put(db, records.TARGET_GROUP, group, name, {"TargetGroupArn": group, "Protocol": "HTTP"})
            listener = lb["LoadBalancerArn"].replace(":loadbalancer/", ":listener/") + "/l80"
            records.put(db, records.LISTENER, listener, "", {"ListenerArn": listener, "LoadBalancerArn": lb[
                "LoadBalancerArn"], "DefaultActions": [{"Type": "forward", "TargetGroupArn": group}]},
                parent=lb["LoadBalancerArn"])
        for n, state in ((1, records.HEALTHY), (2, records.HEALTHY), (3, records.UNHEALTHY), (4, None)):
            records.register(db, GROUP, f"10.0.1.{n}", 80)
            if state:
                records.set_health(db, GROUP, f"10.0.1.{n}", 80, state, None)
        records.register(db, TCP_GROUP, "10.0.2.1", 9000)
        records.set_health(db, TCP_GROUP, "10.0.2.1", 9000, records.UNHEALTHY, "Target.Timeout")
    yield store
    store.close()


def values(data, namespace="AWS/ApplicationELB") -> dict:
    return {(d.name, d.dimensions): (d.unit, d.agg.sum) for d in data if d.namespace == namespace}


def test_growth_is_per_counter_gauges_stay_and_a_reset_never_goes_negative():
    before = {"frontends": {"a": {"requests": 100, "connections_current": 9}}}
    assert growth({"frontends": {"a": {"requests": 130, "connections_current": 2}}}, before) == {
        "frontends": {"a": {"requests": 30, "connections_current": 2}}}
    assert growth({"frontends": {"a": {"requests": 7, "connections_current": 0}}}, before)["frontends"]["a"][
        "requests"] == 7  # a reload reset it: 7 since
    assert growth({"frontends": {"b": {"requests": 5}}}, before) == {"frontends": {"b": {"requests": 5}}}  # new


def test_a_first_reading_starts_spans_then_counts_are_published_with_elbs_names(store):
    publisher = ELBMetrics(store, {}, 1.0)  # 1-s rounds: high resolution
    with store.scoped(ACCOUNT, "us-east-1") as db:
        first = publisher.datums(db, LB, counters(stat(1000, 900, 50, 50, 10)), NOW)
        assert {d.name for d in first} == {"HealthyHostCount", "UnHealthyHostCount", "ActiveConnectionCount"}
        data = publisher.datums(db, LB, counters(stat(1100, 980, 60, 60, 12, rtime=250, conns=3)), NOW + 1)
    got = values(data)
    assert all(d.high_resolution and d.timestamp == NOW + 1 for d in data)
    both = tuple(sorted((LB_DIM, TG_DIM)))
    assert got[("RequestCount", (LB_DIM,))] == ("Count", 102.0)  # the fixed responses are requests too
    assert got[("RequestCount", both)] == ("Count", 100.0)
    assert got[("HTTPCode_Target_2XX_Count", (LB_DIM,))] == ("Count", 80.0)
    assert got[("HTTPCode_Target_4XX_Count", both)] == ("Count", 10.0)
    assert got[("HTTPCode_ELB_5XX_Count", (LB_DIM,))] == ("Count", 10.0)  # the proxy's 503s, not the servers'
    assert got[("HTTPCode_ELB_4XX_Count", (LB_DIM,))] == ("Count", 2.0)
    assert ("HTTPCode_Target_5XX_Count", (LB_DIM,)) not in got  # no datapoint for nothing
    assert got[("HealthyHostCount", both)] == ("Count", 2.0) and got[("UnHealthyHostCount", both)] == ("Count", 1.0)
    assert got[("RequestCountPerTarget", (TG_DIM,))] == ("Count", 50.0)  # 100 over 2 healthy targets
    assert got[("RequestCountPerTarget", both)] == ("Count", 50.0)
    assert got[("ActiveConnectionCount", (LB_DIM,))] == ("Count", 4.0)  # 3 clients, 1 to a target
    assert got[("NewConnectionCount", (LB_DIM,))] == ("Count", 202.0)
    timing = next(d for d in data if d.name == "TargetResponseTime" and d.dimensions == both)
    assert timing.unit == "Seconds" and timing.agg.count == 100 and timing.agg.sum / timing.agg.count == 0.25


def test_a_reset_proxy_publishes_what_it_counted_since(store):
    publisher = ELBMetrics(store, {}, 3600.0)
    with store.scoped(ACCOUNT, "us-east-1") as db:
        publisher.datums(db, LB, counters(stat(5000, 5000, 0, 0, 0)), NOW)
        data = publisher.datums(db, LB, counters(stat(3, 3, 0, 0, 0)), NOW + 60)
        assert not any(d.high_resolution for d in data)
        assert all(d.agg.sum >= 0 for d in data)
        assert values(data)[("RequestCount", (LB_DIM,))] == ("Count", 3.0)
        publisher.datums(db, LB, None, NOW + 120)  # unreadable (stopped): the next reading starts again
        assert "RequestCount" not in {d.name for d in publisher.datums(db, LB, counters(stat(9, 9, 0, 0, 0)), NOW)}


def test_a_network_load_balancer_has_its_health_from_the_store(store):
    with store.scoped(ACCOUNT, "us-east-1") as db:
        data = ELBMetrics(store, {}, 3600.0).datums(db, NLB, None, NOW)
    dims = (("LoadBalancer", "net/pipe/cccc"), ("TargetGroup", "targetgroup/raw/dddd"))
    assert values(data, "AWS/NetworkELB") == {("HealthyHostCount", dims): ("Count", 0.0),
                                              ("UnHealthyHostCount", dims): ("Count", 1.0)}


def test_a_round_puts_into_the_load_balancers_own_account_only(store):
    publisher = ELBMetrics(store, {}, 3600.0)
    publisher.round()  # no proxy runs here: health alone, from the records
    with store.scoped(ACCOUNT, "us-east-1", write=False) as db:
        found = {(s["namespace"], s["name"]) for s in metrics.listed(db, NOW, active_since=0)}
    assert found == {(ns, name) for ns in ("AWS/ApplicationELB", "AWS/NetworkELB")
                     for name in ("HealthyHostCount", "UnHealthyHostCount")}
    with store.scoped(OTHER, "us-east-1", write=False) as db:
        assert metrics.listed(db, NOW, active_since=0) == []
