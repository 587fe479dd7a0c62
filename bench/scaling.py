"""From a metric crossing its alarm's threshold to the task (ECS service) or the VM (Auto
Scaling group) that scaling added running, on cloudlet, beside podman starting the same
container and RunInstances of the same AMI in the same run.

    .venv/bin/python -m bench.scaling [--runs 5] [--vm-runs 3]

Each run: an ECS service (busybox httpd, FARGATE) at 1 task, an Application Auto Scaling
target (1 to 2) with a step policy (ExactCapacity 2) that a 10-second alarm on a
high-resolution custom metric runs. The bench puts one datapoint above the threshold and
times: put -> alarm in ALARM (bounded by the alarm's period: the evaluator judges a period
once it has ended, as CloudWatch does), ALARM -> the service's desired count 2, and -> its
second task RUNNING. Then it puts the metric back below, sets the service back to 1 task
and waits for it, untimed. Peer: `podman run -d` of the same image and command (what the
scaled-out task itself costs, without the decision to start it).

The same for an Auto Scaling group of the busybox AMI (t3.nano, launch template, 1 to 2
instances, a step policy on its own 10-second alarm): put -> ALARM -> desired 2 -> the new
instance running in EC2 (the guest's init has run). Peer: RunInstances of the same AMI and
type -> running, through the same server (the launch itself, without the decision).
"""

import argparse
import datetime
import os
import statistics
import tempfile
import time
from pathlib import Path

from bench.container_start import row, tear_down, timed
from bench.ecs import CLUSTER, FAMILY, HTTPD, Ecs, busybox_podman, busybox_server
from cloudlet.agent.vms import accelerator
from tests.e2e.server import Server
from tests.integration.engine_fixtures import EngineHome

SERVICE = "scaled"
RESOURCE = f"service/{CLUSTER}/{SERVICE}"
TARGET = dict(ServiceNamespace="ecs", ResourceId=RESOURCE, ScalableDimension="ecs:service:DesiredCount")


def until(check, timeout: float = 120, interval: float = 0.01):
    deadline = time.monotonic() + timeout
    while not (got := check()):
        if time.monotonic() > deadline:
            raise RuntimeError(f"not done after {timeout} s")
        time.sleep(interval)
    return got


class Scaling:
    def __init__(self, server: Server, ecs: Ecs):
        self.ecs, self.cw = ecs, server.client("cloudwatch")
        aas = server.client("application-autoscaling")
        ecs.api.create_service(cluster=CLUSTER, serviceName=SERVICE, taskDefinition=FAMILY, desiredCount=1,
                               launchType="FARGATE", networkConfiguration=ecs.network)
        self.wait_running(1)
        aas.register_scalable_target(**TARGET, MinCapacity=1, MaxCapacity=2)
        policy = aas.put_scaling_policy(PolicyName="out", **TARGET, PolicyType="StepScaling",
                                        StepScalingPolicyConfiguration={
                                            "AdjustmentType": "ExactCapacity", "Cooldown": 0, "StepAdjustments": [
                                                {"MetricIntervalLowerBound": 0, "ScalingAdjustment": 2}]})
        self.cw.put_metric_alarm(AlarmName="load-high", Namespace="Bench", MetricName="Load", Statistic="Maximum",
                                 Period=10, EvaluationPeriods=1, Threshold=50, ComparisonOperator="GreaterThanThreshold",
                                 TreatMissingData="notBreaching", AlarmActions=[policy["PolicyARN"]])

    def service(self) -> dict:
        return self.ecs.api.describe_services(cluster=CLUSTER, services=[SERVICE])["services"][0]

    def wait_running(self, count: int) -> None:
        until(lambda: (s := self.service())["runningCount"] == count and s["desiredCount"] == count, 120, 0.05)

    def load(self, value: float) -> None:
        self.cw.put_metric_data(Namespace="Bench", MetricData=[{
            "MetricName": "Load", "Value": value, "StorageResolution": 1,
            "Timestamp": datetime.datetime.now(datetime.timezone.utc)}])

    def once(self) -> tuple[float, float, float]:
        """Seconds: put -> ALARM, ALARM -> desired 2, desired 2 -> second task RUNNING."""
        t0 = time.perf_counter()
        self.load(100)
        until(lambda: self.cw.describe_alarms(AlarmNames=["load-high"])["MetricAlarms"][0]["StateValue"] == "ALARM")
        t1 = time.perf_counter()
        try:
            until(lambda: self.service()["desiredCount"] == 2)
        except RuntimeError:
            for h in self.cw.describe_alarm_history(AlarmName="load-high")["AlarmHistoryItems"]:
                print(h["HistoryItemType"], h["HistorySummary"], h["HistoryData"][:400])
            raise
        t2 = time.perf_counter()
        until(lambda: self.service()["runningCount"] == 2)
        return t1 - t0, t2 - t1, time.perf_counter() - t2

    def reset(self) -> None:
        self.load(0)
        self.cw.set_alarm_state(AlarmName="load-high", StateValue="OK", StateReason="bench reset")
        self.ecs.api.update_service(cluster=CLUSTER, service=SERVICE, desiredCount=1)
        self.wait_running(1)
        time.sleep(10)  # the next run starts in a period the low value already closed


