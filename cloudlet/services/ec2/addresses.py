"""Elastic IPs: AllocateAddress, ReleaseAddress, AssociateAddress, DisassociateAddress and
DescribeAddresses. An Elastic IP is a row of ec2_addresses (eipalloc-...) holding an address of
the host's public pool (`cloudlet up --public-pool`); once associated, the body of its ENI says
so too (PrivateIpAddresses[].Association), which is where DescribeInstances reads an instance's
public address. The public IP an instance gets at launch is a row of its own (ipv4pool-...):
an Elastic IP takes its place, and it goes back to the pool."""

from __future__ import annotations

import json

from sqlalchemy import select

from cloudlet import ids
from cloudlet.edge.errors import AWSError
from cloudlet.services.common import filters, tags
from cloudlet.store import enis
from cloudlet.store.schema import ec2_addresses as table
from cloudlet.store.schema import ec2_instances, ec2_network_interfaces, ec2_vpc_objects, vpcs

from .network_events import wake_network
from .network_interfaces import find as find_eni


def _elastic(where=None):
    return [table.c.allocation_id.like("eipalloc-%")] + ([where] if where is not None else [])


def _exists(db, allocation_id: str) -> bool:
    return db.one(table, *_elastic(table.c.allocation_id == allocation_id)) is not None


tags.register(tags.ResourceKind("eipalloc", "elastic-ip", _exists, "InvalidAllocationID.NotFound"))


def _anywhere(db, column, value) -> bool:
    """Whether any account has the address (public addresses are the host's)."""
    return db.conn.execute(select(table.c.allocation_id).where(column == value)).first() is not None


def _unknown(allocation_id: str) -> AWSError:
    if not allocation_id.startswith("eipalloc-"):
        return AWSError("InvalidAllocationID.Malformed", f'Invalid id: "{allocation_id}" (expecting "eipalloc-...")')
    return AWSError("InvalidAllocationID.NotFound", f"The allocation ID '{allocation_id}' does not exist")


def find(db, allocation_id: str) -> dict:
    """The account's Elastic IP; another account's is AuthFailure, as AWS answers a release of it."""
    row = db.one(table, *_elastic(table.c.allocation_id == allocation_id))
    if row is None:
        if allocation_id.startswith("eipalloc-") and _anywhere(db, table.c.allocation_id, allocation_id):
            raise AWSError("AuthFailure", "You do not have permission to access the specified resource.")
        raise _unknown(allocation_id)
    return row


def _by_public_ip(db, address: str, verb: str, what: str) -> None:
    """The deprecated PublicIp parameter: an Elastic IP in a VPC is named by its allocation
    (or association) id, and someone else's address is not ours to name."""
    if db.one(table, *_elastic(table.c.public_ip == address)):
        raise AWSError("InvalidParameterValue", f"You must specify an {what} id when {verb} a VPC elastic IP address")
    raise AWSError("AuthFailure", f"The address '{address}' does not belong to you.")


def associate(db, row: dict, eni_id: str, private_ip: str) -> str:
    """Associate the Elastic IP (its row) with a private address of an ENI; whatever public
    address that one had goes (an Elastic IP is disassociated, a launch-time IP back to the
    pool), and so does the Elastic IP's own association elsewhere. Its association id."""
    for other in db.select(table, table.c.eni_id == eni_id, table.c.private_ip == private_ip,
                           table.c.allocation_id != row["allocation_id"]):
        if other["allocation_id"].startswith("ipv4pool-"):
            enis.take_launch_ip(db, enis.find(db, eni_id))
        else:
            disassociate(db, other)
    if row["eni_id"]:
        disassociate(db, row)
    body = json.loads(row["body"])
    body.update(AssociationId=ids.resource_id("eipassoc"), NetworkInterfaceId=eni_id,
                NetworkInterfaceOwnerId=db.account_id, PrivateIpAddress=private_ip)
    db.update(table, table.c.allocation_id == row["allocation_id"], eni_id=eni_id, private_ip=private_ip,
              body=json.dumps(body))
    enis.set_association(db, enis.find(db, eni_id), private_ip, {
        "AllocationId": row["allocation_id"], "AssociationId": body["AssociationId"], "IpOwnerId": db.account_id,
        "PublicIp": row["public_ip"], "PublicDnsName": enis.public_dns_name(row["public_ip"], db.region)})
    return body["AssociationId"]


