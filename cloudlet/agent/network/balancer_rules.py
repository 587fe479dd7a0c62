"""A router's network load balancers in nftables (see router_rules.py): per listener, a chain
that DNATs a new connection to one of its targets, picked at random, the client's address
kept. A balancer with security groups of its own first drops what its groups' ingress rules
do not let in; and a target whose groups let in that balancer's groups takes what the balancer
sends it, whoever the client (AWS's NLB: a rule naming the balancer's group is enough, with
the client's address kept); lb_trusted holds those (target, protocol, port, balancer address).
A balancer without groups takes any client, and its targets' own rules decide, on the
client's address."""

from __future__ import annotations

from cloudlet.agent.network.plans import Balancer, RouterPlan, Rule


def members(plan: RouterPlan) -> dict[str, list[str]]:
    """Group -> its members' addresses."""
    out: dict[str, list[str]] = {}
    for port in plan.ports:
        for group in port.groups:
            out.setdefault(group, []).extend(port.addresses)
    return out


def _lets_in(rule: Rule, protocol: int, port: int) -> bool:
    return not rule.egress and (rule.protocol is None or (rule.protocol == protocol and rule.low <= port <= rule.high))


def _guard(plan: RouterPlan, found: dict[str, list[str]], balancer: Balancer) -> list[str]:
    """The lines that drop what the balancer's groups do not let in (none without groups)."""
    if not balancer.groups:
        return []
    peers = sorted({peer for group in balancer.groups for rule in plan.groups.get(group, [])
                    if _lets_in(rule, balancer.protocol, balancer.port)
                    for peer in ([rule.cidr] if rule.cidr else found.get(rule.group, []))})
    return [f"ip saddr != {{ {', '.join(peers)} }} drop"] if peers else ["drop"]


def _trusted(plan: RouterPlan, balancer: Balancer) -> list[str]:
    if not balancer.groups:
        return []
    groups_at = {address: port.groups for port in plan.ports for address in port.addresses}
    out = []
    for address, port in balancer.targets:
        if any(rule.group in balancer.groups and _lets_in(rule, balancer.protocol, port)
               for group in groups_at.get(address, []) for rule in plan.groups.get(group, [])):
            out.extend(f"{address} . {balancer.protocol} . {port} . {front}" for front in balancer.addresses)
    return out


def balancer_rules(plan: RouterPlan) -> tuple[list[str], list[str], list[str]]:
    """(chains, dispatch elements, lb_trusted elements) of the balancers that have targets (one
    without takes nothing: its connections meet its addresses, where nothing listens)."""
    chains, dispatch, trusted = [], [], []
    found = members(plan)
    for i, balancer in enumerate(b for b in plan.balancers if b.targets):
        picks = ", ".join(f"{n} : {address} . {port}" for n, (address, port) in enumerate(balancer.targets))
        lines = _guard(plan, found, balancer) + [
            f"meta l4proto {balancer.protocol} dnat ip to numgen random mod {len(balancer.targets)} map {{ {picks} }}"]
        chains.append(f"  chain lb_{i} {{\n" + "".join(f"    {line}\n" for line in lines) + "  }\n")
        dispatch.extend(f"{address} . {balancer.protocol} . {balancer.port} : jump lb_{i}"
                        for address in balancer.addresses)
        trusted.extend(_trusted(plan, balancer))
    return chains, dispatch, sorted(set(trusted))
