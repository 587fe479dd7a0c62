"""VPCs that isolate, on real packets: a probe matrix (TCP, UDP, ICMP) between ECS tasks and an
EC2 instance in the same group, another group, a source-group rule, another subnet, another
VPC with the same addresses, another account, the host and an outside network, through an
Elastic IP and a NAT gateway. Every cell is what the rules declare, and after a revoke or
an Elastic IP moved it is again at once."""

import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from engine_fixtures import busybox_home
from outside import listener, outside_namespace

from tests.e2e.server import Server
from tests.integration.ec2_fixtures import SSH_OPTIONS, WAIT, ami_id, key_pair, until_answers
from tests.hostcaps import need_binaries

pytestmark = [pytest.mark.root, pytest.mark.runc, pytest.mark.netns, pytest.mark.qemu]
# each task answers TCP 80 and 5432 with its name, and pings; UDP is probed from the host
# inside the tasks' network namespaces (busybox's nc has no UDP)
SERVE = "for p in 80 5432; do (while true; do nc -l -p $p -e echo $NAME; done) & done; exec sleep 3600"
UDP_ECHO = """import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", int(sys.argv[1])))
print("ready", flush=True)
data, peer = s.recvfrom(100)
s.sendto(data, peer)
"""
UDP_ASK = """import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
s.sendto(b"x", (sys.argv[1], int(sys.argv[2])))
try:
    print(s.recvfrom(100)[0].decode())
except OSError:
    print("no answer")
"""


def task_definition(ecs, family: str) -> str:
    return ecs.register_task_definition(family=family, networkMode="awsvpc", requiresCompatibilities=["FARGATE"],
                                        cpu="256", memory="512", containerDefinitions=[{
                                            "name": "app", "image": "busybox", "essential": True, "stopTimeout": 1,
                                            "environment": [{"name": "NAME", "value": family}],
                                            "command": ["sh", "-c", SERVE]}])["taskDefinition"]["taskDefinitionArn"]


def run_task(ecs, family: str, subnet: str, groups: list[str], public: bool = False) -> dict:
    arn = ecs.run_task(cluster="net", taskDefinition=task_definition(ecs, family), launchType="FARGATE",
                       networkConfiguration={"awsvpcConfiguration": {
                           "subnets": [subnet], "securityGroups": groups,
                           "assignPublicIp": "ENABLED" if public else "DISABLED"}})["tasks"][0]["taskArn"]
    deadline = time.monotonic() + 60
    while (task := ecs.describe_tasks(cluster="net", tasks=[arn])["tasks"][0])["lastStatus"] != "RUNNING":
        assert time.monotonic() < deadline and task["lastStatus"] != "STOPPED", task.get("stoppedReason")
        time.sleep(0.2)
    details = {d["name"]: d["value"] for d in task["attachments"][0]["details"]}
    return {"arn": arn, "cid": task["containers"][0]["runtimeId"], "ip": details["privateIPv4Address"],
            "eni": details["networkInterfaceId"]}


def netns_of(home, task: dict) -> str:
    return "/run/netns/" + home.engine().networks.routers.plugged()[task["eni"]]["netns"]


def public_of(ec2, eni: str) -> str:
    return ec2.describe_network_interfaces(NetworkInterfaceIds=[eni])["NetworkInterfaces"][0]["Association"]["PublicIp"]


