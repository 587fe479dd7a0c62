"""An instance launched from an EC2 launch template is a VM made of the template's data with
the request's overrides: one boot (TCG is slow here) seen from the API and from the guest, over
SSH with the template's key pair: its instance type, its user-data's work, its tags (a request
tag over the template's, and AWS's aws:ec2launchtemplate:* ones), as the metadata service
tells the guest, and the guest's clock, the host's."""

import base64
import sys

import pytest

from tests.integration.ec2_fixtures import (SSH_OPTIONS, WAIT, ami_id, assert_clock_right, key_pair, module_server,
                                             until_answers)

pytestmark = [pytest.mark.root, pytest.mark.qemu]

server = module_server("ec2-templates", "10.240.0.0/13")  # 10.160/12 is the Debian test's
USER_DATA = "#!/bin/sh\necho made-by-template-user-data > /root/from-template\n"
IMDS = "http://169.254.169.254/latest/meta-data"


def ssh(server, key: str, iid: str, command: str) -> str:
    """Run command in the instance through `cloudlet ssh`, retried until SSH answers."""
    return until_answers([sys.executable, "-m", "cloudlet.cli.main", "ssh", iid, "-i", key, "--", *SSH_OPTIONS,
                          command], env=server.env(), timeout=180,
                         explain=lambda: server.client("ec2").get_console_output(InstanceId=iid).get("Output", ""))


def test_an_instance_from_a_template_boots_with_its_data(server, tmp_path):
    ec2 = server.client("ec2")
    key = key_pair(ec2, "from-template", tmp_path)
    template = ec2.create_launch_template(LaunchTemplateName="booted", LaunchTemplateData={
        "ImageId": ami_id(ec2), "InstanceType": "t3.small", "KeyName": "from-template",
        "UserData": base64.b64encode(USER_DATA.encode()).decode(),
        "MetadataOptions": {"InstanceMetadataTags": "enabled"},
        "TagSpecifications": [{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "template"},
                                                                    {"Key": "role", "Value": "web"}]}]})
    tid = template["LaunchTemplate"]["LaunchTemplateId"]
    ec2.create_launch_template_version(LaunchTemplateId=tid, SourceVersion="1",
                                       LaunchTemplateData={"InstanceType": "t3.micro"})
    iid = ec2.run_instances(MinCount=1, MaxCount=1, LaunchTemplate={"LaunchTemplateName": "booted",
                                                                    "Version": "$Latest"},
                            TagSpecifications=[{"ResourceType": "instance", "Tags": [
                                {"Key": "Name", "Value": "override"}]}])["Instances"][0]["InstanceId"]
    try:
        ec2.get_waiter("instance_running").wait(InstanceIds=[iid], WaiterConfig=WAIT)
        shown = ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]
        assert (shown["InstanceType"], shown["KeyName"]) == ("t3.micro", "from-template")
        assert {t["Key"]: t["Value"] for t in shown["Tags"]} == {
            "Name": "override", "role": "web", "aws:ec2launchtemplate:id": tid, "aws:ec2launchtemplate:version": "2"}

        # In the guest, in one SSH session (each costs seconds of TCG key exchange): the key let
        # us in, the user-data ran, the type and tags are the metadata's.
        seen = dict(line.split("=", 1) for line in ssh(server, key, iid, (
            "for i in $(seq 120); do test -s /root/from-template && break; sleep 1; done; "
            "echo ran=$(cat /root/from-template); "
            f"echo type=$(wget -qO- {IMDS}/instance-type); echo name=$(wget -qO- {IMDS}/tags/instance/Name); "
            f"echo role=$(wget -qO- {IMDS}/tags/instance/role); "
            "echo memory=$(awk '/MemTotal/ {print $2}' /proc/meminfo)")).splitlines() if "=" in line)
        assert seen["ran"] == "made-by-template-user-data", seen
        assert (seen["type"], seen["name"], seen["role"]) == ("t3.micro", "override", "web"), seen
        assert 700 * 1024 < int(seen["memory"]) <= 1024 * 1024  # a t3.micro's 1 GiB, not the t3.small's 2
        assert_clock_right(lambda command: ssh(server, key, iid, command))  # last: the guest has run a while
    finally:
        ec2.terminate_instances(InstanceIds=[iid])
        ec2.get_waiter("instance_terminated").wait(InstanceIds=[iid], WaiterConfig=WAIT)
        ec2.delete_launch_template(LaunchTemplateId=tid)
