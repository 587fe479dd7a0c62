"""Network interfaces through boto3 and the stock AWS CLI against `cloudlet up`: made, described
(filters, paging, tags), attached to and detached from instances, their attributes and
secondary addresses, and AWS's refusals, none of which leaves anything half-made. The
instances here never boot: they are pending or stopped (tests/integration boots VMs)."""

import ipaddress
import re

import pytest

from tests.e2e.errors import code
from tests.e2e.instance_helpers import account_fixtures, instance, stopped
from tests.e2e.vpc_helpers import cli

account, ec2 = account_fixtures("enis")


@pytest.fixture(scope="module")
def subnets(ec2):
    """The default VPC's subnets by zone."""
    return {s["AvailabilityZone"]: s for s in ec2.describe_subnets()["Subnets"]}


def nth(subnet: dict, n: int) -> str:
    """The subnet's address at offset n."""
    return str(ipaddress.ip_network(subnet["CidrBlock"])[n])


def eni(ec2, eni_id: str) -> dict:
    return ec2.describe_network_interfaces(NetworkInterfaceIds=[eni_id])["NetworkInterfaces"][0]


def test_describe_network_interfaces_with_the_aws_cli(server):
    """The walkthrough's describe-network-interfaces: an instance's ENI, as the CLI shows it."""
    region = ("--region", "ap-southeast-2")  # the admin profile's: no other module uses this region
    admin = server.client("ec2", region="ap-southeast-2")
    launched = stopped(admin)
    iid = launched["InstanceId"]
    try:
        found = cli(server, "describe-network-interfaces", "--filters", f"Name=attachment.instance-id,Values={iid}",
                    *region)["NetworkInterfaces"]
        assert len(found) == 1 and found[0]["Status"] == "in-use"
        assert found[0]["Attachment"]["InstanceId"] == iid and found[0]["Attachment"]["DeviceIndex"] == 0
        assert found[0]["NetworkInterfaceId"] == launched["NetworkInterfaces"][0]["NetworkInterfaceId"]
        assert found[0]["PrivateIpAddress"] == launched["PrivateIpAddress"]
        public = launched["PublicIpAddress"]  # the default subnet maps public IPs on launch
        assert launched["PublicDnsName"] == f"ec2-{public.replace('.', '-')}.ap-southeast-2.compute.amazonaws.com"
        assert found[0]["PrivateDnsName"].endswith(".ap-southeast-2.compute.internal")
        assert "Association" not in found[0]  # a stopped instance's launch-time public IP is gone
    finally:
        admin.terminate_instances(InstanceIds=[iid])


def test_create_describe_and_delete(ec2, subnets):
    subnet = subnets["us-east-1a"]
    made = ec2.create_network_interface(SubnetId=subnet["SubnetId"], Description="web tier",
                                        SecondaryPrivateIpAddressCount=2, TagSpecifications=[
                                            {"ResourceType": "network-interface", "Tags": [{"Key": "Name",
                                                                                            "Value": "web"}]}])
    body = made["NetworkInterface"]
    eni_id = body["NetworkInterfaceId"]
    assert re.fullmatch(r"eni-[0-9a-f]{17}", eni_id)
    assert (body["Status"], body["InterfaceType"], body["Description"]) == ("available", "interface", "web tier")
    assert (body["SubnetId"], body["VpcId"], body["AvailabilityZone"]) == \
        (subnet["SubnetId"], subnet["VpcId"], "us-east-1a")
    assert re.fullmatch(r"02(:[0-9a-f]{2}){5}", body["MacAddress"])
    assert body["RequesterManaged"] is False and body["SourceDestCheck"] is True
    assert [g["GroupName"] for g in body["Groups"]] == ["default"]
    assert body["TagSet"] == [{"Key": "Name", "Value": "web"}]
    addresses = [p["PrivateIpAddress"] for p in body["PrivateIpAddresses"]]
    assert len(addresses) == 3 and addresses[0] == body["PrivateIpAddress"]
    assert [p["Primary"] for p in body["PrivateIpAddresses"]] == [True, False, False]
    assert body["PrivateDnsName"] == f"ip-{body['PrivateIpAddress'].replace('.', '-')}.ec2.internal"
    assert eni(ec2, eni_id) == body

    fixed = ec2.create_network_interface(SubnetId=subnet["SubnetId"], PrivateIpAddresses=[
        {"PrivateIpAddress": nth(subnet, 99), "Primary": True}])["NetworkInterface"]
    assert fixed["PrivateIpAddress"] == nth(subnet, 99)
    ec2.delete_network_interface(NetworkInterfaceId=fixed["NetworkInterfaceId"])
    ec2.delete_network_interface(NetworkInterfaceId=eni_id)
    assert code(ec2.describe_network_interfaces, NetworkInterfaceIds=[eni_id]) == "InvalidNetworkInterfaceID.NotFound"
    assert code(ec2.delete_network_interface, NetworkInterfaceId=eni_id) == "InvalidNetworkInterfaceID.NotFound"
    assert code(ec2.describe_network_interfaces, NetworkInterfaceIds=["nope"]) == "InvalidNetworkInterfaceId.Malformed"
    assert ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [eni_id]}])["Tags"] == []


