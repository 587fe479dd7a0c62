"""What RunInstances and DescribeInstances say of an instance beyond its state, as AWS says it:
the default m1.small, the network at once while pending, the launch fields (client token,
boot mode, platform, options), AWS's idempotent retries, and the refusals of types, tokens and
options; through boto3, and nothing boots (each instance is stopped at once)."""

import pytest

from tests.e2e.errors import code
from tests.e2e.instance_helpers import WAIT, account_fixtures, instance

fields_account, ec2 = account_fixtures("instance-fields")


@pytest.fixture(scope="module")
def ami(ec2):
    return ec2.describe_images(Owners=["amazon"])["Images"][0]


def launch(ec2, image_id: str, **kw) -> tuple[dict, dict]:
    """(RunInstances' instance, DescribeInstances' of it at once), the instance then stopped."""
    run = ec2.run_instances(ImageId=image_id, MinCount=1, MaxCount=1, **kw)["Instances"][0]
    shown = instance(ec2, run["InstanceId"])
    ec2.stop_instances(InstanceIds=[run["InstanceId"]])
    ec2.get_waiter("instance_stopped").wait(InstanceIds=[run["InstanceId"]], WaiterConfig=WAIT)
    return run, shown


def counts(ec2) -> tuple[int, int, int]:
    """Instances, network interfaces and volumes of the account: a refusal must leave them as they were."""
    instances = sum(len(r["Instances"]) for r in ec2.describe_instances()["Reservations"])
    return instances, len(ec2.describe_network_interfaces()["NetworkInterfaces"]), \
        len(ec2.describe_volumes()["Volumes"])


def test_without_a_type_an_m1_small_is_launched(ec2, ami):
    run, shown = launch(ec2, ami["ImageId"])
    assert run["InstanceType"] == shown["InstanceType"] == "m1.small"
    types = {t["InstanceType"]: t for t in ec2.describe_instance_types(
        InstanceTypes=["m1.small", "m1.medium", "m1.large", "m1.xlarge", "t2.micro", "t3.micro"])["InstanceTypes"]}
    assert {n: (t["VCpuInfo"]["DefaultVCpus"], t["MemoryInfo"]["SizeInMiB"]) for n, t in types.items()} == {
        "m1.small": (1, 1740), "m1.medium": (1, 3840), "m1.large": (2, 7680), "m1.xlarge": (4, 15360),
        "t2.micro": (1, 1024), "t3.micro": (2, 1024)}
    small = types["m1.small"]
    assert (small["CurrentGeneration"], small["Hypervisor"], small["SupportedBootModes"]) == \
        (False, "xen", ["legacy-bios"])
    assert (types["t2.micro"]["CurrentGeneration"], types["t2.micro"]["Hypervisor"]) == (True, "xen")
    assert (types["t3.micro"]["Hypervisor"], types["t3.micro"]["NetworkInfo"]["EnaSupport"]) == ("nitro", "required")
    assert {n: t["EbsInfo"]["EbsOptimizedSupport"] for n, t in types.items() if n.startswith("m1")} == {
        "m1.small": "unsupported", "m1.medium": "unsupported", "m1.large": "supported", "m1.xlarge": "supported"}
    # what the instance says of its CPUs is what its type says
    assert shown["CpuOptions"] == {"CoreCount": small["VCpuInfo"]["DefaultCores"],
                                   "ThreadsPerCore": small["VCpuInfo"]["DefaultThreadsPerCore"]} == \
        {"CoreCount": 1, "ThreadsPerCore": 1}
    assert shown["CurrentInstanceBootMode"] == "legacy-bios"  # Xen types boot BIOS, whatever the image prefers
    offered = ec2.describe_instance_type_offerings(Filters=[{"Name": "instance-type", "Values": ["m1.*"]}])
    assert sorted(o["InstanceType"] for o in offered["InstanceTypeOfferings"]) == \
        ["m1.large", "m1.medium", "m1.small", "m1.xlarge"]
    # m1.small takes AWS's two network interfaces, no more
    subnet = shown["SubnetId"]
    assert code(ec2.run_instances, ImageId=ami["ImageId"], MinCount=1, MaxCount=1, NetworkInterfaces=[
        {"DeviceIndex": i, "SubnetId": subnet} for i in range(3)]) == "InvalidParameterValue"


