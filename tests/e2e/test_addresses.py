"""Elastic IPs through the stock AWS CLI (the walkthrough: allocate, associate, move with
--allow-reassociation, describe the interfaces) and boto3: what DescribeAddresses,
DescribeNetworkInterfaces and DescribeInstances show as addresses come and go, and AWS's
refusals. Instances here never boot: they are associated while stopped, as AWS allows
(tests/unit/test_addresses.py covers what a running instance's launch-time IP does)."""

import re

from tests import ranges
from tests.e2e.errors import code
from tests.e2e.instance_helpers import WAIT, account_fixtures, instance, stopped
from tests.e2e.server import Server
from tests.e2e.vpc_helpers import cli, vpc_with_subnet

account, ec2 = account_fixtures("addresses")


def address(ec2, allocation_id: str) -> dict:
    return ec2.describe_addresses(AllocationIds=[allocation_id])["Addresses"][0]


def test_walkthrough_with_the_aws_cli(server):
    region = ("--region", "sa-east-1")  # the admin profile's: no other module uses this region
    admin = server.client("ec2", region="sa-east-1")
    first, other = (stopped(admin)["InstanceId"] for _ in range(2))
    try:
        eip = cli(server, "allocate-address", *region)
        assert re.fullmatch(r"eipalloc-[0-9a-f]{17}", eip["AllocationId"]) and eip["Domain"] == "vpc"
        association = cli(server, "associate-address", "--instance-id", first, "--allocation-id", eip["AllocationId"],
                          *region)["AssociationId"]
        assert re.fullmatch(r"eipassoc-[0-9a-f]{17}", association)
        shown = cli(server, "describe-instances", "--instance-ids", first, *region)["Reservations"][0]["Instances"][0]
        assert shown["PublicIpAddress"] == eip["PublicIp"]
        assert shown["PublicDnsName"] == f"ec2-{eip['PublicIp'].replace('.', '-')}.sa-east-1.compute.amazonaws.com"

        cli(server, "associate-address", "--instance-id", other, "--allocation-id", eip["AllocationId"],
            "--allow-reassociation", *region)
        interfaces = cli(server, "describe-network-interfaces", *region)["NetworkInterfaces"]
        public = {n["Attachment"]["InstanceId"]: (n.get("Association") or {}).get("PublicIp") for n in interfaces}
        assert public == {first: None, other: eip["PublicIp"]}
        moved = cli(server, "describe-addresses", "--allocation-ids", eip["AllocationId"], *region)["Addresses"][0]
        assert moved["InstanceId"] == other and moved["AssociationId"] != association
        assert "PublicIpAddress" not in cli(server, "describe-instances", "--instance-ids", first,
                                            *region)["Reservations"][0]["Instances"][0]
        cli(server, "disassociate-address", "--association-id", moved["AssociationId"], *region)
        cli(server, "release-address", "--allocation-id", eip["AllocationId"], *region)
        assert cli(server, "describe-addresses", *region)["Addresses"] == []
    finally:
        admin.terminate_instances(InstanceIds=[first, other])


def test_allocate_describe_and_release(ec2):
    eip = ec2.allocate_address(Domain="vpc", TagSpecifications=[
        {"ResourceType": "elastic-ip", "Tags": [{"Key": "Name", "Value": "front"}]}])
    assert (eip["Domain"], eip["PublicIpv4Pool"], eip["NetworkBorderGroup"]) == ("vpc", "amazon", "us-east-1")
    described = address(ec2, eip["AllocationId"])
    assert described["PublicIp"] == eip["PublicIp"] and described["Tags"] == [{"Key": "Name", "Value": "front"}]
    assert "AssociationId" not in described and "InstanceId" not in described
    assert ec2.describe_addresses(PublicIps=[eip["PublicIp"]])["Addresses"] == [described]
    for name, value in (("allocation-id", eip["AllocationId"]), ("public-ip", eip["PublicIp"]), ("domain", "vpc"),
                        ("tag:Name", "front"), ("network-border-group", "us-east-1")):
        assert ec2.describe_addresses(Filters=[{"Name": name, "Values": [value]}])["Addresses"] == [described], name
    assert ec2.describe_addresses(Filters=[{"Name": "association-id", "Values": ["*"]}])["Addresses"] == []
    assert code(ec2.describe_addresses, Filters=[{"Name": "bogus", "Values": ["x"]}]) == "InvalidParameterValue"
    ec2.release_address(AllocationId=eip["AllocationId"])
    assert code(ec2.describe_addresses, AllocationIds=[eip["AllocationId"]]) == "InvalidAllocationID.NotFound"
    assert code(ec2.describe_addresses, PublicIps=[eip["PublicIp"]]) == "InvalidAddress.NotFound"
    assert ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [eip["AllocationId"]]}])["Tags"] == []
    recovered = ec2.allocate_address(Address=eip["PublicIp"])  # a released address can be had again
    assert recovered["PublicIp"] == eip["PublicIp"] and recovered["AllocationId"] != eip["AllocationId"]
    ec2.release_address(AllocationId=recovered["AllocationId"])


