"""A router's nftables table, rendered whole from its plan and loaded in one transaction (a
rule change holds for the next new connection; established ones keep going, as with AWS's
security groups). In the router's namespace, so its conntrack is the VPC's own.

    forward    the host's own traffic and the metadata services (no group or ACL stands
               in their way, as on AWS), anti-spoofing (a port sends only from its
               addresses and MAC unless its source/destination check is off), network
               ACLs (stateless: replies too must pass them, as on AWS), then replies pass,
               then the groups: the sender's egress rules, the receiver's ingress rules
    nat        network load balancers' listeners (balancer_rules.py: their groups, then DNAT
               to a target, the client's address kept, before anything else: a balancer's
               public address is its own, not a port's), public addresses 1:1 (DNAT in,
               SNAT out), NAT gateways' SNAT by route, the
               rest of what leaves by the uplink to the router's own address there (unique
               on the host, where private ranges are not: the host masquerades it on, and
               finds the way back), and the metadata services DNAT'd to the host's end

A group's rules become elements of a few interval sets keyed by (port address, peer range,
protocol, ports): one lookup decides, however many rules and groups there are. A peer
group is its members' addresses, rewritten whenever members come and go.
"""

from __future__ import annotations

import ipaddress

from cloudlet.agent.network.balancer_rules import balancer_rules, members
from cloudlet.agent.network.boxes import disjoint
from cloudlet.agent.network.host import run
from cloudlet.agent.network.plans import AclEntry, RouterPlan

TABLE = "vpc"
TCP, UDP, ICMP = 6, 17, 1


def _range(cidr: str) -> tuple[int, int]:
    net = ipaddress.ip_network(cidr, strict=False)
    return int(net.network_address), int(net.broadcast_address)


def _address(a: int, b: int) -> str:
    low, high = ipaddress.ip_address(a), ipaddress.ip_address(b)
    return str(low) if a == b else f"{low}-{high}"


def _span(a: int, b: int) -> str:
    return str(a) if a == b else f"{a}-{b}"


def _group_elements(plan: RouterPlan) -> dict[str, list[str]]:
    """Set name -> elements, for both directions."""
    found = members(plan)
    boxes: dict[tuple[str, str, str, int | None], list] = {}  # (set, direction, own address, protocol) -> boxes
    for port in plan.ports:
        if not port.device:
            continue
        for group in port.groups:
            for rule in plan.groups.get(group, []):
                peers = [rule.cidr] if rule.cidr else [f"{a}/32" for a in found.get(rule.group, [])]
                direction = "egress" if rule.egress else "ingress"
                for own in port.addresses:
                    for peer in peers:
                        peer_range = _range(peer)
                        if rule.protocol in (TCP, UDP):
                            key = ("l4", direction, own, rule.protocol)
                            box = (peer_range, (rule.low, rule.high))
                        elif rule.protocol == ICMP:
                            key = ("icmp", direction, own, ICMP)
                            box = (peer_range, (0, 255) if rule.low < 0 else (rule.low, rule.low),
                                   (0, 255) if rule.high < 0 else (rule.high, rule.high))
                        else:
                            key = ("any", direction, own, None)
                            box = (peer_range, (0, 255) if rule.protocol is None else (rule.protocol, rule.protocol))
                        boxes.setdefault(key, []).append(box)
    out: dict[str, list[str]] = {f"{d}_{k}": [] for d in ("egress", "ingress") for k in ("l4", "icmp", "any")}
    for (kind, direction, own, protocol), found in boxes.items():
        for box in disjoint(found):
            peer = _address(*box[0])
            if kind == "l4":
                out[f"{direction}_l4"].append(f"{own} . {peer} . {protocol} . {_span(*box[1])}")
            elif kind == "icmp":
                out[f"{direction}_icmp"].append(f"{own} . {peer} . {_span(*box[1])} . {_span(*box[2])}")
            else:
                out[f"{direction}_any"].append(f"{own} . {peer} . {_span(*box[1])}")
    return out


