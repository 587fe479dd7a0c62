"""What security groups cost on real traffic, and how soon a rule holds: two FARGATE tasks in
one VPC (cloudlet up, busybox), measured from inside their network namespaces with iperf3
(Debian's) and a one-byte TCP ping-pong, in the same run:

    .venv/bin/python -m bench.vpc [--seconds 5] [--groups 100] [--rules 10]

1. Peer, raw: the same two namespaces and router with the router's nftables table emptied
   (routed veths, no rules: what the topology alone costs).
2. cloudlet, the VPC's default group only (members reach each other).
3. cloudlet, --groups groups of --rules rules each in the VPC, the tasks members of five of
   them, the rule that lets them talk being the last of the last group.
Throughput: iperf3 -t --seconds, one TCP stream; latency: median and p99 of 2,000 round
trips. Goal: filtered >= 0.9x raw throughput.
4. A rule change -> enforced: AuthorizeSecurityGroupIngress for the port a client is trying
   every millisecond (from the other task's namespace), from the call's answer to the first
   connection that gets through; and RevokeSecurityGroupIngress to the first one refused.
   Median over --changes runs. Goal: <= 100 ms after the API answers.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.container_start import tear_down
from cloudlet.bootstrap.images import bootstrap
from tests.e2e.server import Server
from tests.integration.engine_fixtures import EngineHome

PING_SERVER = """import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1]))); s.listen(1); print("ready", flush=True)
c, _ = s.accept(); c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
while (b := c.recv(1)):
    c.sendall(b)
"""
PING_CLIENT = """import socket, sys, time
c = socket.create_connection((sys.argv[1], int(sys.argv[2]))); c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
out = []
for _ in range(int(sys.argv[3])):
    t = time.perf_counter(); c.sendall(b"x"); c.recv(1); out.append((time.perf_counter() - t) * 1e6)
print(" ".join(f"{x:.1f}" for x in out))
"""
# accepts for as long as it runs: a listener that took one connection and went would look
# like a revoked rule
ACCEPT = """import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1]))); s.listen(64)
while True:
    s.accept()[0].close()
"""
# prints when the first attempt that shows the change began (a refused one ends only at its timeout)
TRY = """import socket, sys, time
deadline = time.monotonic() + 10
want = sys.argv[3] == "open"
while time.monotonic() < deadline:
    began = time.time()
    try:
        socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=0.05).close()
        got = True
    except OSError:
        got = False
    if got == want:
        print(began, flush=True)
        break
    time.sleep(0.001)
"""


def inside(netns: str, *args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen(["nsenter", f"--net={netns}", "--", *args], stdout=subprocess.PIPE, text=True, **kw)


class Pair:
    def __init__(self, server: Server, home: EngineHome):
        self.home = home
        self.ec2, self.ecs = server.client("ec2"), server.client("ecs")
        self.subnet = self.ec2.describe_subnets()["Subnets"][0]
        self.vpc = self.subnet["VpcId"]
        self.ecs.create_cluster(clusterName="bench")
        self.ecs.register_task_definition(
            family="idle", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256", memory="512",
            containerDefinitions=[{"name": "app", "image": "busybox", "command": ["sleep", "3600"], "stopTimeout": 1}])
        self.arns: list[str] = []

    def start(self, groups: list[str] | None = None) -> None:
        """A server task and a client task, in groups (default: the VPC's default group)."""
        for arn in self.arns:
            self.ecs.stop_task(cluster="bench", task=arn)
        self.arns = []
        self.server_task, self.client_task = self.run(groups), self.run(groups)

    def run(self, groups: list[str] | None) -> dict:
        config = {"subnets": [self.subnet["SubnetId"]], **({"securityGroups": groups} if groups else {})}
        arn = self.ecs.run_task(cluster="bench", taskDefinition="idle", launchType="FARGATE", networkConfiguration={
            "awsvpcConfiguration": config})["tasks"][0]["taskArn"]
        self.arns.append(arn)
        deadline = time.monotonic() + 60
        while (task := self.ecs.describe_tasks(cluster="bench", tasks=[arn])["tasks"][0])["lastStatus"] != "RUNNING":
            if task["lastStatus"] == "STOPPED" or time.monotonic() > deadline:
                raise RuntimeError(f"task {arn}: {task.get('stoppedReason')}")
            time.sleep(0.1)
        details = {d["name"]: d["value"] for d in task["attachments"][0]["details"]}
        port = self.home.engine().networks.routers.plugged()[details["networkInterfaceId"]]
        return {"ip": details["privateIPv4Address"], "eni": details["networkInterfaceId"],
                "netns": f"/run/netns/{port['netns']}"}

    def throughput(self, seconds: int) -> float:
        """Gbit/s of one TCP stream, client to server."""
        iperf = inside(self.server_task["netns"], "iperf3", "-s", "-1", "-p", "5201")
        time.sleep(0.3)
        out = subprocess.run(["nsenter", f"--net={self.client_task['netns']}", "--", "iperf3", "-c",
                              self.server_task["ip"], "-p", "5201", "-t", str(seconds), "-f", "g"],
                             capture_output=True, text=True, check=True).stdout
        iperf.wait(10)
        receiver = next(line for line in out.splitlines() if line.rstrip().endswith("receiver"))
        return float(receiver.split("Gbits/sec")[0].split()[-1])

    def latency(self, count: int = 2000) -> tuple[float, float]:
        """Median and p99 of TCP round trips, in microseconds."""
        echo = inside(self.server_task["netns"], sys.executable, "-c", PING_SERVER, "7000")
        echo.stdout.readline()
        out = subprocess.run(["nsenter", f"--net={self.client_task['netns']}", "--", sys.executable, "-c",
                              PING_CLIENT, self.server_task["ip"], "7000", str(count)], capture_output=True,
                             text=True, check=True).stdout
        echo.kill()
        echo.wait()
        samples = sorted(float(x) for x in out.split())
        return statistics.median(samples), samples[int(len(samples) * 0.99)]

    def router_netns(self) -> str:
        routers = self.home.engine().networks.routers
        return f"/run/netns/{routers.netns(routers.index(self.vpc))}"

    def groups(self, count: int, rules: int) -> list[str]:
        """count groups of rules rules each (tcp ports from an address range no one has);
        the last one also lets the bench's ports in from the subnet. Their ids."""
        ids = []
        for n in range(count):
            gid = self.ec2.create_security_group(GroupName=f"g{n}", Description="bench", VpcId=self.vpc)["GroupId"]
            self.ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=[
                {"IpProtocol": "tcp", "FromPort": 10000 + r, "ToPort": 10000 + r,
                 "IpRanges": [{"CidrIp": f"192.0.2.{r % 250}/32"}]} for r in range(rules)])
            ids.append(gid)
        self.ec2.authorize_security_group_ingress(GroupId=ids[-1], IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "IpRanges": [{"CidrIp": self.subnet["CidrBlock"]}]}
            for port in (5201, 7000)])
        return ids

    def enforce_time(self, group: str, port: int, authorize: bool) -> float:
        """Milliseconds from the API's answer to the first connection that shows the change."""
        listener = inside(self.server_task["netns"], sys.executable, "-c", ACCEPT, str(port))
        time.sleep(0.2)
        trying = inside(self.client_task["netns"], sys.executable, "-c", TRY, self.server_task["ip"], str(port),
                        "open" if authorize else "closed")
        time.sleep(0.2)
        permission = [{"IpProtocol": "tcp", "FromPort": port, "ToPort": port,
                       "IpRanges": [{"CidrIp": self.subnet["CidrBlock"]}]}]
        call = self.ec2.authorize_security_group_ingress if authorize else self.ec2.revoke_security_group_ingress
        call(GroupId=group, IpPermissions=permission)
        answered = time.time()
        seen = float(trying.communicate(timeout=15)[0].strip() or "nan")
        listener.kill()
        listener.wait()
        return (seen - answered) * 1000


