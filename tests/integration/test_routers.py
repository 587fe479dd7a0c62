"""VPC routers on real packets, driven through the network layer alone (no API): ports in
network namespaces reach each other only as their groups say, statefully; ACLs are
stateless and ordered; a port cannot spoof its address; public addresses are 1:1 NAT; two
routers with the same addresses are worlds apart; everything goes when the engine does."""

import json
import subprocess
from dataclasses import asdict
from pathlib import Path

import pytest
from engine_fixtures import EngineHome

from cloudlet.agent.network import host
from cloudlet.agent.network.host import NetworkError
from cloudlet.agent.network.plans import AclEntry, Balancer, Port, Route, RouterPlan, Rule, Subnet
from tests import ranges
from tests.hostcaps import need_binaries, need_root

pytestmark = [pytest.mark.root, pytest.mark.netns]
SUBNET, OTHER = "10.9.1.0/24", "10.9.2.0/24"


@pytest.fixture
def net():
    need_root()
    need_binaries("ip", "nft", "busybox")
    home = EngineHome()
    networks = home.engine().networks
    pool = ranges.public_pool()
    networks.pool_for_test = pool
    yield networks
    networks.destroy()
    assert not [p for p in Path("/run/netns").glob(f"{home.settings.table}-*")]
    assert subprocess.run(["ip", "route", "show", "proto", "211", pool], capture_output=True, text=True).stdout == ""
    home.destroy()
    ranges.release("public", pool)


def in_ns(netns: str, *args: str, timeout: float = 10) -> subprocess.CompletedProcess:
    return subprocess.run(["nsenter", f"--net={netns}", "--", *args], capture_output=True, text=True, timeout=timeout)


def reaches(src: str, address: str, port: int, dst: str | None = None) -> bool:
    """Whether a TCP connection from namespace src to address:port gets an answer (from a
    one-shot listener in namespace dst, if given)."""
    listener = subprocess.Popen(["nsenter", f"--net={dst}", "--", "busybox", "nc", "-l", "-p", str(port)],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL) if dst else None
    try:
        if listener:
            import time
            time.sleep(0.2)
        return in_ns(src, "busybox", "sh", "-c", f"echo hi | busybox nc -w 2 {address} {port}").returncode == 0 and \
            (listener is None or listener.communicate(timeout=5)[0] == b"hi\n")
    finally:
        if listener and listener.poll() is None:
            listener.kill()
            listener.wait()


def ping(src: str, address: str) -> bool:
    return in_ns(src, "busybox", "ping", "-c", "1", "-W", "2", address).returncode == 0


def plan(ports, groups, subnets=None, key="vpc-a", cidr="10.9.0.0/16") -> RouterPlan:
    return RouterPlan(key, [cidr], subnets or [Subnet("s1", SUBNET, [Route("0.0.0.0/0", "outside")]),
                                               Subnet("s2", OTHER, [])], ports, groups)


def plug(net, key, eni, cidr, address, mac):
    plugged = net.routers.plug(key, eni, cidr=cidr, address=address, mac=mac)
    return plugged, Port(eni, "s1" if cidr == SUBNET else "s2", mac, [address])


METADATA = {}


