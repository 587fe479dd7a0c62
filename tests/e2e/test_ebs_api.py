"""EBS volumes and snapshots and an account's own AMIs through boto3 and its waiters, with
the qcow2 files the volume controller makes behind them, and AWS's refusals. Nothing boots
here (tests/integration/test_ec2_storage.py attaches volumes to running instances)."""

import json
import subprocess
import time

import pytest

from tests.e2e.errors import code

WAIT = {"Delay": 0.2, "MaxAttempts": 150}


@pytest.fixture(scope="module")
def ec2(server):
    return server.client("ec2")


def virtual_gib(path) -> float:
    info = json.loads(subprocess.run(["qemu-img", "info", "-U", "--output=json", str(path)], check=True,
                                     capture_output=True, text=True).stdout)
    return info["virtual-size"] / 1024 ** 3


def until_gone(path, timeout: float = 10):
    deadline = time.monotonic() + timeout
    while path.exists():
        assert time.monotonic() < deadline, f"{path} was not removed"
        time.sleep(0.1)


def test_volumes_and_snapshots(server, ec2):
    volume = ec2.create_volume(AvailabilityZone="us-east-1a", Size=2, VolumeType="gp3", TagSpecifications=[
        {"ResourceType": "volume", "Tags": [{"Key": "Name", "Value": "data"}]}])
    vid = volume["VolumeId"]
    assert volume["State"] == "creating" and volume["Size"] == 2 and volume["Iops"] == 3000
    ec2.get_waiter("volume_available").wait(VolumeIds=[vid], WaiterConfig=WAIT)
    path = server.data_dir / "ebs" / "volumes" / f"{vid}.qcow2"
    assert virtual_gib(path) == 2
    found = ec2.describe_volumes(Filters=[{"Name": "tag:Name", "Values": ["data"]},
                                          {"Name": "status", "Values": ["available"]}])["Volumes"]
    assert [v["VolumeId"] for v in found] == [vid] and found[0]["Attachments"] == []

    snap = ec2.create_snapshot(VolumeId=vid, Description="first")
    assert snap["State"] == "pending" and snap["VolumeSize"] == 2
    ec2.get_waiter("snapshot_completed").wait(SnapshotIds=[snap["SnapshotId"]], WaiterConfig=WAIT)
    mine = ec2.describe_snapshots(OwnerIds=["self"])["Snapshots"]
    assert [(s["SnapshotId"], s["VolumeId"], s["Description"]) for s in mine] == [(snap["SnapshotId"], vid, "first")]
    assert code(ec2.create_volume, AvailabilityZone="us-east-1b", SnapshotId=snap["SnapshotId"], Size=1) == \
        "InvalidParameterValue"  # smaller than the snapshot
    copy = ec2.create_volume(AvailabilityZone="us-east-1b", SnapshotId=snap["SnapshotId"], Size=4)
    ec2.get_waiter("volume_available").wait(VolumeIds=[copy["VolumeId"]], WaiterConfig=WAIT)
    assert copy["SnapshotId"] == snap["SnapshotId"]
    assert virtual_gib(server.data_dir / "ebs" / "volumes" / f"{copy['VolumeId']}.qcow2") == 4

    for volume_id in (vid, copy["VolumeId"]):
        ec2.delete_volume(VolumeId=volume_id)
    until_gone(path)
    assert code(ec2.describe_volumes, VolumeIds=[vid]) == "InvalidVolume.NotFound"
    ec2.delete_snapshot(SnapshotId=snap["SnapshotId"])
    until_gone(server.data_dir / "ebs" / "snapshots" / f"{snap['SnapshotId']}.qcow2")


def test_volume_refusals(ec2):
    assert code(ec2.create_volume, AvailabilityZone="us-east-1a") == "MissingParameter"
    assert code(ec2.create_volume, AvailabilityZone="us-east-1z", Size=1) == "InvalidZone.NotFound"
    assert code(ec2.create_volume, AvailabilityZone="us-east-1a", Size=20000) == "InvalidParameterValue"
    assert code(ec2.create_volume, AvailabilityZone="us-east-1a", Size=10, VolumeType="st1") == \
        "InvalidParameterValue"  # st1 starts at 125 GiB
    assert code(ec2.create_volume, AvailabilityZone="us-east-1a", Size=1, Encrypted=True) == "UnsupportedOperation"
    assert code(ec2.create_volume, AvailabilityZone="us-east-1a", SnapshotId="snap-0123456789abcdef0") == \
        "InvalidSnapshot.NotFound"
    assert code(ec2.delete_volume, VolumeId="vol-0123456789abcdef0") == "InvalidVolume.NotFound"
    assert code(ec2.describe_volumes, VolumeIds=["bogus"]) == "InvalidVolumeID.Malformed"
    vid = ec2.create_volume(AvailabilityZone="us-east-1a", Size=1)["VolumeId"]
    ec2.get_waiter("volume_available").wait(VolumeIds=[vid], WaiterConfig=WAIT)
    assert code(ec2.attach_volume, VolumeId=vid, InstanceId="i-0123456789abcdef0", Device="/dev/sdf") == \
        "InvalidInstanceID.NotFound"
    assert code(ec2.detach_volume, VolumeId=vid) == "IncorrectState"
    assert code(ec2.delete_snapshot, SnapshotId="snap-0123456789abcdef0") == "InvalidSnapshot.NotFound"
    ec2.delete_volume(VolumeId=vid)
    # other modules' volumes may be on the shared server: only this one must be gone
    assert vid not in [v["VolumeId"] for v in ec2.describe_volumes(VolumeIds=[])["Volumes"]]


