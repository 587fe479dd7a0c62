"""AMIs: the built-in ones this host makes from Debian packages (bootstrap/amis.py), in every
region, and those an account makes: CreateImage (a snapshot of an instance's root volume),
RegisterImage (from a snapshot), CopyImage (between regions), and `cloudlet image to-ami`
(import_disk: an OCI image's disk, bootstrap/image_amis.py, which its instances' root volumes
overlay as they overlay a built-in AMI's). An image is pending until its snapshots are
completed (the volume controller says so), then available; an imported one is available at once."""

from __future__ import annotations

import hashlib
import json
import re

from cloudlet import ids
from cloudlet.bootstrap.amis import DESCRIPTIONS, IMPORTED, ROOT_GIB
from cloudlet.control.volumes import attached
from cloudlet.edge.errors import AWSError
from cloudlet.ids import now
from cloudlet.services.common import filters, tags
from cloudlet.store.schema import ec2_images as table
from cloudlet.store.schema import ec2_instances

from . import snapshots, volumes

OWNER_ID = "000000000000"  # the built-in AMIs' owner, shown with the alias "amazon"
_NAME = re.compile(r"^[A-Za-z0-9()\[\] ./\-'@_]{3,128}$")


def _exists(db, image_id: str) -> bool:
    return db.one(table, table.c.image_id == image_id) is not None


tags.register(tags.ResourceKind("ami", "image", _exists, "InvalidAMIID.NotFound"))


def image_id(region: str, name: str) -> str:
    return "ami-" + hashlib.sha256(f"{region}/{name}".encode()).hexdigest()[:17]


def builtin(region: str) -> dict[str, str]:
    """image id -> built-in AMI name."""
    return {image_id(region, name): name for name in DESCRIPTIONS}


def _mapping(device: str, size: int, snapshot_id: str | None = None, delete: bool = True) -> dict:
    ebs = {"DeleteOnTermination": delete, "VolumeSize": size, "VolumeType": "gp2", "Encrypted": False}
    return {"DeviceName": device, "Ebs": {**({"SnapshotId": snapshot_id} if snapshot_id else {}), **ebs}}


def _body(image: str, name: str, owner: str, description: str, mappings: list[dict], state: str,
          alias: str | None = None) -> dict:
    return {"ImageId": image, "Name": name, "Description": description, "State": state, "OwnerId": owner,
            **({"ImageOwnerAlias": alias} if alias else {}), "Public": alias is not None, "Architecture": "x86_64",
            "ImageType": "machine", "RootDeviceType": "ebs", "RootDeviceName": volumes.ROOT_DEVICE,
            "VirtualizationType": "hvm", "Hypervisor": "xen", "EnaSupport": True, "BootMode": "uefi-preferred",
            "PlatformDetails": "Linux/UNIX", "UsageOperation": "RunInstances", "CreationDate": now(),
            "ImageLocation": f"{alias or owner}/{name}", "BlockDeviceMappings": mappings}


def _builtins(region: str) -> list[dict]:
    return [{**_body(ami, f"cloudlet-{name}", OWNER_ID, DESCRIPTIONS[name], [_mapping(volumes.ROOT_DEVICE, ROOT_GIB)],
                     "available",
                     "amazon"), "CreationDate": "2026-11-26T00:00:00.000Z"}
            for ami, name in builtin(region).items()]


def _malformed(ami: str) -> None:
    if not re.match(r"^ami-[0-9a-f]{8,17}$", ami):
        raise AWSError("InvalidAMIID.Malformed", f"Invalid id: \"{ami}\" (expecting \"ami-...\")")