def test_groups_decide_and_are_stateful(net):
    a, pa = plug(net, "vpc-a", "eni-aaaa", SUBNET, "10.9.1.4", "02:00:00:00:0a:01")
    b, pb = plug(net, "vpc-a", "eni-bbbb", SUBNET, "10.9.1.5", "02:00:00:00:0a:02")
    c, pc = plug(net, "vpc-a", "eni-cccc", OTHER, "10.9.2.4", "02:00:00:00:0a:03")
    devices = net.routers.devices("vpc-a")
    for port in (pa, pb, pc):
        port.device = devices[port.key]
    pa.groups, pb.groups, pc.groups = ["web"], ["db"], ["web"]
    egress_all = Rule(True, None, cidr="0.0.0.0/0")
    groups = {"web": [egress_all, Rule(False, 6, 80, 80, cidr="0.0.0.0/0")],
              "db": [egress_all, Rule(False, 6, 5432, 5432, group="web")]}
    net.routers.apply(plan([pa, pb, pc], groups), net.pool_for_test, METADATA)
    assert reaches(b.netns, "10.9.1.4", 80, a.netns)           # web takes 80 from anywhere
    assert not reaches(b.netns, "10.9.1.4", 81, a.netns)       # but nothing else
    assert reaches(a.netns, "10.9.1.5", 5432, b.netns)         # db takes 5432 from web's members ...
    assert reaches(c.netns, "10.9.1.5", 5432, b.netns)         # ... in any subnet
    assert not reaches(a.netns, "10.9.1.5", 22, b.netns)
    assert not ping(a.netns, "10.9.1.5")                       # no icmp rule
    groups["db"].append(Rule(False, 1, -1, -1, cidr="10.9.0.0/16"))
    net.routers.apply(plan([pa, pb, pc], groups), net.pool_for_test, METADATA)
    assert ping(a.netns, "10.9.1.5")                           # a rule added holds for the next packet
    # stateful: b's replies pass although no rule of a's lets anything in from b's port 5432
    pb.groups = []  # b leaves db: nothing reaches it any more
    net.routers.apply(plan([pa, pb, pc], groups), net.pool_for_test, METADATA)
    assert not reaches(a.netns, "10.9.1.5", 5432, b.netns)
    # the host (its operator) reaches every port's private address
    assert subprocess.run(["busybox", "ping", "-c", "1", "-W", "2", "10.9.1.5"]).returncode == 0


def test_acls_are_ordered_and_stateless(net):
    a, pa = plug(net, "vpc-a", "eni-aaaa", SUBNET, "10.9.1.4", "02:00:00:00:0b:01")
    c, pc = plug(net, "vpc-a", "eni-cccc", OTHER, "10.9.2.4", "02:00:00:00:0b:03")
    devices = net.routers.devices("vpc-a")
    pa.device, pc.device = devices["eni-aaaa"], devices["eni-cccc"]
    pa.groups = pc.groups = ["open"]
    groups = {"open": [Rule(True, None, cidr="0.0.0.0/0"), Rule(False, None, cidr="0.0.0.0/0")]}
    deny_ssh_first = [AclEntry(90, False, False, "0.0.0.0/0", 6, 22, 22), AclEntry(100, False, True, "0.0.0.0/0"),
                      AclEntry(100, True, True, "0.0.0.0/0")]
    subnets = [Subnet("s1", SUBNET, [], deny_ssh_first), Subnet("s2", OTHER, [])]
    net.routers.apply(plan([pa, pc], groups, subnets), net.pool_for_test, METADATA)
    assert not reaches(c.netns, "10.9.1.4", 22, a.netns)       # rule 90 before 100
    assert reaches(c.netns, "10.9.1.4", 80, a.netns)
    # stateless: an egress ACL that lets out only port 80 also stops the replies of a's
    # own listener (they leave from port 8080)
    egress_80_only = [AclEntry(100, False, True, "0.0.0.0/0"), AclEntry(100, True, True, "0.0.0.0/0", 6, 80, 80)]
    subnets[0].acl = egress_80_only
    net.routers.apply(plan([pa, pc], groups, subnets), net.pool_for_test, METADATA)
    assert not reaches(c.netns, "10.9.1.4", 8080, a.netns)


