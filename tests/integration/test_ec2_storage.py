"""EC2 storage seen from inside the guest, through boto3 and `cloudlet ssh` with a key pair:
the root volume keeps what was written across a stop, instance store does not, user-data
runs once, a volume attached to a running instance appears as a disk whose serial is its id
and goes when detached, a snapshot carries its data to a new volume, and an image made from
the instance boots with the instance's files and volumes; DeleteOnTermination is honoured."""

import subprocess
import sys

import pytest

from tests.integration.ec2_fixtures import (SSH_OPTIONS, WAIT, ami_id, key_pair, module_server, until,
                                            until_answers)

pytestmark = [pytest.mark.root, pytest.mark.qemu]
# disk name and serial of each virtio disk the guest has
DISKS = "for d in /sys/block/vd*; do echo ${d##*/} $(cat $d/serial); done"


server = module_server("ebs", "10.144.0.0/12")


@pytest.fixture(scope="module")
def ec2(server):
    return server.client("ec2")


@pytest.fixture(scope="module")
def key(ec2, tmp_path_factory):
    return key_pair(ec2, "storage", tmp_path_factory.mktemp("keys"))


def ssh(server, key, iid: str, command: str) -> str:
    """Run command in the instance through `cloudlet ssh`, retried until SSH answers."""
    return until_answers([sys.executable, "-m", "cloudlet.cli.main", "ssh", iid, "-i", key, "--", *SSH_OPTIONS,
                          command], env=server.env(),
                         explain=lambda: server.client("ec2").get_console_output(InstanceId=iid).get("Output", ""))


def serials(server, key, iid) -> dict[str, str]:
    return dict(line.split() for line in ssh(server, key, iid, DISKS).splitlines() if len(line.split()) == 2)


def volume_of(ec2, iid: str, device: str) -> str:
    mappings = ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]["BlockDeviceMappings"]
    return next(m["Ebs"]["VolumeId"] for m in mappings if m["DeviceName"] == device)


def test_storage_seen_from_the_guest(server, ec2, key):
    ami = ami_id(ec2)
    iid = ec2.run_instances(
        ImageId=ami, InstanceType="c5d.large", MinCount=1, MaxCount=1, KeyName="storage",
        UserData="#!/bin/sh\necho ran >> /root/user-data-runs\n",
        BlockDeviceMappings=[{"DeviceName": "/dev/sdg", "Ebs": {"VolumeSize": 1, "DeleteOnTermination": True}}],
    )["Instances"][0]["InstanceId"]
    ec2.get_waiter("instance_running").wait(InstanceIds=[iid], WaiterConfig=WAIT)
    root, extra = volume_of(ec2, iid, "/dev/xvda"), volume_of(ec2, iid, "/dev/sdg")
    disks = serials(server, key, iid)
    assert disks["vda"] == root.replace("-", "")  # the root volume, then instance store, then the volume
    assert disks["vdb"] == f"eph{iid[2:]}" and extra.replace("-", "") in disks.values()
    until(lambda: "ran" in ssh(server, key, iid, "cat /root/user-data-runs 2>/dev/null || true"), "user-data ran")
    ssh(server, key, iid, "echo kept > /root/kept && echo scratch | dd of=/dev/vdb 2>/dev/null && sync")

    vid = ec2.create_volume(AvailabilityZone="us-east-1a", Size=1)["VolumeId"]
    ec2.get_waiter("volume_available").wait(VolumeIds=[vid], WaiterConfig=WAIT)
    ec2.attach_volume(VolumeId=vid, InstanceId=iid, Device="/dev/sdf")
    ec2.get_waiter("volume_in_use").wait(VolumeIds=[vid], WaiterConfig=WAIT)
    serial = vid.replace("-", "")
    disk = until(lambda: next((d for d, s in serials(server, key, iid).items() if s == serial), None),
                 f"{vid} appeared in the guest")
    ssh(server, key, iid, f"echo on-the-volume | dd of=/dev/{disk} 2>/dev/null && sync")
    ec2.detach_volume(VolumeId=vid)
    ec2.get_waiter("volume_available").wait(VolumeIds=[vid], WaiterConfig=WAIT)
    assert serial not in serials(server, key, iid).values()

    ec2.stop_instances(InstanceIds=[iid])
    ec2.get_waiter("instance_stopped").wait(InstanceIds=[iid], WaiterConfig=WAIT)
    ec2.start_instances(InstanceIds=[iid])
    ec2.get_waiter("instance_running").wait(InstanceIds=[iid], WaiterConfig=WAIT)
    assert ssh(server, key, iid, "cat /root/kept") == "kept\n"  # the root volume outlived the stop
    assert "scratch" not in ssh(server, key, iid, "head -c 16 /dev/vdb")  # instance store did not
    assert ssh(server, key, iid, "cat /root/user-data-runs") == "ran\n"  # once per instance

    sid = ec2.create_snapshot(VolumeId=vid)["SnapshotId"]
    ec2.get_waiter("snapshot_completed").wait(SnapshotIds=[sid], WaiterConfig=WAIT)
    copy = ec2.create_volume(AvailabilityZone="us-east-1a", SnapshotId=sid)["VolumeId"]
    ec2.get_waiter("volume_available").wait(VolumeIds=[copy], WaiterConfig=WAIT)
    ec2.attach_volume(VolumeId=copy, InstanceId=iid, Device="/dev/sdh")
    disk = until(lambda: next((d for d, s in serials(server, key, iid).items() if s == copy.replace("-", "")),
                              None), f"{copy} appeared in the guest")
    assert ssh(server, key, iid, f"head -c 13 /dev/{disk}") == "on-the-volume"

    image = ec2.create_image(InstanceId=iid, Name="storage-test")["ImageId"]  # stops and restarts it
    ec2.get_waiter("image_available").wait(ImageIds=[image], WaiterConfig=WAIT)
    ec2.get_waiter("instance_running").wait(InstanceIds=[iid], WaiterConfig=WAIT)
    child = ec2.run_instances(ImageId=image, InstanceType="t3.nano", MinCount=1, MaxCount=1, KeyName="storage",
                              UserData="#!/bin/sh\necho child >> /root/user-data-runs\n")["Instances"][0]["InstanceId"]
    ec2.get_waiter("instance_running").wait(InstanceIds=[child], WaiterConfig=WAIT)
    assert ssh(server, key, child, "cat /root/kept") == "kept\n"
    until(lambda: "child" in ssh(server, key, child, "cat /root/user-data-runs"), "the new instance's user-data")
    child_copy = volume_of(ec2, child, "/dev/sdh")  # the image has every volume the instance had
    disk = next(d for d, s in serials(server, key, child).items() if s == child_copy.replace("-", ""))
    assert ssh(server, key, child, f"head -c 13 /dev/{disk}") == "on-the-volume"

    ec2.terminate_instances(InstanceIds=[iid, child])
    ec2.get_waiter("instance_terminated").wait(InstanceIds=[iid, child], WaiterConfig=WAIT)
    left = {v["VolumeId"]: v["State"] for v in ec2.describe_volumes()["Volumes"]}
    # root and /dev/sdg volumes went with the instances; /dev/sdh was not to be deleted on termination
    assert left == {vid: "available", copy: "available", child_copy: "available"}
    for volume in left:
        ec2.delete_volume(VolumeId=volume)
    ec2.deregister_image(ImageId=image)
    for snap in ec2.describe_snapshots(OwnerIds=["self"])["Snapshots"]:
        ec2.delete_snapshot(SnapshotId=snap["SnapshotId"])


