"""What cloudlet's application load balancer costs on real HTTP traffic, beside the same
HAProxy configuration run by hand and the targets reached directly, in the same run:

    .venv/bin/python -m bench.elb [--seconds 10] [--connections 32] [--rounds 3]

Three FARGATE tasks run nginx (the bootstrap image; busybox httpd only if nginx cannot be
built here, and the output says so), each with a public IP, behind an internet-facing ALB
over two subnets: a target group of type ip (health check every 5 s, healthy after 2), the
tasks registered by RegisterTargets, an HTTP:80 listener forwarding to it.
1. cloudlet: wrk (Debian's, 2 threads, --connections, --seconds, --latency) from the host at
   the ALB's public address: requests/s and p99 latency.
2. Peer A, hand-run HAProxy: the .cfg cloudlet rendered for this ALB, copied with only its
   socket and state file paths and its binds' port (80 -> 8080) changed, servers lines as
   they are, run with `haproxy -f` in the namespace cloudlet runs its proxy in; reached at
   the same public address on 8080 (the ALB's group lets 8080 in too), same wrk command.
   Goal: cloudlet's ALB >= 0.9x the hand-run HAProxy.
3. Peer B, direct: the same wrk at one task's public address (no proxy on the path).
4. Registration -> traffic: a 4th task, already running, registered with RegisterTargets;
   requests through the ALB every ~20 ms until one is answered by it. The time from the
   API's answer, and from the moment DescribeTargetHealth (polled every 50 ms) said
   healthy. Goal: <= 1 s after healthy.
"""

import argparse
import os
import re
import subprocess
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from bench.container_start import tear_down
from bench.scaling import until
from cloudlet.bootstrap.images import bootstrap
from cloudlet.compare.stats import median
from tests.e2e.server import Server
from tests.integration.engine_fixtures import EngineHome

PEER_PORT = 8080
HEALTH = {"HealthCheckIntervalSeconds": 5, "HealthCheckTimeoutSeconds": 2, "HealthyThresholdCount": 2,
          "UnhealthyThresholdCount": 2, "HealthCheckPath": "/"}
# Each task writes its name where a GET of /id finds it, so that the bench knows who answered.
# nginx logs to files of its own: the image's /dev/stdout and /dev/stderr links cannot be
# opened from a FARGATE task's user namespace (EACCES: the pipes belong to the host's root).
NGINX = ("rm -f /var/log/nginx/access.log /var/log/nginx/error.log && echo $NAME > /var/www/html/id && "
         "exec nginx -g 'daemon off;'", "nginx")
BUSYBOX = ("mkdir -p /var/www/html && echo $NAME > /var/www/html/id && exec httpd -f -p 80 -h /var/www/html",
           "busybox")


def web_image(home: EngineHome) -> tuple[tuple[str, str], str]:
    """The command and image the tasks run, and a note when it is not nginx."""
    try:
        bootstrap(home.engine().images, ["busybox", "nginx"])
        return NGINX, ""
    except Exception as e:  # no mirror, no mmdebstrap: the bench still measures, and says with what
        bootstrap(home.engine().images, ["busybox"])
        return BUSYBOX, f"NOTE: nginx could not be built here ({e}); the targets run busybox httpd instead"


def get(url: str, timeout: float = 1) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.read().decode().strip()
    except OSError:
        return None