def test_allocate_and_release_refusals(server, ec2):
    eip = ec2.allocate_address()
    key, secret = server.new_account("someone-else")
    someone = server.client("ec2", key=key, secret=secret)
    theirs = someone.allocate_address()
    try:
        for kw, expected in (
            ({"Domain": "standard"}, "InvalidParameterValue"),
            ({"PublicIpv4Pool": "ipv4pool-ec2-0123456789abcdef0"}, "InvalidPublicIpv4PoolID.NotFound"),
            ({"Address": "192.0.2.1"}, "InvalidAddress.NotFound"),
            ({"Address": theirs["PublicIp"]}, "InvalidAddress.NotFound"),
            ({"NetworkBorderGroup": "us-west-2"}, "InvalidParameterValue"),
        ):
            assert code(ec2.allocate_address, **kw) == expected, kw
        for kw, expected in (
            ({"AllocationId": "eipalloc-0123456789abcdef0"}, "InvalidAllocationID.NotFound"),
            ({"AllocationId": "1.2.3.4"}, "InvalidAllocationID.Malformed"),
            ({"AllocationId": theirs["AllocationId"]}, "AuthFailure"),
            ({"PublicIp": eip["PublicIp"]}, "InvalidParameterValue"),  # a VPC address goes by its allocation id
            ({"PublicIp": theirs["PublicIp"]}, "AuthFailure"),
            ({"PublicIp": eip["PublicIp"], "AllocationId": eip["AllocationId"]}, "InvalidParameterCombination"),
            ({}, "MissingParameter"),
            ({"AllocationId": eip["AllocationId"], "NetworkBorderGroup": "us-west-2"}, "InvalidAddress.NotFound"),
        ):
            assert code(ec2.release_address, **kw) == expected, kw
        assert address(ec2, eip["AllocationId"])["PublicIp"] == eip["PublicIp"]
        assert someone.describe_addresses()["Addresses"][0]["AllocationId"] == theirs["AllocationId"]
        assert code(ec2.describe_addresses, AllocationIds=[theirs["AllocationId"]]) == "InvalidAllocationID.NotFound"
        assert theirs["AllocationId"] not in [a["AllocationId"] for a in ec2.describe_addresses()["Addresses"]]
    finally:
        ec2.release_address(AllocationId=eip["AllocationId"])
        someone.release_address(AllocationId=theirs["AllocationId"])