def disassociate(db, row: dict) -> None:
    enis.unmap(db, row)
    eni = enis.find(db, row["eni_id"])
    if eni:
        enis.set_association(db, eni, row["private_ip"], None)


def _held_by_a_service(db, row: dict) -> None:
    """An address a service holds (a NAT gateway's, say) stays with it until the service lets
    it go: it is neither moved, disassociated nor released."""
    eni = enis.find(db, row["eni_id"]) if row["eni_id"] else None
    if eni and eni["RequesterManaged"]:
        raise AWSError("InvalidIPAddress.InUse", f"Address {row['public_ip']} is in use by "
                       f"{eni['Description'] or eni['NetworkInterfaceId']}.")


def _instance(db, instance_id: str) -> dict:
    row = db.one(ec2_instances, ec2_instances.c.instance_id == instance_id)
    if row is None:
        code = "InvalidInstanceID.NotFound" if instance_id.startswith("i-") else "InvalidInstanceID.Malformed"
        raise AWSError(code, f"The instance ID '{instance_id}' does not exist")
    return row


def relaunch_ip(db, eni: dict, pool: str) -> None:
    """What an instance's primary address gets when its Elastic IP leaves it: a new public IP
    if it was launched with one and runs, with this one ENI (as AWS does), else none."""
    attachment = eni.get("Attachment") or {}
    if attachment.get("DeviceIndex") != 0 or not attachment.get("InstanceId") or eni.get("Association"):
        return
    row = _instance(db, attachment["InstanceId"])
    wants = json.loads(row["body"])["_run"].get("public_ip")
    if wants and row["desired"] == "running" and len(enis.attached_to(db, row["instance_id"])) == 1:
        try:
            enis.give_launch_ip(db, eni, pool)
        except enis.AddressError as e:
            raise AWSError(e.code, e.message) from None


def _target(db, request) -> tuple[dict, str]:
    """(the ENI, its private address) AssociateAddress names, or AWS's refusal."""
    if request.get("InstanceId") and request.get("NetworkInterfaceId"):
        raise AWSError("InvalidParameterCombination", "You may specify an instance ID or a network interface ID, "
                       "but not both in the same call")
    if request.get("InstanceId"):
        row = _instance(db, request["InstanceId"])
        if row["state"] in ("pending", "shutting-down", "terminated"):
            raise AWSError("InvalidInstanceID", f"The {row['state']} instance '{row['instance_id']}' is not in a "
                           "valid state for this operation.")
        attached = enis.attached_to(db, row["instance_id"])
        if len(attached) != 1:
            raise AWSError("InvalidInstanceID", f"There are multiple interfaces attached to instance "
                           f"'{row['instance_id']}'. Please specify an interface ID for the operation instead.")
        eni = attached[0]
    elif request.get("NetworkInterfaceId"):
        eni = find_eni(db, request["NetworkInterfaceId"])
        if eni["RequesterManaged"]:
            raise AWSError("InvalidNetworkInterface.InUse", f"Interface: [{eni['NetworkInterfaceId']}] is managed "
                           "by a service: its addresses are the service's to choose.")
        owner = (eni.get("Attachment") or {}).get("InstanceId")
        if owner and _instance(db, owner)["state"] == "pending":
            raise AWSError("IncorrectInstanceState", f"The pending-instance-creation instance to which "
                           f"'{eni['NetworkInterfaceId']}' is attached is not in a valid state for this operation")
    else:
        raise AWSError("MissingParameter", "The request must contain the parameter InstanceId or NetworkInterfaceId")
    private_ip = request.get("PrivateIpAddress") or eni["PrivateIpAddress"]
    if private_ip not in [p["PrivateIpAddress"] for p in eni["PrivateIpAddresses"]]:
        raise AWSError("InvalidParameterValue", f"The private IP address {private_ip} is not assigned to network "
                       f"interface {eni['NetworkInterfaceId']}.")
    return eni, private_ip


