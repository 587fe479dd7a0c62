"""The README's EC2 walkthrough with the stock AWS CLI and nothing but the `cloudlet` profile:
two instances of the busybox AMI with a key pair, user-data and tags, their console, SSH
with the key (ssh itself and `cloudlet ssh`), stop, start, reboot, an image made from one,
and terminate."""

import json
import sys

import pytest

from tests.integration.ec2_fixtures import SSH_OPTIONS, module_server, ssh, until_answers

pytestmark = [pytest.mark.root, pytest.mark.qemu]


server = module_server("walk", "10.192.0.0/14")  # 10.200/13 is test_cli_down's, 10.196/14 the README test's


def ec2(server, *args: str) -> str:
    return server.aws("ec2", *args).stdout


def test_the_ec2_walkthrough_with_the_aws_cli(server, tmp_path):
    ami = ec2(server, "describe-images", "--owners", "amazon", "--filters", "Name=name,Values=cloudlet-busybox",
              "--query", "Images[0].ImageId", "--output", "text").strip()
    types = json.loads(ec2(server, "describe-instance-types", "--instance-types", "t3.micro", "t3.small", "c5.large"))
    assert {t["InstanceType"]: t["MemoryInfo"]["SizeInMiB"] for t in types["InstanceTypes"]} == \
        {"t3.micro": 1024, "t3.small": 2048, "c5.large": 4096}
    key = tmp_path / "dev.pem"
    key.write_text(ec2(server, "create-key-pair", "--key-name", "dev", "--key-type", "ed25519", "--query",
                       "KeyMaterial", "--output", "text"))
    key.chmod(0o600)
    (tmp_path / "hello.sh").write_text("#!/bin/sh\necho hello from user-data > /root/hello\n")
    run = json.loads(ec2(server, "run-instances", "--image-id", ami, "--instance-type", "t3.micro", "--key-name",
                         "dev", "--count", "2", "--user-data", f"file://{tmp_path / 'hello.sh'}",
                         "--tag-specifications", "ResourceType=instance,Tags=[{Key=Name,Value=web}]"))
    ids = [i["InstanceId"] for i in run["Instances"]]
    assert len(ids) == 2
    ec2(server, "wait", "instance-running", "--instance-ids", *ids)
    described = json.loads(ec2(server, "describe-instances", "--filters", "Name=tag:Name,Values=web"))
    instances = {i["InstanceId"]: i for r in described["Reservations"] for i in r["Instances"]}
    assert set(instances) == set(ids) and all(i["State"]["Name"] == "running" for i in instances.values())
    first, address = ids[0], instances[ids[0]]["PrivateIpAddress"]
    console = json.loads(ec2(server, "get-console-output", "--instance-id", first))["Output"]
    assert "Linux version" in console and "cloudlet-init: running" in console
    assert ssh(str(key), "root", address, "cat /root/hello") == "hello from user-data\n"
    through_cloudlet = until_answers([sys.executable, "-m", "cloudlet.cli.main", "ssh", ids[1], "-i", str(key), "--",
                                      *SSH_OPTIONS, "hostname"], env=server.env(), explain=lambda: ec2(
                                      server, "get-console-output", "--instance-id", ids[1], "--output", "text"))
    assert through_cloudlet.strip() == "ip-" + instances[ids[1]]["PrivateIpAddress"].replace(".", "-")

    ec2(server, "stop-instances", "--instance-ids", first)
    ec2(server, "wait", "instance-stopped", "--instance-ids", first)
    ec2(server, "start-instances", "--instance-ids", first)
    ec2(server, "wait", "instance-running", "--instance-ids", first)
    ec2(server, "reboot-instances", "--instance-ids", first)
    ec2(server, "wait", "instance-running", "--instance-ids", first)
    assert ssh(str(key), "root", address, "cat /root/hello") == "hello from user-data\n"
    image = ec2(server, "create-image", "--instance-id", first, "--name", "web-v2", "--query", "ImageId",
                "--output", "text").strip()
    ec2(server, "wait", "image-available", "--image-ids", image)

    ec2(server, "terminate-instances", "--instance-ids", *ids)
    ec2(server, "wait", "instance-terminated", "--instance-ids", *ids)
    again = server.aws("ec2", "terminate-instances", "--instance-ids", first)  # twice: as AWS, no error
    assert json.loads(again.stdout)["TerminatingInstances"][0]["CurrentState"]["Name"] == "terminated"
    bad = server.aws("ec2", "run-instances", "--image-id", "ami-0123456789abcdef0", "--instance-type", "t3.micro",
                     check=False)
    assert bad.returncode != 0 and "InvalidAMIID.NotFound" in bad.stderr
    ec2(server, "deregister-image", "--image-id", image)