def _acl_match(entry: AclEntry) -> str:
    peer = "ip daddr" if entry.egress else "ip saddr"
    match = f"{peer} {entry.cidr}"
    if entry.protocol is not None:
        match += f" meta l4proto {entry.protocol}"
        if entry.protocol in (TCP, UDP):
            match += f" th dport {_span(entry.low, entry.high)}"
        elif entry.protocol == ICMP and entry.low >= 0:
            match += f" icmp type {entry.low}" + (f" icmp code {entry.high}" if entry.high >= 0 else "")
    return match


def _acl_chains(plan: RouterPlan) -> tuple[list[str], list[str], list[str]]:
    """(chains, egress dispatch elements, ingress dispatch elements) of the subnets' ACLs."""
    chains, out, into = [], [], []
    for i, subnet in enumerate(plan.subnets):
        if not subnet.acl:
            continue
        for egress, dispatch in ((True, out), (False, into)):
            name = f"acl_{'out' if egress else 'in'}_{i}"
            # traffic within the subnet never crosses its edge
            lines = [f"ip {'daddr' if egress else 'saddr'} {subnet.cidr} return"]
            for entry in sorted((e for e in subnet.acl if e.egress == egress), key=lambda e: e.number):
                lines.append(f"{_acl_match(entry)} {'return' if entry.allow else 'drop'}")
            lines.append("drop")
            chains.append(f"  chain {name} {{\n" + "".join(f"    {line}\n" for line in lines) + "  }\n")
            dispatch.append(f"{subnet.cidr} : jump {name}")
    return chains, out, into


def _elements(items: list[str]) -> str:
    return f" elements = {{ {', '.join(items)} }};" if items else ""


