"""`cloudlet down`: it stops the data dir's `cloudlet up`, keeps the network while a task of
it runs (saying which), and otherwise, or with --force, leaves no namespace, device, nft table
or proto-211 route of the data dir on the host; `cloudlet up` does the same on SIGTERM when
nothing of it runs. A VPC whose addresses the host already routes through a device cloudlet
did not make is refused, naming the device, and the host's route is left as it was.

The pool 10.200.0.0/13 is this module's alone: one half per server."""

import contextlib
import secrets
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from engine_fixtures import busybox_home

from tests import ranges
from tests.e2e.server import Server
from tests.integration.ecs_fixtures import HTTPD, address, register, run, wait

pytestmark = [pytest.mark.root, pytest.mark.runc, pytest.mark.netns]
POOL_A, POOL_B = "10.204.0.0/14", "10.200.0.0/14"  # default VPCs take the top /16: 10.207 and 10.203


@contextlib.contextmanager
def cloud(tmp_path: Path, pool: str):
    with busybox_home("nft", "ip") as home:
        public_pool = ranges.public_pool()
        server = Server(tmp_path, args=("--vpc-pool", pool, "--public-pool", public_pool))
        server.data_dir, server.home_, server.public_pool = home.data_dir, home, public_pool
        server.start()
        try:
            server.ecs = server.client("ecs")
            server.ecs.create_cluster(clusterName="shop")
            server.subnet = server.client("ec2").describe_subnets()["Subnets"][0]["SubnetId"]
            yield server
        finally:
            server.stop()


def made(server) -> list[str]:
    """What of the server's data dir is on the host (its names are unique to its tests)."""
    settings = server.home_.settings
    stem = settings.bridge.rstrip("0123456789")
    found = [f"netns {p.name}" for p in Path("/run/netns").glob(f"{settings.table}-*")]
    found += [f"device {d.name}" for d in Path("/sys/class/net").iterdir() if d.name.startswith(stem)]
    if subprocess.run(["nft", "list", "table", "ip", settings.table], capture_output=True).returncode == 0:
        found.append(f"table {settings.table}")
    routes = subprocess.run(["ip", "route", "show", "proto", "211"], capture_output=True, text=True).stdout
    return sorted(found + [f"route {r}" for r in routes.splitlines() if stem in r or server.public_pool in r])


def answers(ip: str) -> bool:
    with urllib.request.urlopen(f"http://{ip}/passwd", timeout=10) as r:
        return r.read().startswith(b"root:")


def web(server) -> tuple[str, str]:
    arn = run(server, register(server, "web", {"name": "web", "image": "busybox", "command": HTTPD}))
    return arn, address(wait(server, arn, "RUNNING"))


def test_down_keeps_a_running_tasks_network_and_force_takes_all(tmp_path):
    with cloud(tmp_path, POOL_A) as server:
        arn, ip = web(server)
        assert ip.startswith("10.207.") and answers(ip)
        before = made(server)
        assert any(m.startswith("netns") for m in before) and any("10.207.0.0/16" in m for m in before), before

        proc = server.home_.cli("down", check=False)
        assert server.proc.wait(5) == 0  # `down` stopped the server
        assert proc.returncode == 1, proc.stderr
        assert "stopping cloudlet up" in proc.stdout
        assert arn in proc.stderr and "their network stays" in proc.stderr
        assert made(server) == before and answers(ip)  # the task outlives its server, reachable

        proc = server.home_.cli("down", "--force")
        assert arn in proc.stdout and "removed router" in proc.stdout, proc.stdout
        assert made(server) == []
        assert server.home_.cli("ps", "-a", "-q").stdout == ""
        assert server.home_.cli("down").stdout.strip() == "cloudlet: nothing of its network was left"


