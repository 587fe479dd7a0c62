"""Public addresses on a LAN (`cloudlet up --public-interface IF` with a pool of that LAN): the
LAN's other machines reach a task at its public address (the host answers ARP for it), and
what the task sends there arrives from that address, not masqueraded to the host's. A
namespace behind a veth stands in for the LAN and one of its machines."""

import subprocess
import sys
import time

import pytest
from ecs_fixtures import wait
from engine_fixtures import busybox_home
from outside import LISTEN

from tests.e2e.server import Server

pytestmark = [pytest.mark.root, pytest.mark.runc, pytest.mark.netns]
LAN, HOST, MACHINE, POOL = "203.0.113.0/24", "203.0.113.1", "203.0.113.2", "203.0.113.128/25"


@pytest.fixture
def lan():
    subprocess.run(["ip", "netns", "add", "cl-lan"], check=True)
    try:
        for cmd in (["ip", "link", "add", "cl-lan0", "type", "veth", "peer", "name", "eth0", "netns", "cl-lan"],
                    ["ip", "addr", "add", f"{HOST}/24", "dev", "cl-lan0"], ["ip", "link", "set", "cl-lan0", "up"],
                    ["ip", "-n", "cl-lan", "addr", "add", f"{MACHINE}/24", "dev", "eth0"],
                    ["ip", "-n", "cl-lan", "link", "set", "eth0", "up"]):
            subprocess.run(cmd, check=True)
        yield "cl-lan", "cl-lan0"
    finally:
        subprocess.run(["ip", "link", "del", "cl-lan0"], capture_output=True)
        subprocess.run(["ip", "netns", "del", "cl-lan"], check=True)


def test_the_lan_reaches_public_addresses(lan, tmp_path):
    ns, interface = lan
    with busybox_home("nft", "ip") as home:
        server = Server(tmp_path, args=("--vpc-pool", "10.176.0.0/12", "--public-pool", POOL,
                                        "--public-interface", interface))
        server.data_dir = home.data_dir
        server.start()
        try:
            ec2, ecs = server.client("ec2"), server.client("ecs")
            subnet = ec2.describe_subnets()["Subnets"][0]
            web = ec2.create_security_group(GroupName="web", Description="web", VpcId=subnet["VpcId"])["GroupId"]
            ec2.authorize_security_group_ingress(GroupId=web, IpProtocol="tcp", FromPort=80, ToPort=80,
                                                 CidrIp="0.0.0.0/0")
            ecs.create_cluster(clusterName="shop")
            definition = ecs.register_task_definition(
                family="web", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256", memory="512",
                containerDefinitions=[{"name": "app", "image": "busybox", "stopTimeout": 1, "command": [
                    "sh", "-c", "while true; do nc -l -p 80 -e echo public; done"]}])["taskDefinition"]
            arn = ecs.run_task(cluster="shop", taskDefinition=definition["taskDefinitionArn"], launchType="FARGATE",
                               networkConfiguration={"awsvpcConfiguration": {
                                   "subnets": [subnet["SubnetId"]], "securityGroups": [web],
                                   "assignPublicIp": "ENABLED"}})["tasks"][0]["taskArn"]
            server.ecs = ecs
            task = wait(server, arn, "RUNNING")
            eni = next(d["value"] for d in task["attachments"][0]["details"] if d["name"] == "networkInterfaceId")
            public = ec2.describe_network_interfaces(NetworkInterfaceIds=[eni])["NetworkInterfaces"][0][
                "Association"]["PublicIp"]
            deadline = time.monotonic() + 10
            while (got := subprocess.run(["ip", "netns", "exec", ns, "busybox", "nc", "-w", "2", public, "80"],
                                         capture_output=True, text=True).stdout) != "public\n":
                assert time.monotonic() < deadline, got
            listener = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, "-c", LISTEN, MACHINE, "9000"],
                                        stdout=subprocess.PIPE, text=True)
            try:
                assert listener.stdout.readline() == "listening\n"
                cid = task["containers"][0]["runtimeId"]
                home.cli("exec", cid, "sh", "-c", f"echo out | nc -w 2 {MACHINE} 9000")
                assert listener.communicate(timeout=10)[0] == f"{public} out\n"  # its own address, on the LAN
            finally:
                listener.kill()
                listener.wait()
            ecs.stop_task(cluster="shop", task=arn)
            wait(server, arn, "STOPPED")
            deadline = time.monotonic() + 15  # the network reconciler takes the stopped task's address back
            while (left := subprocess.run(["ip", "neigh", "show", "proxy", "dev", interface], capture_output=True,
                                          text=True).stdout.strip()) != "":  # given back: no more answered
                assert time.monotonic() < deadline, left
                time.sleep(0.2)
        finally:
            server.stop()