class World:
    """Two accounts: A with VPC "one" (a public and a private subnet, an internet gateway,
    a NAT gateway) and VPC "two" with the same CIDR; B with its default VPC."""

    def __init__(self, server, home):
        self.server, self.home = server, home
        self.ec2, self.ecs = server.client("ec2"), server.client("ecs")
        self.ecs.create_cluster(clusterName="net")
        key, secret = server.new_account("tenant-b")
        self.ecs_b = server.client("ecs", key=key, secret=secret)
        self.ec2_b = server.client("ec2", key=key, secret=secret)
        self.ecs_b.create_cluster(clusterName="net")
        ec2 = self.ec2
        self.vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        self.public = ec2.create_subnet(VpcId=self.vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
        self.private = ec2.create_subnet(VpcId=self.vpc, CidrBlock="10.0.2.0/24")["Subnet"]["SubnetId"]
        igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
        ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=self.vpc)
        public_rt = ec2.create_route_table(VpcId=self.vpc)["RouteTable"]["RouteTableId"]
        ec2.create_route(RouteTableId=public_rt, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
        ec2.associate_route_table(RouteTableId=public_rt, SubnetId=self.public)
        nat_eip = ec2.allocate_address(Domain="vpc")
        self.nat_ip = nat_eip["PublicIp"]
        nat = ec2.create_nat_gateway(SubnetId=self.public, AllocationId=nat_eip["AllocationId"])["NatGateway"]
        ec2.get_waiter("nat_gateway_available").wait(NatGatewayIds=[nat["NatGatewayId"]], WaiterConfig=WAIT)
        private_rt = ec2.create_route_table(VpcId=self.vpc)["RouteTable"]["RouteTableId"]
        ec2.create_route(RouteTableId=private_rt, DestinationCidrBlock="0.0.0.0/0", NatGatewayId=nat["NatGatewayId"])
        ec2.associate_route_table(RouteTableId=private_rt, SubnetId=self.private)
        self.web = self.group("web", [("tcp", 80, 80, "0.0.0.0/0"), ("icmp", -1, -1, "10.0.0.0/16")])
        self.db = self.group("db", [("tcp", 5432, 5432, self.web), ("udp", 5353, 5353, self.web)])
        self.quiet = self.group("quiet", [])
        self.vpc2 = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        subnet2 = ec2.create_subnet(VpcId=self.vpc2, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
        igw2 = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
        ec2.attach_internet_gateway(InternetGatewayId=igw2, VpcId=self.vpc2)
        rt2 = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [self.vpc2]}])["RouteTables"][0]
        ec2.create_route(RouteTableId=rt2["RouteTableId"], DestinationCidrBlock="0.0.0.0/0", GatewayId=igw2)
        open2 = self.group("open", [("tcp", 80, 80, "0.0.0.0/0")], vpc=self.vpc2)
        self.tasks = {
            "web": run_task(self.ecs, "web", self.public, [self.web], public=True),
            "web2": run_task(self.ecs, "web2", self.public, [self.web]),
            "db": run_task(self.ecs, "db", self.private, [self.db]),
            "quiet": run_task(self.ecs, "quiet", self.public, [self.quiet]),
            "twin": run_task(self.ecs, "twin", subnet2, [open2], public=True),
        }
        b_subnet = self.ec2_b.describe_subnets()["Subnets"][0]["SubnetId"]
        b_arn = self.ecs_b.run_task(cluster="net", taskDefinition=task_definition(self.ecs_b, "tenant"),
                                    launchType="FARGATE", networkConfiguration={"awsvpcConfiguration": {
                                        "subnets": [b_subnet], "assignPublicIp": "ENABLED"}})["tasks"][0]["taskArn"]
        deadline = time.monotonic() + 60
        while (task := self.ecs_b.describe_tasks(cluster="net", tasks=[b_arn])["tasks"][0])["lastStatus"] != "RUNNING":
            assert time.monotonic() < deadline, task
            time.sleep(0.2)
        self.tenant = {"cid": task["containers"][0]["runtimeId"],
                       "ip": {d["name"]: d["value"] for d in task["attachments"][0]["details"]}["privateIPv4Address"]}

    def group(self, name: str, rules: list[tuple], vpc: str | None = None) -> str:
        gid = self.ec2.create_security_group(GroupName=name, Description=name, VpcId=vpc or self.vpc)["GroupId"]
        permissions = []
        for protocol, low, high, peer in rules:
            permission = {"IpProtocol": protocol, "FromPort": low, "ToPort": high}
            permission.update({"UserIdGroupPairs": [{"GroupId": peer}]} if peer.startswith("sg-") else
                              {"IpRanges": [{"CidrIp": peer}]})
            permissions.append(permission)
        if permissions:
            self.ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=permissions)
        return gid

    def sh(self, cid: str, line: str) -> str:
        return self.home.cli("exec", cid, "sh", "-c", line, check=False).stdout

    def tcp(self, source: str, address: str, port: int) -> bool:
        return self.sh(source, f"nc -w 2 {address} {port} </dev/null").strip() != ""

    def udp(self, source: dict, target: dict, port: int) -> bool:
        echo = subprocess.Popen(["nsenter", f"--net={netns_of(self.home, target)}", "--", sys.executable, "-c",
                                 UDP_ECHO, str(port)], stdout=subprocess.PIPE, text=True)
        try:
            assert echo.stdout.readline() == "ready\n"
            asked = subprocess.run(["nsenter", f"--net={netns_of(self.home, source)}", "--", sys.executable, "-c",
                                    UDP_ASK, target["ip"], str(port)], capture_output=True, text=True, timeout=10)
            return asked.stdout.strip() == "x"
        finally:
            echo.kill()
            echo.wait()

    def ping(self, source: str, address: str) -> bool:
        return self.home.cli("exec", source, "ping", "-c", "1", "-W", "2", address, check=False).returncode == 0


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    need_binaries("qemu-system-x86_64", "qemu-img", "lz4", "dropbear", "ssh")
    with busybox_home("nft", "ip") as home:
        server = Server(tmp_path_factory.mktemp("vpc-traffic"), args=("--vpc-pool", "10.224.0.0/12"))
        server.data_dir = home.data_dir
        server.start()
        try:
            yield World(server, home)
        finally:
            server.stop()