def launchable(db, region: str, ami: str) -> tuple[dict, int, dict[str, dict], dict]:
    """For an image that can be launched: what an instance's root volume is made from
    ({"base": name} or {"snapshot": id}), its size in GiB, the image's other volumes
    (device -> its Ebs mapping) and its body; AWS's error otherwise."""
    _malformed(ami)
    if ami in builtin(region):
        image = next(b for b in _builtins(region) if b["ImageId"] == ami)
        return {"base": builtin(region)[ami]}, ROOT_GIB, {}, image
    row = db.one(table, table.c.image_id == ami)
    if row is None:
        raise AWSError("InvalidAMIID.NotFound", f"The image id '[{ami}]' does not exist")
    body = json.loads(row["body"])
    if body["State"] != "available":
        raise AWSError("InvalidAMIID.Unavailable", f"The image id '[{ami}]' is not available: it is "
                       f"{body['State']}")
    root, *others = body["BlockDeviceMappings"]
    source = {"base": body["_base"]} if body.get("_base") else {"snapshot": root["Ebs"]["SnapshotId"]}
    return source, root["Ebs"]["VolumeSize"], {m["DeviceName"]: m["Ebs"] for m in others}, body


def check_name(db, name: str) -> None:
    if not _NAME.fullmatch(name):  # (match would let a newline at the end through)
        raise AWSError("InvalidAMIName.Malformed", f"AMI names must be between 3 and 128 characters long, and may "
                       f"contain letters, numbers, '(', ')', '.', '-', '/' and '_' ({name!r})")
    taken = db.one(table, table.c.name == name)
    if taken:
        raise AWSError("InvalidAMIName.Duplicate", f"AMI name {name} is already in use by AMI {taken['image_id']}")


def _record(db, ctx, name: str, description: str, mappings: list[dict], **extra) -> str:
    """An image of the account, pending until the snapshots of its mappings (root first) are made."""
    image = ids.resource_id("ami")
    body = {**_body(image, name, ctx.account_id, description, mappings, "pending"), **extra,
            "_snapshots": [m["Ebs"]["SnapshotId"] for m in mappings]}
    db.insert(table, image_id=image, name=name, state="pending", body=json.dumps(body), updated_at=now())
    return image


def import_disk(db, account_id: str, name: str, description: str, base: str, size: int) -> str:
    """An AMI of the account (db: its scoped store) whose instances' root volumes overlay the
    disk named base (bootstrap/image_amis.py: a name cloudlet gave, never a tenant's), available
    at once; AWS's error for a malformed or taken name. Returns its id."""
    if not IMPORTED.fullmatch(base):
        raise ValueError(f"{base!r} is not the name of an image's disk")
    check_name(db, name)
    image = ids.resource_id("ami")
    body = {**_body(image, name, account_id, description, [_mapping(volumes.ROOT_DEVICE, size)], "available"),
            "_base": base, "_snapshots": []}
    db.insert(table, image_id=image, name=name, state="available", body=json.dumps(body), updated_at=now())
    return image


