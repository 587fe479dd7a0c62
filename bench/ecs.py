"""ECS tasks on cloudlet: how long a FARGATE task takes to run, beside podman starting the
same container in the same run, and how fast a service goes from 0 to N running tasks.

    .venv/bin/python -m bench.ecs [--runs 50] [--service 100]

1. RunTask -> RUNNING: one task at a time (busybox, `httpd -f -p 80 -h /etc`, networkMode
   awsvpc), from the boto3 run_task call until describe_tasks, polled every 10 ms, shows
   lastStatus RUNNING. Each task is then stopped and waited for until STOPPED, untimed
   (stopTimeout 1: httpd as PID 1 ignores SIGTERM, so the stop waits out that second).
   Peer: `podman run -d` of the same image and command on podman's default bridge (an
   awsvpc task, too, gets a namespace and an address of its own), removed after each run.
   Both discard a first, warm-up run (the first task also makes the subnet's bridge).
2. Service: create_service with desiredCount N, then describe_services polled until
   runningCount is N; scaled to 0 and deleted afterwards, untimed.

cloudlet runs as `cloudlet up` with an engine of its own (EngineHome: network names no
other cloudlet uses), as the ECS integration tests do; the busybox image comes
from `cloudlet image bootstrap`, and podman gets the very same image through an OCI archive.
3. Placement: 1,000 simulated container instances (RegisterContainerInstance, 3 zones, 4
   instance types), then EC2 RunTask calls of 10 tasks each, which the scheduler places by
   memory (binpack) within a zone spread, with a memberOf constraint; placements per
   second through the API, and of the placement code alone on the same fleet. No peer can
   be measured here for this row (ECS's scheduler runs only at AWS).

The server takes its VPC addresses from a pool of its own (--vpc-pool), so that neither a
cloudlet under `make up` nor an ECS integration test bridges the same subnet.
"""

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from bench.container_start import row, tear_down, timed
from bench.peers import Podman
from cloudlet.agent.images import export_archive
from cloudlet.bootstrap.images import bootstrap
from tests.e2e.server import Server
from tests.integration.engine_fixtures import EngineHome

HTTPD = ("httpd", "-f", "-p", "80", "-h", "/etc")
CLUSTER = "bench"
FAMILY = "web"
SERVICE = "bench-web"