def test_sigterm_with_nothing_running_takes_the_network_down(tmp_path):
    with cloud(tmp_path, POOL_A) as server:
        arn, ip = web(server)
        server.ecs.stop_task(cluster="shop", task=arn)
        wait(server, arn, "STOPPED")
        assert made(server)  # the table and the public pool's route stay after the task
        proc = server.home_.cli("down")
        assert server.proc.wait(5) == 0
        assert "stopping cloudlet up" in proc.stdout
        assert "removed" in server.read_log() and made(server) == []

        server.start()  # and a server started again makes what it needs again
        arn, ip = web(server)
        assert answers(ip)
        server.ecs.stop_task(cluster="shop", task=arn)
        wait(server, arn, "STOPPED")


def unreachable(pool: str) -> bool:
    return bool(subprocess.run(["ip", "route", "show", "proto", "211", "type", "unreachable", pool],
                               capture_output=True, text=True).stdout.strip())


def test_a_server_started_with_another_public_pool_gives_the_old_one_up(tmp_path):
    with cloud(tmp_path, POOL_A) as server:
        arn, ip = web(server)
        old = server.public_pool
        assert unreachable(old)
        server.stop()  # the task runs on: its network, the pool's route with it, stays
        assert unreachable(old) and answers(ip)
        new = ranges.public_pool()
        server.args = ("--vpc-pool", POOL_A, "--public-pool", new)
        server.public_pool = new
        server.start()
        deadline = time.monotonic() + 30
        while unreachable(old) or not unreachable(new):  # once the task's router is planned again
            assert time.monotonic() < deadline, (routes(old), routes(new))
            time.sleep(0.2)
        assert answers(ip)
        server.ecs.stop_task(cluster="shop", task=arn)
        wait(server, arn, "STOPPED")


@pytest.fixture
def dummy():
    """A device of the host's, not cloudlet's, routing the first /16 the server's default
    VPC takes and a /24 of a range a tenant will ask for: a veth pair, both ends up (this
    kernel has no dummy module)."""
    name = f"cld{secrets.token_hex(3)}"
    subprocess.run(["ip", "link", "add", name, "type", "veth", "peer", "name", f"{name}p"], check=True)
    try:
        for device in (name, f"{name}p"):
            subprocess.run(["ip", "link", "set", device, "up"], check=True)
        for cidr in ("10.203.0.0/16", "10.201.7.0/24"):
            subprocess.run(["ip", "route", "add", cidr, "dev", name], check=True)
        yield name
    finally:
        subprocess.run(["ip", "link", "del", name], check=True)


def logged(server, text: str, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while text not in server.read_log():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def routes(cidr: str) -> str:
    return subprocess.run(["ip", "route", "show", "root", cidr], capture_output=True, text=True).stdout


def test_a_vpc_routed_elsewhere_on_the_host_is_refused_naming_the_device(tmp_path, dummy):
    with cloud(tmp_path, POOL_B) as server:
        arn, ip = web(server)
        assert ip.startswith("10.203.")
        assert logged(server, f"10.203.0.0/16 is already routed on this host through {dummy}")
        assert routes("10.203.0.0/16").split() == ["10.203.0.0/16", "dev", dummy, "scope", "link"]

        # a tenant's own VPC over a range the host routes (another cloudlet's tenant may have the
        # same): it runs, the host does not route it, the host's route is kept
        ec2 = server.client("ec2")
        vpc = ec2.create_vpc(CidrBlock="10.201.0.0/16")["Vpc"]["VpcId"]
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.201.7.0/24")["Subnet"]["SubnetId"]
        server.subnet = subnet
        theirs, their_ip = web(server)
        assert their_ip.startswith("10.201.7.")
        assert "10.201.0.0/16 is already routed" not in server.read_log()
        assert routes("10.201.0.0/16").split() == ["10.201.7.0/24", "dev", dummy, "scope", "link"]
        for task in (arn, theirs):
            server.ecs.stop_task(cluster="shop", task=task)
            wait(server, task, "STOPPED")