# A change holds at once (the API wakes the network controller), well before its next look
# (5 s): the bound leaves room for a loaded machine; bench/vpc.py measures the real figure.
AT_ONCE = 3.0


def at_once(check) -> bool:
    deadline = time.monotonic() + AT_ONCE
    while not check():
        if time.monotonic() > deadline:
            return False
    return True


def test_groups_subnets_and_vpcs(world):
    t = world.tasks
    web, web2, db, quiet, twin = (t[k] for k in ("web", "web2", "db", "quiet", "twin"))
    cells = [  # (from, to, probe, port, reached)
        (web2, web, "tcp", 80, True),      # web takes 80 from anywhere
        (web2, web, "tcp", 5432, False),   # and nothing else
        (web2, web, "icmp", None, True),   # ICMP from the VPC
        (web, db, "tcp", 5432, True),      # db takes 5432 from web's members, across subnets
        (web, db, "udp", 5353, True),      # and UDP 5353
        (web, db, "tcp", 80, False),
        (quiet, db, "tcp", 5432, False),   # not a member of web
        (quiet, db, "udp", 5353, False),
        (db, quiet, "tcp", 80, False),     # quiet takes nothing
        (db, web, "tcp", 80, True),        # db's egress (all) and web's ingress
        (db, web, "icmp", None, True),
        (quiet, web, "icmp", None, True),
    ]
    for source, target, kind, port, reached in cells:
        if kind == "icmp":
            got = world.ping(source["cid"], target["ip"])
        elif kind == "udp":
            got = world.udp(source, target, port)
        else:
            got = world.tcp(source["cid"], target["ip"], port)
        assert got == reached, (source, target, kind, port)
    # VPC "two" has the same addresses: its twin (10.0.1.x) is not what web reaches there
    assert not world.tcp(web["cid"], twin["ip"], 80) or world.sh(web["cid"], f"nc -w 2 {twin['ip']} 80") != "twin\n"
    # ... but at its public address, over the internet gateways, it is
    assert world.sh(web["cid"], f"nc -w 2 {public_of(world.ec2, twin['eni'])} 80 </dev/null") == "twin\n"


def test_another_account_reaches_only_public_addresses(world):
    tenant, web, db = world.tenant, world.tasks["web"], world.tasks["db"]
    for target in (web, db):
        for port in (80, 5432):
            assert not world.tcp(tenant["cid"], target["ip"], port), (target, port)
        assert not world.ping(tenant["cid"], target["ip"])
    assert world.sh(tenant["cid"], f"nc -w 2 {public_of(world.ec2, web['eni'])} 80 </dev/null") == "web\n"
    assert not world.tcp(web["cid"], tenant["ip"], 80)  # nor the other way round


def test_the_host_and_the_outside(world):
    web, db, quiet, twin = (world.tasks[k] for k in ("web", "db", "quiet", "twin"))
    public = public_of(world.ec2, web["eni"])
    with socket.create_connection((public, 80), timeout=3) as s:  # from the host, at the public address
        assert s.recv(10) == b"web\n"
    with pytest.raises(OSError):
        socket.create_connection((public, 5432), timeout=2)  # which web's group does not open
    with outside_namespace() as (ns, outside_ip, host_ip):
        for source, name in ((db, "from-db"), (quiet, "from-quiet")):
            # the private subnet goes out through its NAT gateway, the public one through the
            # internet gateway (no public address: the host's), and both arrive from the host
            with listener(ns, outside_ip, 9100) as heard:
                world.sh(source["cid"], f"echo {name} | nc -w 2 {outside_ip} 9100")
                assert heard.communicate(timeout=10)[0] == f"{host_ip} {name}\n"
    # through the NAT gateway, the private subnet reaches another VPC at its public address
    assert world.sh(db["cid"], f"nc -w 2 {public_of(world.ec2, twin['eni'])} 80 </dev/null") == "twin\n"


