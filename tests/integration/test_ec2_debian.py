"""The Debian AMI for real, through boto3 and the host's ssh client: RunInstances with an
ed25519 key pair and user-data, SSH in as admin (passwordless sudo, its hostname, the
user-data's output, the root disk), then a stop and a start keep the root volume and do not
run the user-data again."""

import subprocess
import time

import pytest

from tests.e2e.server import Server
from tests.hostcaps import need_binaries, need_root

pytestmark = [pytest.mark.root, pytest.mark.qemu]
WAIT = {"Delay": 1, "MaxAttempts": 300}  # the first start builds the Debian disk (mmdebstrap)
USER_DATA = """#!/bin/sh
echo ran >> /var/lib/hello
echo hello from user-data
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    need_root()
    need_binaries("qemu-system-x86_64", "lz4", "busybox", "mmdebstrap", "ssh")
    srv = Server(tmp_path_factory.mktemp("ec2-debian"), args=("--vpc-pool", "10.160.0.0/12")).start()
    yield srv
    srv.stop()  # removes any VM left


def ssh(key, address: str, command: str, timeout: float = 120) -> str:
    """`command`'s output as admin, retried until sshd answers (it starts after the boot)."""
    args = ["ssh", "-i", str(key), "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
            "-o", "BatchMode=yes", "-o", "ConnectTimeout=5", "-o", "LogLevel=ERROR", f"admin@{address}", command]
    deadline = time.monotonic() + timeout
    while True:
        proc = subprocess.run(args, capture_output=True, text=True, timeout=60)
        if proc.returncode != 255:  # 255: ssh itself failed (no answer yet, or refused)
            assert proc.returncode == 0, proc.stderr
            return proc.stdout
        assert time.monotonic() < deadline, proc.stderr
        time.sleep(1)


def poll(key, address: str, command: str, timeout: float = 60) -> str:
    """`command`'s output once it has some: user-data runs in the background."""
    deadline = time.monotonic() + timeout
    while not (out := ssh(key, address, command)):
        assert time.monotonic() < deadline, command
        time.sleep(1)
    return out


def test_debian_instance_over_ssh(server, tmp_path):
    ec2 = server.client("ec2")
    key = tmp_path / "key"
    key.write_text(ec2.create_key_pair(KeyName="debian", KeyType="ed25519")["KeyMaterial"])
    key.chmod(0o600)
    ami = ec2.describe_images(Owners=["amazon"], Filters=[{"Name": "name", "Values": ["cloudlet-debian"]}])[
        "Images"][0]["ImageId"]

    t0, wall0 = time.monotonic(), time.time()
    iid = ec2.run_instances(ImageId=ami, InstanceType="t3.micro", MinCount=1, MaxCount=1, KeyName="debian",
                            UserData=USER_DATA)["Instances"][0]["InstanceId"]
    ec2.get_waiter("instance_running").wait(InstanceIds=[iid], WaiterConfig=WAIT)
    running = time.monotonic() - t0
    address = ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]["PrivateIpAddress"]
    assert ssh(key, address, "sudo -n true 2>&1 && echo ok") == "ok\n"
    answering = time.monotonic() - t0
    disk = next((server.data_dir / "boot" / "amis").glob("debian-*.qcow2"))
    print(f"\nDebian disk built {disk.stat().st_mtime - wall0:.1f} s after RunInstances; "
          f"RunInstances -> running {running:.1f} s, -> SSH answering {answering:.1f} s")

    assert ssh(key, address, "hostname") == "ip-" + address.replace(".", "-") + "\n"
    assert ssh(key, address, "findmnt -n -o SOURCE /") == "/dev/vda\n"
    assert poll(key, address, "cat /var/lib/hello 2>/dev/null || true") == "ran\n"
    assert poll(key, address, "cat /var/log/cloudlet-user-data.log") == "hello from user-data\n"
    ssh(key, address, "echo kept > ~/kept && sync")

    ec2.stop_instances(InstanceIds=[iid])
    ec2.get_waiter("instance_stopped").wait(InstanceIds=[iid], WaiterConfig=WAIT)
    t0 = time.monotonic()
    ec2.start_instances(InstanceIds=[iid])
    ec2.get_waiter("instance_running").wait(InstanceIds=[iid], WaiterConfig=WAIT)
    running = time.monotonic() - t0
    assert ssh(key, address, "cat ~/kept") == "kept\n"
    print(f"after a stop: StartInstances -> running {running:.1f} s, -> SSH answering {time.monotonic() - t0:.1f} s")
    poll(key, address, "pgrep -f 'agent[.]sh user-data' >/dev/null || echo done")  # the agent's turn at it is over
    assert ssh(key, address, "cat /var/lib/hello") == "ran\n"

    ec2.terminate_instances(InstanceIds=[iid])
    ec2.get_waiter("instance_terminated").wait(InstanceIds=[iid], WaiterConfig=WAIT)
    assert subprocess.run(["pgrep", "-f", f"qemu-system.*{iid}"]).returncode == 1  # its VM is gone