class GroupScaling:
    def __init__(self, server: Server):
        self.ec2, self.asg, self.cw = server.client("ec2"), server.client("autoscaling"), server.client("cloudwatch")
        self.ami = self.ec2.describe_images(Owners=["amazon"], Filters=[
            {"Name": "name", "Values": ["cloudlet-busybox"]}])["Images"][0]["ImageId"]
        self.subnet = self.ec2.describe_subnets()["Subnets"][0]["SubnetId"]
        self.ec2.create_launch_template(LaunchTemplateName="bench", LaunchTemplateData={
            "ImageId": self.ami, "InstanceType": "t3.nano"})
        self.asg.create_auto_scaling_group(AutoScalingGroupName="bench", LaunchTemplate={
            "LaunchTemplateName": "bench"}, MinSize=1, MaxSize=2, DesiredCapacity=1, VPCZoneIdentifier=self.subnet)
        policy = self.asg.put_scaling_policy(AutoScalingGroupName="bench", PolicyName="out", PolicyType="StepScaling",
                                             AdjustmentType="ExactCapacity", StepAdjustments=[
                                                 {"MetricIntervalLowerBound": 0, "ScalingAdjustment": 2}])
        self.cw.put_metric_alarm(AlarmName="vm-load-high", Namespace="Bench", MetricName="VMLoad",
                                 Statistic="Maximum", Period=10, EvaluationPeriods=1, Threshold=50,
                                 ComparisonOperator="GreaterThanThreshold", TreatMissingData="notBreaching",
                                 AlarmActions=[policy["PolicyARN"]])
        self.wait_in_service(1)

    def group(self) -> dict:
        return self.asg.describe_auto_scaling_groups(AutoScalingGroupNames=["bench"])["AutoScalingGroups"][0]

    def running(self) -> set[str]:
        ids = [i["InstanceId"] for i in self.group()["Instances"]]
        found = self.ec2.describe_instances(InstanceIds=ids)["Reservations"] if ids else []
        return {i["InstanceId"] for r in found for i in r["Instances"] if i["State"]["Name"] == "running"}

    def wait_in_service(self, count: int) -> None:
        until(lambda: sum(i["LifecycleState"] == "InService" for i in self.group()["Instances"]) == count and
              len(self.group()["Instances"]) == count, 300, 0.1)

    def once(self) -> tuple[float, float, float]:
        before = self.running()
        t0 = time.perf_counter()
        self.cw.put_metric_data(Namespace="Bench", MetricData=[{
            "MetricName": "VMLoad", "Value": 100, "StorageResolution": 1,
            "Timestamp": datetime.datetime.now(datetime.timezone.utc)}])
        until(lambda: self.cw.describe_alarms(AlarmNames=["vm-load-high"])["MetricAlarms"][0]["StateValue"] ==
              "ALARM", 120, 0.02)
        t1 = time.perf_counter()
        until(lambda: self.group()["DesiredCapacity"] == 2, 120, 0.02)
        t2 = time.perf_counter()
        until(lambda: self.running() - before, 300, 0.05)
        return t1 - t0, t2 - t1, time.perf_counter() - t2

    def reset(self) -> None:
        self.cw.set_alarm_state(AlarmName="vm-load-high", StateValue="OK", StateReason="bench reset")
        self.asg.set_desired_capacity(AutoScalingGroupName="bench", DesiredCapacity=1)
        self.wait_in_service(1)
        time.sleep(10)

    def run_instance(self) -> str:
        iid = self.ec2.run_instances(ImageId=self.ami, InstanceType="t3.nano", MinCount=1, MaxCount=1,
                                     SubnetId=self.subnet)["Instances"][0]["InstanceId"]
        until(lambda: self.ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]["State"][
            "Name"] == "running", 300, 0.05)
        return iid

    def terminate(self, iid: str) -> None:
        self.ec2.terminate_instances(InstanceIds=[iid])
        self.ec2.get_waiter("instance_terminated").wait(InstanceIds=[iid], WaiterConfig={"Delay": 1, "MaxAttempts": 120})

    def remove(self) -> None:
        self.asg.delete_auto_scaling_group(AutoScalingGroupName="bench", ForceDelete=True)
        until(lambda: not self.asg.describe_auto_scaling_groups(AutoScalingGroupNames=["bench"])["AutoScalingGroups"],
              300, 0.5)


