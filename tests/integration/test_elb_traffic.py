"""Application load balancers that carry real traffic: three FARGATE tasks answering their own
name, registered by hand as ip targets of an internet-facing ALB over two subnets, reached at
its public addresses and its DNS name (through `cloudlet up --hosts-file`); health from initial
to healthy, a stopped task's target unhealthy and traffic shifting, draining, a path rule to a
second group, the ALB's security group deciding who connects, what a tenant writes into a rule
kept out of the proxy's configuration, and nothing left once the ALB is deleted."""

import os
import re
import signal
import subprocess
import tempfile
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.integration.ecs_fixtures import module_cloud, register, wait
from tests.integration.elb_fixtures import QUICK, get, health, until, web_groups

pytestmark = [pytest.mark.root, pytest.mark.runc, pytest.mark.netns]
HOSTS = Path(tempfile.gettempdir()) / f"cloudlet-elb-hosts-{os.getpid()}"
cloud = module_cloud("elb", "10.248.0.0/14", "--hosts-file", str(HOSTS))
# /cgi-bin/peer answers the address the request came from (what an NLB keeps and an ALB does not)
SERVE = "mkdir -p /www/special /www/cgi-bin && echo $NAME > /www/id && echo special-$NAME > /www/special/id && " \
        "printf '#!/bin/sh\\necho Content-Type: text/plain\\necho\\necho %s $REMOTE_ADDR\\n' $NAME > /www/cgi-bin/peer && " \
        "chmod +x /www/cgi-bin/peer && exec httpd -f -p 80 -h /www"
def haproxies(directory: Path) -> list[int]:
    """PIDs of the HAProxies whose command line names directory."""
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if str(directory) in proc.joinpath("cmdline").read_bytes().replace(b"\0", b" ").decode():
                found.append(int(proc.name))
        except OSError:
            continue
    return found


@pytest.fixture(scope="module")
def alb(cloud):
    ec2, ecs, elb = cloud.client("ec2"), cloud.ecs, cloud.client("elbv2")
    vpc, subnets, front, back = web_groups(ec2, "alb-front", "alb-targets")
    definition = register(cloud, "named", {"name": "web", "image": "busybox", "command": ["sh", "-c", SERVE]})
    tasks = {}
    for name in ("one", "two", "three"):
        arn = ecs.run_task(cluster="shop", taskDefinition=definition, launchType="FARGATE", overrides={
            "containerOverrides": [{"name": "web", "environment": [{"name": "NAME", "value": name}]}]},
            networkConfiguration={"awsvpcConfiguration": {"subnets": [subnets[0]], "securityGroups": [back]}}
        )["tasks"][0]["taskArn"]
        tasks[name] = arn
    addresses = {}
    for name, arn in tasks.items():
        task = wait(cloud, arn, "RUNNING")
        addresses[name] = next(d["value"] for d in task["attachments"][0]["details"]
                               if d["name"] == "privateIPv4Address")
    lb = elb.create_load_balancer(Name="shop", Subnets=subnets[:2], SecurityGroups=[front])["LoadBalancers"][0]
    assert lb["State"]["Code"] == "provisioning"
    group = elb.create_target_group(Name="web", Protocol="HTTP", Port=80, VpcId=vpc, TargetType="ip",
                                    **QUICK)["TargetGroups"][0]["TargetGroupArn"]
    elb.register_targets(TargetGroupArn=group, Targets=[{"Id": a} for a in addresses.values()])
    listener = elb.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=80, DefaultActions=[
        {"Type": "forward", "TargetGroupArn": group}])["Listeners"][0]["ListenerArn"]
    world = dict(data_dir=cloud.data_dir, ec2=ec2, elb=elb, vpc=vpc, subnets=subnets, front=front, back=back, tasks=tasks,
                 addresses=addresses, lb=lb, arn=lb["LoadBalancerArn"], group=group, listener=listener)
    yield world
    if cloud.proc.poll() is None:  # a test failed before the last ones cleaned up
        for arn in tasks.values():
            ecs.stop_task(cluster="shop", task=arn)
        for lb in elb.describe_load_balancers()["LoadBalancers"]:
            elb.delete_load_balancer(LoadBalancerArn=lb["LoadBalancerArn"])
    HOSTS.unlink(missing_ok=True)