def test_no_spoofing_and_routers_are_apart(net):
    a, pa = plug(net, "vpc-a", "eni-aaaa", SUBNET, "10.9.1.4", "02:00:00:00:0c:01")
    b, pb = plug(net, "vpc-a", "eni-bbbb", SUBNET, "10.9.1.5", "02:00:00:00:0c:02")
    # another VPC with the very same addresses
    x, px = plug(net, "vpc-x", "eni-xxxx", SUBNET, "10.9.1.5", "02:00:00:00:0c:09")
    devices = {**net.routers.devices("vpc-a"), **net.routers.devices("vpc-x")}
    for port in (pa, pb, px):
        port.device = devices[port.key]
        port.groups = ["open"]
    groups = {"open": [Rule(True, None, cidr="0.0.0.0/0"), Rule(False, None, cidr="0.0.0.0/0")]}
    net.routers.apply(plan([pa, pb], groups), net.pool_for_test, METADATA)
    net.routers.apply(plan([px], groups, key="vpc-x"), net.pool_for_test, METADATA)
    assert reaches(a.netns, "10.9.1.5", 7000, b.netns)
    assert not reaches(a.netns, "10.9.1.5", 7001, x.netns)      # the same address in another VPC: not there
    # a takes b's address: the router drops what it sends from it
    in_ns(a.netns, "ip", "addr", "add", "10.9.1.66/24", "dev", "eth0")
    assert in_ns(a.netns, "busybox", "ping", "-c", "1", "-W", "2", "-I", "10.9.1.66", "10.9.1.5").returncode != 0
    assert ping(a.netns, "10.9.1.5")                           # from its own address it still works


def test_public_addresses_are_one_to_one(net):
    a, pa = plug(net, "vpc-a", "eni-aaaa", SUBNET, "10.9.1.4", "02:00:00:00:0d:01")
    pa.device = net.routers.devices("vpc-a")["eni-aaaa"]
    public = net.pool_for_test.rsplit(".", 1)[0] + ".7"
    pa.public = {"10.9.1.4": public}
    pa.groups = ["web"]
    groups = {"web": [Rule(True, None, cidr="0.0.0.0/0"), Rule(False, 6, 80, 80, cidr="0.0.0.0/0")]}
    net.routers.apply(plan([pa], groups), net.pool_for_test, METADATA)
    listener = subprocess.Popen(["nsenter", f"--net={a.netns}", "--", "busybox", "nc", "-l", "-p", "80", "-e",
                                 "sh", "-c", "echo $NCIP"], stdout=subprocess.DEVNULL)
    try:
        import socket
        import time
        time.sleep(0.2)
        with socket.create_connection((public, 80), timeout=3) as s:
            assert s.recv(100)  # the host reaches the instance at its public address
    finally:
        listener.kill()
        listener.wait()
    pa.groups = []
    net.routers.apply(plan([pa], groups), net.pool_for_test, METADATA)
    import socket
    with pytest.raises(OSError):
        socket.create_connection((public, 80), timeout=2)      # the group's rule gone: not any more


def test_a_router_made_again_while_its_old_namespace_lingers(net):
    """The kernel frees a deleted namespace when nothing holds it any more, later than `ip
    netns del` returns: a VPC's router removed (its last task gone) and made again at once
    (the next task) is a new router that carries traffic, not the remains of the old one."""
    a, _ = plug(net, "vpc-a", "eni-aaaa", SUBNET, "10.9.1.4", "02:00:00:00:0e:01")
    holder = subprocess.Popen(["nsenter", f"--net={a.router_netns}", "--", "sleep", "60"])  # the kernel's delay
    try:
        net.routers.unplug("eni-aaaa")
        assert net.routers.remove("vpc-a", unless_plugged=True)
        a, pa = plug(net, "vpc-a", "eni-aaaa", SUBNET, "10.9.1.4", "02:00:00:00:0e:01")
        b, pb = plug(net, "vpc-a", "eni-bbbb", SUBNET, "10.9.1.5", "02:00:00:00:0e:02")
        devices = net.routers.devices("vpc-a")
        for port in (pa, pb):
            port.device, port.groups = devices[port.key], ["open"]
        groups = {"open": [Rule(True, None, cidr="0.0.0.0/0"), Rule(False, None, cidr="0.0.0.0/0")]}
        net.routers.apply(plan([pa, pb], groups), net.pool_for_test, METADATA)
        assert reaches(a.netns, "10.9.1.5", 7000, b.netns)
    finally:
        holder.kill()
        holder.wait()