class Stack:
    """Tasks with public IPs, an ALB in front of three of them, in one `cloudlet up`."""

    def __init__(self, server: Server, command: str, image: str):
        self.ec2, self.ecs, self.elb = server.client("ec2"), server.client("ecs"), server.client("elbv2")
        self.data_dir = server.data_dir
        vpc = self.ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
        self.subnets = [s["SubnetId"] for s in self.ec2.describe_subnets(
            Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]]
        self.group = self.ec2.create_security_group(GroupName="bench-web", Description="web", VpcId=vpc)["GroupId"]
        self.ec2.authorize_security_group_ingress(GroupId=self.group, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
            for port in (80, PEER_PORT)])
        self.ecs.create_cluster(clusterName="bench")
        self.ecs.register_task_definition(
            family="web", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256", memory="512",
            containerDefinitions=[{"name": "web", "image": image, "command": ["sh", "-c", command],
                                   "stopTimeout": 2}])
        self.arns: list[str] = []
        self.lb = self.elb.create_load_balancer(Name="bench", Subnets=self.subnets[:2],
                                                SecurityGroups=[self.group])["LoadBalancers"][0]
        self.target_group = self.elb.create_target_group(
            Name="web", Protocol="HTTP", Port=80, VpcId=vpc, TargetType="ip", **HEALTH
        )["TargetGroups"][0]["TargetGroupArn"]
        self.elb.create_listener(LoadBalancerArn=self.lb["LoadBalancerArn"], Protocol="HTTP", Port=80,
                                 DefaultActions=[{"Type": "forward", "TargetGroupArn": self.target_group}])

    def run(self, names: list[str]) -> dict[str, dict]:
        """Tasks by name, once running: their private and public addresses."""
        for name in names:
            self.arns.append(self.ecs.run_task(
                cluster="bench", taskDefinition="web", launchType="FARGATE",
                overrides={"containerOverrides": [{"name": "web", "environment": [{"name": "NAME", "value": name}]}]},
                networkConfiguration={"awsvpcConfiguration": {"subnets": [self.subnets[0]],
                                                              "securityGroups": [self.group],
                                                              "assignPublicIp": "ENABLED"}})["tasks"][0]["taskArn"])
        out = {}
        for name, arn in zip(names, self.arns[-len(names):]):
            task = until(lambda: self._running(arn), 120, 0.2)
            details = {d["name"]: d["value"] for d in task["attachments"][0]["details"]}
            eni = self.ec2.describe_network_interfaces(
                NetworkInterfaceIds=[details["networkInterfaceId"]])["NetworkInterfaces"][0]
            out[name] = {"ip": details["privateIPv4Address"], "public": eni["Association"]["PublicIp"]}
            until(lambda: get(f"http://{out[name]['public']}/id") == name, 30, 0.2)
        return out

    def _running(self, arn: str) -> dict | None:
        task = self.ecs.describe_tasks(cluster="bench", tasks=[arn])["tasks"][0]
        if task["lastStatus"] == "STOPPED":
            raise RuntimeError(f"task {arn} stopped: {task.get('stoppedReason')}")
        return task if task["lastStatus"] == "RUNNING" else None

    def register(self, addresses: list[str]) -> None:
        self.elb.register_targets(TargetGroupArn=self.target_group, Targets=[{"Id": a} for a in addresses])

    def health(self) -> dict[str, str]:
        return {d["Target"]["Id"]: d["TargetHealth"]["State"] for d in self.elb.describe_target_health(
            TargetGroupArn=self.target_group)["TargetHealthDescriptions"]}

    def public_address(self) -> str:
        enis = self.ec2.describe_network_interfaces(Filters=[
            {"Name": "description", "Values": ["ELB app/bench/*"]}])["NetworkInterfaces"]
        return sorted(e["Association"]["PublicIp"] for e in enis if e.get("Association"))[0]

    def directory(self) -> Path:
        return self.data_dir / "elb" / self.lb["LoadBalancerArn"].rsplit("/", 1)[-1]

    def tear_down(self) -> None:
        for arn in self.arns:
            self.ecs.stop_task(cluster="bench", task=arn)
        self.elb.delete_load_balancer(LoadBalancerArn=self.lb["LoadBalancerArn"])
        until(lambda: not self.directory().exists(), 30, 0.2)
        for arn in self.arns:
            until(lambda: self.ecs.describe_tasks(cluster="bench", tasks=[arn])["tasks"][0]["lastStatus"]
                  == "STOPPED", 60, 0.2)


def hand_run(directory: Path, scratch: Path) -> subprocess.Popen:
    """cloudlet's configuration for the ALB under `haproxy -f`, in the namespace cloudlet runs
    its proxy in, with its own socket and state file and its binds on PEER_PORT."""
    peer = scratch / "peer"
    peer.mkdir()
    text = (directory / "haproxy.cfg").read_text()
    text = re.sub(r"^(\s*stats socket )\S+", rf"\g<1>{peer / 'stats.sock'}", text, flags=re.M)
    text = re.sub(r"^(\s*server-state-file )\S+", rf"\g<1>{peer / 'server.state'}", text, flags=re.M)
    text, binds = re.subn(r"^(\s*bind \S+):80\b", rf"\g<1>:{PEER_PORT}", text, flags=re.M)
    if not binds:
        raise RuntimeError(f"no bind on port 80 in {directory / 'haproxy.cfg'}")
    (peer / "server.state").touch()
    (peer / "haproxy.cfg").write_text(text)
    home = (directory / "netns").read_text().strip()
    command = ["haproxy", "-f", str(peer / "haproxy.cfg")]
    if home:  # nsenter execs haproxy in place: the pid is haproxy's
        command = ["nsenter", f"--net=/run/netns/{home}", "--"] + command
    return subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=open(peer / "haproxy.log", "wb"))


