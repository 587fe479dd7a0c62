"""Virtual routers: one network namespace per VPC, where its ports (the host ends of its
workloads' interfaces: a task's veth, a VM's tap) and its rules live, joined to the host by
one uplink (a veth pair with a /30 of the engine's link pool). Each VPC thus has routing and
conntrack of its own, and address ranges may overlap between VPCs as on AWS; a VPC reaches
another only through public addresses, over the host.

    <table>-vpc<n>          the router's namespace; "up0" its uplink, its loopback holding each
                            subnet's router address (.1), ports p<...> (veth) or t<...> (tap)
    <stem>r<n>              the uplink's host end, in the host's set of router links

A port is routed, never bridged: a /32 route per address and proxy ARP make the router the
next hop of everything its workload sends, so every packet between two ports passes the
router's filter (router_rules.py), as AWS's VPC router sees every packet. What a router
enforces is applied whole from a plan (plans.py, apply()); plugging a port only wires it.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cloudlet.agent.network import public, rules
from cloudlet.agent.network.host import NetworkError, ip, link_exists, netns_sysctls, new_netns_in, sysctl
from cloudlet.agent.network.plans import RouterPlan
from cloudlet.agent.network.router_routes import apply_routes
from cloudlet.agent.network.router_rules import load_rules

UPLINK = "up0"
GATEWAYS = "lo"  # where subnets' router addresses live: local, so answered on every port


@dataclass
class Plugged:
    """A port's workload end: the network namespace a task's containers join, or the tap a
    VM's QEMU (run in the router's namespace) opens."""
    netns: str | None
    tap: str | None
    address: str
    prefix: int
    gateway: str
    mac: str
    router_netns: str


def gateway_of(cidr: str) -> str:
    return str(ipaddress.ip_network(cidr).network_address + 1)


class Routers:
    def __init__(self, settings, state):
        self.settings = settings
        self.state = state
        self._applied: dict[str, dict[str, str]] = {}  # router -> what of its plan this process applied

    # -- names --------------------------------------------------------------------------

    def netns(self, index: int) -> str:
        return f"{self.settings.table}-vpc{index}"

    def uplink(self, index: int) -> str:
        return f"{self.settings.bridge.rstrip('0123456789')}r{index}"

    def mark(self, index: int) -> int:
        """The connection mark and routing table of router index's way back: its uplink's
        host-end address as a number, unique on the host (link pools do not overlap)."""
        return int(ipaddress.ip_address(self.link_addresses(index)[0]))

    def link_addresses(self, index: int) -> tuple[str, str, int]:
        """(host end, router end, prefix) of router index's uplink."""
        base = ipaddress.ip_network(self.settings.link_pool).network_address + 4 * index
        return str(base + 1), str(base + 2), 30

    # -- routers ------------------------------------------------------------------------

    def ensure(self, key: str) -> int:
        """The router of key (made if need be), its index."""
        with self.state.locked() as data:
            return self._ensure(data, key)

    def _ensure(self, data: dict, key: str) -> int:
        found = data["routers"].get(key)
        if found is None:
            taken = {r["index"] for r in data["routers"].values()}
            index = next(i for i in range(len(taken) + 1) if i not in taken)
            if 4 * (index + 1) > ipaddress.ip_network(self.settings.link_pool).num_addresses:
                raise NetworkError(f"the link pool {self.settings.link_pool} has no uplink left for router {key}")
            found = data["routers"][key] = {"index": index}
        # A namespace goes away after `ip netns del` returns (the kernel frees it later, and
        # its uplink with it): an uplink without its namespace is one going, not a router.
        index = found["index"]
        if not (link_exists(self.uplink(index)) and Path(f"/run/netns/{self.netns(index)}").exists()):
            try:
                self._make(index)
            except BaseException:  # nothing half made stays: the record is not written either
                ip("netns", "del", self.netns(index), check=False)
                ip("link", "del", self.uplink(index), check=False)
                raise
        return index

    def _make(self, index: int) -> None:
        ns, link = self.netns(index), self.uplink(index)
        host_end, router_end, prefix = self.link_addresses(index)
        rules.ensure_table(self.settings.table)
        ip("link", "del", link, check=False)  # left by a router made halfway, or one still going
        ip("netns", "del", ns, check=False)
        # the address is also the mark and routing table of the way back: on a second device
        # (another engine's, of an overlapping link pool) one of the two routers would lose it
        holders = ip("-o", "-4", "addr", "show", "to", f"{host_end}/32").stdout.split()
        if holders:
            raise NetworkError(f"{host_end}, the uplink address of router {index}, is on {holders[1]} already: "
                               f"another engine on this host has a link pool overlapping {self.settings.link_pool}")
        ip("netns", "add", ns)
        path = f"/run/netns/{ns}"
        # a router forwards; it answers ARP for its ports' subnets; it has no IPv6 of its own
        netns_sysctls(path, {"net.ipv4.ip_forward": "1", "net.ipv6.conf.all.disable_ipv6": "1",
                             "net.ipv6.conf.default.disable_ipv6": "1"})
        load_rules(path, None)  # nothing passes until a plan says what may
        ip("link", "add", link, "type", "veth", "peer", "name", UPLINK, "netns", ns)
        sysctl(f"net.ipv6.conf.{link}.disable_ipv6", "1")
        ip("addr", "add", f"{host_end}/{prefix}", "dev", link)
        ip("link", "set", link, "up")
        # the host forwards between its routers, the default route and a LAN (its filter says
        # what may pass); on a fresh host forwarding is off
        sysctl("net.ipv4.ip_forward", "1")
        # in the host's filter before the router's end is up, and so before a packet can come
        rules.add_link(self.settings.table, link, router_end, self.mark(index))
        for args in (("addr", "add", f"{router_end}/{prefix}", "dev", UPLINK), ("link", "set", UPLINK, "up"),
                     ("link", "set", "lo", "up")):
            ip("-n", ns, *args)

    def index(self, key: str) -> int | None:
        found = self.state.read()["routers"].get(key)
        return found["index"] if found else None

    def by_host_address(self, address: str) -> str | None:
        """The router whose uplink has this host-end address (where its guests' metadata
        requests arrive): how the metadata services tell VPCs with the same addresses apart."""
        for key, found in self.state.read()["routers"].items():
            if self.link_addresses(found["index"])[0] == address:
                return key
        return None

    def remove(self, key: str, unless_plugged: bool = False) -> bool:
        """Remove router key (with unless_plugged, only if no port is plugged into it: the
        check and the removal under one lock, so that a plug under way is never cut off);
        whether it went."""
        with self.state.locked() as data:
            ports = [e for e, port in data["ports"].items() if port["router"] == key]
            if unless_plugged and ports:
                return False
            self._applied.pop(key, None)
            found = data["routers"].pop(key, None)
            for eni in ports:
                del data["ports"][eni]
            if found is not None:
                rules.remove_link(self.settings.table, self.uplink(found["index"]), self.mark(found["index"]))
                public.unroute_public(self.uplink(found["index"]), data.get("public_interface"))
                # the uplink deleted here, at once: the namespace (and what is in it) is freed
                # by the kernel later, and a router made again meanwhile must not find it
                ip("link", "del", self.uplink(found["index"]), check=False)
                ip("netns", "del", self.netns(found["index"]), check=False)
        return True

    def keys(self) -> list[str]:
        return list(self.state.read()["routers"])

    # -- ports ----------------------------------------------------------------------------

    def plug(self, key: str, eni: str, *, cidr: str, address: str, mac: str, tap: bool = False,
             userns: str | None = None) -> Plugged:
        """Wire eni's interface into router key, once: a new network namespace (in the user
        namespace whose file userns is, if given) with eth0 of that address and MAC, or a
        tap in the router's own namespace for a VM."""
        with self.state.locked() as data:  # the router cannot go between being made and being plugged into
            router_ns = self.netns(self._ensure(data, key))
            port = data["ports"].get(eni)
            if port is None:
                device = ("t" if tap else "p") + eni.removeprefix("eni-")[-12:]
                port = {"router": key, "device": device, "netns": None if tap else f"{self.settings.table}-{device}",
                        "address": address, "cidr": cidr, "mac": mac}
                try:
                    self._wire(router_ns, port, userns)
                except BaseException:
                    self._unwire(router_ns, port)
                    raise
                data["ports"][eni] = port
        prefix = ipaddress.ip_network(cidr).prefixlen
        return Plugged(f"/run/netns/{port['netns']}" if port["netns"] else None, port["device"] if tap else None,
                       address, prefix, gateway_of(cidr), mac, f"/run/netns/{router_ns}")

    def _wire(self, router_ns: str, port: dict, userns: str | None) -> None:
        device, gateway = port["device"], gateway_of(port["cidr"])
        prefix = ipaddress.ip_network(port["cidr"]).prefixlen
        self._unwire(router_ns, port)  # what a plug killed halfway left
        if port["netns"]:
            ns = port["netns"]
            if userns:
                new_netns_in(userns, ns)
            else:
                ip("netns", "add", ns)
            ip("-n", router_ns, "link", "add", device, "type", "veth", "peer", "name", "eth0", "netns", ns)
            for args in (("link", "set", "eth0", "address", port["mac"]),
                         ("addr", "add", f"{port['address']}/{prefix}", "dev", "eth0"),
                         ("link", "set", "lo", "up"), ("link", "set", "eth0", "up"),
                         ("route", "add", "default", "via", gateway)):
                ip("-n", ns, *args)
        else:
            ip("-n", router_ns, "tuntap", "add", "dev", device, "mode", "tap")
        netns_sysctls(f"/run/netns/{router_ns}", {f"net.ipv4.conf.{device}.proxy_arp": "1",
                                                  f"net.ipv6.conf.{device}.disable_ipv6": "1"})
        for args in (("addr", "replace", f"{gateway}/32", "dev", GATEWAYS), ("link", "set", device, "up"),
                     ("route", "replace", f"{port['address']}/32", "dev", device)):
            ip("-n", router_ns, *args)

    @staticmethod
    def _unwire(router_ns: str, port: dict) -> None:
        ip("-n", router_ns, "link", "del", port["device"], check=False)
        if port["netns"]:
            ip("netns", "del", port["netns"], check=False)

    def unplug(self, eni: str) -> None:
        with self.state.locked() as data:
            port = data["ports"].pop(eni, None)
            if port is None:
                return
            found = data["routers"].get(port["router"])
            if found is not None:
                self._unwire(self.netns(found["index"]), port)

    def devices(self, key: str) -> dict[str, str]:
        """The ports plugged into router key: ENI -> its device there."""
        return {eni: p["device"] for eni, p in self.state.read()["ports"].items() if p["router"] == key}

    def plugged(self) -> dict[str, dict]:
        return self.state.read()["ports"]

    # -- what a router enforces -----------------------------------------------------------

    def apply(self, plan: RouterPlan, public_pool: str, metadata: dict[tuple[str, int], int],
              public_interface: str | None = None) -> list[str]:
        """Make router plan.key enforce plan: its routes, its rules (one nftables
        transaction: a change holds for the next packet), and the host's routes to its
        public addresses (and to its private ones, where no other router's overlap them).
        metadata: (address, port) guests ask -> the host's port serving it. Only what
        changed since the last plan is applied: a group's rule or an address moved is one
        nftables transaction, nothing else. Returns what was applied."""
        index = self.ensure(plan.key)
        name, host_end, router_end = self.netns(index), *self.link_addresses(index)[:2]
        routes = [(s.cidr, s.routes) for s in plan.subnets], plan.cidrs, \
            [(p.device, p.addresses) for p in plan.ports if p.device]
        addresses = plan.public_addresses(), plan.cidrs if plan.host_routed else [], public_pool, public_interface
        parts = {"routes": repr(routes), "rules": repr((plan, metadata)), "public": repr(addresses)}
        done = self._applied.setdefault(plan.key, {})
        changed = [part for part in parts if done.get(part) != parts[part]]

        def public_routes():
            with self.state.locked() as data:
                if data.get("public_pool") not in (None, public_pool):  # `cloudlet up` with another pool
                    public.drop_pool(self.settings.table, data["public_pool"])
                data["public_pool"] = public_pool  # its route goes with the engine (Networks.destroy)
                data["public_interface"] = public_interface  # its ARP answers go with the router
                own = self.own_devices(data)
            public.route_public(self.settings.table, public_pool, self.uplink(index), router_end, *addresses[:2],
                                public_interface, own, strict=plan.pooled)

        steps = {"routes": lambda: apply_routes(name, plan, host_end),
                 "rules": lambda: load_rules(f"/run/netns/{name}", plan, uplink=UPLINK, host=host_end,
                                             metadata=metadata),
                 "public": public_routes}  # last: refused while the host routes its addresses elsewhere
        failed = None
        for part in changed:
            try:  # each part on its own: a route that cannot be made must not keep a new port's rules away
                steps[part]()
                done[part] = parts[part]
            except NetworkError as e:
                failed = failed or e
        if failed:
            raise failed
        return changed

    def own_devices(self, data: dict) -> frozenset[str]:
        """The host's devices this engine made, by its state: its bridges and its routers' uplinks."""
        return frozenset([self.settings.bridge, *(n["bridge"] for n in data["networks"].values()),
                          *(self.uplink(r["index"]) for r in data["routers"].values())])