class Ecs:
    """The ECS API of one `cloudlet up`, with a cluster and a FARGATE task definition."""

    def __init__(self, server: Server):
        self.api = server.client("ecs")
        subnet = server.client("ec2").describe_subnets()["Subnets"][0]["SubnetId"]
        self.network = {"awsvpcConfiguration": {"subnets": [subnet]}}
        self.api.create_cluster(clusterName=CLUSTER)
        self.api.register_task_definition(
            family=FAMILY, networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256", memory="512",
            containerDefinitions=[{"name": "web", "image": "busybox", "command": list(HTTPD), "stopTimeout": 1}])

    def task(self, arn: str) -> dict:
        return self.api.describe_tasks(cluster=CLUSTER, tasks=[arn])["tasks"][0]

    def wait_task(self, arn: str, status: str, interval: float, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            task = self.task(arn)
            if task["lastStatus"] == status:
                return
            # A task that stopped will never run: fail now, with ECS's reason, not at the deadline.
            if task["lastStatus"] == "STOPPED" or time.monotonic() > deadline:
                raise RuntimeError(f"task {arn} is {task['lastStatus']}, not {status}: {task.get('stoppedReason')}")
            time.sleep(interval)

    def run_until_running(self) -> str:
        arn = self.api.run_task(cluster=CLUSTER, taskDefinition=FAMILY, launchType="FARGATE",
                                networkConfiguration=self.network)["tasks"][0]["taskArn"]
        self.wait_task(arn, "RUNNING", 0.01)
        return arn

    def stop(self, arn: str) -> None:
        self.api.stop_task(cluster=CLUSTER, task=arn)
        self.wait_task(arn, "STOPPED", 0.1)

    def service(self) -> dict:
        return self.api.describe_services(cluster=CLUSTER, services=[SERVICE])["services"][0]

    def wait_service(self, done, what: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not done(current := self.service()):
            if time.monotonic() > deadline:
                raise RuntimeError(f"service {SERVICE} not {what} after {timeout:.0f} s: status "
                                   f"{current['status']}, running {current['runningCount']}, "
                                   f"pending {current['pendingCount']}; {current['events'][:3]}")
            time.sleep(0.05)

    def scale_out(self, count: int, timeout: float) -> float:
        """Seconds from create_service until runningCount is count."""
        t0 = time.perf_counter()
        self.api.create_service(cluster=CLUSTER, serviceName=SERVICE, taskDefinition=FAMILY, desiredCount=count,
                                launchType="FARGATE", networkConfiguration=self.network)
        self.wait_service(lambda s: s["runningCount"] == count, f"at {count} running", timeout)
        return time.perf_counter() - t0

    def remove_service(self, timeout: float) -> None:
        self.api.update_service(cluster=CLUSTER, service=SERVICE, desiredCount=0)
        self.api.delete_service(cluster=CLUSTER, service=SERVICE, force=True)
        self.wait_service(lambda s: s["status"] == "INACTIVE", "INACTIVE", timeout)
        # INACTIVE comes once no task is meant to run; their stops (a second each, a few at
        # a time) go on, and the server should finish them before it is stopped.
        self.wait_stopped(timeout)

    def wait_stopped(self, timeout: float) -> None:
        """Until every task of the cluster meant to stop has stopped."""
        pages = self.api.get_paginator("list_tasks").paginate(cluster=CLUSTER, desiredStatus="STOPPED")
        arns = [arn for page in pages for arn in page["taskArns"]]
        deadline = time.monotonic() + timeout
        while left := [t for i in range(0, len(arns), 100)  # describe_tasks takes 100 at most
                       for t in self.api.describe_tasks(cluster=CLUSTER, tasks=arns[i:i + 100])["tasks"]
                       if t["lastStatus"] != "STOPPED"]:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{len(left)} tasks not STOPPED after {timeout:.0f} s")
            time.sleep(0.5)


STRATEGY = [{"type": "spread", "field": "attribute:ecs.availability-zone"}, {"type": "binpack", "field": "memory"}]
CONSTRAINT = [{"type": "memberOf", "expression": "attribute:ecs.instance-type != t3.nano"}]


def placement(server: Server, count: int, calls: int = 30) -> tuple[float, float]:
    """Tasks placed per second on `count` simulated instances: through RunTask (tasks that
    are placed, then fail to start at once: their image does not exist, and they have no
    network to set up), and by control/placement.py alone on the same fleet."""
    from cloudlet.control.placement import Instance, Need, place

    api = server.client("ecs")
    api.create_cluster(clusterName="sim")
    kinds = ["t3.nano", "t3.small", "m5.large", "c5.xlarge"]
    for n in range(count):
        api.register_container_instance(
            cluster="sim", instanceIdentityDocument=json.dumps({
                "instanceId": f"i-sim{n:013d}", "availabilityZone": f"us-east-1{'abc'[n % 3]}",
                "instanceType": kinds[n % 4]}),
            totalResources=[{"name": "CPU", "type": "INTEGER", "integerValue": 2048},
                            {"name": "MEMORY", "type": "INTEGER", "integerValue": 4096}])
    api.register_task_definition(family="placed", networkMode="none", containerDefinitions=[
        {"name": "x", "image": "not-pulled-anywhere", "memory": 128, "cpu": 64}])
    t0 = time.perf_counter()
    for _ in range(calls):
        answer = api.run_task(cluster="sim", taskDefinition="placed", launchType="EC2", count=10,
                              placementStrategy=STRATEGY, placementConstraints=CONSTRAINT)
        if answer["failures"]:
            raise RuntimeError(f"placement failed: {answer['failures'][:3]}")
    api_rate = calls * 10 / (time.perf_counter() - t0)
    fleet = [Instance(f"arn:{n}", f"i-{n}", 2048, 4096, set(), {"ecs.availability-zone": f"us-east-1{'abc'[n % 3]}",
                                                                "ecs.instance-type": kinds[n % 4]})
             for n in range(count)]
    t0 = time.perf_counter()
    placed, _ = place(fleet, Need(64, 128, set(), "g"), calls * 10, STRATEGY, CONSTRAINT)
    return api_rate, len(placed) / (time.perf_counter() - t0)


def busybox_server(home: EngineHome, scratch: Path, *args: str) -> Server:
    """A `cloudlet up` (args: more of its options) whose task controller runs containers in
    home's engine, which has the busybox image."""
    bootstrap(home.engine().images, ["busybox"])
    server = Server(scratch / "up", args=("--vpc-pool", "10.112.0.0/12", *args))
    server.data_dir = home.data_dir
    return server.start()


def busybox_podman(home: EngineHome, scratch: Path) -> Podman:
    """podman with the very same busybox image, through an OCI archive."""
    archive = scratch / "busybox.tar"
    export_archive(home.engine().images, ["busybox"], archive)
    return Podman(scratch / "podman", archive)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--service", type=int, default=100, help="tasks the service scales out to")
    parser.add_argument("--instances", type=int, default=1000, help="simulated container instances to place on")
    args = parser.parse_args()
    home = EngineHome()
    scratch = Path(tempfile.mkdtemp(prefix="clbench", dir="/var/tmp"))
    server = podman = None
    try:
        server = busybox_server(home, scratch)
        ecs = Ecs(server)
        podman = busybox_podman(home, scratch)
        runs = args.runs

        print(f"busybox httpd, {runs} runs each, {os.cpu_count()} cores; milliseconds")
        print(f"{'call -> running, one at a time':<44}{'min':>9}{'median':>9}{'p95':>9}")
        print(row("ECS RunTask -> RUNNING (FARGATE, awsvpc)", timed(runs, ecs.run_until_running, ecs.stop)),
              flush=True)
        print(row("podman run -d (bridge)", timed(runs, lambda: podman.start(None, HTTPD), podman.remove)),
              flush=True)

        # Generous (100 tasks took 7-17 s on 2 cores): it only keeps a stuck service from hanging the bench.
        timeout = max(300, 6 * args.service)
        seconds = ecs.scale_out(args.service, timeout)
        print(f"{'ECS service, 0 -> N running tasks':<44}{'N':>9}{'seconds':>9}{'tasks/s':>9}")
        print(f"{'create_service -> runningCount N':<44}{args.service:>9}{seconds:>9.1f}"
              f"{args.service / seconds:>9.1f}", flush=True)
        ecs.remove_service(timeout)

        api_rate, engine_rate = placement(server, args.instances)
        print(f"{'placement on simulated instances':<44}{'N':>9}{'tasks/s':>9}")
        print(f"{'EC2 RunTask (10 tasks a call), API':<44}{args.instances:>9}{api_rate:>9.1f}")
        print(f"{'placement code alone':<44}{args.instances:>9}{engine_rate:>9.1f}", flush=True)
    finally:
        tear_down(podman, server, home, scratch)


if __name__ == "__main__":
    main()
