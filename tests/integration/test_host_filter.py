"""What a workload reaches of the host: from a FARGATE task, a `cloudlet run` container and
a VM, the API port (the server listens on every address here, as with --host 0.0.0.0) and
any other host service are out of reach on every host address (and on its VPC router's own
address, its gateway, which answers nothing either); the task reaches its own
metadata endpoint at 169.254.170.2 (and not another task's), the VM its instance metadata
at 169.254.169.254; neither endpoint serves anything of the API."""

import ipaddress
import socket
import subprocess
import sys
import threading

import pytest
from ecs_fixtures import register, run, wait
from engine_fixtures import busybox_home

from tests.e2e.server import Server
from tests.integration.ec2_fixtures import SSH_OPTIONS, WAIT, ami_id, key_pair, until_answers
from tests.hostcaps import need_binaries

pytestmark = [pytest.mark.root, pytest.mark.runc, pytest.mark.netns, pytest.mark.qemu]
SLEEPER = {"name": "app", "image": "busybox", "command": ["sleep", "600"]}


@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    need_binaries("qemu-system-x86_64", "qemu-img", "lz4", "dropbear", "ssh")
    with busybox_home("nft", "ip") as home:
        server = Server(tmp_path_factory.mktemp("host-filter"), args=("--vpc-pool", "10.64.0.0/12",
                                                                       "--host", "0.0.0.0"))
        server.data_dir = home.data_dir
        server.start()
        try:
            server.ecs, server.home_ = server.client("ecs"), home
            server.ecs.create_cluster(clusterName="shop")
            server.subnet_row = server.client("ec2").describe_subnets()["Subnets"][0]
            server.subnet = server.subnet_row["SubnetId"]  # what ecs_fixtures.run takes
            yield server
        finally:
            server.stop()


@pytest.fixture(scope="module")
def host_service():
    """Some service of the host's, listening on every address: no workload may reach it."""
    listener = socket.socket()
    listener.bind(("0.0.0.0", 0))
    listener.listen(8)
    stop = threading.Event()

    def answer():
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            conn.sendall(b"host secret\n")
            conn.close()
    threading.Thread(target=answer, daemon=True).start()
    yield listener.getsockname()[1]
    stop.set()
    listener.close()


def gateway(cidr: str) -> str:
    return str(next(ipaddress.ip_network(cidr).hosts()))


def host_addresses(nearest: str) -> list[str]:
    """The host's addresses a workload could aim at: the nearest (its bridge's gateway, its
    VPC router's uplink's host end), and the address the host would leave by (if it has a
    default route)."""
    found = [nearest]
    route = subprocess.run(["ip", "-o", "route", "get", "192.0.2.1"], capture_output=True, text=True).stdout.split()
    if "src" in route:
        found.append(route[route.index("src") + 1])
    return found


def probes(addresses: list[str], ports: list[int]) -> str:
    """A shell line printing, for each address:port, whether a connection was made."""
    return "; ".join(f"if nc -w 2 {a} {p} </dev/null >/dev/null 2>&1; then echo {a}:{p} open; "
                     f"else echo {a}:{p} closed; fi" for a in addresses for p in ports)


def http(address: str, path: str) -> str:
    # busybox nc closes the connection when its input ends: keep it open for the answer
    return f"(printf 'GET %s HTTP/1.0\\r\\n\\r\\n' \"{path}\"; sleep 1) | nc -w 3 {address} 80"


def assert_closed(output: str, addresses: list[str], ports: list[int]) -> None:
    expected = [f"{a}:{p} closed" for a in addresses for p in ports]
    assert output.split("\n")[:len(expected)] == expected, output


def uplink_host_end(cloud) -> str:
    """The host's address at the end of the uplink of the VPC router the subnet's tasks and VMs are in."""
    routers = cloud.home_.engine().networks.routers
    return routers.link_addresses(routers.index(cloud.subnet_row["VpcId"]))[0]


def test_from_a_task(cloud, host_service):
    first = wait(cloud, run(cloud, register(cloud, "probe", SLEEPER)), "RUNNING")
    other = wait(cloud, run(cloud, register(cloud, "other", SLEEPER)), "RUNNING")
    addresses, ports = host_addresses(uplink_host_end(cloud)) + [gateway(cloud.subnet_row["CidrBlock"])], \
        [cloud.port, host_service]
    for address in addresses[:-1]:  # they really listen there: only the filter keeps workloads out
        socket.create_connection((address, host_service), timeout=2).close()
    cid = first["containers"][0]["runtimeId"]
    sh = lambda line: cloud.home_.cli("exec", cid, "sh", "-c", line, check=False).stdout  # noqa: E731
    assert_closed(sh(probes(addresses, ports)), addresses, ports)
    own = sh(http("169.254.170.2", "${ECS_CONTAINER_METADATA_URI_V4#http://169.254.170.2}/task"))
    assert own.startswith("HTTP/1.1 200") and first["taskArn"] in own, own
    other_id = other["taskArn"].rsplit("/", 1)[1]
    assert sh(http("169.254.170.2", f"/v4/{other_id}-app/task")).startswith("HTTP/1.1 404"), "another task's"
    for path in ("/_cloudlet/health", "/v2/", "/"):
        answer = sh(http("169.254.170.2", path))
        assert answer.startswith("HTTP/1.1 404") and "ok" not in answer, (path, answer)
    for task in (first, other):
        cloud.ecs.stop_task(cluster="shop", task=task["taskArn"])


def test_from_a_container(cloud, host_service):
    network = cloud.home_.engine().networks.list()["bridge"]
    addresses, ports = host_addresses(gateway(network["subnet"])), [cloud.port, host_service]
    out = cloud.home_.cli("run", "--rm", "busybox", "sh", "-c", probes(addresses, ports)).stdout
    assert_closed(out, addresses, ports)


def test_from_a_vm(cloud, host_service, tmp_path):
    ec2 = cloud.client("ec2")
    key = key_pair(ec2, "probe", tmp_path)
    iid = ec2.run_instances(ImageId=ami_id(ec2), InstanceType="t3.nano", MinCount=1, MaxCount=1, KeyName="probe",
                            SubnetId=cloud.subnet)["Instances"][0]["InstanceId"]
    try:
        ec2.get_waiter("instance_running").wait(InstanceIds=[iid], WaiterConfig=WAIT)
        addresses, ports = host_addresses(uplink_host_end(cloud)), [cloud.port, host_service]
        line = probes(addresses, ports) + "; " + http("169.254.169.254", "/_cloudlet/health") + "; echo; " + \
            http("169.254.169.254", "/latest/meta-data/instance-id")
        out = until_answers([sys.executable, "-m", "cloudlet.cli.main", "ssh", iid, "-i", key, "--", *SSH_OPTIONS,
                             line], env=cloud.env())
        assert_closed(out, addresses, ports)
        assert "HTTP/1.1 404" in out and "\"ok\"" not in out, out
        assert out.rstrip().endswith(iid), out  # its own metadata answers
    finally:
        ec2.terminate_instances(InstanceIds=[iid])
        ec2.get_waiter("instance_terminated").wait(InstanceIds=[iid], WaiterConfig=WAIT)
