"""An instance's network interfaces on the data plane: its primary ENI (made by RunInstances;
made here for an instance recorded before ENIs were) plugged into its VPC's router as the
VM's tap, kept across stops as AWS keeps an instance's address; at termination unplugged,
and released or detached as its DeleteOnTermination says."""

from __future__ import annotations

from cloudlet.agent.network.routers import Plugged
from cloudlet.store import enis
from cloudlet.store.schema import subnets


def _primary(db, instance_id: str, body: dict) -> dict:
    found = next(iter(enis.attached_to(db, instance_id)), None)
    if found:
        return found
    subnet = db.one(subnets, subnets.c.subnet_id == body["SubnetId"])
    groups = [{"GroupId": g["GroupId"], "GroupName": g.get("GroupName", "")} for g in body.get("SecurityGroups") or []]
    groups = groups or enis.default_groups(db, subnet["vpc_id"])
    eni = enis.create_eni(db, subnet, groups=groups, private_ip=body["_run"].get("address") or None)
    enis.attach(db, eni, instance_id, 0, delete_on_termination=True)
    return eni


def plug(store, row, body: dict, routers) -> tuple[dict, Plugged]:
    with store.scoped(row.account_id, row.region) as db:
        eni = _primary(db, row.instance_id, body)
        cidr = enis.subnet_of(db, eni)["cidr"]
    plugged = routers.plug(eni["VpcId"], eni["NetworkInterfaceId"], cidr=cidr, address=eni["PrivateIpAddress"],
                           mac=eni["MacAddress"], tap=True)
    return eni, plugged


def release(store, row, routers) -> None:
    with store.scoped(row.account_id, row.region) as db:
        for eni in enis.attached_to(db, row.instance_id):
            routers.unplug(eni["NetworkInterfaceId"])
            if (eni.get("Attachment") or {}).get("DeleteOnTermination", True):
                enis.release_eni(db, eni["NetworkInterfaceId"])
            else:
                enis.detach(db, eni)