def test_associate_with_instances_and_interfaces(ec2):
    iid = stopped(ec2)["InstanceId"]
    eni = instance(ec2, iid)["NetworkInterfaces"][0]
    assert "PublicIpAddress" not in instance(ec2, iid)  # a stopped instance has no launch-time public IP
    eip, second = ec2.allocate_address(), ec2.allocate_address()
    association = ec2.associate_address(InstanceId=iid, AllocationId=eip["AllocationId"])["AssociationId"]
    described = address(ec2, eip["AllocationId"])
    assert {k: described.get(k) for k in ("AssociationId", "InstanceId", "NetworkInterfaceId", "PrivateIpAddress",
                                          "NetworkInterfaceOwnerId")} == \
        {"AssociationId": association, "InstanceId": iid, "NetworkInterfaceId": eni["NetworkInterfaceId"],
         "PrivateIpAddress": eni["PrivateIpAddress"], "NetworkInterfaceOwnerId": eni["OwnerId"]}
    interface = ec2.describe_network_interfaces(NetworkInterfaceIds=[eni["NetworkInterfaceId"]])["NetworkInterfaces"][0]
    assert interface["Association"] == interface["PrivateIpAddresses"][0]["Association"]
    assert {k: interface["Association"][k] for k in ("AllocationId", "AssociationId", "IpOwnerId", "PublicIp")} == \
        {"AllocationId": eip["AllocationId"], "AssociationId": association, "IpOwnerId": eni["OwnerId"],
         "PublicIp": eip["PublicIp"]}
    for name, value in (("association-id", association), ("instance-id", iid),
                        ("network-interface-id", eni["NetworkInterfaceId"]),
                        ("private-ip-address", eni["PrivateIpAddress"])):
        assert [a["AllocationId"] for a in ec2.describe_addresses(Filters=[{"Name": name, "Values": [value]}])[
            "Addresses"]] == [eip["AllocationId"]], name
    assert ec2.describe_instances(Filters=[{"Name": "ip-address", "Values": [eip["PublicIp"]]}])["Reservations"][0][
        "Instances"][0]["InstanceId"] == iid
    assert [n["NetworkInterfaceId"] for n in ec2.describe_network_interfaces(Filters=[
        {"Name": "association.public-ip", "Values": [eip["PublicIp"]]}])["NetworkInterfaces"]] == \
        [eni["NetworkInterfaceId"]]
    assert ec2.associate_address(InstanceId=iid, AllocationId=eip["AllocationId"])["AssociationId"] == association

    # a second Elastic IP for the same address takes the first one's place
    ec2.associate_address(NetworkInterfaceId=eni["NetworkInterfaceId"], AllocationId=second["AllocationId"])
    assert instance(ec2, iid)["PublicIpAddress"] == second["PublicIp"]
    assert "AssociationId" not in address(ec2, eip["AllocationId"])

    # a secondary address of the interface takes one of its own; unassigned, it lets it go
    secondary = ec2.assign_private_ip_addresses(NetworkInterfaceId=eni["NetworkInterfaceId"],
                                                SecondaryPrivateIpAddressCount=1)["AssignedPrivateIpAddresses"][0][
        "PrivateIpAddress"]
    ec2.associate_address(NetworkInterfaceId=eni["NetworkInterfaceId"], AllocationId=eip["AllocationId"],
                          PrivateIpAddress=secondary)
    assert address(ec2, eip["AllocationId"])["PrivateIpAddress"] == secondary
    assert instance(ec2, iid)["PublicIpAddress"] == second["PublicIp"]  # the primary address's
    ec2.unassign_private_ip_addresses(NetworkInterfaceId=eni["NetworkInterfaceId"], PrivateIpAddresses=[secondary])
    assert "AssociationId" not in address(ec2, eip["AllocationId"])

    ec2.disassociate_address(AssociationId=address(ec2, second["AllocationId"])["AssociationId"])
    assert "PublicIpAddress" not in instance(ec2, iid) and instance(ec2, iid)["PublicDnsName"] == ""
    ec2.associate_address(InstanceId=iid, AllocationId=eip["AllocationId"])
    ec2.release_address(AllocationId=eip["AllocationId"])  # in a default VPC, releasing disassociates
    assert "PublicIpAddress" not in instance(ec2, iid)
    assert "Association" not in ec2.describe_network_interfaces(NetworkInterfaceIds=[eni["NetworkInterfaceId"]])[
        "NetworkInterfaces"][0]
    ec2.release_address(AllocationId=second["AllocationId"])
    ec2.terminate_instances(InstanceIds=[iid])