LISTEN = """import socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("198.51.100.2", 9000))
s.listen(1)
print("listening", flush=True)
conn, peer = s.accept()
print(peer[0], conn.recv(100).decode().strip(), flush=True)
"""


def test_outbound_nat_and_metadata_options(server, ec2, key):
    """An 'outside' network namespace behind a veth stands in for the internet: what the
    instance sends there arrives from the host's address, not the instance's. IMDSv2 can be
    required (the guest agent still gets its key) and tags shown. The instance has the
    address it asked for, in another zone's subnet."""
    subprocess.run(["ip", "netns", "add", "cl-outside"], check=True)
    try:
        for cmd in (["ip", "link", "add", "cl-out0", "type", "veth", "peer", "name", "cl-out1", "netns", "cl-outside"],
                    ["ip", "addr", "add", "198.51.100.1/30", "dev", "cl-out0"], ["ip", "link", "set", "cl-out0", "up"],
                    ["ip", "-n", "cl-outside", "addr", "add", "198.51.100.2/30", "dev", "cl-out1"],
                    ["ip", "-n", "cl-outside", "link", "set", "cl-out1", "up"]):
            subprocess.run(cmd, check=True)
        listener = subprocess.Popen(["ip", "netns", "exec", "cl-outside", sys.executable, "-c", LISTEN],
                                    stdout=subprocess.PIPE, text=True)
        try:
            assert listener.stdout.readline() == "listening\n"
            ami = ami_id(ec2)
            subnet = ec2.describe_subnets(Filters=[{"Name": "availability-zone", "Values": ["us-east-1b"]}])[
                "Subnets"][0]
            address = subnet["CidrBlock"].split("/")[0].rsplit(".", 1)[0] + ".42"
            iid = ec2.run_instances(  # IMDSv2 only: the guest agent asks with a token
                ImageId=ami, InstanceType="t3.nano", MinCount=1, MaxCount=1, KeyName="storage",
                SubnetId=subnet["SubnetId"], PrivateIpAddress=address,
                MetadataOptions={"HttpTokens": "required", "InstanceMetadataTags": "enabled"},
                TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "role", "Value": "nat"}]}],
            )["Instances"][0]["InstanceId"]
            ec2.get_waiter("instance_running").wait(InstanceIds=[iid], WaiterConfig=WAIT)
            described = ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]
            assert described["PrivateIpAddress"] == address and described["SubnetId"] == subnet["SubnetId"]
            ssh(server, key, iid, "echo from-the-vm | nc -w 3 198.51.100.2 9000")
            assert listener.stdout.readline() == "198.51.100.1 from-the-vm\n"
            assert ssh(server, key, iid, "wget -q -O - http://169.254.169.254/latest/meta-data/instance-id; "
                       "echo $?") == "1\n"  # no token: refused
            options = ec2.modify_instance_metadata_options(InstanceId=iid, HttpTokens="optional")
            assert options["InstanceMetadataOptions"]["HttpTokens"] == "optional"
            assert ssh(server, key, iid, "wget -q -O - http://169.254.169.254/latest/meta-data/tags/instance/role") \
                == "nat"
            ec2.terminate_instances(InstanceIds=[iid])
            ec2.get_waiter("instance_terminated").wait(InstanceIds=[iid], WaiterConfig=WAIT)
        finally:
            listener.kill()
            listener.wait()
    finally:
        subprocess.run(["ip", "link", "del", "cl-out0"], capture_output=True)
        subprocess.run(["ip", "netns", "del", "cl-outside"], check=True)
