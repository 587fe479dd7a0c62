"""EC2 AMIs, instance types and the RunInstances refusals, through boto3; nothing boots here
(tests/integration/test_ec2_instances.py boots VMs)."""

import ipaddress
import json
import subprocess
import sys
import time

import pytest
from botocore.exceptions import ClientError

from tests.e2e.errors import code
from tests.e2e.instance_helpers import account_fixtures, instance, stopped


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


def test_describe_images_names_every_missing_id(ec2):
    known = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    with pytest.raises(ClientError) as caught:
        ec2.describe_images(ImageIds=["ami-0123456789abcdef0", known, "ami-0fedcba9876543210"])
    assert caught.value.response["Error"] == {
        "Code": "InvalidAMIID.NotFound",
        "Message": "The image ids '[ami-0123456789abcdef0, ami-0fedcba9876543210]' do not exist"}
    with pytest.raises(ClientError) as caught:
        ec2.describe_images(ImageIds=["ami-0123456789abcdef0", known])
    assert caught.value.response["Error"]["Message"] == "The image id '[ami-0123456789abcdef0]' does not exist"


def test_run_instances_refusals(ec2):
    ami = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    assert code(ec2.run_instances, ImageId="ami-0123456789abcdef0", InstanceType="t3.micro", MinCount=1,
                MaxCount=1) == "InvalidAMIID.NotFound"
    assert code(ec2.run_instances, ImageId="bogus", InstanceType="t3.micro", MinCount=1, MaxCount=1) == \
        "InvalidAMIID.Malformed"
    assert code(ec2.run_instances, ImageId="ami-0123456789abcdef0", InstanceType="p4d.24xlarge", MinCount=1,
                MaxCount=1) == "InvalidAMIID.NotFound"  # the AMI is checked first, as AWS does
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


own_account, own = account_fixtures("instance-networks", keys="own_account", client="own")


def test_run_instances_network(own):
    subnet = own.describe_subnets(Filters=[{"Name": "availability-zone", "Values": ["us-east-1b"]}])["Subnets"][0]
    web = own.create_security_group(GroupName="web", Description="web", VpcId=subnet["VpcId"])["GroupId"]
    address = str(ipaddress.ip_network(subnet["CidrBlock"])[40])
    launched = stopped(own, SubnetId=subnet["SubnetId"], SecurityGroupIds=[web], PrivateIpAddress=address,
                    TagSpecifications=[{"ResourceType": "network-interface", "Tags": [{"Key": "of", "Value": "web"}]}])
    iid = launched["InstanceId"]
    assert (launched["PrivateIpAddress"], launched["PrivateDnsName"]) == \
        (address, f"ip-{address.replace('.', '-')}.ec2.internal")
    public = launched["PublicIpAddress"]  # a default subnet maps public IPs on launch
    assert launched["PublicDnsName"] == f"ec2-{public.replace('.', '-')}.compute-1.amazonaws.com"
    assert launched["SecurityGroups"] == [{"GroupId": web, "GroupName": "web"}] and launched["SourceDestCheck"]
    assert (launched["SubnetId"], launched["VpcId"]) == (subnet["SubnetId"], subnet["VpcId"])
    [eni] = launched["NetworkInterfaces"]
    assert eni["Status"] == "in-use" and eni["PrivateIpAddress"] == address and eni["Association"]["PublicIp"] == public
    assert {k: eni["Attachment"][k] for k in ("DeviceIndex", "Status", "DeleteOnTermination", "NetworkCardIndex")} == \
        {"DeviceIndex": 0, "Status": "attached", "DeleteOnTermination": True, "NetworkCardIndex": 0}
    assert own.describe_network_interfaces(NetworkInterfaceIds=[eni["NetworkInterfaceId"]])["NetworkInterfaces"][0][
        "TagSet"] == [{"Key": "of", "Value": "web"}]
    shown = instance(own, iid)
    assert "PublicIpAddress" not in shown and shown["PublicDnsName"] == ""  # a stop lets it go, as on AWS
    assert shown["PrivateIpAddress"] == address and shown["NetworkInterfaces"][0]["NetworkInterfaceId"] == \
        eni["NetworkInterfaceId"]

    def found(name, value):
        return [i["InstanceId"] for r in own.describe_instances(Filters=[{"Name": name, "Values": [value]}])[
            "Reservations"] for i in r["Instances"]]

    for name, value in (("instance.group-id", web), ("instance.group-name", "web"), ("private-ip-address", address),
                        ("subnet-id", subnet["SubnetId"]), ("network-interface.subnet-id", subnet["SubnetId"]),
                        ("network-interface.addresses.private-ip-address", address),
                        ("network-interface.attachment.device-index", "0"), ("source-dest-check", "true")):
        assert iid in found(name, value), name
    assert found("instance.group-name", "nope") == []

    own.modify_instance_attribute(InstanceId=iid, Groups=[web, subnet_default_group(own, subnet["VpcId"])])
    own.modify_instance_attribute(InstanceId=iid, SourceDestCheck={"Value": False})
    groups = own.describe_instance_attribute(InstanceId=iid, Attribute="groupSet")["Groups"]
    assert [g["GroupName"] for g in groups] == ["web", "default"]
    assert own.describe_instance_attribute(InstanceId=iid, Attribute="sourceDestCheck")["SourceDestCheck"] == \
        {"Value": False}
    own.modify_instance_attribute(InstanceId=iid, Attribute="sourceDestCheck", Value="true")
    assert instance(own, iid)["SourceDestCheck"] is True
    assert code(own.modify_instance_attribute, InstanceId=iid, Groups=["sg-0123456789abcdef0"]) == \
        "InvalidGroup.NotFound"

    own.start_instances(InstanceIds=[iid])  # a start gives a new public IP
    assert instance(own, iid)["PublicIpAddress"]
    own.stop_instances(InstanceIds=[iid])
    own.terminate_instances(InstanceIds=[iid])