def test_images_registered_copied_and_deregistered(server, ec2):
    vid = ec2.create_volume(AvailabilityZone="us-east-1a", Size=1)["VolumeId"]
    ec2.get_waiter("volume_available").wait(VolumeIds=[vid], WaiterConfig=WAIT)
    sid = ec2.create_snapshot(VolumeId=vid)["SnapshotId"]
    ec2.get_waiter("snapshot_completed").wait(SnapshotIds=[sid], WaiterConfig=WAIT)
    mapping = [{"DeviceName": "/dev/sdf", "Ebs": {"SnapshotId": sid, "DeleteOnTermination": False}},
               {"DeviceName": "/dev/xvda", "Ebs": {"SnapshotId": sid}}]
    ami = ec2.register_image(Name="mine-1", RootDeviceName="/dev/xvda", BlockDeviceMappings=mapping,
                             Architecture="x86_64", VirtualizationType="hvm")["ImageId"]
    ec2.get_waiter("image_available").wait(ImageIds=[ami], WaiterConfig=WAIT)
    image = ec2.describe_images(Owners=["self"])["Images"][0]
    assert (image["ImageId"], image["Name"], image["State"], image["Public"]) == (ami, "mine-1", "available", False)
    assert [(m["DeviceName"], m["Ebs"]["SnapshotId"], m["Ebs"]["DeleteOnTermination"])
            for m in image["BlockDeviceMappings"]] == [("/dev/xvda", sid, True), ("/dev/sdf", sid, False)]
    assert code(ec2.register_image, Name="sda1", RootDeviceName="/dev/sda1", BlockDeviceMappings=mapping) == \
        "InvalidParameterValue"  # cloudlet boots from /dev/xvda
    assert code(ec2.register_image, Name="mine-1", BlockDeviceMappings=mapping) == "InvalidAMIName.Duplicate"
    assert code(ec2.register_image, Name="bad*name", BlockDeviceMappings=mapping) == "InvalidAMIName.Malformed"
    assert code(ec2.register_image, Name="no-root", BlockDeviceMappings=[]) == "InvalidBlockDeviceMapping"
    assert code(ec2.register_image, Name="arm", Architecture="arm64", BlockDeviceMappings=mapping) == \
        "InvalidParameterValue"
    assert code(ec2.delete_snapshot, SnapshotId=sid) == "InvalidSnapshot.InUse"

    ec2.modify_image_attribute(ImageId=ami, Description={"Value": "made in a test"})
    assert ec2.describe_image_attribute(ImageId=ami, Attribute="description")["Description"] == \
        {"Value": "made in a test"}
    assert code(ec2.modify_image_attribute, ImageId=ami, LaunchPermission={"Add": [{"UserId": "123456789012"}]}) \
        == "UnsupportedOperation"

    west = server.client("ec2", region="us-west-2")
    copied = west.copy_image(SourceImageId=ami, SourceRegion="us-east-1", Name="mine-1-west")["ImageId"]
    west.get_waiter("image_available").wait(ImageIds=[copied], WaiterConfig=WAIT)
    west_snaps = [m["Ebs"]["SnapshotId"] for m in west.describe_images(ImageIds=[copied])["Images"][0][
        "BlockDeviceMappings"]]
    assert len(set(west_snaps)) == 2 and sid not in west_snaps  # a copy of each, in the other region
    assert {s["State"] for s in west.describe_snapshots(SnapshotIds=west_snaps)["Snapshots"]} == {"completed"}
    busybox = ec2.describe_images(Owners=["amazon"], Filters=[{"Name": "name", "Values": ["cloudlet-busybox"]}])[
        "Images"][0]["ImageId"]
    from_builtin = west.copy_image(SourceImageId=busybox, SourceRegion="us-east-1", Name="my-busybox")["ImageId"]
    west.get_waiter("image_available").wait(ImageIds=[from_builtin], WaiterConfig=WAIT)
    assert code(ec2.deregister_image, ImageId=busybox) == "AuthFailure"

    for client, image_id in ((ec2, ami), (west, copied), (west, from_builtin)):
        client.deregister_image(ImageId=image_id)
    assert code(ec2.describe_images, ImageIds=[ami]) == "InvalidAMIID.NotFound"
    ec2.delete_snapshot(SnapshotId=sid)  # no image uses it any more
    ec2.delete_volume(VolumeId=vid)
    for snap in west.describe_snapshots(OwnerIds=["self"])["Snapshots"]:
        west.delete_snapshot(SnapshotId=snap["SnapshotId"])


def test_run_instances_block_device_refusals(ec2):
    ami = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    run = dict(ImageId=ami, InstanceType="t3.micro", MinCount=1, MaxCount=1)
    before = ec2.describe_instances()["Reservations"]  # other modules' instances, on the same server
    volumes = ec2.describe_volumes()["Volumes"]
    assert code(ec2.run_instances, **run, BlockDeviceMappings=[
        {"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 4}}]) == "InvalidParameterValue"  # the image has 8
    assert code(ec2.run_instances, **run, BlockDeviceMappings=[
        {"DeviceName": "/dev/sdf", "Ebs": {"VolumeType": "gp3"}}]) == "InvalidBlockDeviceMapping"
    assert code(ec2.run_instances, **run, BlockDeviceMappings=[
        {"DeviceName": "/dev/hda", "Ebs": {"VolumeSize": 1}}]) == "InvalidBlockDeviceMapping"
    assert ec2.describe_instances()["Reservations"] == before  # nothing half-made
    assert ec2.describe_volumes()["Volumes"] == volumes