def test_an_interface_deleted_leaves_its_address_allocated(ec2):
    subnet = ec2.describe_subnets()["Subnets"][0]["SubnetId"]
    eni = ec2.create_network_interface(SubnetId=subnet)["NetworkInterface"]["NetworkInterfaceId"]
    eip = ec2.allocate_address()
    ec2.associate_address(NetworkInterfaceId=eni, AllocationId=eip["AllocationId"])
    ec2.delete_network_interface(NetworkInterfaceId=eni)
    assert "NetworkInterfaceId" not in address(ec2, eip["AllocationId"])
    ec2.release_address(AllocationId=eip["AllocationId"])


def test_associate_and_disassociate_refusals(ec2):
    iid = stopped(ec2)["InstanceId"]
    eni = instance(ec2, iid)["NetworkInterfaces"][0]["NetworkInterfaceId"]
    subnet = ec2.describe_subnets(Filters=[{"Name": "availability-zone", "Values": [
        instance(ec2, iid)["Placement"]["AvailabilityZone"]]}])["Subnets"][0]["SubnetId"]
    extra = ec2.create_network_interface(SubnetId=subnet)["NetworkInterface"]["NetworkInterfaceId"]
    eip = ec2.allocate_address()
    association = ec2.associate_address(InstanceId=iid, AllocationId=eip["AllocationId"])["AssociationId"]
    spare = ec2.allocate_address()
    try:
        for kw, expected in (
            ({"InstanceId": iid, "AllocationId": "eipalloc-0123456789abcdef0"}, "InvalidAllocationID.NotFound"),
            ({"InstanceId": iid, "PublicIp": spare["PublicIp"]}, "InvalidParameterValue"),
            ({"InstanceId": iid, "PublicIp": "192.0.2.1"}, "AuthFailure"),
            ({"InstanceId": iid}, "MissingParameter"),
            ({"AllocationId": spare["AllocationId"]}, "MissingParameter"),
            ({"AllocationId": spare["AllocationId"], "InstanceId": iid, "NetworkInterfaceId": eni},
             "InvalidParameterCombination"),
            ({"AllocationId": spare["AllocationId"], "InstanceId": "i-0123456789abcdef0"},
             "InvalidInstanceID.NotFound"),
            ({"AllocationId": spare["AllocationId"], "NetworkInterfaceId": "eni-0123456789abcdef0"},
             "InvalidNetworkInterfaceID.NotFound"),
            ({"AllocationId": spare["AllocationId"], "NetworkInterfaceId": eni, "PrivateIpAddress": "192.0.2.1"},
             "InvalidParameterValue"),
            ({"AllocationId": eip["AllocationId"], "NetworkInterfaceId": extra, "AllowReassociation": False},
             "Resource.AlreadyAssociated"),
        ):
            assert code(ec2.associate_address, **kw) == expected, kw
        # a pending instance takes no address (terminated at once, before anything boots it)
        ami = instance(ec2, iid)["ImageId"]
        pending = ec2.run_instances(ImageId=ami, InstanceType="t3.micro", MinCount=1, MaxCount=1)["Instances"][0]
        assert code(ec2.associate_address, AllocationId=spare["AllocationId"], InstanceId=pending["InstanceId"]) == \
            "InvalidInstanceID"
        assert code(ec2.associate_address, AllocationId=spare["AllocationId"], NetworkInterfaceId=pending[
            "NetworkInterfaces"][0]["NetworkInterfaceId"]) == "IncorrectInstanceState"
        ec2.terminate_instances(InstanceIds=[pending["InstanceId"]])
        ec2.attach_network_interface(NetworkInterfaceId=extra, InstanceId=iid, DeviceIndex=1)
        assert code(ec2.associate_address, InstanceId=iid, AllocationId=spare["AllocationId"]) == \
            "InvalidInstanceID"  # two interfaces: which one is for the caller to say
        assert address(ec2, eip["AllocationId"])["AssociationId"] == association
        assert "AssociationId" not in address(ec2, spare["AllocationId"])

        for kw, expected in (
            ({"AssociationId": "eipassoc-0123456789abcdef0"}, "InvalidAssociationID.NotFound"),
            ({"AssociationId": "bogus"}, "InvalidAssociationID.Malformed"),
            ({"PublicIp": eip["PublicIp"]}, "InvalidParameterValue"),
            ({"PublicIp": "192.0.2.1"}, "AuthFailure"),
            ({}, "MissingParameter"),
        ):
            assert code(ec2.disassociate_address, **kw) == expected, kw
        assert address(ec2, eip["AllocationId"])["AssociationId"] == association
    finally:
        ec2.terminate_instances(InstanceIds=[iid])
        ec2.get_waiter("instance_terminated").wait(InstanceIds=[iid], WaiterConfig=WAIT)
        for allocation in (eip, spare):
            ec2.release_address(AllocationId=allocation["AllocationId"])
        ec2.delete_network_interface(NetworkInterfaceId=extra)


