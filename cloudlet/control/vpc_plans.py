"""A VPC's plan for its router (agent/network/plans.py), compiled from the store: its subnets
with their route tables' routes and their network ACLs, its network interfaces with their
addresses, public addresses and groups, and its security groups' rules."""

from __future__ import annotations

import ipaddress
import json

from sqlalchemy import select

from cloudlet.agent.network.plans import AclEntry, Port, Route, RouterPlan, Rule, Subnet
from cloudlet.store.schema import ec2_network_interfaces, ec2_vpc_objects, subnets, vpcs

from .vpc_balancers import balancers

PROTOCOLS = {"tcp": 6, "udp": 17, "icmp": 1, "-1": None, "all": None}
# The interfaces of a network load balancer made without security groups hold to none: AWS's
# take whatever their listeners do (nothing else listens there) and reach any target.
UNGUARDED = "(network load balancer without groups)"


def protocol(value) -> int | None:
    text = str(value).lower()
    return PROTOCOLS[text] if text in PROTOCOLS else int(text)


def _rule(r: dict) -> Rule | None:
    proto = protocol(r["IpProtocol"])
    low, high = r.get("FromPort", -1), r.get("ToPort", -1)
    if proto in (6, 17):
        low, high = (0, 65535) if low in (None, -1) else (low, high)
    elif proto != 1:
        low, high = 0, 65535
    peer = r.get("CidrIpv4")
    group = (r.get("ReferencedGroupInfo") or {}).get("GroupId")
    if not peer and not group:
        return None  # a prefix list or an IPv6 range: nothing an IPv4 router can enforce
    return Rule(bool(r["IsEgress"]), proto, low, high, peer, group)


def _acl(body: dict | None) -> list[AclEntry]:
    if body is None:
        return []
    entries = []
    for e in body.get("Entries", []):
        if e["RuleNumber"] >= 32767 or not e.get("CidrBlock"):
            continue  # the implicit deny is the chain's end
        proto = protocol(e["Protocol"])
        low, high = 0, 65535
        if proto in (6, 17) and e.get("PortRange"):
            low, high = e["PortRange"]["From"], e["PortRange"]["To"]
        elif proto == 1 and e.get("IcmpTypeCode"):
            low, high = e["IcmpTypeCode"].get("Type", -1), e["IcmpTypeCode"].get("Code", -1)
        entries.append(AclEntry(e["RuleNumber"], bool(e["Egress"]), e["RuleAction"] == "allow", e["CidrBlock"],
                                proto, low, high))
    allow_all = [(e.egress, e.allow, e.cidr, e.protocol) for e in sorted(entries, key=lambda e: e.number)]
    if sorted(set(allow_all)) == [(False, True, "0.0.0.0/0", None), (True, True, "0.0.0.0/0", None)] and \
            all(e.allow for e in entries):
        return []  # the default ACL's: nothing to check
    return entries


def _objects(conn, vpc: dict, kind: str) -> list[dict]:
    rows = conn.execute(select(ec2_vpc_objects.c.body).where(
        ec2_vpc_objects.c.account_id == vpc["account_id"], ec2_vpc_objects.c.region == vpc["region"],
        ec2_vpc_objects.c.kind == kind, ec2_vpc_objects.c.vpc_id == vpc["vpc_id"]))
    return [json.loads(r.body) for r in rows]


def _routes(table: dict | None, igw: bool, nats: dict[str, str], enis: dict[str, str],
            instances: dict[str, str]) -> list[Route]:
    out = []
    for r in (table or {}).get("Routes", []):
        cidr, gateway = r.get("DestinationCidrBlock"), r.get("GatewayId")
        if not cidr or gateway == "local":
            continue
        if gateway and gateway.startswith("igw-"):
            out.append(Route(cidr, "outside" if igw else "drop"))
        elif r.get("NatGatewayId"):
            public = nats.get(r["NatGatewayId"])
            out.append(Route(cidr, "outside", snat=public) if public else Route(cidr, "drop"))
        elif r.get("NetworkInterfaceId") or r.get("InstanceId"):
            address = enis.get(r.get("NetworkInterfaceId")) or instances.get(r.get("InstanceId"))
            out.append(Route(cidr, f"port:{address}" if address else "drop"))
        else:
            out.append(Route(cidr, "drop"))
    return out