def wrk(url: str, seconds: int, connections: int) -> tuple[float, float, str]:
    """Requests/s, p99 latency in ms, and what went wrong (non-2xx answers, socket errors)."""
    out = subprocess.run(["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "--latency", url],
                         capture_output=True, text=True, check=True, timeout=seconds + 30).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    value, unit = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()
    p99 = float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    errors = "; ".join(line.strip() for line in out.splitlines() if "Non-2xx" in line or "Socket errors" in line)
    return rate, p99, errors


def registration(stack: Stack, address: str, new: dict, name: str) -> tuple[float, float]:
    """Seconds from RegisterTargets' answer to the first answer from the new target, and
    from DescribeTargetHealth's first `healthy` for it to that answer."""
    healthy_at: list[float] = []

    def watch():
        while not healthy_at and time.monotonic() < deadline:
            if stack.health().get(new["ip"]) == "healthy":
                healthy_at.append(time.monotonic())
            time.sleep(0.05)

    stack.register([new["ip"]])
    answered = time.monotonic()
    deadline = answered + 90
    watcher = threading.Thread(target=watch)
    watcher.start()
    while get(f"http://{address}/id") != name:
        if time.monotonic() > deadline:
            raise RuntimeError(f"no answer from the registered target {new['ip']} within 90 s")
        time.sleep(0.02)
    first = time.monotonic()
    watcher.join()
    if not healthy_at:
        raise RuntimeError(f"target {new['ip']} never turned healthy")
    return first - answered, first - healthy_at[0]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    home = EngineHome()
    scratch = Path(tempfile.mkdtemp(prefix="clbench", dir="/var/tmp"))
    server = stack = peer = None
    try:
        (command, image), note = web_image(home)
        # a pool of its own (never 10.255/16: the host resolves names through 10.255.255.53)
        server = Server(scratch / "up", args=("--vpc-pool", "10.244.0.0/14"))
        server.data_dir = home.data_dir
        server.start()
        stack = Stack(server, command, image)
        tasks = stack.run(["one", "two", "three", "four"])
        stack.register([tasks[n]["ip"] for n in ("one", "two", "three")])
        stack.elb.get_waiter("load_balancer_available").wait(
            LoadBalancerArns=[stack.lb["LoadBalancerArn"]], WaiterConfig={"Delay": 1, "MaxAttempts": 60})
        until(lambda: set(stack.health().values()) == {"healthy"}, 60, 0.2)
        address = stack.public_address()
        peer = hand_run(stack.directory(), scratch)
        try:
            # its servers start down and come up after the checks pass, as they did for the ALB
            until(lambda: get(f"http://{address}:{PEER_PORT}/id") in ("one", "two", "three"), 30, 0.2)
        except RuntimeError:
            log = (scratch / "peer" / "haproxy.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"the hand-run HAProxy did not answer on :{PEER_PORT} (exit {peer.poll()}): {log}")

        if note:
            print(note)
        print(f"{image} on 3 FARGATE tasks, {os.cpu_count()} cores; wrk -t 2 -c {args.connections} "
              f"-d {args.seconds}s --latency from the host, GET /; {args.rounds} rounds, the three in turn "
              "each round, medians shown (two cores shared by wrk, the proxies and nginx swing from run to run)")
        wrk(f"http://{address}/", 2, args.connections)  # warm-up: nginx workers, connection tracking
        urls = {"cloudlet ALB (public address, :80)": f"http://{address}/",
                "peer A: hand-run HAProxy, same cfg (:8080)": f"http://{address}:{PEER_PORT}/",
                "peer B: direct to one task (its public IP)": f"http://{tasks['one']['public']}/"}
        runs: dict[str, list] = {name: [] for name in urls}
        for _ in range(args.rounds):
            for name, url in urls.items():
                runs[name].append(wrk(url, args.seconds, args.connections))
        figures = {name: (median([r for r, _, _ in got]), median([p for _, p, _ in got]),
                          "; ".join(e for _, _, e in got if e)) for name, got in runs.items()}
        print(f"{'':<46}{'req/s':>10}{'p99 ms':>9}   req/s of each round")
        for name, (rate, p99, errors) in figures.items():
            print(f"{name:<46}{rate:>10.0f}{p99:>9.2f}   {' '.join(f'{r:.0f}' for r, _, _ in runs[name])}"
                  + (f"  ({errors})" if errors else ""))
        alb, hand, direct = (rate for rate, _, _ in figures.values())
        print(f"ALB / hand-run HAProxy: {alb / hand:.2f}x (goal >= 0.9x: {'met' if alb >= 0.9 * hand else 'missed'})")
        print(f"ALB / direct: {alb / direct:.2f}x; hand-run HAProxy / direct: {hand / direct:.2f}x")

        since_call, since_healthy = registration(stack, address, tasks["four"], "four")
        print("registration -> traffic (health check: interval 5 s, healthy threshold 2; polled every 20 ms):")
        print(f"  RegisterTargets answered -> first answer from the new task: {since_call:.2f} s "
              "(no sooner than 2 checks, 5 s apart, can pass)")
        print(f"  DescribeTargetHealth healthy -> first answer from it: {since_healthy:+.2f} s "
              f"(goal <= 1 s: {'met' if since_healthy <= 1 else 'missed'})"
              + ("; the proxy counted it up before the store said so (health is read once a second)"
                 if since_healthy < 0 else ""))
    finally:
        if peer:
            peer.terminate()
            peer.wait(10)
        try:
            if stack:
                stack.tear_down()
        finally:
            tear_down(None, server, home, scratch)


if __name__ == "__main__":
    main()