def raw(pair: Pair, seconds: int) -> tuple[float, tuple[float, float]]:
    """The same path with the router's table gone (the next change of its plan loads it again)."""
    subprocess.run(["nsenter", f"--net={pair.router_netns()}", "--", "nft", "delete", "table", "ip", "vpc"],
                   check=True)
    return pair.throughput(seconds), pair.latency()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--groups", type=int, default=100)
    parser.add_argument("--rules", type=int, default=10)
    parser.add_argument("--changes", type=int, default=10)
    args = parser.parse_args()
    home = EngineHome()
    scratch = Path(tempfile.mkdtemp(prefix="clbench", dir="/var/tmp"))
    server = None
    try:
        bootstrap(home.engine().images, ["busybox"])
        server = Server(scratch / "up", args=("--vpc-pool", "10.224.0.0/12"))
        server.data_dir = home.data_dir
        server.start()
        pair = Pair(server, home)
        groups = pair.groups(args.groups, args.rules)
        pair.start()
        print(f"two FARGATE tasks in one subnet, {os.cpu_count()} cores; one TCP stream for {args.seconds} s, "
              "2,000 one-byte round trips")
        print(f"{'':<52}{'Gbit/s':>9}{'rtt p50':>9}{'rtt p99':>9}  (us)")
        default = pair.throughput(args.seconds), pair.latency()
        pair.start(groups[-5:])  # members of five groups, the one that lets them talk last
        many = pair.throughput(args.seconds), pair.latency()
        bare = raw(pair, args.seconds)
        for name, (gbits, (p50, p99)) in (("peer: routed veths, no rules", bare),
                                          ("cloudlet: the default group", default),
                                          (f"cloudlet: {args.groups} groups x {args.rules} rules", many)):
            print(f"{name:<52}{gbits:>9.2f}{p50:>9.1f}{p99:>9.1f}")
        ratio = many[0] / bare[0]
        print(f"filtered / raw throughput: {ratio:.2f}x (goal >= 0.9x: {'met' if ratio >= 0.9 else 'missed'})")
        opened, closed = [], []
        for n in range(args.changes):
            opened.append(pair.enforce_time(groups[-1], 7101 + n, authorize=True))
            closed.append(pair.enforce_time(groups[-1], 7101 + n, authorize=False))
        worst = max(statistics.median(opened), statistics.median(closed))
        print(f"rule change -> enforced, over {args.changes} changes (ms after the API answered):")
        print(f"  authorize -> first connection through: median {statistics.median(opened):.0f}, max {max(opened):.0f}")
        print(f"  revoke -> first connection refused: median {statistics.median(closed):.0f}, max {max(closed):.0f}")
        print(f"  goal <= 100 ms: {'met' if worst <= 100 else 'missed'}")
    finally:
        tear_down(None, server, home, scratch)


if __name__ == "__main__":
    main()