def _described(row: dict, tag_map: dict[str, str], attached: dict[str, str]) -> dict:
    body = json.loads(row["body"])
    instance = attached.get(row["eni_id"]) if row["eni_id"] else None
    if instance and instance.startswith("i-"):
        body["InstanceId"] = instance
    return {**body, "Tags": tags.to_pairs(tag_map)}


_GETTERS = {"allocation-id": lambda a: a["AllocationId"], "association-id": lambda a: a.get("AssociationId"),
            "domain": lambda a: a["Domain"], "instance-id": lambda a: a.get("InstanceId"),
            "network-interface-id": lambda a: a.get("NetworkInterfaceId"),
            "network-interface-owner-id": lambda a: a.get("NetworkInterfaceOwnerId"),
            "network-border-group": lambda a: a["NetworkBorderGroup"],
            "private-ip-address": lambda a: a.get("PrivateIpAddress"), "public-ip": lambda a: a["PublicIp"],
            "public-ipv4-pool": lambda a: a["PublicIpv4Pool"]}


class Addresses:
    def allocate_address(self, ctx, request):
        if request.get("Domain", "vpc") != "vpc":
            raise AWSError("InvalidParameterValue", "EC2-Classic is retired: Elastic IP addresses are for use in a "
                           "VPC (Domain vpc).")
        pool = request.get("PublicIpv4Pool") or "amazon"
        if pool != "amazon":
            raise AWSError("InvalidPublicIpv4PoolID.NotFound", f"The pool ID '{pool}' does not exist")
        if request.get("NetworkBorderGroup") not in (None, ctx.region):
            raise AWSError("InvalidParameterValue", f"The network border group '{request['NetworkBorderGroup']}' "
                           "is not valid for this region.")
        with ctx.write() as db:
            wanted = request.get("Address")
            if wanted:  # recovering an address released before, if nobody has taken it since
                if _anywhere(db, table.c.public_ip, wanted) or not enis.in_pool(wanted, self.config.public_pool):
                    raise AWSError("InvalidAddress.NotFound", f"Address '{wanted}' not found.")
                address = wanted
            else:
                try:
                    address = enis.public_ip(db, self.config.public_pool)
                except enis.AddressError:
                    raise AWSError("AddressLimitExceeded", "The maximum number of addresses has been reached.") \
                        from None
            allocation_id = ids.resource_id("eipalloc")
            body = {"AllocationId": allocation_id, "PublicIp": address, "Domain": "vpc", "PublicIpv4Pool": "amazon",
                    "NetworkBorderGroup": ctx.region}
            db.insert(table, allocation_id=allocation_id, public_ip=address, body=json.dumps(body))
            tags.apply_specifications(db, request.get("TagSpecifications"), "elastic-ip", allocation_id,
                                      allowed=("elastic-ip",))
        return body

    def release_address(self, ctx, request):
        if request.get("AllocationId") and request.get("PublicIp"):
            raise AWSError("InvalidParameterCombination", "You may specify public IP or allocation id, but not both "
                           "in the same call")
        with ctx.write() as db:
            if request.get("PublicIp"):
                _by_public_ip(db, request["PublicIp"], "releasing", "allocation")
            if not request.get("AllocationId"):
                raise AWSError("MissingParameter", "The request must contain the parameter AllocationId")
            row = find(db, request["AllocationId"])
            if request.get("NetworkBorderGroup") not in (None, json.loads(row["body"])["NetworkBorderGroup"]):
                raise AWSError("InvalidAddress.NotFound", f"Address '{row['public_ip']}' not found.")
            if row["eni_id"]:
                _held_by_a_service(db, row)
                eni = enis.find(db, row["eni_id"])
                default = db.one(vpcs, vpcs.c.vpc_id == eni["VpcId"])["is_default"]
                if not default:  # AWS releases an associated address only in a default VPC
                    raise AWSError("InvalidIPAddress.InUse", f"Address {row['public_ip']} is in use.")
                disassociate(db, row)
                relaunch_ip(db, enis.find(db, row["eni_id"]), self.config.public_pool)
            db.delete(table, table.c.allocation_id == row["allocation_id"])
            tags.drop_resource(db, row["allocation_id"])
        wake_network(ctx)
        return {}

    def associate_address(self, ctx, request):
        with ctx.write() as db:
            if request.get("PublicIp") and not request.get("AllocationId"):
                _by_public_ip(db, request["PublicIp"], "mapping an address to", "allocation")
            if not request.get("AllocationId"):
                raise AWSError("MissingParameter", "The request must contain the parameter AllocationId")
            row = find(db, request["AllocationId"])
            eni, private_ip = _target(db, request)
            if not db.one(ec2_vpc_objects, ec2_vpc_objects.c.kind == "internet-gateway",
                          ec2_vpc_objects.c.vpc_id == eni["VpcId"]):
                raise AWSError("Gateway.NotAttached", f"Network {eni['VpcId']} is not attached to any internet gateway")
            body = json.loads(row["body"])
            if row["eni_id"] == eni["NetworkInterfaceId"] and row["private_ip"] == private_ip:
                return {"AssociationId": body["AssociationId"]}
            # reassociation is automatic in a VPC; AllowReassociation false refuses it
            _held_by_a_service(db, row)
            if row["eni_id"] and request.get("AllowReassociation") is False:
                raise AWSError("Resource.AlreadyAssociated", f"resource {row['allocation_id']} is already associated "
                               f"with associate-id {body['AssociationId']}")
            moved_from = enis.find(db, row["eni_id"]) if row["eni_id"] else None
            association = associate(db, row, eni["NetworkInterfaceId"], private_ip)
            if moved_from:
                relaunch_ip(db, enis.find(db, moved_from["NetworkInterfaceId"]), self.config.public_pool)
        wake_network(ctx)
        return {"AssociationId": association}

    def disassociate_address(self, ctx, request):
        association = request.get("AssociationId")
        with ctx.write() as db:
            if request.get("PublicIp") and not association:
                _by_public_ip(db, request["PublicIp"], "unmapping an address from", "association")
            if not association:
                raise AWSError("MissingParameter", "The request must contain the parameter AssociationId")
            if not association.startswith("eipassoc-"):
                raise AWSError("InvalidAssociationID.Malformed",
                               f"Invalid id: \"{association}\" (expecting \"eipassoc-...\")")
            row = next((r for r in db.select(table, *_elastic(table.c.eni_id.is_not(None)))
                        if json.loads(r["body"]).get("AssociationId") == association), None)
            if row is None:
                raise AWSError("InvalidAssociationID.NotFound", f"The association ID '{association}' does not exist")
            _held_by_a_service(db, row)
            disassociate(db, row)
            relaunch_ip(db, enis.find(db, row["eni_id"]), self.config.public_pool)
        wake_network(ctx)
        return {}

    def describe_addresses(self, ctx, request):
        with ctx.read() as db:
            rows = db.select(table, *_elastic(), order_by=table.c.public_ip)
            tag_map = tags.get_many(db, [r["allocation_id"] for r in rows])
            attached = {r["eni_id"]: r["attached_to"] for r in db.select(ec2_network_interfaces) if r["attached_to"]}
        for allocation_id in request.get("AllocationIds") or []:
            if allocation_id not in {r["allocation_id"] for r in rows}:  # another account's is not found either
                raise _unknown(allocation_id)
        known = {r["public_ip"] for r in rows}
        for address in request.get("PublicIps") or []:
            if address not in known:
                raise AWSError("InvalidAddress.NotFound", f"Address '{address}' not found.")
        wanted_ids, wanted_ips = request.get("AllocationIds"), request.get("PublicIps")
        rows = [r for r in rows if (not wanted_ids or r["allocation_id"] in wanted_ids)
                and (not wanted_ips or r["public_ip"] in wanted_ips)]
        out = [_described(r, tag_map[r["allocation_id"]], attached) for r in rows]
        return {"Addresses": filters.apply(out, request.get("Filters"), _GETTERS,
                                           tags_of=lambda a: {t["Key"]: t["Value"] for t in a["Tags"]})}
