"""An awsvpc task's elastic network interface, as ECS makes one while the task is
PROVISIONING: a requester-managed ENI in the task's subnet with its security groups (the
VPC's default group when none is given) and, with assignPublicIp, a public address; then
plugged into its VPC's router, in the task's user namespace. It goes when the task stops."""

from __future__ import annotations

from cloudlet import ids
from cloudlet.agent.network.routers import Plugged
from cloudlet.ids import now
from cloudlet.store import enis
from cloudlet.store.schema import subnets


def _make(db, body: dict, net: dict, pool: str) -> dict:
    subnet = db.one(subnets, subnets.c.subnet_id == net["subnet"])
    groups = net.get("securityGroups") or enis.default_groups(db, subnet["vpc_id"])  # a task from before groups
    attachment = body["attachments"][0]["id"]
    eni = enis.create_eni(db, subnet, groups=groups, requester_managed=True, attached_to=body["taskArn"],
                          description=f"arn:aws:ecs:{db.region}:{db.account_id}:attachment/{attachment}")
    eni.update(Status="in-use", Attachment={
        "AttachmentId": ids.resource_id("eni-attach"), "AttachTime": now(), "DeleteOnTermination": True,
        "DeviceIndex": 1, "NetworkCardIndex": 0, "InstanceOwnerId": "amazon-aws", "Status": "attached"})
    enis.save(db, eni)
    if net.get("assignPublicIp"):
        enis.give_launch_ip(db, eni, pool)
    return eni


def provision(store, key: tuple, body: dict, routers, pool: str, userns: str | None) -> tuple[dict, Plugged]:
    """The task's ENI (made once: a controller that restarts finds it by the task) and its plug."""
    net = body["_run"]["network"]
    with store.scoped(key[0], key[1]) as db:
        eni = next(iter(enis.attached_to(db, body["taskArn"])), None) or _make(db, body, net, pool)
        cidr = enis.subnet_of(db, eni)["cidr"]
    plugged = routers.plug(eni["VpcId"], eni["NetworkInterfaceId"], cidr=cidr, address=eni["PrivateIpAddress"],
                           mac=eni["MacAddress"], userns=userns)
    return eni, plugged


def release(store, key: tuple, body: dict, routers) -> None:
    with store.scoped(key[0], key[1]) as db:
        for eni in enis.attached_to(db, body["taskArn"]):
            routers.unplug(eni["NetworkInterfaceId"])
            enis.release_eni(db, eni["NetworkInterfaceId"])