def test_a_revoke_holds_at_once(world):
    web, web2 = world.tasks["web"], world.tasks["web2"]
    assert world.tcp(web2["cid"], web["ip"], 80)
    world.ec2.revoke_security_group_ingress(GroupId=world.web, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    assert at_once(lambda: not world.tcp(web2["cid"], web["ip"], 80))
    world.ec2.authorize_security_group_ingress(GroupId=world.web, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    assert at_once(lambda: world.tcp(web2["cid"], web["ip"], 80))


def fetch(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=1) as r:
            return r.read().decode().strip()
    except OSError:
        return None


def serve_name_and_probes(db: str, quiet: str) -> str:
    """User-data: the instance serves its name, and every second what it reached of db's
    5432 and quiet's 80 ("<db's answer>,<quiet's answer>")."""
    return ("#!/bin/sh\nmkdir -p /tmp/www && hostname > /tmp/www/name\n"
            f"(while true; do a=$(nc -w 2 {db} 5432 </dev/null); b=$(nc -w 2 {quiet} 80 </dev/null); "
            "echo \"$a,$b\" > /tmp/www/probe; sleep 1; done) &\n"
            "httpd -p 80 -h /tmp/www\n")


def test_instances_behind_an_elastic_ip_that_moves(world, tmp_path):
    ec2 = world.ec2
    key = key_pair(ec2, "matrix", tmp_path)
    user_data = serve_name_and_probes(world.tasks["db"]["ip"], world.tasks["quiet"]["ip"])
    ids = [i["InstanceId"] for i in ec2.run_instances(
        ImageId=ami_id(ec2), InstanceType="t3.nano", MinCount=2, MaxCount=2, SubnetId=world.public, KeyName="matrix",
        SecurityGroupIds=[world.web], UserData=user_data)["Instances"]]
    try:
        ec2.get_waiter("instance_running").wait(InstanceIds=ids, WaiterConfig=WAIT)
        names = {i["InstanceId"]: i["PrivateDnsName"].split(".")[0] for r in ec2.describe_instances(
            InstanceIds=ids)["Reservations"] for i in r["Instances"]}
        eip = ec2.allocate_address(Domain="vpc")
        ec2.associate_address(AllocationId=eip["AllocationId"], InstanceId=ids[0])
        described = ec2.describe_instances(InstanceIds=[ids[0]])["Reservations"][0]["Instances"][0]
        assert described["PublicIpAddress"] == eip["PublicIp"]
        url = f"http://{eip['PublicIp']}/name"
        deadline = time.monotonic() + 90  # its user-data starts the server once it has booted
        while fetch(url) != names[ids[0]]:
            assert time.monotonic() < deadline, ec2.get_console_output(InstanceId=ids[0]).get("Output", "")[-3000:]
            time.sleep(0.5)
        ec2.associate_address(AllocationId=eip["AllocationId"], InstanceId=ids[1], AllowReassociation=True)
        assert at_once(lambda: fetch(url) == names[ids[1]])
        # an instance, a member of web, reaches db's 5432 across subnets; quiet's nothing (its
        # probe's first round takes the 2 s quiet makes it wait)
        deadline = time.monotonic() + 30
        while (probed := fetch(url.replace("/name", "/probe"))) is None:
            assert time.monotonic() < deadline
            time.sleep(0.5)
        assert probed == "db,"
        # the host reaches none of this VPC's private addresses (another VPC has them too), but
        # cloudlet ssh goes through the VPC's router
        assert until_answers([sys.executable, "-m", "cloudlet.cli.main", "ssh", ids[0], "-i", key, "--data-dir",
                              str(world.home.data_dir), "--", *SSH_OPTIONS, "hostname"], env=world.server.env()
                             ).strip() == names[ids[0]]
    finally:
        ec2.terminate_instances(InstanceIds=ids)
        ec2.get_waiter("instance_terminated").wait(InstanceIds=ids, WaiterConfig=WAIT)
