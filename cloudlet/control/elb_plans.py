"""A load balancer's proxy plan (agent/lb/plan.py), compiled from the store: one frontend per
listener bound on each of the LB's interfaces, its rules in priority order, one backend per
target group a listener or rule forwards to, with the group's registered targets as servers
(draining ones kept as draining until their delay has passed, new ones held until healthy,
unhealthy ones with a backup twin so that a group with none healthy fails open) and its health
check. A network
LB's TCP and UDP listeners have no frontend: its VPC's router forwards them (vpc_balancers.py);
their groups' targets are only health-checked here.

Names in the plan are ours, never a tenant's: a frontend is its listener's id, a backend its
group's id, a server its target's id and port once the id is checked to be an address or an
instance id. Compiled is what the health mapping needs to read the proxy's answers back."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from cloudlet.agent.lb.plan import (Backend, Bind, Condition, FixedResponse, Forward, Frontend, HealthCheck,
                                    ProxyPlan, Redirect, Rule, Server)
from cloudlet.store import elbv2 as records

HTTP_MODES = ("HTTP", "HTTPS")
TLS = ("HTTPS", "TLS")
ROUTED = ("TCP", "UDP", "TCP_UDP")  # a network LB's: its VPC's router sends them on (vpc_balancers.py)
ALGORITHMS = {"least_outstanding_requests": "leastconn"}  # round_robin, weighted_random: roundrobin
_TARGET_ID = re.compile(r"^(i-[0-9a-f]{8,17}|[0-9]{1,3}(\.[0-9]{1,3}){3})$")
_CONDITIONS = {"path-pattern": ("path", "PathPatternConfig"), "host-header": ("host", "HostHeaderConfig"),
               "http-request-method": ("method", "HttpRequestMethodConfig"),
               "source-ip": ("source", "SourceIpConfig")}


@dataclass
class Compiled:
    plan: ProxyPlan
    # (backend, server) -> (its target group's ARN, its target as records.targets() gives it)
    servers: dict[tuple[str, str], tuple[str, dict]] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)  # what could not be made, and why


def last_id(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


def _attributes(body: dict) -> dict:
    return body.get("_attributes") or {}


def _condition(c: dict) -> Condition | None:
    field_name = c.get("Field")
    if field_name in _CONDITIONS:
        kind, config = _CONDITIONS[field_name]
        values = (c.get(config) or {}).get("Values") or c.get("Values") or []
        return Condition(kind, tuple(values))
    if field_name == "http-header":
        config = c.get("HttpHeaderConfig") or {}
        return Condition("header", tuple(config.get("Values") or []), name=config.get("HttpHeaderName"))
    if field_name == "query-string":
        pairs = ((p.get("Key"), p.get("Value", "")) for p in (c.get("QueryStringConfig") or {}).get("Values") or [])
        return Condition("query", pairs=tuple(pairs))
    return None


def _redirect(config: dict) -> Redirect:
    def own(value, placeholder):  # AWS's defaults name the request's own part: None says so
        return None if value in (None, placeholder) else value
    return Redirect(301 if config.get("StatusCode") == "HTTP_301" else 302,
                    protocol=own(config.get("Protocol"), "#{protocol}"), host=own(config.get("Host"), "#{host}"),
                    port=own(config.get("Port"), "#{port}"), path=own(config.get("Path"), "/#{path}"),
                    query=own(config.get("Query"), "#{query}"))


class _Compiler:
    def __init__(self, db, lb: dict, netns: dict[str, str], certificate):
        self.db, self.lb, self.netns, self.certificate = db, lb, netns, certificate
        self.out = Compiled(ProxyPlan(last_id(lb["LoadBalancerArn"])))
        self.backends: dict[str, Backend] = {}
        self.source = next(iter(netns.values()), None)  # servers are reached from the first interface

    def action(self, actions: list[dict]):
        final = next((a for a in sorted(actions, key=lambda a: a.get("Order", 0))
                      if a.get("Type") in ("forward", "redirect", "fixed-response")), None)
        if final is None:
            return FixedResponse(503, "text/plain", "")  # only authentication: nothing we can run
        if final["Type"] == "redirect":
            return _redirect(final.get("RedirectConfig") or {})
        if final["Type"] == "fixed-response":
            config = final.get("FixedResponseConfig") or {}
            return FixedResponse(int(config.get("StatusCode", "503")), config.get("ContentType"),
                                 config.get("MessageBody") or "")
        forward = final.get("ForwardConfig") or {}
        groups = [(g["TargetGroupArn"], g.get("Weight", 1)) for g in forward.get("TargetGroups") or []] \
            or [(final["TargetGroupArn"], 1)]
        sticky = forward.get("TargetGroupStickinessConfig") or {}
        backends = tuple((name, weight) for arn, weight in groups if (name := self.backend(arn)))
        if not backends:
            return FixedResponse(503, "text/plain", "")
        return Forward(backends, sticky.get("DurationSeconds") if sticky.get("Enabled") else None)

    def backend(self, arn: str) -> str | None:
        name = "tg-" + last_id(arn)
        if name in self.backends:
            return name
        group = records.get(self.db, arn, records.TARGET_GROUP)
        if group is None:
            return None
        mode = "http" if group.get("Protocol") in HTTP_MODES else "tcp"
        attributes = _attributes(group)
        sticky = attributes.get("stickiness.enabled") == "true" and \
            attributes.get("stickiness.type", "lb_cookie") == "lb_cookie"
        servers = tuple(s for t in records.targets(self.db, arn) for s in self.servers(name, arn, group, t))
        self.backends[name] = Backend(
            name, mode, servers, self.health(group),
            algorithm=ALGORITHMS.get(attributes.get("load_balancing.algorithm.type"), "roundrobin"),
            slow_start=int(attributes.get("slow_start.duration_seconds") or 0),
            sticky_seconds=int(attributes.get("stickiness.lb_cookie.duration_seconds") or 86400) if sticky else None,
            tls=group.get("Protocol") in TLS)
        return name

    @staticmethod
    def health(group: dict) -> HealthCheck | None:
        if group.get("HealthCheckEnabled") is False:
            return None
        protocol = (group.get("HealthCheckProtocol") or "TCP").lower()
        port = group.get("HealthCheckPort") or "traffic-port"
        return HealthCheck(
            protocol if protocol in ("http", "https") else "tcp",
            interval=int(group.get("HealthCheckIntervalSeconds") or 30),
            timeout=int(group.get("HealthCheckTimeoutSeconds") or 5),
            rise=int(group.get("HealthyThresholdCount") or 5), fall=int(group.get("UnhealthyThresholdCount") or 2),
            path=group.get("HealthCheckPath") or "/", port=None if port == "traffic-port" else int(port),
            codes=(group.get("Matcher") or {}).get("HttpCode") or "200")

    def servers(self, backend: str, arn: str, group: dict, target: dict) -> list[Server]:
        """A target's server; and for an unhealthy one, its unchecked backup twin, which takes
        requests only while no server of the group is up: AWS's ALB fails open, sending to
        every unhealthy target when none is healthy."""
        if not _TARGET_ID.match(target["id"]):
            self.out.skipped.append(f"target {target['id']!r}: not an address or an instance")
            return []
        address = records.address(self.db, group, target)
        if address is None:
            return []  # an instance gone or not yet addressed: nothing to send to
        name = f"{target['id']}_{target['port']}"  # haproxy's names take no ':'
        self.out.servers[(backend, name)] = (arn, target)
        # a target not yet healthy takes no request until its checks pass the healthy threshold
        out = [Server(name, address, target["port"], netns=self.source,
                      draining=target["state"] == records.DRAINING, held=target["state"] == records.INITIAL)]
        if target["state"] == records.UNHEALTHY:
            out.append(Server(f"{name}_open", address, target["port"], netns=self.source, backup=True))
        return out

    def frontend(self, listener: dict, addresses: dict[str, str]) -> Frontend | None:
        protocol = listener.get("Protocol")
        if self.lb.get("Type") == "network" and protocol in ROUTED:
            self.action(listener.get("DefaultActions") or [])  # its groups' health is still checked here
            return None
        if protocol not in ("HTTP", "HTTPS", "TCP", "TLS"):
            self.out.skipped.append(f"listener on {listener.get('Port')}: {protocol} is not served here")
            return None
        certificates = ()
        if protocol in TLS:
            certificates = self.certificates(listener)
            if not certificates:
                return None
        rules = []
        for rule in records.objects_of(self.db, records.RULE, listener["ListenerArn"]):
            if rule.get("Priority", "default") == "default":
                continue
            conditions = tuple(c for c in map(_condition, rule.get("Conditions") or []) if c)
            rules.append(Rule(int(rule["Priority"]), conditions, self.action(rule.get("Actions") or [])))
        binds = tuple(Bind(address, int(listener["Port"]), netns=self.netns[eni], certificates=certificates)
                      for eni, address in addresses.items() if eni in self.netns)
        return Frontend(last_id(listener["ListenerArn"]), "http" if protocol in HTTP_MODES else "tcp", binds,
                        self.action(listener.get("DefaultActions") or []), tuple(sorted(rules, key=lambda r: r.priority)),
                        idle_timeout=int(_attributes(self.lb).get("idle_timeout.timeout_seconds") or 60))


    def certificates(self, listener: dict) -> tuple[str, ...]:
        """The PEMs of a TLS listener, its default first; none when the default is gone (an
        extra one gone is left out)."""
        default = [c["CertificateArn"] for c in listener.get("Certificates") or []][:1]
        out = []
        for arn in default + listener.get("_certificates", []):
            pem = self.certificate(arn)
            if pem is None:
                self.out.skipped.append(f"listener on {listener['Port']}: its certificate {arn} is gone")
                if not out:
                    return ()
            else:
                out.append(pem)
        return tuple(out)


def compile_lb(db, lb: dict, netns: dict[str, str], addresses: dict[str, str], certificate) -> Compiled:
    """lb's plan. netns: its ENIs' namespaces (ENI -> name), the first the one servers are
    reached from; addresses: ENI -> private address; certificate(arn): the path of its PEM
    bundle, or None when it is gone."""
    compiler = _Compiler(db, lb, netns, certificate)
    frontends = tuple(f for listener in records.objects_of(db, records.LISTENER, lb["LoadBalancerArn"])
                      if (f := compiler.frontend(listener, addresses)))
    out = compiler.out
    # the proxy runs in the first interface's namespace: servers reached from there are added
    # and removed without a reload
    out.plan = ProxyPlan(out.plan.key, frontends, tuple(compiler.backends.values()), netns=compiler.source)
    return out