def subnet_default_group(ec2, vpc_id: str) -> str:
    return ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}, {
        "Name": "group-name", "Values": ["default"]}])["SecurityGroups"][0]["GroupId"]


def test_run_instances_with_network_interfaces(own):
    subnet = own.describe_subnets(Filters=[{"Name": "availability-zone", "Values": ["us-east-1c"]}])["Subnets"][0]
    launched = stopped(own, SecurityGroups=["default"], Placement={"AvailabilityZone": "us-east-1c"})
    assert launched["SubnetId"] == subnet["SubnetId"] and launched["SecurityGroups"][0]["GroupName"] == "default"
    spec = stopped(own, NetworkInterfaces=[{"DeviceIndex": 0, "SubnetId": subnet["SubnetId"], "Description": "eth0",
                                         "AssociatePublicIpAddress": False, "SecondaryPrivateIpAddressCount": 1}])
    assert "PublicIpAddress" not in spec and spec["PublicDnsName"] == ""
    assert spec["NetworkInterfaces"][0]["Description"] == "eth0"
    assert len(spec["NetworkInterfaces"][0]["PrivateIpAddresses"]) == 2

    existing = own.create_network_interface(SubnetId=subnet["SubnetId"])["NetworkInterface"]
    given = stopped(own, NetworkInterfaces=[{"DeviceIndex": 0, "NetworkInterfaceId": existing["NetworkInterfaceId"]}])
    assert given["NetworkInterfaces"][0]["NetworkInterfaceId"] == existing["NetworkInterfaceId"]
    assert given["PrivateIpAddress"] == existing["PrivateIpAddress"] and "PublicIpAddress" not in given
    assert given["NetworkInterfaces"][0]["Attachment"]["DeleteOnTermination"] is False
    assert code(own.run_instances, ImageId=given["ImageId"], InstanceType="t3.micro", MinCount=1, MaxCount=1,
                NetworkInterfaces=[{"DeviceIndex": 0, "NetworkInterfaceId": existing["NetworkInterfaceId"]}]) == \
        "InvalidNetworkInterface.InUse"
    own.terminate_instances(InstanceIds=[launched["InstanceId"], spec["InstanceId"], given["InstanceId"]])