def compile_plan(conn, vpc_id: str, devices: dict[str, str]) -> RouterPlan | None:
    """The plan of the VPC vpc_id (None if it is gone); devices: its plugged ports' devices."""
    row = conn.execute(select(vpcs).where(vpcs.c.vpc_id == vpc_id)).first()
    if row is None:
        return None
    vpc = dict(row._mapping)
    body = json.loads(vpc["body"] or "{}")
    cidrs = [a["CidrBlock"] for a in body.get("CidrBlockAssociationSet", [])
             if a.get("CidrBlockState", {}).get("State", "associated") == "associated"] or [vpc["cidr"]]
    eni_rows = [dict(r._mapping) for r in conn.execute(select(ec2_network_interfaces).where(
        ec2_network_interfaces.c.account_id == vpc["account_id"], ec2_network_interfaces.c.region == vpc["region"],
        ec2_network_interfaces.c.vpc_id == vpc_id))]
    ports, primary, by_instance = [], {}, {}
    for r in eni_rows:
        eni = json.loads(r["body"])
        addresses = [a["PrivateIpAddress"] for a in eni["PrivateIpAddresses"]]
        public = {a["PrivateIpAddress"]: a["Association"]["PublicIp"] for a in eni["PrivateIpAddresses"]
                  if (a.get("Association") or {}).get("PublicIp")}
        unguarded = [UNGUARDED] if ":loadbalancer/net/" in (r["attached_to"] or "") else []
        ports.append(Port(eni["NetworkInterfaceId"], r["subnet_id"], eni["MacAddress"], addresses, public,
                          [g["GroupId"] for g in eni.get("Groups", [])] or unguarded,
                          bool(eni.get("SourceDestCheck", True)),
                          devices.get(eni["NetworkInterfaceId"])))
        primary[eni["NetworkInterfaceId"]] = addresses[0]
        attachment = eni.get("Attachment") or {}
        if attachment.get("InstanceId") and attachment.get("DeviceIndex", 0) == 0:
            by_instance[attachment["InstanceId"]] = addresses[0]
    igw = bool(_objects(conn, vpc, "internet-gateway"))
    nats = {n["NatGatewayId"]: n["NatGatewayAddresses"][0]["PublicIp"] for n in _objects(conn, vpc, "nat-gateway")
            if n["State"] in ("pending", "available") and n.get("NatGatewayAddresses")}
    tables = _objects(conn, vpc, "route-table")
    main = next((t for t in tables if any(a.get("Main") for a in t.get("Associations", []))), None)
    by_subnet = {a["SubnetId"]: t for t in tables for a in t.get("Associations", []) if a.get("SubnetId")}
    acls = {a["SubnetId"]: acl for acl in _objects(conn, vpc, "network-acl") for a in acl.get("Associations", [])}
    subnet_plans = []
    for s in conn.execute(select(subnets).where(subnets.c.account_id == vpc["account_id"],
                                                subnets.c.region == vpc["region"], subnets.c.vpc_id == vpc_id)):
        routes = _routes(by_subnet.get(s.subnet_id, main), igw, nats, primary, by_instance)
        subnet_plans.append(Subnet(s.subnet_id, s.cidr, routes, _acl(acls.get(s.subnet_id))))
    groups = {UNGUARDED: [Rule(False, cidr="0.0.0.0/0"), Rule(True, cidr="0.0.0.0/0")]}
    for g in _objects(conn, vpc, "security-group"):
        groups[g["GroupId"]] = [rule for rule in map(_rule, g.get("Rules", [])) if rule]
    return RouterPlan(vpc_id, cidrs, subnet_plans, ports, groups, extra_public=sorted(nats.values()),
                      balancers=balancers(conn, vpc["account_id"], vpc["region"], vpc_id))


def host_routed(plans: list[RouterPlan], defaults: set[str]) -> None:
    """Mark which plans' private ranges the host may route to: default VPCs' (ranges of the
    host's pool that no other one has), and any other whose ranges overlap no other router's."""
    nets = {p.key: [ipaddress.ip_network(c) for c in p.cidrs] for p in plans}
    for plan in plans:
        others = [n for key, ns in nets.items() if key != plan.key for n in ns]
        plan.pooled = plan.key in defaults
        plan.host_routed = plan.pooled or not any(a.overlaps(b) for a in nets[plan.key] for b in others)