def report(title: str, samples: list[tuple], peer_name: str, peer: list[float]) -> None:
    print(f"{title}; milliseconds")
    print(f"{'':<44}{'min':>9}{'median':>9}{'p95':>9}")
    for k, name in enumerate(("put -> alarm ALARM (10-s period)", "ALARM -> desired 2", "desired 2 -> new one running")):
        print(row(name, [s[k] * 1000 for s in samples]))
    print(row("put -> new one running (total)", [sum(s) * 1000 for s in samples]))
    print(row(peer_name, peer))
    print(f"median ALARM -> running {statistics.median(s[1] + s[2] for s in samples) * 1000:.0f} ms beside "
          f"{statistics.median(peer):.0f} ms for the peer", flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--vm-runs", type=int, default=3, help="0: no Auto Scaling group")
    args = parser.parse_args()
    home = EngineHome()
    scratch = Path(tempfile.mkdtemp(prefix="clbench", dir="/var/tmp"))
    server = podman = None
    try:
        server = busybox_server(home, scratch, "--metrics-interval", "1")
        ecs = Ecs(server)
        scaling = Scaling(server, ecs)
        samples = []
        for _ in range(args.runs):
            samples.append(scaling.once())
            scaling.reset()
        podman = busybox_podman(home, scratch)
        peer = timed(args.runs, lambda: podman.start(None, HTTPD), podman.remove)
        report(f"threshold crossed -> scaled-out ECS task RUNNING, {args.runs} runs, {os.cpu_count()} cores", samples,
               "podman run -d (bridge), the peer", peer)
        if args.vm_runs:
            group = GroupScaling(server)
            vm_samples = []
            for _ in range(args.vm_runs):
                vm_samples.append(group.once())
                group.reset()
            vm_peer = timed(args.vm_runs, group.run_instance, group.terminate)
            group.remove()
            report(f"threshold crossed -> Auto Scaling VM running ({accelerator()}), {args.vm_runs} runs", vm_samples,
                   "RunInstances -> running, the peer", vm_peer)
    finally:
        tear_down(podman, server, home, scratch)


if __name__ == "__main__":
    main()