def test_filters_and_paging(server, account, ec2, subnets):
    group = ec2.create_security_group(GroupName="filtered", Description="x", VpcId=subnets["us-east-1b"]["VpcId"])
    made = [ec2.create_network_interface(SubnetId=subnets["us-east-1b"]["SubnetId"], Description=f"page {n}",
                                         Groups=[group["GroupId"]])["NetworkInterface"] for n in range(6)]
    ids = sorted(e["NetworkInterfaceId"] for e in made)
    try:
        def by(name, *values):
            return sorted(e["NetworkInterfaceId"] for e in ec2.describe_network_interfaces(
                Filters=[{"Name": name, "Values": list(values)}])["NetworkInterfaces"])

        first = made[0]
        assert by("group-id", group["GroupId"]) == ids
        assert by("group-name", "filtered") == ids
        assert by("description", "page 3") == [made[3]["NetworkInterfaceId"]]
        assert by("description", "page *") == ids
        assert by("private-ip-address", first["PrivateIpAddress"]) == [first["NetworkInterfaceId"]]
        assert by("addresses.private-ip-address", first["PrivateIpAddress"]) == [first["NetworkInterfaceId"]]
        assert by("mac-address", first["MacAddress"]) == [first["NetworkInterfaceId"]]
        assert by("network-interface-id", first["NetworkInterfaceId"]) == [first["NetworkInterfaceId"]]
        assert set(ids) <= set(by("availability-zone", "us-east-1b"))
        assert set(ids) <= set(by("subnet-id", subnets["us-east-1b"]["SubnetId"]))
        assert set(ids) <= set(by("vpc-id", subnets["us-east-1b"]["VpcId"]))
        assert set(ids) <= set(by("status", "available")) and not set(ids) & set(by("status", "in-use"))
        assert set(ids) <= set(by("interface-type", "interface"))
        assert set(ids) <= set(by("requester-managed", "false")) and not by("requester-managed", "true")
        assert set(ids) <= set(by("source-dest-check", "true"))
        assert set(ids) <= set(by("owner-id", first["OwnerId"]))
        assert by("attachment.status", "attached") == by("status", "in-use")
        assert by("association.public-ip", "192.0.2.1") == []
        ec2.create_tags(Resources=[first["NetworkInterfaceId"]], Tags=[{"Key": "role", "Value": "db"}])
        assert by("tag:role", "db") == [first["NetworkInterfaceId"]]
        assert code(ec2.describe_network_interfaces, Filters=[{"Name": "bogus", "Values": ["x"]}]) == \
            "InvalidParameterValue"

        pages, token = [], None
        while True:
            page = ec2.describe_network_interfaces(MaxResults=5, Filters=[{"Name": "group-id", "Values": [
                group["GroupId"]]}], **({"NextToken": token} if token else {}))
            pages.append([e["NetworkInterfaceId"] for e in page["NetworkInterfaces"]])
            token = page.get("NextToken")
            if not token:
                break
        assert [len(p) for p in pages] == [5, 1] and sorted(sum(pages, [])) == ids
        assert code(ec2.describe_network_interfaces, MaxResults=5, NetworkInterfaceIds=ids[:1]) == \
            "InvalidParameterCombination"
        raw = server.client("ec2", key=account[0], secret=account[1], validate=False)
        assert code(raw.describe_network_interfaces, MaxResults=4) == "InvalidParameterValue"
    finally:
        for eni_id in ids:
            ec2.delete_network_interface(NetworkInterfaceId=eni_id)
        ec2.delete_security_group(GroupId=group["GroupId"])