def test_the_image_is_checked_before_the_type(ec2, ami):
    before = counts(ec2)
    for image_id, kind, expected in (("ami-0123456789abcdef0", "bad", "InvalidAMIID.NotFound"),
                                     ("ami-0123456789abcdef0", "x" * 5000, "InvalidAMIID.NotFound"),
                                     ("ami-0123456789abcdef0", "p4d.24xlarge", "InvalidAMIID.NotFound"),
                                     ("bogus", "t3.micro' OR '1'='1", "InvalidAMIID.Malformed")):
        assert code(ec2.run_instances, ImageId=image_id, InstanceType=kind, MinCount=1, MaxCount=1) == expected, kind
    for kind in ("bad", "x" * 5000, "p4d.24xlarge", "t3.micro\n", "T3.MICRO", "m1.", ".small"):
        with pytest.raises(ec2.exceptions.ClientError) as caught:
            ec2.run_instances(ImageId=ami["ImageId"], InstanceType=kind, MinCount=1, MaxCount=1)
        assert caught.value.response["Error"] == {
            "Code": "InvalidParameterValue", "Message": f"Invalid value '{kind}' for InstanceType."}, kind[:20]
        assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert counts(ec2) == before


def test_network_is_there_at_once_while_pending(ec2, ami):
    run, shown = launch(ec2, ami["ImageId"], InstanceType="t3.micro")
    for body in (run, shown):
        [eni] = body["NetworkInterfaces"]
        assert body["PrivateIpAddress"] == eni["PrivateIpAddress"] and body["PrivateDnsName"] == eni["PrivateDnsName"]
        assert (body["SubnetId"], body["VpcId"]) == (eni["SubnetId"], eni["VpcId"])
        assert eni["Attachment"]["DeviceIndex"] == 0 and eni["Status"] == "in-use"
        assert body["SecurityGroups"] == eni["Groups"] and body["SourceDestCheck"] is eni["SourceDestCheck"]
    assert run["State"]["Name"] == "pending"


def test_describe_instances_carries_the_launch_fields(ec2, ami):
    token = "fields-" + "t" * 57  # 64 characters: the most AWS takes
    run, shown = launch(ec2, ami["ImageId"], InstanceType="t3.micro", ClientToken=token,
                        MaintenanceOptions={"AutoRecovery": "disabled"}, EbsOptimized=True,
                        CapacityReservationSpecification={"CapacityReservationPreference": "none"})
    iid = run["InstanceId"]
    stopped = instance(ec2, iid)
    for body in (run, shown, stopped):
        assert body["ClientToken"] == token
        assert (body["EbsOptimized"], body["EnaSupport"]) == (True, ami["EnaSupport"])
        assert (body["BootMode"], body["CurrentInstanceBootMode"]) == (ami["BootMode"], "uefi")
        assert (body["PlatformDetails"], body["UsageOperation"]) == ("Linux/UNIX", "RunInstances")
        assert body["UsageOperationUpdateTime"] == body["LaunchTime"]
        assert (body["VirtualizationType"], body["Hypervisor"], body["Architecture"]) == \
            ("hvm", "xen", ami["Architecture"])  # AWS: "xen is used for both Xen and Nitro hypervisors"
        assert (body["RootDeviceType"], body["RootDeviceName"]) == ("ebs", ami["RootDeviceName"])
        assert [m["DeviceName"] for m in body["BlockDeviceMappings"]] == [ami["RootDeviceName"]]
        assert body["HibernationOptions"] == {"Configured": False}
        assert body["MaintenanceOptions"] == {"AutoRecovery": "disabled"}
        assert body["EnclaveOptions"] == {"Enabled": False}
        assert body["CpuOptions"] == {"CoreCount": 1, "ThreadsPerCore": 2}
        assert body["CapacityReservationSpecification"] == {"CapacityReservationPreference": "none"}
        assert body["PrivateDnsNameOptions"] == {"HostnameType": "ip-name", "EnableResourceNameDnsARecord": False,
                                                 "EnableResourceNameDnsAAAARecord": False}
        assert body["MetadataOptions"]["HttpEndpoint"] == "enabled"
        assert body["SecurityGroups"][0]["GroupName"] == "default"
    # SourceDestCheck is the primary ENI's
    eni = stopped["NetworkInterfaces"][0]["NetworkInterfaceId"]
    ec2.modify_network_interface_attribute(NetworkInterfaceId=eni, SourceDestCheck={"Value": False})
    assert instance(ec2, iid)["SourceDestCheck"] is False
    # a new type brings its own CPU options and boot mode
    ec2.modify_instance_attribute(InstanceId=iid, InstanceType={"Value": "t2.micro"})
    changed = instance(ec2, iid)
    assert (changed["CpuOptions"], changed["CurrentInstanceBootMode"]) == \
        ({"CoreCount": 1, "ThreadsPerCore": 1}, "legacy-bios")
    assert code(ec2.modify_instance_attribute, InstanceId=iid, InstanceType={"Value": "y" * 300}) == \
        "InvalidParameterValue"