def test_an_engine_whose_link_pool_overlaps_another_s_makes_no_router(net):
    """Two engines on one host with the same link pool: the second's router would take the
    first's uplink address, and with it the mark and routing table of the first's way back.
    It is refused, and the first router keeps its own."""
    a, pa = plug(net, "vpc-a", "eni-aaaa", SUBNET, "10.9.1.4", "02:00:00:00:0f:01")
    other = EngineHome()
    (other.data_dir / "engine" / "net" / "settings.json").write_text(
        json.dumps({**asdict(other.settings), "link_pool": net.settings.link_pool}))
    try:
        second = other.engine().networks
        with pytest.raises(NetworkError, match="another engine on this host has a link pool overlapping"):
            second.routers.plug("vpc-b", "eni-bbbb", cidr=SUBNET, address="10.9.1.5", mac="02:00:00:00:0f:02")
        assert second.routers.keys() == [] and not list(Path("/run/netns").glob(f"{other.settings.table}-*"))
        host_end = net.routers.link_addresses(net.routers.index("vpc-a"))[0]
        holders = subprocess.run(["ip", "-o", "-4", "addr", "show", "to", f"{host_end}/32"], capture_output=True,
                                 text=True).stdout.split()
        assert holders[1] == net.routers.uplink(net.routers.index("vpc-a"))
    finally:
        other.destroy()


# answers each connection with its name and the address it came from, until killed
WHO = ("import socket, sys\n"
       "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
       "s.bind(('0.0.0.0', int(sys.argv[2]))); s.listen(16)\n"
       "while True:\n"
       "    c, peer = s.accept(); c.sendall(f'{sys.argv[1]} {peer[0]}\\n'.encode()); c.close()\n")


def test_a_balancer_spreads_connections_and_keeps_the_client_address(net):
    """A network load balancer's listener: connections to its address spread over its targets,
    each of which sees the client's own address; the targets' groups still decide."""
    client, pc = plug(net, "vpc-a", "eni-c111", SUBNET, "10.9.1.4", "02:00:00:00:0f:01")
    _, pn = plug(net, "vpc-a", "eni-n111", SUBNET, "10.9.1.100", "02:00:00:00:0f:02")  # the balancer's own
    t1, p1 = plug(net, "vpc-a", "eni-t111", OTHER, "10.9.2.4", "02:00:00:00:0f:03")
    t2, p2 = plug(net, "vpc-a", "eni-t222", OTHER, "10.9.2.5", "02:00:00:00:0f:04")
    devices = net.routers.devices("vpc-a")
    for port in (pc, pn, p1, p2):
        port.device = devices[port.key]
    pc.groups, p1.groups, p2.groups = ["client"], ["target"], ["target"]
    groups = {"client": [Rule(True, None, cidr="0.0.0.0/0")],
              "target": [Rule(False, 6, 8080, 8081, cidr="10.9.1.0/24")]}
    balancer = Balancer(("10.9.1.100",), 6, 80, (("10.9.2.4", 8080), ("10.9.2.5", 8081)))
    servers = [subprocess.Popen(["nsenter", f"--net={ns}", "--", "python3", "-c", WHO, name, port])
               for ns, name, port in ((t1.netns, "one", "8080"), (t2.netns, "two", "8081"))]
    try:
        net.routers.apply(RouterPlan("vpc-a", ["10.9.0.0/16"], [Subnet("s1", SUBNET), Subnet("s2", OTHER)],
                                     [pc, pn, p1, p2], groups, balancers=[balancer]), net.pool_for_test, METADATA)
        import time
        time.sleep(0.5)  # the servers listen
        seen = [in_ns(client.netns, "busybox", "nc", "-w", "2", "10.9.1.100", "80").stdout for _ in range(24)]
        assert set(seen) == {"one 10.9.1.4\n", "two 10.9.1.4\n"}, seen  # both, each sees the client
        # a target whose groups do not let the client in takes nothing, balancer or not
        groups["target"] = [Rule(False, 6, 8080, 8081, cidr="10.9.3.0/24")]
        net.routers.apply(RouterPlan("vpc-a", ["10.9.0.0/16"], [Subnet("s1", SUBNET), Subnet("s2", OTHER)],
                                     [pc, pn, p1, p2], groups, balancers=[balancer]), net.pool_for_test, METADATA)
        assert in_ns(client.netns, "busybox", "nc", "-w", "2", "10.9.1.100", "80").stdout == ""
        # a balancer with a group of its own: what that group lets in reaches targets whose
        # groups let in the balancer's group, the client's address still kept
        pn.groups = ["nlb"]
        groups["nlb"] = [Rule(False, 6, 80, 80, cidr="10.9.1.0/28")]
        groups["target"] = [Rule(False, 6, 8080, 8081, group="nlb")]
        guarded = Balancer(balancer.addresses, 6, 80, balancer.targets, groups=("nlb",))
        plan = RouterPlan("vpc-a", ["10.9.0.0/16"], [Subnet("s1", SUBNET), Subnet("s2", OTHER)], [pc, pn, p1, p2],
                          groups, balancers=[guarded])
        net.routers.apply(plan, net.pool_for_test, METADATA)
        seen = {in_ns(client.netns, "busybox", "nc", "-w", "2", "10.9.1.100", "80").stdout for _ in range(12)}
        assert seen == {"one 10.9.1.4\n", "two 10.9.1.4\n"}, seen
        groups["nlb"] = [Rule(False, 6, 80, 80, cidr="10.9.1.64/26")]  # the client is not let in
        net.routers.apply(plan, net.pool_for_test, METADATA)
        assert in_ns(client.netns, "busybox", "nc", "-w", "2", "10.9.1.100", "80").stdout == ""
    finally:
        for server in servers:
            server.kill()
            server.wait()