def test_create_refusals(ec2, subnets):
    subnet = subnets["us-east-1c"]
    before = ec2.describe_network_interfaces()["NetworkInterfaces"]
    groups = [ec2.create_security_group(GroupName=f"many-{n}", Description="x", VpcId=subnet["VpcId"])["GroupId"]
              for n in range(6)]
    taken = ec2.create_network_interface(SubnetId=subnet["SubnetId"], PrivateIpAddress=nth(subnet, 50))
    try:
        for kw, expected in (
            ({"SubnetId": "subnet-0123456789abcdef0"}, "InvalidSubnetID.NotFound"),
            ({"Groups": ["sg-0123456789abcdef0"]}, "InvalidGroup.NotFound"),
            ({"Groups": ["not-a-group"]}, "InvalidGroupId.Malformed"),
            ({"Groups": groups}, "SecurityGroupsPerInterfaceLimitExceeded"),
            ({"PrivateIpAddress": nth(subnet, 50)}, "InvalidIPAddress.InUse"),
            ({"PrivateIpAddress": nth(subnet, 2)}, "InvalidParameterValue"),  # AWS keeps .0 to .3
            ({"PrivateIpAddress": "192.0.2.10"}, "InvalidParameterValue"),
            ({"PrivateIpAddress": "not-an-address"}, "InvalidParameterValue"),
            ({"Description": "x" * 256}, "InvalidParameterValue"),
            ({"InterfaceType": "branch"}, "InvalidParameterValue"),
            ({"SecondaryPrivateIpAddressCount": 60}, "PrivateIpAddressLimitExceeded"),
            ({"SecondaryPrivateIpAddressCount": 1, "PrivateIpAddresses": [
                {"PrivateIpAddress": nth(subnet, 60), "Primary": False}]}, "InvalidParameterCombination"),
            ({"PrivateIpAddresses": [{"PrivateIpAddress": nth(subnet, 61), "Primary": False},
                                     {"PrivateIpAddress": nth(subnet, 50), "Primary": False}]},
             "InvalidIPAddress.InUse"),  # the first was already chosen: nothing of it stays
        ):
            assert code(ec2.create_network_interface, **{"SubnetId": subnet["SubnetId"], **kw}) == expected, kw
        now = ec2.describe_network_interfaces()["NetworkInterfaces"]
        assert len(now) == len(before) + 1
        again = ec2.create_network_interface(SubnetId=subnet["SubnetId"], PrivateIpAddress=nth(subnet, 61))
        ec2.delete_network_interface(NetworkInterfaceId=again["NetworkInterface"]["NetworkInterfaceId"])
    finally:
        ec2.delete_network_interface(NetworkInterfaceId=taken["NetworkInterface"]["NetworkInterfaceId"])
        for group in groups:
            ec2.delete_security_group(GroupId=group)


