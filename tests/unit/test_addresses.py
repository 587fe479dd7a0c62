"""What a running instance's public addresses do, on the store (e2e instances never run):
an Elastic IP takes the place of the public IP given at launch, which goes back to the pool;
disassociated, the instance gets a new one (not the one it had), unless it has a second
interface; a stop releases it and a start gives another."""

import json

import pytest

from cloudlet.services.ec2 import addresses
from cloudlet.services.ec2.vpcs import default_vpc
from cloudlet.store import enis
from cloudlet.store.schema import ec2_addresses, ec2_instances, subnets

POOL = "198.51.100.0/29"  # five addresses: .2 to .6


def _instance(db, desired: str = "running") -> tuple[str, dict]:
    """A running instance launched with a public IP, as RunInstances records one, and its ENI."""
    subnet = db.select(subnets, subnets.c.vpc_id == default_vpc(db, "172.16.0.0/12")["vpc_id"])[0]
    instance_id = "i-0123456789abcdef0"
    db.insert(ec2_instances, instance_id=instance_id, desired=desired, state=desired, updated_at="",
              body=json.dumps({"InstanceId": instance_id, "InstanceType": "t3.micro", "_run": {"public_ip": True}}))
    eni = enis.create_eni(db, subnet, groups=[])
    enis.attach(db, eni, instance_id, 0, True)
    enis.give_launch_ip(db, eni, POOL)
    return instance_id, enis.find(db, eni["NetworkInterfaceId"])


def _elastic(db) -> dict:
    address = enis.public_ip(db, POOL)
    db.insert(ec2_addresses, allocation_id="eipalloc-0123456789abcdef0", public_ip=address,
              body=json.dumps({"AllocationId": "eipalloc-0123456789abcdef0", "PublicIp": address}))
    return db.one(ec2_addresses, ec2_addresses.c.public_ip == address)


def _launch_ips(db) -> list[str]:
    return [r["public_ip"] for r in db.select(ec2_addresses, ec2_addresses.c.allocation_id.like("ipv4pool-%"))]


def test_an_elastic_ip_replaces_the_launch_ip_and_a_new_one_follows(db):
    instance_id, eni = _instance(db)
    launched = eni["Association"]["PublicIp"]
    assert _launch_ips(db) == [launched] and eni["Association"]["IpOwnerId"] == "amazon"
    elastic = _elastic(db)
    addresses.associate(db, elastic, eni["NetworkInterfaceId"], eni["PrivateIpAddress"])
    eni = enis.find(db, eni["NetworkInterfaceId"])
    assert _launch_ips(db) == []  # back to the pool
    assert eni["Association"]["PublicIp"] == elastic["public_ip"] == eni["PrivateIpAddresses"][0]["Association"][
        "PublicIp"]
    addresses.disassociate(db, db.one(ec2_addresses, ec2_addresses.c.allocation_id == elastic["allocation_id"]))
    addresses.relaunch_ip(db, enis.find(db, eni["NetworkInterfaceId"]), POOL)
    again = enis.find(db, eni["NetworkInterfaceId"])["Association"]["PublicIp"]
    assert _launch_ips(db) == [again] and again not in (launched, elastic["public_ip"])


def test_no_new_public_ip_for_an_instance_of_two_interfaces_or_a_stopped_one(db):
    instance_id, eni = _instance(db)
    second = enis.create_eni(db, enis.subnet_of(db, eni), groups=[])
    enis.attach(db, second, instance_id, 1, False)
    enis.take_launch_ip(db, eni)
    addresses.relaunch_ip(db, enis.find(db, eni["NetworkInterfaceId"]), POOL)
    assert _launch_ips(db) == [] and "Association" not in enis.find(db, eni["NetworkInterfaceId"])
    enis.detach(db, second)
    db.update(ec2_instances, ec2_instances.c.instance_id == instance_id, desired="stopped")
    addresses.relaunch_ip(db, enis.find(db, eni["NetworkInterfaceId"]), POOL)
    assert _launch_ips(db) == []


def test_the_pool_is_the_hosts(db):
    taken = {enis.public_ip(db, POOL) for _ in range(20)}
    assert taken <= {f"198.51.100.{n}" for n in range(2, 7)}  # never the network, the host's .1, the broadcast
    for n in range(2, 7):
        db.insert(ec2_addresses, allocation_id=f"eipalloc-{n:017x}", public_ip=f"198.51.100.{n}", body="{}")
    with pytest.raises(enis.AddressError) as err:
        enis.public_ip(db, POOL)
    assert err.value.code == "AddressLimitExceeded"
    assert enis.in_pool("198.51.100.6", POOL) and not enis.in_pool("198.51.100.1", POOL)
    assert not enis.in_pool("198.51.100.7", POOL) and not enis.in_pool("bogus", POOL)
