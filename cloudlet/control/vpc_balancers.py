"""A VPC's network load balancers as its router's balancers (agent/network/plans.py Balancer):
each TCP, UDP or TCP_UDP listener of an NLB becomes DNAT from the NLB's addresses (each
interface's private one, and its public one) to the targets of the group it forwards to, so
that the targets see the client's own address, as an NLB's do; with the NLB's security
groups, which the router holds its clients to (agent/network/balancer_rules.py). TLS
listeners end TLS in the load balancer's proxy instead (control/elb.py).

Which targets take new connections, as AWS's NLB picks them: the healthy ones; when none is
healthy, every registered one that is not draining (an NLB fails open). Draining targets keep
the connections they have (conntrack remembers them) and get no new ones. With cross-zone
load balancing off (an NLB's default) an interface sends only to targets in its own zone,
unless its zone has none to offer."""

from __future__ import annotations

import json

from cloudlet.agent.network.plans import Balancer
from cloudlet.store import elbv2 as records
from cloudlet.store.schema import ec2_network_interfaces
from cloudlet.store.scoped import Scoped

PROTOCOLS = {"TCP": (6,), "UDP": (17,), "TCP_UDP": (6, 17)}


def _picked(targets: list[dict]) -> list[dict]:
    live = [t for t in targets if t["state"] != records.DRAINING]
    return [t for t in live if t["state"] == records.HEALTHY] or live


def _targets(db, group_arn: str, zone: str | None, cross_zone: bool) -> tuple[tuple[str, int], ...]:
    group = records.get(db, group_arn, records.TARGET_GROUP)
    if group is None:
        return ()
    picked = _picked(records.targets(db, group_arn))
    if not cross_zone:
        picked = [t for t in picked if t["zone"] in (zone, None, "all")] or picked
    found = ((records.address(db, group, t), t["port"]) for t in picked)
    return tuple(sorted((address, port) for address, port in found if address))


def _interfaces(db, lb: dict) -> list[tuple[str | None, tuple[str, ...]]]:
    """(zone, addresses) of each of the load balancer's interfaces."""
    out = []
    for eni_id in lb.get("_enis", {}).values():
        row = db.one(ec2_network_interfaces, ec2_network_interfaces.c.eni_id == eni_id)
        if row is None:
            continue
        eni = json.loads(row["body"])
        public = (eni.get("Association") or {}).get("PublicIp")
        out.append((eni.get("AvailabilityZone"), (eni["PrivateIpAddress"], *([public] if public else []))))
    return out


def balancers(conn, account: str, region: str, vpc_id: str) -> list[Balancer]:
    db = Scoped(conn, account, region)
    out = []
    for lb in records.objects_of(db, records.LOAD_BALANCER):
        if lb.get("Type") != "network" or lb.get("VpcId") != vpc_id:
            continue
        cross_zone = lb.get("_attributes", {}).get("load_balancing.cross_zone.enabled") == "true"
        interfaces = _interfaces(db, lb)
        for listener in records.objects_of(db, records.LISTENER, parent=lb["LoadBalancerArn"]):
            # an NLB forwards to one group
            group = next(iter(sorted(records.forwarded_to(listener.get("DefaultActions")))), None)
            for protocol in PROTOCOLS.get(listener["Protocol"], ()) if group else ():
                for zone, addresses in interfaces:
                    out.append(Balancer(addresses, protocol, listener["Port"], _targets(db, group, zone, cross_zone),
                                        tuple(lb.get("SecurityGroups") or ())))
    return out