def test_a_vpc_without_an_internet_gateway(ec2):
    vpc, subnet = vpc_with_subnet(ec2, "10.7.0.0/16", "10.7.1.0/24")
    eni = ec2.create_network_interface(SubnetId=subnet)["NetworkInterface"]["NetworkInterfaceId"]
    eip = ec2.allocate_address()
    assert code(ec2.associate_address, NetworkInterfaceId=eni, AllocationId=eip["AllocationId"]) == \
        "Gateway.NotAttached"
    gateway = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=gateway, VpcId=vpc)
    association = ec2.associate_address(NetworkInterfaceId=eni, AllocationId=eip["AllocationId"])["AssociationId"]
    # outside a default VPC an associated address is not released
    assert code(ec2.release_address, AllocationId=eip["AllocationId"]) == "InvalidIPAddress.InUse"
    iid = stopped(ec2, SubnetId=subnet)["InstanceId"]
    assert "PublicIpAddress" not in instance(ec2, iid)  # a new subnet maps no public IPs on launch
    ec2.disassociate_address(AssociationId=association)
    ec2.release_address(AllocationId=eip["AllocationId"])
    ec2.delete_network_interface(NetworkInterfaceId=eni)
    ec2.terminate_instances(InstanceIds=[iid])


def test_no_address_left(tmp_path):
    """A public pool of five addresses: the sixth Elastic IP is AddressLimitExceeded."""
    pool = ranges.public_pool(29)
    srv = Server(tmp_path, args=("--public-pool", pool)).start()
    try:
        ec2 = srv.client("ec2")
        made = [ec2.allocate_address()["PublicIp"] for _ in range(5)]
        assert len(set(made)) == 5
        assert code(ec2.allocate_address) == "AddressLimitExceeded"
        assert code(srv.client("ec2", region="eu-west-1").allocate_address) == "AddressLimitExceeded"  # the host's
    finally:
        srv.stop()


def test_an_address_a_nat_gateway_holds_stays_with_it(ec2):
    subnet = ec2.describe_subnets()["Subnets"][0]["SubnetId"]
    eip = ec2.allocate_address()
    nat = ec2.create_nat_gateway(SubnetId=subnet, AllocationId=eip["AllocationId"])["NatGateway"]
    held = address(ec2, eip["AllocationId"])
    interface = held["NetworkInterfaceId"]
    assert interface == nat["NatGatewayAddresses"][0]["NetworkInterfaceId"]
    other = ec2.create_network_interface(SubnetId=subnet)["NetworkInterface"]["NetworkInterfaceId"]
    spare = ec2.allocate_address()
    assert code(ec2.release_address, AllocationId=eip["AllocationId"]) == "InvalidIPAddress.InUse"
    assert code(ec2.disassociate_address, AssociationId=held["AssociationId"]) == "InvalidIPAddress.InUse"
    assert code(ec2.associate_address, NetworkInterfaceId=other, AllocationId=eip["AllocationId"]) == \
        "InvalidIPAddress.InUse"
    assert code(ec2.associate_address, NetworkInterfaceId=interface, AllocationId=spare["AllocationId"]) == \
        "InvalidNetworkInterface.InUse"
    assert address(ec2, eip["AllocationId"])["AssociationId"] == held["AssociationId"]
    ec2.delete_nat_gateway(NatGatewayId=nat["NatGatewayId"])
    ec2.delete_network_interface(NetworkInterfaceId=other)
    ec2.release_address(AllocationId=spare["AllocationId"])