def test_a_range_holding_the_host_s_dns_server_is_not_routed_from_the_host(net, tmp_path, monkeypatch):
    """A tenant's VPC may name any range: one holding the host's DNS server would take the
    host's own lookups, so the host routes it nowhere; a public pool holding it is refused."""
    resolv = tmp_path / "resolv.conf"
    resolv.write_text("nameserver 10.9.200.53\n")  # as if the host's resolver were in vpc-a's range
    monkeypatch.setattr(host, "RESOLV_CONF", str(resolv))
    routed = {}
    for key, cidr, subnet, address in (("vpc-a", "10.9.0.0/16", SUBNET, "10.9.1.4"),
                                       ("vpc-b", "10.8.0.0/16", "10.8.1.0/24", "10.8.1.4")):
        net.routers.plug(key, f"eni-{key[-1] * 4}", cidr=subnet, address=address, mac=f"02:00:00:00:0f:1{key[-1]}")
        net.routers.apply(RouterPlan(key, [cidr], [Subnet("s1", subnet, [])], [], {}), net.pool_for_test, METADATA)
        routed[cidr] = subprocess.run(["ip", "route", "show", "proto", "211", cidr], capture_output=True,
                                      text=True).stdout
    assert routed["10.9.0.0/16"] == "" and "10.8.0.0/16" in routed["10.8.0.0/16"]
    resolv.write_text(f"nameserver {net.pool_for_test.rsplit('.', 1)[0]}.9\n")
    net.routers.plug("vpc-c", "eni-cccc", cidr="10.7.1.0/24", address="10.7.1.4", mac="02:00:00:00:0f:1c")
    with pytest.raises(NetworkError, match="DNS server"):
        net.routers.apply(RouterPlan("vpc-c", ["10.7.0.0/16"], [Subnet("s1", "10.7.1.0/24", [])], [], {}),
                          net.pool_for_test, METADATA)
