"""Container networks on this host: a Linux bridge per network, a named network namespace
and a veth pair per container, addresses from the network's subnet, outbound NAT and
published ports through nftables, and names resolved between containers of user networks.

Name resolution is a hosts file per container, bind-mounted on /etc/hosts and rewritten in
place (same inode, so the bind mount sees it) whenever a member joins or leaves: no DNS
server to run, and names work at once. The default network "bridge" resolves no names, as
Docker's does not."""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import re
import socket
from dataclasses import dataclass, field
from pathlib import Path

from cloudlet.agent.network import public, rules
from cloudlet.agent.network.host import NetworkError, ip, link_exists, netns_sysctls, new_netns_in, sysctl
from cloudlet.agent.network.ports import PortMapping
from cloudlet.agent.network.routers import Routers
from cloudlet.agent.network.state import State, allocate, free_subnet, gateway
from cloudlet.agent.runtime import BindMount

DEFAULT = "bridge"
# What Docker sets in every container's namespace: root in a user namespace owns no
# capability over a namespace the host made, yet must bind port 80 and ping.
NETNS_DEFAULTS = {"net.ipv4.ip_unprivileged_port_start": "0", "net.ipv4.ping_group_range": "0 2147483647"}
_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$")


@dataclass
class Attachment:
    netns: str  # what the runtime's ContainerSpec.network takes: "none", "host" or a netns path
    ip: str | None = None
    binds: list[BindMount] = field(default_factory=list)
    ports: list[PortMapping] = field(default_factory=list)  # as published, free host ports chosen


@dataclass
class Tap:
    """A VM's plug into a network: its tap device and the address it should take."""
    device: str
    ip: str
    prefix: int
    gateway: str


@dataclass
class Settings:
    """Names and ranges of one engine; tests give each engine its own so they run side by side."""
    table: str = "cloudlet"
    bridge: str = "cloudlet0"      # the default network's bridge; user networks get <stem>1, <stem>2, ...
    subnet: str = "10.211.0.0/16"  # the default network's
    pool: str = "10.212.0.0/16"    # user networks take a /user_prefix each from here
    user_prefix: int = 24
    link_pool: str = "169.254.192.0/19"  # VPC routers' uplinks take a /30 each from here (routers.py)

    @classmethod
    def kept_in(cls, root: Path) -> "Settings":
        """An engine's settings are chosen once and kept with its state: its bridges and
        rules must keep their names for as long as its containers live."""
        path = root / "settings.json"
        if path.exists():
            return cls(**json.loads(path.read_text()))
        settings = cls()
        root.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(dataclasses.asdict(settings), indent=1))
        return settings


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host, int(port)


def _ports(endpoint: dict) -> list[PortMapping]:
    return [PortMapping(**p) for p in endpoint["ports"]]


def _concrete(port: PortMapping) -> PortMapping:
    """Host port 0 means any free one: let the kernel pick it, as Docker does."""
    if port.host_port:
        return port
    kind = socket.SOCK_STREAM if port.protocol == "tcp" else socket.SOCK_DGRAM
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("", 0))
        return dataclasses.replace(port, host_port=s.getsockname()[1])