class Images:
    def describe_images(self, ctx, request):
        owners, wanted = set(request.get("Owners") or []), request.get("ImageIds") or []
        with ctx.read() as db:
            mine = [json.loads(r["body"]) for r in db.select(table, order_by=table.c.image_id)]
            tag_map = tags.get_many(db, [b["ImageId"] for b in mine])
        for b in mine:
            b["Tags"] = tags.to_pairs(tag_map.get(b["ImageId"], {}))
        images = [b for b in _builtins(ctx.region) if not owners or {"amazon", OWNER_ID} & owners] + \
            [b for b in mine if not owners or {"self", ctx.account_id} & owners]
        for ami in wanted:
            _malformed(ami)
        known = {b["ImageId"] for b in images}
        missing = [ami for ami in dict.fromkeys(wanted) if ami not in known]
        if len(missing) > 1:  # AWS names every id it could not find, in one list
            raise AWSError("InvalidAMIID.NotFound", f"The image ids '[{', '.join(missing)}]' do not exist")
        if missing:
            raise AWSError("InvalidAMIID.NotFound", f"The image id '[{missing[0]}]' does not exist")
        images = [{k: v for k, v in b.items() if not k.startswith("_") and (k != "Tags" or v)}
                  for b in images if not wanted or b["ImageId"] in wanted]
        getters = {"name": lambda i: i["Name"], "image-id": lambda i: i["ImageId"], "state": lambda i: i["State"],
                   "architecture": lambda i: i["Architecture"], "owner-alias": lambda i: i.get("ImageOwnerAlias"),
                   "owner-id": lambda i: i["OwnerId"], "is-public": lambda i: i["Public"],
                   "root-device-type": lambda i: i["RootDeviceType"], "description": lambda i: i["Description"]}
        return {"Images": filters.apply(images, request.get("Filters"), getters,
                                        tags_of=lambda i: {t["Key"]: t["Value"] for t in i.get("Tags", [])})}

    def create_image(self, ctx, request):
        iid = request["InstanceId"]
        with ctx.write() as db:
            instance = db.one(ec2_instances, ec2_instances.c.instance_id == iid)
            if instance is None:
                raise AWSError("InvalidInstanceID.NotFound", f"The instance ID '{iid}' does not exist")
            if instance["state"] in ("shutting-down", "terminated"):
                raise AWSError("IncorrectInstanceState", f"Instance '{iid}' is not in a state from which an image "
                               "can be made.")
            check_name(db, request["Name"])
            reboot = not request.get("NoReboot") and instance["state"] in ("pending", "running") \
                and instance["desired"] == "running"
            mappings = []
            for volume in attached(db, iid):  # every EBS volume, as on AWS: the root one first
                body = json.loads(volume["body"])
                attachment = body["Attachments"][0]
                snap = snapshots.new_snapshot(db, ctx.account_id, {"volume": volume["volume_id"]}, body["Size"],
                                              volume["volume_id"], f"Created by CreateImage({iid})",
                                              wait_reboot=reboot)
                mappings.append(_mapping(attachment["Device"], body["Size"], snap["SnapshotId"],
                                         attachment["DeleteOnTermination"]))
            image = _record(db, ctx, request["Name"], request.get("Description") or "", mappings,
                            SourceInstanceId=iid)
            if reboot:  # the instance controller stops the VM, copies the disk, boots it again
                db.update(ec2_instances, ec2_instances.c.instance_id == iid, desired="rebooted")
            for kind, resource in (("image", image), *(("snapshot", m["Ebs"]["SnapshotId"]) for m in mappings)):
                tags.apply_specifications(db, request.get("TagSpecifications"), kind, resource,
                                          allowed=("image", "snapshot"))
        self.controller.wake()
        self.volume_controller.wake()
        return {"ImageId": image}

    def register_image(self, ctx, request):
        if request.get("ImageLocation"):
            raise AWSError("InvalidParameterValue", "cloudlet registers images from EBS snapshots only "
                           "(BlockDeviceMappings), not from an S3 manifest.")
        if (request.get("Architecture") or "x86_64") != "x86_64":
            raise AWSError("InvalidParameterValue", "cloudlet runs x86_64 guests only.")
        root_name = request.get("RootDeviceName") or volumes.ROOT_DEVICE
        if root_name != volumes.ROOT_DEVICE:
            raise AWSError("InvalidParameterValue", f"cloudlet boots from {volumes.ROOT_DEVICE}, not {root_name}.")
        given = [m for m in request.get("BlockDeviceMappings") or [] if (m.get("Ebs") or {}).get("SnapshotId")]
        given.sort(key=lambda m: m.get("DeviceName") != root_name)
        if not given or given[0].get("DeviceName") != root_name:
            raise AWSError("InvalidBlockDeviceMapping", f"The root device {root_name} needs an EBS snapshot.")
        with ctx.write() as db:
            check_name(db, request["Name"])
            mappings = []
            for m in given:
                if m["DeviceName"] != root_name and not volumes.DEVICE.match(m["DeviceName"]):
                    raise AWSError("InvalidBlockDeviceMapping", f"Invalid device name {m['DeviceName']}")
                snap = snapshots.find(db, m["Ebs"]["SnapshotId"])
                size = m["Ebs"].get("VolumeSize") or snap["VolumeSize"]
                volumes.check_size("gp2", size, snap["VolumeSize"])
                mappings.append(_mapping(m["DeviceName"], size, snap["SnapshotId"],
                                         m["Ebs"].get("DeleteOnTermination", True)))
            image = _record(db, ctx, request["Name"], request.get("Description") or "", mappings)
        self.volume_controller.wake()
        return {"ImageId": image}

    def copy_image(self, ctx, request):
        source, source_region = request["SourceImageId"], request["SourceRegion"]
        _malformed(source)
        if source in builtin(source_region):
            sources = [({"base": builtin(source_region)[source]}, _mapping(volumes.ROOT_DEVICE, ROOT_GIB))]
        else:
            with self.store.scoped(ctx.account_id, source_region, write=False) as db:
                row = db.one(table, table.c.image_id == source)
                if row is None:
                    raise AWSError("InvalidAMIID.NotFound", f"The image id '[{source}]' does not exist")
                body = json.loads(row["body"])
            if body["State"] != "available":
                raise AWSError("IncorrectState", f"Image {source} is not available.")
            # an imported image's root disk is copied from its base, as a built-in one's is
            sources = [({"base": body["_base"]} if i == 0 and body.get("_base") else
                        {"snapshot": [source_region, m["Ebs"]["SnapshotId"]]}, m)
                       for i, m in enumerate(body["BlockDeviceMappings"])]
        with ctx.write() as db:
            check_name(db, request["Name"])
            mappings = []
            for origin, m in sources:
                snap = snapshots.new_snapshot(db, ctx.account_id, origin, m["Ebs"]["VolumeSize"], "",
                                              f"Copied for DestinationAmi from SourceAmi {source}")
                mappings.append(_mapping(m["DeviceName"], m["Ebs"]["VolumeSize"], snap["SnapshotId"],
                                         m["Ebs"]["DeleteOnTermination"]))
            image = _record(db, ctx, request["Name"], request.get("Description") or "", mappings,
                            SourceImageId=source, SourceImageRegion=source_region)
        self.volume_controller.wake()
        return {"ImageId": image}

    def deregister_image(self, ctx, request):
        ami = request["ImageId"]
        _malformed(ami)
        if ami in builtin(ctx.region):
            raise AWSError("AuthFailure", f"Not authorized for image:{ami}")
        with ctx.write() as db:
            if not db.delete(table, table.c.image_id == ami):
                raise AWSError("InvalidAMIID.NotFound", f"The image id '[{ami}]' does not exist")
            tags.drop_resource(db, ami)
        return {"Return": True}  # its snapshots stay, as on AWS

    def _image(self, db, region: str, ami: str) -> tuple[dict, dict | None]:
        """(public body, its row or None for a built-in one)."""
        _malformed(ami)
        found = next((b for b in _builtins(region) if b["ImageId"] == ami), None)
        if found:
            return found, None
        row = db.one(table, table.c.image_id == ami)
        if row is None:
            raise AWSError("InvalidAMIID.NotFound", f"The image id '[{ami}]' does not exist")
        return json.loads(row["body"]), row

    def describe_image_attribute(self, ctx, request):
        attribute = request["Attribute"]
        with ctx.read() as db:
            body, _ = self._image(db, ctx.region, request["ImageId"])
        values = {"description": ("Description", {"Value": body["Description"]}),
                  "blockDeviceMapping": ("BlockDeviceMappings", body["BlockDeviceMappings"]),
                  "launchPermission": ("LaunchPermissions", [{"Group": "all"}] if body["Public"] else []),
                  "bootMode": ("BootMode", {"Value": body["BootMode"]})}
        if attribute not in values:
            raise AWSError("InvalidParameterValue", f"Value ({attribute}) for parameter attribute is invalid. "
                           f"Supported here: {', '.join(values)}.")
        key, value = values[attribute]
        return {"ImageId": request["ImageId"], key: value}

    def modify_image_attribute(self, ctx, request):
        """The description; launch permissions for other accounts are not supported."""
        if request.get("LaunchPermission") or request.get("UserIds") or request.get("UserGroups"):
            raise AWSError("UnsupportedOperation", "cloudlet does not share images between accounts.")
        description = (request.get("Description") or {}).get("Value", request.get("Value"))
        with ctx.write() as db:
            body, row = self._image(db, ctx.region, request["ImageId"])
            if row is None:
                raise AWSError("AuthFailure", f"Not authorized for image:{request['ImageId']}")
            if description is not None:
                body["Description"] = description
                db.update(table, table.c.image_id == row["image_id"], body=json.dumps(body), updated_at=now())
        return {}
