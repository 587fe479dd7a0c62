"""Public addresses on the host: each routed to the router of the VPC that has it (Elastic
IPs, public IPs given at launch, NAT gateways'), the rest of the public pool unreachable;
optionally answered on a LAN by proxy ARP (`cloudlet up --public-interface`); and the
private ranges of the VPCs the host may reach."""

import ipaddress
import json

from cloudlet.agent.network.host import NetworkError, ip, nameservers, nft

ROUTE_PROTO = "211"  # marks the host routes an engine made, to find them again (with their device)


def _routes(link: str) -> set[str]:
    found = json.loads(ip("-j", "route", "show", "proto", ROUTE_PROTO, "dev", link).stdout or "[]")
    return {r["dst"] if "/" in r["dst"] else f"{r['dst']}/32" for r in found}


def route_public(table: str, pool: str, link: str, router: str, public: list[str], private: list[str],
                 interface: str | None = None, own: frozenset[str] = frozenset(), strict: bool = False) -> None:
    """The host's routes to a router (at router, over link): its public addresses, and its
    private ranges where the host may reach them (none overlapping a route of the host's).
    The public pool itself is unreachable but for these, so that no packet for an address
    no router has leaves by the default route. With interface (a LAN the pool is part of),
    the host answers ARP there for the router's public addresses, and what they send leaves
    by it as it is, so that the LAN's other machines reach them too.

    own: the devices this engine made (its bridges, its routers' uplinks). Where the host
    already routes (part of) the pool, or with strict (a default VPC's range, from the
    operator's pool) a private range, through any other device (another cloudlet's
    left-overs, a VPN, a LAN), nothing is routed and NetworkError names it: its addresses
    would otherwise go there, unreachable, and nobody told. A tenant's own range the host
    routes elsewhere (another cloudlet's tenant may have the same) is only not routed."""
    mine = own | {link} | ({interface} if interface else set())
    _refuse_foreign(pool, _elsewhere(pool, link, ("root",)) - mine)
    servers = nameservers()
    if held := _holding(pool, servers):
        raise NetworkError(f"{pool} holds {held}, this host's DNS server: choose another --public-pool")
    private_free = []
    for cidr in private:
        found = _elsewhere(cidr, link, ("root", "match"))
        if strict:
            _refuse_foreign(cidr, found - mine)
        # else another router of this engine's has it (plans.host_routed); and a range holding
        # the host's DNS server (a tenant's VPC may name any range) stays the VPC's own
        if not found and not _holding(cidr, servers):
            private_free.append(cidr)
    nft(f"add element ip {table} pool {{ {pool} }}\n"
        + (f'add element ip {table} public_interfaces {{ "{interface}" }}\n' if interface else ""))
    ip("route", "replace", "unreachable", pool, "proto", ROUTE_PROTO)
    wanted = {f"{a}/32" for a in public} | set(private_free)
    current = _routes(link)
    for dst in current - wanted:
        ip("route", "del", dst, "dev", link, "proto", ROUTE_PROTO, check=False)
        _unanswer(dst, interface)
    for dst in wanted - current:
        ip("route", "replace", dst, "via", router, "dev", link, "proto", ROUTE_PROTO)
    for address in public if interface else []:
        ip("neigh", "replace", "proxy", address, "dev", interface)


def unroute_public(link: str, interface: str | None) -> None:
    """No more ARP answers on interface for the public addresses routed over link (a router
    going: its routes go with its uplink, proxy entries would stay)."""
    for dst in _routes(link) if interface else ():
        _unanswer(dst, interface)


def _unanswer(dst: str, interface: str | None) -> None:
    """No more ARP answers on interface for dst, if it is a public address (a /32)."""
    if interface and dst.endswith("/32"):
        ip("neigh", "del", "proxy", dst[:-3], "dev", interface, check=False)


def _elsewhere(cidr: str, link: str, selectors: tuple[str, ...]) -> set[str]:
    """The devices through which the host routes (with "root": part of; with "match": all
    of) cidr, other than link and the default route; a route of no device (a blackhole) by
    its type. Unreachable routes (public pools: this engine's, another's) route nothing."""
    found = set()
    for selector in selectors:
        for r in json.loads(ip("-j", "route", "show", selector, cidr).stdout or "[]"):
            if r["dst"] == "default" or r.get("type") == "unreachable":
                continue
            devices = {r["dev"]} if r.get("dev") else {h["dev"] for h in r.get("nexthops", []) if h.get("dev")}
            found |= (devices or {r.get("type", "unicast")}) - {link}
    return found


def _holding(cidr: str, addresses: list) -> str | None:
    net = ipaddress.ip_network(cidr, strict=False)
    return next((str(a) for a in addresses if a.version == net.version and a in net), None)


def _refuse_foreign(cidr: str, devices: set[str]) -> None:
    if devices:
        raise NetworkError(f"{cidr} is already routed on this host through {', '.join(sorted(devices))}, which "
                           f"this cloudlet did not make: its addresses would not reach their VPC (remove that "
                           f"route, or choose other addresses: the VPC's CIDR, --vpc-pool, --public-pool)")


def drop_pool_route(pool: str) -> None:
    ip("route", "del", "unreachable", pool, "proto", ROUTE_PROTO, check=False)


def drop_pool(table: str, pool: str) -> None:
    """A pool given up for another: its route, and its place in the table's set of pools
    (the addresses routed from it go with their routers' next plans)."""
    drop_pool_route(pool)
    nft(f"delete element ip {table} pool {{ {pool} }}\n", check=False)
