"""AWS/ApplicationELB and AWS/NetworkELB metrics, from the proxies that really carry the traffic
(the load balancers' controller's, control/elb.py) and from the store's target health.

Every interval, per account and region, each load balancer gets what ELB publishes, with its
names, units and dimensions (LoadBalancer "app/<name>/<id>" or "net/<name>/<id>", TargetGroup
"targetgroup/<name>/<id>"):

- both kinds, by LoadBalancer+TargetGroup: HealthyHostCount and UnHealthyHostCount, from the
  targets' states the health checks wrote (initial and draining targets are neither).
- an application LB, from its HAProxy's `show stat` counters (agent/lb/stats.py) — frontends
  are its listeners, backends "tg-<group id>" its target groups:
  by LoadBalancer: RequestCount, HTTPCode_Target_2XX..5XX_Count (what servers answered),
  HTTPCode_ELB_4XX/5XX_Count (what the proxy answered itself: all its listeners sent less what
  servers did), TargetResponseTime, ActiveConnectionCount, NewConnectionCount (client and
  target sides both, as ELB counts them);
  by LoadBalancer+TargetGroup: RequestCount, HTTPCode_Target_*, TargetResponseTime;
  by TargetGroup and LoadBalancer+TargetGroup: RequestCountPerTarget, the group's requests over
  its healthy targets (all registered ones when none is healthy), which Auto Scaling's
  ALBRequestCountPerTarget tracks.

HAProxy's counters are cumulative: what is published is their growth since the last round. The
first reading of a proxy (a new one, or one adopted after a restart, whose counts were published
before) only starts its spans; a counter found smaller than before was reset by a reload or a
restart, and what it holds is what happened since. Counts with nothing to say (no request, no
error, no connection) get no datapoint, as ELB reports them only when non-zero;
RequestCountPerTarget and the host counts are always reported. TargetResponseTime is HAProxy's
recent mean response time weighted by the span's requests, so that Average is the mean per
request. Sampled faster than AWS does (tests, --metrics-interval under 20 s), the data is stored
at high resolution.
"""

from __future__ import annotations

import json
import math
import time
from collections import defaultdict

from sqlalchemy import select

from cloudlet.agent.lb.errors import LbError
from cloudlet.agent.lb.stats import CLASSES
from cloudlet.store import elbv2 as records
from cloudlet.store import metrics
from cloudlet.store.metrics import Agg, Datum
from cloudlet.store.schema import elbv2_objects

from .elb_plans import last_id
from .loop import Loop

AWS_INTERVAL = 20.0
GAUGES = frozenset(("connections_current", "response_time_ms", "servers_up"))
NAMESPACES = {"application": "AWS/ApplicationELB", "network": "AWS/NetworkELB"}
TARGET_CODES = {c: f"HTTPCode_Target_{c.upper()}_Count" for c in ("2xx", "3xx", "4xx", "5xx")}
ELB_CODES = {c: f"HTTPCode_ELB_{c.upper()}_Count" for c in ("4xx", "5xx")}


def lb_dimension(arn: str) -> str:
    """A load balancer's LoadBalancer dimension: its ARN's resource, "app/<name>/<id>"."""
    return arn.split(":loadbalancer/", 1)[1]


def group_dimension(arn: str) -> str:
    """A target group's TargetGroup dimension: "targetgroup/<name>/<id>"."""
    return arn.rsplit(":", 1)[1]


def growth(now: dict, before: dict) -> dict:
    """now's counters less before's, nested as stats.counters() nests them; gauges as they are,
    and a counter smaller than before (reset) as it is."""
    out = {}
    for key, value in now.items():
        old = before.get(key)
        if isinstance(value, dict):
            out[key] = growth(value, old if isinstance(old, dict) else {})
        elif key in GAUGES or not isinstance(old, int) or value < old:
            out[key] = value
        else:
            out[key] = value - old
    return out