def alb_directory(alb) -> Path:
    return alb["data_dir"] / "elb" / alb["arn"].rsplit("/", 1)[-1]


def public_addresses(alb) -> list[str]:
    enis = alb["ec2"].describe_network_interfaces(Filters=[{"Name": "description",
                                                            "Values": ["ELB app/shop/*"]}])["NetworkInterfaces"]
    return [e["Association"]["PublicIp"] for e in enis if e.get("Association")]


def test_the_load_balancer_turns_active_healthy_and_spreads_requests(cloud, alb):
    elb = alb["elb"]
    elb.get_waiter("load_balancer_available").wait(LoadBalancerArns=[alb["arn"]],
                                                   WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    assert {state for state, _ in health(elb, alb["group"]).values()} <= {"initial", "healthy"}
    until(lambda: {s for s, _ in health(elb, alb["group"]).values()} == {"healthy"}, timeout=60)
    publics = public_addresses(alb)
    assert len(publics) == 2
    for address in publics:
        seen = Counter(get(address) for _ in range(30))
        assert set(seen) == {"one", "two", "three"} and min(seen.values()) >= 5, seen
    name = alb["lb"]["DNSName"]
    assert re.fullmatch(r"shop-[0-9a-f]+\.us-east-1\.elb\.localhost", name), name
    mapped = until(lambda: [line.split()[0] for line in HOSTS.read_text().splitlines()
                            if line.endswith(f"\t{name}")])
    assert sorted(mapped) == sorted(publics)
    assert get(mapped[0], host=name) in ("one", "two", "three")


def test_a_path_rule_forwards_to_a_second_group(alb):
    elb = alb["elb"]
    second = elb.create_target_group(Name="special", Protocol="HTTP", Port=80, VpcId=alb["vpc"], TargetType="ip",
                                     **QUICK)["TargetGroups"][0]["TargetGroupArn"]
    elb.register_targets(TargetGroupArn=second, Targets=[{"Id": alb["addresses"]["three"]}])
    elb.create_rule(ListenerArn=alb["listener"], Priority=10, Actions=[{"Type": "forward", "TargetGroupArn": second}],
                    Conditions=[{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/special/*"]}}])
    address = public_addresses(alb)[0]
    until(lambda: health(elb, second) == {alb["addresses"]["three"]: ("healthy", None)})
    until(lambda: get(address, "/special/id") == "special-three", timeout=5)  # the proxy told right after
    assert {get(address, "/special/id") for _ in range(10)} == {"special-three"}
    assert {get(address) for _ in range(15)} == {"one", "two", "three"}


def test_an_https_listener_shows_each_client_the_certificate_it_names(cloud, alb):
    acm, ec2, elb = cloud.client("acm"), alb["ec2"], alb["elb"]
    https = {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
    ec2.authorize_security_group_ingress(GroupId=alb["front"], IpPermissions=[https])
    shop, api = (acm.request_certificate(DomainName=name, ValidationMethod="DNS")["CertificateArn"]
                 for name in ("shop.example", "api.example"))
    listener = elb.create_listener(LoadBalancerArn=alb["arn"], Protocol="HTTPS", Port=443, Certificates=[
        {"CertificateArn": shop}], DefaultActions=[{"Type": "forward", "TargetGroupArn": alb["group"]}]
    )["Listeners"][0]["ListenerArn"]
    elb.add_listener_certificates(ListenerArn=listener, Certificates=[{"CertificateArn": api}])
    address, ca = public_addresses(alb)[0], alb["data_dir"] / "acm" / "ca.pem"

    def fetch(name: str) -> tuple[int, str]:  # curl checks the name against the certificate shown
        done = subprocess.run(["curl", "-s", "--max-time", "3", "--cacert", str(ca), "--resolve",
                               f"{name}:443:{address}", f"https://{name}/id"], capture_output=True, text=True)
        return done.returncode, done.stdout.strip()

    try:
        until(lambda: fetch("api.example")[0] == 0, timeout=30)
        assert {fetch(name)[1] for name in ("shop.example", "api.example") for _ in range(3)} <= {"one", "two", "three"}
        assert fetch("shop.example")[0] == 0
        assert fetch("other.example")[0] == 60  # no certificate of that name: the default, refused for it
    finally:
        elb.delete_listener(ListenerArn=listener)
        ec2.revoke_security_group_ingress(GroupId=alb["front"], IpPermissions=[https])


def test_what_a_tenant_writes_in_a_rule_stays_out_of_the_configuration(alb):
    elb = alb["elb"]
    body = "hello\n  listen evil\n  bind 0.0.0.0:9999\n  mode http\n'\"%[env(HOME)]"
    rule = elb.create_rule(ListenerArn=alb["listener"], Priority=20, Conditions=[
        {"Field": "path-pattern", "PathPatternConfig": {"Values": ["/odd\"path*", "/x'y"]}},
    ], Actions=[{"Type": "fixed-response", "FixedResponseConfig": {
        "StatusCode": "200", "ContentType": "text/plain", "MessageBody": body}}])["Rules"][0]["RuleArn"]
    address = public_addresses(alb)[0]
    until(lambda: get(address, "/odd%22path-more") == body.strip())
    config = "\n".join(p.read_text() for p in (alb_directory(alb)).glob("*.cfg"))
    assert not re.search(r"^\s*listen evil", config, re.M) and "0.0.0.0:9999" not in config.replace(body, "")
    assert subprocess.run(["ss", "-Hltn", "sport = :9999"], capture_output=True, text=True).stdout == ""
    elb.delete_rule(RuleArn=rule)


def test_when_every_target_is_unhealthy_the_group_fails_open(alb):
    elb, group, address = alb["elb"], alb["group"], public_addresses(alb)[0]
    elb.modify_target_group(TargetGroupArn=alb["group"], HealthCheckPath="/nowhere")
    try:
        until(lambda: {s for s, _ in health(elb, group).values()} == {"unhealthy"}, timeout=60)
        assert {r for _, r in health(elb, group).values()} == {"Target.ResponseCodeMismatch"}
        # to every one of them, as AWS's do, once the proxy has found its last server down too
        until(lambda: {get(address) for _ in range(15)} == {"one", "two", "three"}, timeout=20)
    finally:
        elb.modify_target_group(TargetGroupArn=alb["group"], HealthCheckPath="/id")
    until(lambda: {s for s, _ in health(elb, group).values()} == {"healthy"}, timeout=60)


def test_a_stopped_task_turns_unhealthy_and_traffic_shifts(cloud, alb):
    elb, gone = alb["elb"], alb["addresses"]["two"]
    cloud.ecs.stop_task(cluster="shop", task=alb["tasks"]["two"])
    wait(cloud, alb["tasks"]["two"], "STOPPED")
    state = until(lambda: health(elb, alb["group"])[gone][0] == "unhealthy" and health(elb, alb["group"])[gone])
    assert state[1] in ("Target.FailedHealthChecks", "Target.Timeout"), state
    address = public_addresses(alb)[0]
    assert {get(address) for _ in range(20)} == {"one", "three"}


def test_a_deregistered_target_drains_then_goes(alb):
    elb = alb["elb"]
    elb.modify_target_group_attributes(TargetGroupArn=alb["group"], Attributes=[
        {"Key": "deregistration_delay.timeout_seconds", "Value": "3"}])
    elb.deregister_targets(TargetGroupArn=alb["group"], Targets=[{"Id": alb["addresses"]["two"]}])
    assert health(elb, alb["group"])[alb["addresses"]["two"]][0] == "draining"
    until(lambda: alb["addresses"]["two"] not in health(elb, alb["group"]), timeout=20)


def test_the_security_group_decides_who_connects(alb):
    ec2, address = alb["ec2"], public_addresses(alb)[0]
    permission = {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
    ec2.revoke_security_group_ingress(GroupId=alb["front"], IpPermissions=[permission])
    until(lambda: get(address, timeout=1) is None, timeout=15)
    ec2.authorize_security_group_ingress(GroupId=alb["front"], IpPermissions=[permission])
    until(lambda: get(address, timeout=1) in ("one", "three"), timeout=15)


def test_a_network_load_balancer_passes_tcp_and_keeps_the_client_address(alb):
    elb, ec2 = alb["elb"], alb["ec2"]
    lb = elb.create_load_balancer(Name="tcp", Type="network", Subnets=alb["subnets"][:2])["LoadBalancers"][0]
    group = elb.create_target_group(Name="tcp", Protocol="TCP", Port=80, VpcId=alb["vpc"], TargetType="ip",
                                    HealthCheckIntervalSeconds=5, HealthCheckTimeoutSeconds=2,
                                    HealthyThresholdCount=2)["TargetGroups"][0]
    live = [alb["addresses"][n] for n in ("one", "three")]
    elb.register_targets(TargetGroupArn=group["TargetGroupArn"], Targets=[{"Id": a} for a in live])
    elb.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="TCP", Port=80, DefaultActions=[
        {"Type": "forward", "TargetGroupArn": group["TargetGroupArn"]}])
    address = next(a["IpAddress"] for z in elb.describe_load_balancers(LoadBalancerArns=[lb["LoadBalancerArn"]])[
        "LoadBalancers"][0]["AvailabilityZones"] for a in z["LoadBalancerAddresses"])
    # the targets' group lets in only the ALB's: a client the NLB passes on as itself is not let in
    time.sleep(6)  # the router has the NLB's listener by now (it is woken, and looks every 5 s anyway)
    assert get(address, "/cgi-bin/peer") is None
    ec2.authorize_security_group_ingress(GroupId=alb["back"], IpProtocol="tcp", FromPort=80, ToPort=80,
                                         CidrIp="0.0.0.0/0")
    try:
        answers = until(lambda: [a for _ in range(12) if (a := get(address, "/cgi-bin/peer"))] or None)
        names = {a.split()[0] for a in answers}
        peers = {a.split()[1] for a in answers}
        assert names <= {"one", "three"} and len(peers) == 1
        peer = peers.pop()
        assert peer not in live and not peer.startswith(("10.248.", "10.249.", "10.250.", "10.251."))  # the host's own
        assert until(lambda: {s for s, _ in health(elb, group["TargetGroupArn"]).values()} == {"healthy"})
        # through the ALB, by contrast, a target sees the ALB's own address
        via_alb = get(public_addresses(alb)[0], "/cgi-bin/peer")
        assert via_alb and via_alb.split()[1] != peer
    finally:
        ec2.revoke_security_group_ingress(GroupId=alb["back"], IpProtocol="tcp", FromPort=80, ToPort=80,
                                          CidrIp="0.0.0.0/0")
        elb.delete_load_balancer(LoadBalancerArn=lb["LoadBalancerArn"])
        elb.delete_target_group(TargetGroupArn=group["TargetGroupArn"])


def test_a_network_load_balancers_own_group_decides_and_its_targets_may_trust_it(alb):
    elb, ec2 = alb["elb"], alb["ec2"]
    web = {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
    guard = ec2.create_security_group(GroupName="nlb-guard", Description="who reaches the NLB", VpcId=alb["vpc"])[
        "GroupId"]
    ec2.authorize_security_group_ingress(GroupId=guard, IpPermissions=[web])
    # the targets let in the NLB's group only: the client, kept as itself, passes as the NLB's
    trust = {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "UserIdGroupPairs": [{"GroupId": guard}]}
    ec2.authorize_security_group_ingress(GroupId=alb["back"], IpPermissions=[trust])
    lb = elb.create_load_balancer(Name="guarded", Type="network", Subnets=alb["subnets"][:2],
                                  SecurityGroups=[guard])["LoadBalancers"][0]
    group = elb.create_target_group(Name="guarded", Protocol="TCP", Port=80, VpcId=alb["vpc"], TargetType="ip",
                                    HealthCheckIntervalSeconds=5, HealthCheckTimeoutSeconds=2,
                                    HealthyThresholdCount=2)["TargetGroups"][0]
    try:
        elb.register_targets(TargetGroupArn=group["TargetGroupArn"], Targets=[{"Id": alb["addresses"]["one"]}])
        elb.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="TCP", Port=80, DefaultActions=[
            {"Type": "forward", "TargetGroupArn": group["TargetGroupArn"]}])
        address = next(a["IpAddress"] for z in elb.describe_load_balancers(LoadBalancerArns=[lb["LoadBalancerArn"]])[
            "LoadBalancers"][0]["AvailabilityZones"] for a in z["LoadBalancerAddresses"])
        answer = until(lambda: get(address, "/cgi-bin/peer"), timeout=30)
        assert answer.split()[0] == "one" and not answer.split()[1].startswith("10.24")  # the host, as itself
        assert until(lambda: health(elb, group["TargetGroupArn"]) == {alb["addresses"]["one"]: ("healthy", None)})
        ec2.revoke_security_group_ingress(GroupId=guard, IpPermissions=[web])  # nobody may reach the NLB now
        until(lambda: get(address, "/cgi-bin/peer", timeout=1) is None, timeout=15)
        assert [get(address, "/cgi-bin/peer", timeout=1) for _ in range(3)] == [None] * 3
    finally:
        ec2.revoke_security_group_ingress(GroupId=alb["back"], IpPermissions=[trust])
        elb.delete_load_balancer(LoadBalancerArn=lb["LoadBalancerArn"])
        elb.delete_target_group(TargetGroupArn=group["TargetGroupArn"])
        until(lambda: not ec2.describe_network_interfaces(Filters=[
            {"Name": "group-id", "Values": [guard]}])["NetworkInterfaces"], timeout=30)
        ec2.delete_security_group(GroupId=guard)


def test_deleting_the_load_balancer_leaves_no_proxy_namespace_or_interface(cloud, alb):
    elb, ec2 = alb["elb"], alb["ec2"]
    enis = [e["NetworkInterfaceId"] for e in ec2.describe_network_interfaces(Filters=[
        {"Name": "description", "Values": ["ELB app/shop/*"]}])["NetworkInterfaces"]]
    plugged = cloud.home_.engine().networks.routers.plugged()
    namespaces = [plugged[e]["netns"] for e in enis]
    directory = alb_directory(alb)
    assert len(enis) == 2 and haproxies(directory)
    elb.delete_load_balancer(LoadBalancerArn=alb["arn"])
    until(lambda: not haproxies(directory) and not directory.exists(), timeout=20)
    until(lambda: not any(Path("/run/netns", n).exists() for n in namespaces), timeout=20)
    remaining = ec2.describe_network_interfaces(Filters=[{"Name": "network-interface-id", "Values": enis}])
    assert remaining["NetworkInterfaces"] == []
    until(lambda: alb["lb"]["DNSName"] not in HOSTS.read_text(), timeout=10)
    for arn in alb["tasks"].values():
        cloud.ecs.stop_task(cluster="shop", task=arn)
        wait(cloud, arn, "STOPPED")


def test_stopping_the_server_takes_its_block_out_of_the_hosts_file(cloud, alb):
    elb = alb["elb"]
    elb.create_load_balancer(Name="last", Subnets=alb["subnets"][:2], SecurityGroups=[alb["front"]])
    until(lambda: "last-" in HOSTS.read_text(), timeout=30)
    HOSTS.write_text(HOSTS.read_text() + "192.0.2.1\tkept.example\n")  # someone else's line stays
    cloud.proc.send_signal(signal.SIGTERM)
    cloud.proc.wait(20)
    text = HOSTS.read_text()
    assert "cloudlet load balancers" not in text and "192.0.2.1\tkept.example" in text