def test_a_retry_with_the_same_client_token_launches_nothing(ec2, ami):
    first = ec2.run_instances(ImageId=ami["ImageId"], InstanceType="t3.micro", MinCount=2, MaxCount=2,
                              ClientToken="retry-1")
    ids = sorted(i["InstanceId"] for i in first["Instances"])
    ec2.stop_instances(InstanceIds=ids)
    ec2.get_waiter("instance_stopped").wait(InstanceIds=ids, WaiterConfig=WAIT)
    before = counts(ec2)
    again = ec2.run_instances(ImageId=ami["ImageId"], InstanceType="t3.micro", MinCount=2, MaxCount=2,
                              ClientToken="retry-1")
    assert again["ReservationId"] == first["ReservationId"]
    assert sorted(i["InstanceId"] for i in again["Instances"]) == ids
    assert {i["ClientToken"] for i in again["Instances"]} == {"retry-1"}
    assert counts(ec2) == before
    for changed in ({"InstanceType": "t3.small"}, {"MaxCount": 3}, {"KeyName": "nope"}):
        request = {"ImageId": ami["ImageId"], "InstanceType": "t3.micro", "MinCount": 2, "MaxCount": 2,
                   "ClientToken": "retry-1", **changed}
        assert code(ec2.run_instances, **request) == "IdempotentParameterMismatch", changed
    # tokens are case-sensitive: another one launches anew (and is refused here for its key)
    assert code(ec2.run_instances, ImageId=ami["ImageId"], InstanceType="t3.micro", MinCount=1, MaxCount=1,
                ClientToken="RETRY-1", KeyName="nope") == "InvalidKeyPair.NotFound"
    assert counts(ec2) == before


def test_hostile_tokens_and_unoffered_options_are_refused(ec2, ami):
    before = counts(ec2)
    base = {"ImageId": ami["ImageId"], "InstanceType": "t3.micro", "MinCount": 1, "MaxCount": 1}
    for token in ("x" * 65, "x" * 10000, "tökén"):
        with pytest.raises(ec2.exceptions.ClientError) as caught:
            ec2.run_instances(**base, ClientToken=token)
        error = caught.value.response["Error"]
        assert error["Code"] == "InvalidParameterValue" and "clientToken" in error["Message"]
    for extra, expected in (
            ({"HibernationOptions": {"Configured": True}}, "UnsupportedHibernationConfiguration"),
            ({"EnclaveOptions": {"Enabled": True}}, "UnsupportedOperation"),
            ({"CpuOptions": {"CoreCount": 4, "ThreadsPerCore": 2}}, "UnsupportedOperation"),
            ({"CpuOptions": {"CoreCount": 1, "ThreadsPerCore": 1}}, "UnsupportedOperation"),
            ({"PrivateDnsNameOptions": {"HostnameType": "resource-name"}}, "UnsupportedOperation"),
            ({"PrivateDnsNameOptions": {"EnableResourceNameDnsARecord": True}}, "UnsupportedOperation"),
            ({"CapacityReservationSpecification": {"CapacityReservationPreference": "capacity-reservations-only"}},
             "UnsupportedOperation"),
            ({"CapacityReservationSpecification": {"CapacityReservationTarget": {
                "CapacityReservationId": "cr-0123456789abcdef0"}}}, "UnsupportedOperation"),
            ({"InstanceType": "t2.micro", "EbsOptimized": True}, "Unsupported"),
            ({"MaintenanceOptions": {"AutoRecovery": "sometimes"}}, "InvalidParameterValue")):
        assert code(ec2.run_instances, **{**base, **extra}) == expected, extra
    assert counts(ec2) == before