def test_attach_and_detach(ec2, subnets):
    launched = stopped(ec2, SubnetId=subnets["us-east-1a"]["SubnetId"])
    iid = launched["InstanceId"]
    primary = launched["NetworkInterfaces"][0]
    extra = ec2.create_network_interface(SubnetId=subnets["us-east-1a"]["SubnetId"])["NetworkInterface"]
    elsewhere = ec2.create_network_interface(SubnetId=subnets["us-east-1b"]["SubnetId"])["NetworkInterface"]
    eni_id = extra["NetworkInterfaceId"]
    attached = ec2.attach_network_interface(NetworkInterfaceId=eni_id, InstanceId=iid, DeviceIndex=1)
    assert re.fullmatch(r"eni-attach-[0-9a-f]{17}", attached["AttachmentId"]) and attached["NetworkCardIndex"] == 0
    body = eni(ec2, eni_id)
    assert body["Status"] == "in-use"
    assert {k: body["Attachment"][k] for k in ("AttachmentId", "DeviceIndex", "InstanceId", "Status",
                                               "DeleteOnTermination")} == \
        {"AttachmentId": attached["AttachmentId"], "DeviceIndex": 1, "InstanceId": iid, "Status": "attached",
         "DeleteOnTermination": False}
    shown = instance(ec2, iid)["NetworkInterfaces"]
    assert [(n["NetworkInterfaceId"], n["Attachment"]["DeviceIndex"]) for n in shown] == \
        [(primary["NetworkInterfaceId"], 0), (eni_id, 1)]
    found = ec2.describe_instances(Filters=[{"Name": "network-interface.network-interface-id", "Values": [eni_id]}])
    assert found["Reservations"][0]["Instances"][0]["InstanceId"] == iid

    assert code(ec2.attach_network_interface, NetworkInterfaceId=eni_id, InstanceId=iid, DeviceIndex=1) == \
        "InvalidNetworkInterface.InUse"
    fresh = ec2.create_network_interface(SubnetId=subnets["us-east-1a"]["SubnetId"])["NetworkInterface"]
    for kw, expected in (
        ({"NetworkInterfaceId": fresh["NetworkInterfaceId"], "DeviceIndex": 1}, "InvalidParameterValue"),  # taken
        ({"NetworkInterfaceId": fresh["NetworkInterfaceId"], "DeviceIndex": 2}, "InvalidParameterValue"),  # t3.micro
        ({"NetworkInterfaceId": elsewhere["NetworkInterfaceId"], "DeviceIndex": 1}, "InvalidParameterCombination"),
        ({"NetworkInterfaceId": "eni-0123456789abcdef0", "DeviceIndex": 1}, "InvalidNetworkInterfaceID.NotFound"),
    ):
        assert code(ec2.attach_network_interface, InstanceId=iid, **kw) == expected, kw
    assert code(ec2.attach_network_interface, NetworkInterfaceId=fresh["NetworkInterfaceId"],
                InstanceId="i-0123456789abcdef0", DeviceIndex=1) == "InvalidInstanceID.NotFound"
    assert code(ec2.delete_network_interface, NetworkInterfaceId=eni_id) == "InvalidParameterValue"
    assert code(ec2.detach_network_interface, AttachmentId=primary["Attachment"]["AttachmentId"]) == \
        "OperationNotPermitted"
    assert code(ec2.detach_network_interface, AttachmentId="eni-attach-0123456789abcdef0") == \
        "InvalidAttachmentID.NotFound"

    ec2.modify_network_interface_attribute(NetworkInterfaceId=eni_id, Attachment={
        "AttachmentId": attached["AttachmentId"], "DeleteOnTermination": True})
    assert eni(ec2, eni_id)["Attachment"]["DeleteOnTermination"] is True
    ec2.detach_network_interface(AttachmentId=attached["AttachmentId"])
    assert eni(ec2, eni_id)["Status"] == "available" and "Attachment" not in eni(ec2, eni_id)
    assert [n["NetworkInterfaceId"] for n in instance(ec2, iid)["NetworkInterfaces"]] == \
        [primary["NetworkInterfaceId"]]
    assert code(ec2.delete_network_interface, NetworkInterfaceId=primary["NetworkInterfaceId"]) == \
        "InvalidParameterValue"
    for made in (extra, elsewhere, fresh):
        ec2.delete_network_interface(NetworkInterfaceId=made["NetworkInterfaceId"])
    ec2.terminate_instances(InstanceIds=[iid])


def test_attributes(ec2, subnets):
    vpc = subnets["us-east-1a"]["VpcId"]
    eni_id = ec2.create_network_interface(SubnetId=subnets["us-east-1a"]["SubnetId"])["NetworkInterface"][
        "NetworkInterfaceId"]
    groups = [ec2.create_security_group(GroupName=f"attr-{n}", Description="x", VpcId=vpc)["GroupId"]
              for n in range(6)]
    try:
        ec2.modify_network_interface_attribute(NetworkInterfaceId=eni_id, Description={"Value": "changed"})
        ec2.modify_network_interface_attribute(NetworkInterfaceId=eni_id, SourceDestCheck={"Value": False})
        ec2.modify_network_interface_attribute(NetworkInterfaceId=eni_id, Groups=groups[:2])

        def attribute(name):
            return ec2.describe_network_interface_attribute(NetworkInterfaceId=eni_id, Attribute=name)

        assert attribute("description")["Description"] == {"Value": "changed"}
        assert attribute("sourceDestCheck")["SourceDestCheck"] == {"Value": False}
        assert [g["GroupId"] for g in attribute("groupSet")["Groups"]] == groups[:2]
        assert "Attachment" not in attribute("attachment")
        assert attribute("associatePublicIpAddress")["AssociatePublicIpAddress"] is False
        assert code(ec2.describe_network_interface_attribute, NetworkInterfaceId=eni_id) == "MissingParameter"
        assert [g["GroupName"] for g in eni(ec2, eni_id)["Groups"]] == ["attr-0", "attr-1"]
        for kw, expected in (
            ({"Groups": groups}, "SecurityGroupsPerInterfaceLimitExceeded"),
            ({"Groups": ["sg-0123456789abcdef0"]}, "InvalidGroup.NotFound"),
            ({"Description": {"Value": "x" * 256}}, "InvalidParameterValue"),
            ({"Description": {"Value": "a"}, "SourceDestCheck": {"Value": True}}, "InvalidParameterCombination"),
            ({}, "InvalidParameterCombination"),
            ({"Attachment": {"AttachmentId": "eni-attach-0123456789abcdef0", "DeleteOnTermination": True}},
             "InvalidAttachmentID.NotFound"),
        ):
            assert code(ec2.modify_network_interface_attribute, NetworkInterfaceId=eni_id, **kw) == expected, kw
        assert len(eni(ec2, eni_id)["Groups"]) == 2 and eni(ec2, eni_id)["Description"] == "changed"
        # a group in use by an interface stays
        assert code(ec2.delete_security_group, GroupId=groups[0]) == "DependencyViolation"
    finally:
        ec2.delete_network_interface(NetworkInterfaceId=eni_id)
        for group in groups:
            ec2.delete_security_group(GroupId=group)