def test_run_instances_network_refusals(own):
    ami = own.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    run = dict(ImageId=ami, InstanceType="t3.micro", MinCount=1, MaxCount=1)
    subnet = own.describe_subnets(Filters=[{"Name": "availability-zone", "Values": ["us-east-1a"]}])["Subnets"][0]
    vpc = own.create_vpc(CidrBlock="10.11.0.0/16")["Vpc"]["VpcId"]
    far_subnet = own.create_subnet(VpcId=vpc, CidrBlock="10.11.1.0/24", AvailabilityZone="us-east-1b")["Subnet"][
        "SubnetId"]
    far = own.create_security_group(GroupName="far", Description="far", VpcId=vpc)["GroupId"]
    many = [own.create_security_group(GroupName=f"many-{n}", Description="x", VpcId=subnet["VpcId"])["GroupId"]
            for n in range(6)]
    taken = own.create_network_interface(SubnetId=subnet["SubnetId"])["NetworkInterface"]
    def made():
        return ({i["InstanceId"] for r in own.describe_instances()["Reservations"] for i in r["Instances"]},
                {n["NetworkInterfaceId"] for n in own.describe_network_interfaces()["NetworkInterfaces"]})

    before = made()
    mine = subnet["SubnetId"]
    for kw, expected in (
        ({"SecurityGroupIds": ["sg-0123456789abcdef0"]}, "InvalidGroup.NotFound"),
        ({"SecurityGroupIds": ["web"]}, "InvalidGroupId.Malformed"),
        ({"SecurityGroupIds": [far]}, "InvalidParameter"),  # of another VPC than the (default) subnet's
        ({"SecurityGroupIds": [far], "SubnetId": mine}, "InvalidParameter"),
        ({"SecurityGroupIds": many}, "SecurityGroupsPerInstanceLimitExceeded"),
        ({"SecurityGroups": ["nope"]}, "InvalidGroup.NotFound"),
        ({"SecurityGroups": ["default"], "SubnetId": far_subnet}, "InvalidParameterCombination"),
        ({"SubnetId": "subnet-0123456789abcdef0", "SecurityGroupIds": ["sg-0123456789abcdef0"]},
         "InvalidSubnetID.NotFound"),  # the subnet is looked at before the groups
        ({"ImageId": "ami-0123456789abcdef0", "SecurityGroupIds": ["sg-0123456789abcdef0"]}, "InvalidAMIID.NotFound"),
        ({"Placement": {"AvailabilityZone": "us-east-1b"}, "SubnetId": mine}, "InvalidParameterValue"),
        ({"Placement": {"AvailabilityZone": "us-east-9z"}}, "InvalidParameterValue"),
        ({"PrivateIpAddress": taken["PrivateIpAddress"], "SubnetId": mine}, "InvalidIPAddress.InUse"),
        ({"NetworkInterfaces": [{"DeviceIndex": 0, "SubnetId": mine}], "SubnetId": mine},
         "InvalidParameterCombination"),
        ({"NetworkInterfaces": [{"DeviceIndex": 0, "SubnetId": mine}], "SecurityGroupIds": many[:1]},
         "InvalidParameterCombination"),
        ({"NetworkInterfaces": [{"DeviceIndex": 0, "SubnetId": mine}], "PrivateIpAddress": "10.0.0.10"},
         "InvalidParameterCombination"),
        ({"NetworkInterfaces": [{"DeviceIndex": 1, "SubnetId": mine}]}, "InvalidParameterValue"),
        ({"NetworkInterfaces": [{"DeviceIndex": 0, "SubnetId": mine}, {"DeviceIndex": 0, "SubnetId": mine}]},
         "InvalidParameterValue"),
        ({"NetworkInterfaces": [{"DeviceIndex": 0, "SubnetId": mine, "AssociatePublicIpAddress": True},
                                {"DeviceIndex": 1, "SubnetId": mine}]}, "InvalidParameterCombination"),
        ({"NetworkInterfaces": [{"DeviceIndex": i, "SubnetId": mine} for i in range(3)]}, "InvalidParameterValue"),
        ({"NetworkInterfaces": [{"DeviceIndex": 0, "SubnetId": mine, "SecondaryPrivateIpAddressCount": 2}]},
         "InvalidInterface.IpAddressLimitExceeded"),  # a t3.micro's interface takes two addresses
        ({"NetworkInterfaces": [{"DeviceIndex": 0, "SubnetId": mine, "Groups": [far]}]}, "InvalidParameter"),
        ({"NetworkInterfaces": [{"DeviceIndex": 0, "NetworkInterfaceId": taken["NetworkInterfaceId"],
                                 "SubnetId": mine}]}, "InvalidParameterCombination"),
        ({"NetworkInterfaces": [{"DeviceIndex": 0, "NetworkInterfaceId": taken["NetworkInterfaceId"]}],
          "MinCount": 2, "MaxCount": 2}, "InvalidParameterCombination"),
        ({"NetworkInterfaces": [{"DeviceIndex": 0, "NetworkInterfaceId": "eni-0123456789abcdef0"}]},
         "InvalidNetworkInterfaceID.NotFound"),
        ({"NetworkInterfaces": [{"DeviceIndex": 0, "SubnetId": mine},
                                {"DeviceIndex": 1, "SubnetId": far_subnet}]}, "InvalidParameterCombination"),
    ):
        assert code(own.run_instances, **{**run, **kw}) == expected, kw
    after = made()  # nothing half-made (the ENIs of instances terminated before may have gone since)
    assert after[0] == before[0] and after[1] <= before[1]
    own.delete_network_interface(NetworkInterfaceId=taken["NetworkInterfaceId"])
