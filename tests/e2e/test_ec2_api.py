"""EC2 AMIs, instance types and the RunInstances refusals, through boto3; nothing boots here
(tests/integration/test_ec2_instances.py boots VMs)."""

import json
import subprocess
import sys
import time

import pytest

from tests.e2e.errors import code


@pytest.fixture(scope="module")
def ec2(server):
    return server.client("ec2")


def test_builtin_amis_and_instance_types(ec2):
    images = ec2.describe_images(Owners=["amazon"])["Images"]
    assert sorted(i["Name"] for i in images) == ["cloudlet-busybox", "cloudlet-debian"]
    assert {i["State"] for i in images} == {"available"}
    assert ec2.describe_images(Owners=["self"])["Images"] == []
    assert ec2.describe_images(Filters=[{"Name": "name", "Values": ["cloudlet-*"]}])["Images"] == images
    types = {t["InstanceType"]: (t["VCpuInfo"]["DefaultVCpus"], t["MemoryInfo"]["SizeInMiB"])
             for t in ec2.describe_instance_types(InstanceTypes=["t3.micro", "t3.small", "c5.large"])["InstanceTypes"]}
    assert types == {"t3.micro": (2, 1024), "t3.small": (2, 2048), "c5.large": (2, 4096)}
    offered = ec2.describe_instance_type_offerings(LocationType="availability-zone", Filters=[
        {"Name": "instance-type", "Values": ["t3.micro"]}])["InstanceTypeOfferings"]
    assert [o["Location"] for o in offered] == ["us-east-1a", "us-east-1b", "us-east-1c"]
    assert code(ec2.describe_instance_types, InstanceTypes=["p4d.24xlarge"]) == "InvalidInstanceType"


def test_run_instances_refusals(ec2):
    ami = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    assert code(ec2.run_instances, ImageId="ami-0123456789abcdef0", InstanceType="t3.micro", MinCount=1,
                MaxCount=1) == "InvalidAMIID.NotFound"
    assert code(ec2.run_instances, ImageId="bogus", InstanceType="t3.micro", MinCount=1, MaxCount=1) == \
        "InvalidAMIID.Malformed"
    assert code(ec2.run_instances, ImageId=ami, InstanceType="t9.huge", MinCount=1, MaxCount=1) == \
        "InvalidParameterValue"
    assert code(ec2.run_instances, ImageId=ami, InstanceType="t3.micro", MinCount=1, MaxCount=1,
                KeyName="no-such-key") == "InvalidKeyPair.NotFound"
    assert code(ec2.run_instances, ImageId=ami, InstanceType="r5.2xlarge", MinCount=20, MaxCount=20) == \
        "InsufficientInstanceCapacity"
    subnet = ec2.describe_subnets(Filters=[{"Name": "availability-zone", "Values": ["us-east-1a"]}])["Subnets"][0]
    network = subnet["CidrBlock"].split("/")[0]  # AWS reserves it and the next three
    inside = network.rsplit(".", 1)[0] + ".10"
    for address, count, expected in (("192.0.2.10", 1, "InvalidParameterValue"), (network, 1, "InvalidParameterValue"),
                                     ("not-an-address", 1, "InvalidParameterValue"),
                                     (inside, 2, "InvalidParameterCombination")):
        assert code(ec2.run_instances, ImageId=ami, InstanceType="t3.micro", MinCount=count, MaxCount=count,
                    SubnetId=subnet["SubnetId"], PrivateIpAddress=address) == expected, address
    assert code(ec2.describe_instances, InstanceIds=["i-0123456789abcdef0"]) == "InvalidInstanceID.NotFound"
    assert code(ec2.terminate_instances, InstanceIds=["i-0123456789abcdef0"]) == "InvalidInstanceID.NotFound"
    assert code(ec2.get_console_output, InstanceId="i-0123456789abcdef0") == "InvalidInstanceID.NotFound"


def test_terminated_instances_are_forgotten_after_an_hour(server):
    """Rows as the instance controller leaves them, one terminated 61 minutes ago and one
    just now: the first goes, with its tags; the second stays visible."""
    from datetime import datetime, timedelta, timezone

    from cloudlet.store import Store
    from cloudlet.store.schema import ec2_instances, tags

    key, secret = server.new_account("forgetful")  # its instances are seen by no other test
    ec2 = server.client("ec2", key=key, secret=secret)
    account = server.client("sts", key=key, secret=secret).get_caller_identity()["Account"]
    store = Store(server.data_dir / "state.db")
    now = datetime.now(timezone.utc)
    with store.scoped(account, "us-east-1") as db:
        for iid, when in (("i-0000000000000000a", now - timedelta(minutes=61)), ("i-0000000000000000b", now)):
            body = {"InstanceId": iid, "State": {"Code": 48, "Name": "terminated"}, "InstanceType": "t3.nano",
                    "ImageId": "ami-0123456789abcdef0", "Placement": {"AvailabilityZone": "us-east-1a"},
                    "SubnetId": "subnet-0", "VpcId": "vpc-0", "_run": {"reservation": "r-0123456789abcdef0"}}
            db.insert(ec2_instances, instance_id=iid, desired="terminated", state="terminated",
                      body=json.dumps(body), updated_at=when.isoformat())
            db.insert(tags, resource_id=iid, key="Name", resource_type="instance", value="old")
    deadline = time.monotonic() + 10
    while len(ids := [i["InstanceId"] for r in ec2.describe_instances()["Reservations"] for i in r["Instances"]]) > 1:
        assert time.monotonic() < deadline, ids
        time.sleep(0.1)
    assert ids == ["i-0000000000000000b"]
    assert [t["ResourceId"] for t in ec2.describe_tags()["Tags"] if t["ResourceId"].startswith("i-0")] == \
        ["i-0000000000000000b"]
    store.close()


def test_missing_image_and_zone(ec2):
    assert code(ec2.run_instances, InstanceType="t3.micro", MinCount=1, MaxCount=1) == "MissingParameter"
    assert code(ec2.create_volume, Size=1) == "MissingParameter"


def test_cloudlet_ssh_refusals(server, tmp_path):
    """`cloudlet ssh` through the API like any client: AWS's error for an unknown instance."""
    proc = subprocess.run([sys.executable, "-m", "cloudlet.cli.main", "ssh", "i-0123456789abcdef0", "true"],
                          capture_output=True, text=True, env=server.env(), cwd=tmp_path, timeout=60)
    assert proc.returncode == 254 and "InvalidInstanceID.NotFound" in proc.stderr
