"""The two ways `cloudlet compare` runs one image, through cloudlet's own APIs as a user
would: an ECS FARGATE task (a runc container) and an EC2 instance (a QEMU microVM booting
an AMI made of the image by `cloudlet image to-ami`). Both in the default VPC's first
subnet, behind one security group that lets the host reach the workload's port, with the
same memory: 512 MiB (a FARGATE task's smallest, a t3.nano's)."""

from __future__ import annotations

import json
from pathlib import Path

from cloudlet.agent.runtime.cgroups import PARENT, Cgroup

NAME = "cloudlet-compare"
STREAM_PREFIX = "compare"
CONTAINER = "workload"
INSTANCE_TYPE = "t3.nano"


class Gone(RuntimeError):
    """The task or instance ended before it was up."""


class Network:
    """The default VPC's first subnet and a security group of the compare's own."""

    def __init__(self, ec2, port: int | None):
        self.ec2 = ec2
        vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
        subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]
        self.subnet = sorted(subnets, key=lambda s: s["AvailabilityZone"])[0]["SubnetId"]
        found = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": [NAME]},
                                                      {"Name": "vpc-id", "Values": [vpc]}])["SecurityGroups"]
        self.group = found[0]["GroupId"] if found else ec2.create_security_group(
            GroupName=NAME, Description="cloudlet compare: the host reaches the workload", VpcId=vpc)["GroupId"]
        if port and not found:
            ec2.authorize_security_group_ingress(GroupId=self.group, IpPermissions=[
                {"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])

    def remove(self) -> None:
        self.ec2.delete_security_group(GroupId=self.group)


class Container:
    kind, label = "container", "ECS FARGATE task (runc container; 0.25 vCPU, 512 MiB)"

    def __init__(self, ecs, logs, engine, network: Network, image: str, account: str):
        self.ecs, self.logs, self.engine, self.network = ecs, logs, engine, network
        region = ecs.meta.region_name
        self.ecs.create_cluster(clusterName=NAME)
        log = {"logDriver": "awslogs", "options": {"awslogs-group": f"/{NAME}", "awslogs-region": region,
                                                   "awslogs-stream-prefix": STREAM_PREFIX,
                                                   "awslogs-create-group": "true"}}
        self.definition = self.ecs.register_task_definition(
            family=NAME, networkMode="awsvpc",
            # FARGATE's awslogs driver writes with the execution role, as on AWS
            executionRoleArn=f"arn:aws:iam::{account}:role/ecsTaskExecutionRole", requiresCompatibilities=["FARGATE"], cpu="256", memory="512",
            containerDefinitions=[{"name": CONTAINER, "image": image, "essential": True, "logConfiguration": log,
                                   "stopTimeout": 2}])["taskDefinition"]["taskDefinitionArn"]

    def launch(self, count: int, probe: str | None = None) -> list[str]:
        overrides = {"containerOverrides": [{"name": CONTAINER, "command": ["sh", "-c", probe]}]} if probe else {}
        out = []
        while len(out) < count:  # RunTask starts at most 10 at once
            answer = self.ecs.run_task(
                cluster=NAME, taskDefinition=self.definition, launchType="FARGATE", count=min(10, count - len(out)),
                overrides=overrides, networkConfiguration={"awsvpcConfiguration": {
                    "subnets": [self.network.subnet], "securityGroups": [self.network.group]}})
            if answer["failures"]:
                raise RuntimeError(f"RunTask: {answer['failures'][0]}")
            out += [t["taskArn"] for t in answer["tasks"]]
        return out

    def _task(self, arn: str) -> dict:
        return self.ecs.describe_tasks(cluster=NAME, tasks=[arn])["tasks"][0]

    def address(self, arn: str) -> str | None:
        """The task's address once it runs (its process started), None before."""
        task = self._task(arn)
        if task["lastStatus"] == "STOPPED":
            raise Gone(f"task {arn} stopped: {task.get('stoppedReason')}")
        if task["lastStatus"] != "RUNNING":
            return None
        details = {d["name"]: d["value"] for d in task["attachments"][0]["details"]}
        return details["privateIPv4Address"]

    def output(self, arn: str) -> str:
        stream = f"{STREAM_PREFIX}/{CONTAINER}/{arn.rsplit('/', 1)[1]}"
        try:
            events = self.logs.get_log_events(logGroupName=f"/{NAME}", logStreamName=stream,
                                              startFromHead=True)["events"]
        except self.logs.exceptions.ResourceNotFoundException:  # not shipped yet
            return ""
        return "\n".join(e["message"] for e in events)

    def _runtime_ids(self, arn: str) -> list[str]:
        return [c["runtimeId"] for c in self._task(arn)["containers"] if c.get("runtimeId")]

    def pids(self, arn: str) -> list[int]:
        """The task's processes on the host: each container's and its conmon."""
        out = []
        for cid in self._runtime_ids(arn):
            procs = Cgroup(f"/{PARENT}/{cid}").read("memory", "cgroup.procs") or ""
            out += [int(p) for p in procs.split()]
            conmon = self.engine.runtime.containers / cid / "conmon.pid"
            if conmon.exists():
                out.append(int(conmon.read_text()))
        return out

    def syscalls_allowed(self, arn: str) -> int | None:
        """How many syscalls the container's seccomp filter lets through (from its OCI spec)."""
        for cid in self._runtime_ids(arn):
            spec = self.engine.runtime.containers / cid / "config.json"
            if spec.exists():
                seccomp = json.loads(spec.read_text()).get("linux", {}).get("seccomp") or {}
                return sum(len(s["names"]) for s in seccomp.get("syscalls", []) if s["action"] == "SCMP_ACT_ALLOW")
        return None

    def remove(self, arns: list[str]) -> None:
        for arn in arns:
            self.ecs.stop_task(cluster=NAME, task=arn, reason="cloudlet compare is done with it")

    def gone(self, arn: str) -> bool:
        return self._task(arn)["lastStatus"] == "STOPPED"

    def close(self) -> None:
        self.ecs.deregister_task_definition(taskDefinition=self.definition)


class Instance:
    kind, label = "vm", f"EC2 instance (QEMU microVM; {INSTANCE_TYPE}: 2 vCPU, 512 MiB)"

    def __init__(self, ec2, data_dir: Path, network: Network, ami: str):
        self.ec2, self.vms, self.network, self.ami = ec2, Path(data_dir) / "vms", network, ami

    def launch(self, count: int, probe: str | None = None) -> list[str]:
        # the probe's output goes to the console, which GetConsoleOutput reads
        user_data = f"#!/bin/sh\nexec > /dev/console 2>&1\n{probe}" if probe else ""
        return [i["InstanceId"] for i in self.ec2.run_instances(
            ImageId=self.ami, InstanceType=INSTANCE_TYPE, MinCount=count, MaxCount=count, UserData=user_data,
            SubnetId=self.network.subnet, SecurityGroupIds=[self.network.group])["Instances"]]

    def _instance(self, iid: str) -> dict:
        return self.ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]

    def address(self, iid: str) -> str | None:
        """The instance's address once it runs (its init started), None before."""
        instance = self._instance(iid)
        state = instance["State"]["Name"]
        if state in ("stopping", "stopped", "shutting-down", "terminated"):
            raise Gone(f"instance {iid} is {state}: {instance.get('StateTransitionReason')}")
        return instance["PrivateIpAddress"] if state == "running" else None

    def output(self, iid: str) -> str:
        return self.ec2.get_console_output(InstanceId=iid).get("Output") or ""

    def pids(self, iid: str) -> list[int]:
        """The instance's process on the host: its QEMU."""
        pid_file = self.vms / iid / "qemu.pid"
        return [int(pid_file.read_text())] if pid_file.exists() else []

    def syscalls_allowed(self, iid: str) -> int | None:
        return None  # the guest's own kernel answers every syscall; no filter between it and its programs

    def remove(self, iids: list[str]) -> None:
        if iids:
            self.ec2.terminate_instances(InstanceIds=iids)

    def gone(self, iid: str) -> bool:
        return self._instance(iid)["State"]["Name"] == "terminated"

    def close(self) -> None:
        pass