def render(plan: RouterPlan | None, uplink: str = "up0", host: str | None = None,
           metadata: dict[tuple[str, int], int] | None = None) -> str:
    """The table's script; without a plan, the table of a router nothing may cross yet."""
    ports = [p for p in plan.ports if p.device] if plan else []
    groups = _group_elements(plan) if plan else {}
    acl_chains, acl_out, acl_in = _acl_chains(plan) if plan else ([], [], [])
    lb_chains, balancers, trusted = balancer_rules(plan) if plan else ([], [], [])
    sources = [f'"{p.device}" . {a}' for p in ports for a in p.addresses]
    macs = [f'"{p.device}" . {p.mac}' for p in ports]
    unchecked = [f'"{p.device}"' for p in ports if not p.source_dest_check]
    devices = [f'"{p.device}"' for p in ports]
    dnat = [f"{pub} : {priv}" for p in (plan.ports if plan else []) for priv, pub in p.public.items()]
    snat = [f"{priv} : {pub}" for p in (plan.ports if plan else []) for priv, pub in p.public.items()]
    snat_route = [f"{s.cidr} . {r.cidr} : {r.snat}" for s in (plan.subnets if plan else []) for r in s.routes
                  if r.snat]
    services = [f"{address} . {port} : {host} . {to}" for (address, port), to in (metadata or {}).items()] \
        if host else []
    sets = "".join([
        f"  set ports {{ type ifname;{_elements(devices)} }}\n",
        f"  set sources {{ type ifname . ipv4_addr;{_elements(sources)} }}\n",
        f"  set macs {{ type ifname . ether_addr;{_elements(macs)} }}\n",
        f"  set unchecked {{ type ifname;{_elements(unchecked)} }}\n",
        *(f"  set {d}_l4 {{ type ipv4_addr . ipv4_addr . inet_proto . inet_service; flags interval;"
          f"{_elements(groups.get(f'{d}_l4', []))} }}\n"
          f"  set {d}_icmp {{ type ipv4_addr . ipv4_addr . icmp_type . icmp_code; flags interval;"
          f"{_elements(groups.get(f'{d}_icmp', []))} }}\n"
          f"  set {d}_any {{ type ipv4_addr . ipv4_addr . inet_proto; flags interval;"
          f"{_elements(groups.get(f'{d}_any', []))} }}\n" for d in ("egress", "ingress")),
        f"  map acl_out {{ type ipv4_addr : verdict; flags interval;{_elements(acl_out)} }}\n",
        f"  map acl_in {{ type ipv4_addr : verdict; flags interval;{_elements(acl_in)} }}\n",
        f"  map dnat_public {{ type ipv4_addr : ipv4_addr;{_elements(dnat)} }}\n",
        f"  map snat_public {{ type ipv4_addr : ipv4_addr;{_elements(snat)} }}\n",
        f"  map snat_route {{ type ipv4_addr . ipv4_addr : ipv4_addr; flags interval;{_elements(snat_route)} }}\n",
        f"  map services {{ type ipv4_addr . inet_service : ipv4_addr . inet_service;{_elements(services)} }}\n",
        f"  map balancers {{ type ipv4_addr . inet_proto . inet_service : verdict;{_elements(balancers)} }}\n",
        f"  set lb_trusted {{ type ipv4_addr . inet_proto . inet_service . ipv4_addr;{_elements(trusted)} }}\n",
    ])
    # the host (its operator) reaches every port's private address (at a public one, it is
    # the internet, held to the groups); replies go back to it
    management = (f"    iifname \"{uplink}\" ip saddr {host} ct status & dnat == 0 accept\n"
                  f"    oifname \"{uplink}\" ip daddr {host} ct state established,related accept\n"
                  f"    iifname @ports ct status dnat ip daddr {host} accept\n") if host else ""
    chains = f"""  chain forward {{ type filter hook forward priority filter; policy drop;
{management}    iifname @ports iifname . ip saddr != @sources iifname != @unchecked drop
    iifname @ports iifname . ether saddr != @macs iifname != @unchecked drop
    iifname @ports ip saddr vmap @acl_out
    oifname @ports ip daddr vmap @acl_in
    ct state established,related accept
    ct state invalid drop
    iifname @ports jump egress
    oifname @ports jump ingress
    iifname @ports oifname "{uplink}" accept
  }}
  chain egress {{
    ip saddr . ip daddr . meta l4proto . th dport @egress_l4 return
    meta l4proto icmp ip saddr . ip daddr . icmp type . icmp code @egress_icmp return
    ip saddr . ip daddr . meta l4proto @egress_any return
    drop
  }}
  chain ingress {{
    ip daddr . meta l4proto . th dport . ct original ip daddr @lb_trusted accept
    ip daddr . ip saddr . meta l4proto . th dport @ingress_l4 accept
    meta l4proto icmp ip daddr . ip saddr . icmp type . icmp code @ingress_icmp accept
    ip daddr . ip saddr . meta l4proto @ingress_any accept
    drop
  }}
  chain input {{ type filter hook input priority filter; policy drop;
    iifname "lo" accept
    ct state established,related accept
  }}
  chain prerouting {{ type nat hook prerouting priority dstnat; policy accept;
    meta l4proto {{ tcp, udp }} ip daddr . meta l4proto . th dport vmap @balancers
    iifname @ports dnat ip to ip daddr . tcp dport map @services
    iifname "{uplink}" dnat ip to ip daddr map @dnat_public
  }}
  chain postrouting {{ type nat hook postrouting priority srcnat; policy accept;
    oifname "{uplink}" ip daddr != 169.254.0.0/16 snat ip to ip saddr . ip daddr map @snat_route
    oifname "{uplink}" ip daddr != 169.254.0.0/16 snat ip to ip saddr map @snat_public
    oifname "{uplink}" ip daddr != 169.254.0.0/16 masquerade
  }}
"""
    return (f"add table ip {TABLE}\ndelete table ip {TABLE}\ntable ip {TABLE} {{\n{sets}"
            + "".join(acl_chains + lb_chains) + chains + "}\n")


def load_rules(netns: str, plan: RouterPlan | None, **kw) -> None:
    run("nsenter", f"--net={netns}", "--", "nft", "-f", "-", input=render(plan, **kw))