class ELBMetrics(Loop):
    def __init__(self, store, proxies: dict, interval: float):
        """proxies: the controller's, load balancer id -> agent.lb Proxy (read, never changed)."""
        self.store, self.proxies, self.interval = store, proxies, interval
        self._last: dict[str, dict] = {}  # load balancer id -> its proxy's counters at the last round
        self.start("elb-metrics", interval)

    def round(self) -> None:
        now = int(time.time())
        with self.store.begin(write=False) as conn:
            rows = conn.execute(select(elbv2_objects.c.account_id, elbv2_objects.c.region, elbv2_objects.c.body).where(
                elbv2_objects.c.kind == records.LOAD_BALANCER)).all()
        scopes: dict[tuple[str, str], list[tuple[dict, dict | None]]] = defaultdict(list)
        for account, region, body in rows:
            lb = json.loads(body)
            scopes[(account, region)].append((lb, self._read(lb)))
        for key in set(self._last) - {last_id(json.loads(r.body)["LoadBalancerArn"]) for r in rows}:
            del self._last[key]  # its load balancer is gone
        for (account, region), balancers in scopes.items():
            with self.store.scoped(account, region) as db:
                data = [d for lb, counters in balancers for d in self.datums(db, lb, counters, now)]
                if data:
                    metrics.put(db, data, now)

    def _read(self, lb: dict) -> dict | None:
        proxy = self.proxies.get(last_id(lb["LoadBalancerArn"]))
        if lb.get("Type", "application") != "application" or proxy is None:
            return None
        try:
            return proxy.counters()
        except LbError:  # not running this moment: its next reading starts new spans
            return None

    def datums(self, db, lb: dict, counters: dict | None, now: int) -> list[Datum]:
        """lb's datapoints at now, counters its proxy's reading (None: none could be read)."""
        arn, key = lb["LoadBalancerArn"], last_id(lb["LoadBalancerArn"])
        namespace = NAMESPACES.get(lb.get("Type", "application"))
        if namespace is None:
            return []  # a gateway load balancer: nothing of it runs here
        out: list[Datum] = []
        high = self.interval < AWS_INTERVAL

        def put(name: str, dims: dict, unit: str, agg: Agg) -> None:
            out.append(Datum(namespace, name, tuple(sorted(dims.items())), now, unit, agg, high))

        lb_dims = {"LoadBalancer": lb_dimension(arn)}
        healthy = {}
        for group_arn in _groups_of(db, arn):
            states = [t["state"] for t in records.targets(db, group_arn)]
            dims = lb_dims | {"TargetGroup": group_dimension(group_arn)}
            healthy[group_arn] = (states.count(records.HEALTHY), len(states) - states.count(records.DRAINING))
            put("HealthyHostCount", dims, "Count", Agg.of(healthy[group_arn][0]))
            put("UnHealthyHostCount", dims, "Count", Agg.of(states.count(records.UNHEALTHY)))
        before = self._last.pop(key, None)
        if counters is None:
            return out
        self._last[key] = counters
        spans = growth(counters, before or {})
        fronts, backs = spans["frontends"].values(), spans["backends"]
        _count(put, "ActiveConnectionCount", lb_dims,
               sum(f["connections_current"] for f in fronts) + sum(b["connections_current"] for b in backs.values()))
        if before is None:
            return out  # a first reading: spans start
        _count(put, "NewConnectionCount", lb_dims,
               sum(f["connections_total"] for f in fronts) + sum(b["connections_total"] for b in backs.values()))
        _count(put, "RequestCount", lb_dims, sum(f["requests"] for f in fronts))
        served = {c: sum(b["server_responses"][c] for b in backs.values()) for c in CLASSES}
        for c, name in TARGET_CODES.items():
            _count(put, name, lb_dims, served[c])
        for c, name in ELB_CODES.items():
            _count(put, name, lb_dims, sum(f["responses"][c] for f in fronts) - served[c])
        timings = []
        for group_arn, (up, registered) in healthy.items():
            back = backs.get("tg-" + last_id(group_arn))
            if back is None:
                continue
            dims = lb_dims | {"TargetGroup": group_dimension(group_arn)}
            _count(put, "RequestCount", dims, back["requests"])
            for c, name in TARGET_CODES.items():
                _count(put, name, dims, back["server_responses"][c])
            if back["requests"] > 0:
                timing = Agg.of(back["response_time_ms"] / 1000, back["requests"])
                put("TargetResponseTime", dims, "Seconds", timing)
                timings.append(timing)
            if up or registered:
                for per_target in (dims, {"TargetGroup": dims["TargetGroup"]}):
                    put("RequestCountPerTarget", per_target, "Count", Agg.of(back["requests"] / (up or registered)))
        if timings:
            put("TargetResponseTime", lb_dims, "Seconds", _merged(timings))
        return out


def _count(put, name: str, dims: dict, value: int) -> None:
    if value > 0:
        put(name, dims, "Count", Agg.of(float(value)))


def _merged(aggs: list[Agg]) -> Agg:
    out = Agg(0.0, 0.0, math.inf, -math.inf)
    for agg in aggs:
        out.merge(agg)
    return out


def _groups_of(db, lb_arn: str) -> list[str]:
    """The target groups lb_arn's listeners and rules forward to, in order."""
    return sorted(group for group, lbs in records.load_balancers_of(db).items() if lb_arn in lbs)