def test_secondary_addresses(ec2, subnets):
    subnet = subnets["us-east-1c"]
    one = ec2.create_network_interface(SubnetId=subnet["SubnetId"])["NetworkInterface"]["NetworkInterfaceId"]
    two = ec2.create_network_interface(SubnetId=subnet["SubnetId"])["NetworkInterface"]["NetworkInterfaceId"]
    assigned = ec2.assign_private_ip_addresses(NetworkInterfaceId=one, SecondaryPrivateIpAddressCount=2)
    chosen = [a["PrivateIpAddress"] for a in assigned["AssignedPrivateIpAddresses"]]
    assert len(chosen) == 2 and assigned["NetworkInterfaceId"] == one
    ec2.assign_private_ip_addresses(NetworkInterfaceId=one, PrivateIpAddresses=[nth(subnet, 120)])
    listed = [(p["PrivateIpAddress"], p["Primary"]) for p in eni(ec2, one)["PrivateIpAddresses"]]
    assert listed[1:] == [(chosen[0], False), (chosen[1], False), (nth(subnet, 120), False)]
    assert code(ec2.assign_private_ip_addresses, NetworkInterfaceId=two, PrivateIpAddresses=[nth(subnet, 120)]) == \
        "InvalidIPAddress.InUse"
    ec2.assign_private_ip_addresses(NetworkInterfaceId=two, PrivateIpAddresses=[nth(subnet, 120)],
                                    AllowReassignment=True)
    assert nth(subnet, 120) not in [p["PrivateIpAddress"] for p in eni(ec2, one)["PrivateIpAddresses"]]
    assert nth(subnet, 120) in [p["PrivateIpAddress"] for p in eni(ec2, two)["PrivateIpAddresses"]]
    primary_of_two = eni(ec2, two)["PrivateIpAddress"]
    assert code(ec2.assign_private_ip_addresses, NetworkInterfaceId=one, PrivateIpAddresses=[primary_of_two],
                AllowReassignment=True) == "InvalidParameterValue"
    for kw, expected in (
        ({}, "MissingParameter"),
        ({"PrivateIpAddresses": [nth(subnet, 130)], "SecondaryPrivateIpAddressCount": 1},
         "InvalidParameterCombination"),
        ({"SecondaryPrivateIpAddressCount": 50}, "PrivateIpAddressLimitExceeded"),
        ({"PrivateIpAddresses": ["10.255.0.1"]}, "InvalidParameterValue"),
    ):
        assert code(ec2.assign_private_ip_addresses, NetworkInterfaceId=one, **kw) == expected, kw

    ec2.unassign_private_ip_addresses(NetworkInterfaceId=one, PrivateIpAddresses=[chosen[0]])
    assert [p["PrivateIpAddress"] for p in eni(ec2, one)["PrivateIpAddresses"]][1:] == [chosen[1]]
    assert code(ec2.unassign_private_ip_addresses, NetworkInterfaceId=one, PrivateIpAddresses=[chosen[0]]) == \
        "InvalidParameterValue"
    assert code(ec2.unassign_private_ip_addresses, NetworkInterfaceId=one,
                PrivateIpAddresses=[eni(ec2, one)["PrivateIpAddress"]]) == "InvalidParameterValue"  # the primary

    # attached to a t3.micro, an interface takes two addresses
    iid = stopped(ec2, SubnetId=subnet["SubnetId"])["InstanceId"]
    primary = instance(ec2, iid)["NetworkInterfaces"][0]["NetworkInterfaceId"]
    ec2.assign_private_ip_addresses(NetworkInterfaceId=primary, SecondaryPrivateIpAddressCount=1)
    assert code(ec2.assign_private_ip_addresses, NetworkInterfaceId=primary, SecondaryPrivateIpAddressCount=1) == \
        "PrivateIpAddressLimitExceeded"
    assert len(instance(ec2, iid)["NetworkInterfaces"][0]["PrivateIpAddresses"]) == 2
    ec2.terminate_instances(InstanceIds=[iid])
    ec2.delete_network_interface(NetworkInterfaceId=one)
    ec2.delete_network_interface(NetworkInterfaceId=two)
