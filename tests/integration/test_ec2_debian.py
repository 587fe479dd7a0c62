"""The Debian AMI for real, made by `cloudlet setup --amis` as `make up` makes it, through
boto3 and the host's ssh client: RunInstances with an ed25519 key pair and user-data, SSH in as
admin (passwordless sudo, its hostname, the user-data's output, the root disk, curl and wget
reading the metadata as AWS's documentation does), then a stop and a start keep the root volume
and do not run the user-data again, and the guest's clock is the host's."""

import subprocess
import time

import pytest

from tests.integration.ec2_fixtures import WAIT, ami_id, assert_clock_right, ec2_server, key_pair, ssh

pytestmark = [pytest.mark.root, pytest.mark.qemu]
IMDS = "http://169.254.169.254/latest"
USER_DATA = """#!/bin/sh
echo ran >> /var/lib/hello
echo hello from user-data
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = ec2_server(tmp_path_factory, "ec2-debian", "10.160.0.0/12", "mmdebstrap")
    made = srv.cloudlet("setup", "--amis", timeout=600)  # as `make up` does: the disk is ready at launch
    assert made.returncode == 0 and "AMI cloudlet-debian" in made.stdout, made.stdout + made.stderr
    yield srv
    srv.stop()  # removes any VM left


def admin(key: str, address: str, command: str, server=None) -> str:
    return ssh(key, "admin", address, command, server=server)


def test_debian_instance_over_ssh(server, tmp_path):
    ec2 = server.client("ec2")
    key = key_pair(ec2, "debian", tmp_path)
    ami = ami_id(ec2, "debian")

    t0 = time.monotonic()
    iid = ec2.run_instances(ImageId=ami, InstanceType="t3.micro", MinCount=1, MaxCount=1, KeyName="debian",
                            UserData=USER_DATA)["Instances"][0]["InstanceId"]
    ec2.get_waiter("instance_running").wait(InstanceIds=[iid], WaiterConfig=WAIT)
    running = time.monotonic() - t0
    address = ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]["PrivateIpAddress"]
    assert admin(key, address, "sudo -n true 2>&1 && echo ok", server) == "ok\n"
    answering = time.monotonic() - t0
    print(f"\nRunInstances -> running {running:.1f} s, -> SSH answering {answering:.1f} s")

    assert admin(key, address, "hostname") == "ip-" + address.replace(".", "-") + "\n"
    assert admin(key, address, "findmnt -n -o SOURCE /") == "/dev/vda\n"
    # what Debian's cloud images carry: AWS's documentation reads the metadata with curl
    assert admin(key, address, f"curl -s {IMDS}/meta-data/instance-id") == iid
    assert admin(key, address, f'TOKEN=$(curl -s -X PUT {IMDS}/api/token -H "X-aws-ec2-metadata-token-ttl-seconds: 60")'
                 f' && curl -s -H "X-aws-ec2-metadata-token: $TOKEN" {IMDS}/meta-data/instance-id') == iid
    assert admin(key, address, f"wget -qO- {IMDS}/meta-data/instance-id") == iid
    assert admin(key, address, "ping -c 1 -W 5 127.0.0.1 >/dev/null && getent services ssh | tr -s ' '") \
        == "ssh 22/tcp\n"  # ping has its capability; netbase's /etc/services
    assert admin(key, address, "cat /var/lib/hello") == "ran\n"  # user-data runs in the background
    assert admin(key, address, "test -s /var/log/cloudlet-user-data.log && cat /var/log/cloudlet-user-data.log") \
        == "hello from user-data\n"
    admin(key, address, "echo kept > ~/kept && sync")

    ec2.stop_instances(InstanceIds=[iid])
    ec2.get_waiter("instance_stopped").wait(InstanceIds=[iid], WaiterConfig=WAIT)
    t0 = time.monotonic()
    ec2.start_instances(InstanceIds=[iid])
    ec2.get_waiter("instance_running").wait(InstanceIds=[iid], WaiterConfig=WAIT)
    running = time.monotonic() - t0
    assert admin(key, address, "cat ~/kept") == "kept\n"
    print(f"after a stop: StartInstances -> running {running:.1f} s, -> SSH answering {time.monotonic() - t0:.1f} s")
    admin(key, address, "! pgrep -f 'agent[.]sh user-data'")  # the agent's turn at it is over
    assert admin(key, address, "cat /var/lib/hello") == "ran\n"
    assert_clock_right(lambda command: admin(key, address, command))

    ec2.terminate_instances(InstanceIds=[iid])
    ec2.get_waiter("instance_terminated").wait(InstanceIds=[iid], WaiterConfig=WAIT)
    assert subprocess.run(["pgrep", "-f", f"qemu-system.*{iid}"]).returncode == 1  # its VM is gone