class Networks:
    def __init__(self, root: str | Path, settings: Settings | None = None):
        self.root = Path(root)
        self.settings = settings or Settings.kept_in(self.root)
        self.state = State(self.root)
        self.hosts_dir = self.root / "hosts"
        self.hosts_dir.mkdir(exist_ok=True)
        self.routers = Routers(self.settings, self.state)

    # -- networks -------------------------------------------------------------------

    def list(self) -> dict[str, dict]:
        data = self.state.read()
        return {DEFAULT: self._default(), **data["networks"]}

    def _default(self) -> dict:
        return {"bridge": self.settings.bridge, "subnet": self.settings.subnet, "user": False}

    def create(self, name: str, subnet: str | None = None) -> dict:
        if not _NAME.match(name) or name in (DEFAULT, "none", "host"):
            raise NetworkError(f"invalid network name {name!r}")
        with self.state.locked() as data:
            if name in data["networks"]:
                raise NetworkError(f"network {name} already exists")
            used = [n["subnet"] for n in data["networks"].values()] + [self.settings.subnet]
            if subnet is None:
                subnet = free_subnet(self.settings.pool, used, self.settings.user_prefix)
            else:
                try:
                    wanted = ipaddress.ip_network(subnet)
                except ValueError as e:
                    raise NetworkError(f"invalid subnet {subnet}: {e}") from None
                if any(wanted.overlaps(ipaddress.ip_network(u)) for u in used):
                    raise NetworkError(f"subnet {subnet} overlaps another network's")
                subnet = str(wanted)
            stem = self.settings.bridge.rstrip("0123456789")
            index = 1 + max([int(n["bridge"][len(stem):]) for n in data["networks"].values()] or [0])
            net = {"bridge": f"{stem}{index}", "subnet": subnet, "user": True}
            data["networks"][name] = net
        return net

    def remove(self, name: str) -> None:
        with self.state.locked() as data:
            net = data["networks"].get(name)
            if net is None:
                raise NetworkError(f"network {name} not found")
            members = [e["name"] for e in data["endpoints"].values() if e["network"] == name]
            if members:
                raise NetworkError(f"network {name} has active endpoints: {', '.join(members)}")
            del data["networks"][name]
            self._drop_bridge(net)

    def _ensure_bridge(self, net: dict) -> None:
        rules.ensure_table(self.settings.table)
        bridge = net["bridge"]
        # in the input filter's set before anything can be plugged into it
        rules.add_network(self.settings.table, bridge, net["subnet"])
        if not link_exists(bridge):
            prefix = ipaddress.ip_network(net["subnet"]).prefixlen
            ip("link", "add", bridge, "type", "bridge")
            if Path("/proc/sys/net/ipv6").is_dir():
                # no link-local address: the host's IPv6 listeners (which no IPv4 filter
                # sees) are out of a workload's reach
                sysctl(f"net.ipv6.conf.{bridge}.disable_ipv6", "1")
            ip("addr", "add", f"{gateway(net['subnet'])}/{prefix}", "dev", bridge)
            ip("link", "set", bridge, "up")
        sysctl("net.ipv4.ip_forward", "1")
        # Published ports must answer on 127.0.0.1 too: DNAT'd loopback packets may only
        # leave through the bridge if it accepts local sources.
        sysctl(f"net.ipv4.conf.{bridge}.route_localnet", "1")

    def serve_guests(self, address: str, port: int, to_address: str, to_port: int) -> None:
        """Guests on this engine's bridges reach a host service at address:port (the
        instance metadata service at 169.254.169.254:80, the task metadata endpoint at
        169.254.170.2:80), and only through it: the input filter lets nothing else in."""
        with self.state.locked() as data:
            data["services"][f"{address}:{port}"] = f"{to_address}:{to_port}"
            rules.ensure_table(self.settings.table)
            rules.serve(self.settings.table, {_address(k): _address(v) for k, v in data["services"].items()})

    def _drop_bridge(self, net: dict) -> None:
        rules.remove_network(self.settings.table, net["bridge"], net["subnet"])
        if link_exists(net["bridge"]):
            ip("link", "del", net["bridge"])

    # -- containers -----------------------------------------------------------------

    def connect(self, cid: str, name: str, network: str, *, ports=(), aliases=(), owner: str = "container",
                userns: str | None = None) -> Attachment:
        """cid's own network namespace on the network (in the user namespace whose file
        userns is, if given) with an address of it, its ports published."""
        if network in ("none", "host"):
            if ports and network == "none":
                raise NetworkError("ports cannot be published with --network none")
            return Attachment(network)
        with self.state.locked() as data:
            net = self._default() if network == DEFAULT else data["networks"].get(network)
            if net is None:
                raise NetworkError(f"network {network} not found")
            self._ensure_bridge(net)
            ports = [_concrete(p) for p in ports]
            taken = {e["ip"] for e in data["endpoints"].values() if e["network"] == network}
            address = allocate(net["subnet"], taken)
            endpoint = {"network": network, "ip": address, "name": name, "aliases": list(aliases),
                        "netns": f"{self.settings.table}-{cid[:16]}", "veth": f"v{cid[:12]}",
                        "ports": [p.__dict__ for p in ports], "owner": owner}
            try:
                self._plumb(endpoint, net, userns)
                rules.publish(self.settings.table, ports, address)
            except BaseException:
                self._unplumb(endpoint)
                raise
            data["endpoints"][cid] = endpoint
            if net["user"]:
                self._refresh_hosts(data, network)
            return self._attachment(cid, endpoint, net)

    def _attachment(self, cid: str, endpoint: dict, net: dict) -> Attachment:
        binds = [BindMount(str(self._write_resolv()), "/etc/resolv.conf", True)]
        if net["user"]:
            binds.append(BindMount(str(self.hosts_dir / cid), "/etc/hosts"))
        return Attachment(f"/run/netns/{endpoint['netns']}", endpoint["ip"], binds, _ports(endpoint))

    def attachment(self, cid: str) -> Attachment | None:
        """What connect() gave cid, if it is still connected: for a caller that lost track of
        it (a restart) and for containers that join another's namespace."""
        data = self.state.read()
        endpoint = data["endpoints"].get(cid)
        if endpoint is None:
            return None
        net = self._default() if endpoint["network"] == DEFAULT else data["networks"].get(endpoint["network"])
        return self._attachment(cid, endpoint, net) if net else None

    def port_attachment(self, eni: str) -> Attachment | None:
        """What a task's containers join: the network namespace of its ENI's port on a VPC
        router (routers.py), with the host's resolvers."""
        port = self.state.read()["ports"].get(eni)
        if port is None or not port["netns"]:
            return None
        return Attachment(f"/run/netns/{port['netns']}", port["address"],
                          [BindMount(str(self._write_resolv()), "/etc/resolv.conf", True)])

    def connect_tap(self, key: str, name: str, network: str, address: str | None = None) -> Tap:
        """A tap device on the network's bridge, for a VM, with an address of the network
        (the one asked for, if free) for the VM to take (the VM configures it: the host only
        plugs the cable)."""
        with self.state.locked() as data:
            net = self._default() if network == DEFAULT else data["networks"].get(network)
            if net is None:
                raise NetworkError(f"network {network} not found")
            found = data["endpoints"].get(key)
            if found is None:
                self._ensure_bridge(net)
                taken = {e["ip"] for e in data["endpoints"].values() if e["network"] == network}
                if address and (address in taken or address == gateway(net["subnet"])):
                    raise NetworkError(f"address {address} is in use on network {network}")
                found = {"network": network, "ip": address or allocate(net["subnet"], taken), "name": name,
                         "aliases": [],
                         "tap": f"t{key.replace('-', '')[-12:]}", "ports": [], "owner": "vm"}
                if link_exists(found["tap"]):  # left by a connect killed before it was recorded
                    ip("link", "del", found["tap"], check=False)
                ip("tuntap", "add", "dev", found["tap"], "mode", "tap")
                ip("link", "set", found["tap"], "master", net["bridge"], "up")
                data["endpoints"][key] = found
        subnet = ipaddress.ip_network(net["subnet"])
        return Tap(found["tap"], found["ip"], subnet.prefixlen, gateway(net["subnet"]))

    def _plumb(self, endpoint: dict, net: dict, userns: str | None) -> None:
        ns, veth = endpoint["netns"], endpoint["veth"]
        if Path(f"/run/netns/{ns}").exists():  # left by a connect that was killed before it was recorded
            self._unplumb(endpoint)
        prefix = ipaddress.ip_network(net["subnet"]).prefixlen
        if userns:
            new_netns_in(userns, ns)
        else:
            ip("netns", "add", ns)
        netns_sysctls(f"/run/netns/{ns}", NETNS_DEFAULTS)
        ip("link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns)
        ip("link", "set", veth, "master", net["bridge"], "up")
        ip("-n", ns, "addr", "add", f"{endpoint['ip']}/{prefix}", "dev", "eth0")
        ip("-n", ns, "link", "set", "lo", "up")
        ip("-n", ns, "link", "set", "eth0", "up")
        ip("-n", ns, "route", "add", "default", "via", gateway(net["subnet"]))

    def _unplumb(self, endpoint: dict) -> None:
        if endpoint.get("tap"):
            ip("link", "del", endpoint["tap"], check=False)
            return
        if link_exists(endpoint["veth"]):
            ip("link", "del", endpoint["veth"], check=False)
        ip("netns", "del", endpoint["netns"], check=False)

    def disconnect(self, cid: str) -> None:
        """Undo connect(); a container never connected (or already disconnected) is fine."""
        with self.state.locked() as data:
            endpoint = data["endpoints"].pop(cid, None)
            if endpoint is None:
                return
            rules.unpublish(self.settings.table, _ports(endpoint))
            self._unplumb(endpoint)
            (self.hosts_dir / cid).unlink(missing_ok=True)
            net = data["networks"].get(endpoint["network"])
            if net is not None:
                self._refresh_hosts(data, endpoint["network"])

    def endpoints(self) -> dict[str, tuple[str, list[PortMapping]]]:
        """Each connected container's address and published ports, read in one go."""
        return {cid: (e["ip"], _ports(e)) for cid, e in self.state.read()["endpoints"].items()}

    def prune(self, live: set[str]) -> list[str]:
        """Disconnect endpoints of containers that no longer exist; returns their ids. Endpoints
        others own (an ECS task's namespace, a VM's tap) are theirs to release."""
        known = self.state.read()["endpoints"]
        gone = [cid for cid, e in known.items() if cid not in live and e.get("owner", "container") == "container"]
        for cid in gone:
            self.disconnect(cid)
        # Namespaces of a connect() killed before it recorded its endpoint (routers and
        # their ports are the routers' to keep).
        data = self.state.read()
        ours = {e.get("netns") for cid, e in known.items() if cid not in gone} | \
            {self.routers.netns(r["index"]) for r in data["routers"].values()} | \
            {p["netns"] for p in data["ports"].values() if p["netns"]}
        netns_dir = Path("/run/netns")
        for ns in netns_dir.glob(f"{self.settings.table}-*") if netns_dir.is_dir() else []:
            if ns.name not in ours:
                ip("netns", "del", ns.name, check=False)
        return gone

    def destroy(self) -> None:
        """take_down(), and the user networks with it (tests, uninstall)."""
        self.take_down()
        with self.state.locked() as data:
            data["networks"].clear()

    def take_down(self) -> None:
        """Remove from the host every bridge, router, namespace, route and rule this engine
        made, by its state (`cloudlet down`); user networks stay defined, their bridges made
        again when something joins them."""
        for cid in list(self.state.read()["endpoints"]):
            self.disconnect(cid)
        for eni in list(self.state.read()["ports"]):
            self.routers.unplug(eni)
        for key in self.routers.keys():
            self.routers.remove(key)
        if self.state.read().get("public_pool"):
            public.drop_pool_route(self.state.read()["public_pool"])
        with self.state.locked() as data:
            for net in [self._default(), *data["networks"].values()]:
                self._drop_bridge(net)
        rules.drop_table(self.settings.table)

    # -- files mounted into containers ------------------------------------------------

    def _refresh_hosts(self, data: dict, network: str) -> None:
        members = {cid: e for cid, e in data["endpoints"].items() if e["network"] == network}
        lines = [f"{e['ip']}\t{' '.join([e['name'], *e['aliases']])}" for e in members.values()]
        for cid, e in members.items():
            text = ("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
                    + "\n".join(lines) + "\n")
            path = self.hosts_dir / cid
            # In place, never replaced: the running container's bind mount holds this inode.
            with open(path, "a+") as f:
                f.seek(0)
                f.truncate()
                f.write(text)

    def _write_resolv(self) -> Path:
        """The host's resolvers, less loopback ones a container cannot reach."""
        path = self.root / "resolv.conf"
        try:
            host = Path("/etc/resolv.conf").read_text().splitlines()
        except OSError:
            host = []
        kept = [line for line in host if not (line.startswith("nameserver") and
                                              line.split()[1:2] and line.split()[1].startswith("127."))]
        text = "\n".join(kept) + "\n"
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
        return path
