"""EBS volumes: the API records them and their attachments; the volume controller
(cloudlet/control/volumes.py) makes their qcow2 files and plugs them into running
instances, where the guest sees each as a /dev/vdX whose serial is the volume id."""

from __future__ import annotations

import json
import re

from cloudlet import ids
from cloudlet.config import zones
from cloudlet.control.volumes import ROOT_DEVICE
from cloudlet.edge.errors import AWSError
from cloudlet.ids import now
from cloudlet.services.common import filters, tags
from cloudlet.store.schema import ec2_instances, ec2_snapshots
from cloudlet.store.schema import ec2_volumes as table

# type -> (smallest, largest) size in GiB, as AWS allows
SIZES = {"standard": (1, 1024), "gp2": (1, 16384), "gp3": (1, 16384), "io1": (4, 16384), "io2": (4, 65536),
         "st1": (125, 16384), "sc1": (125, 16384)}
DEVICE = re.compile(r"^/dev/(sd|xvd)[b-z][a-z]?$")


def _exists(db, volume_id: str) -> bool:
    return db.one(table, table.c.volume_id == volume_id) is not None


tags.register(tags.ResourceKind("vol", "volume", _exists, "InvalidVolume.NotFound"))


def check_size(kind: str, size: int, minimum: int = 1) -> None:
    if kind not in SIZES:
        raise AWSError("InvalidParameterValue", f"Value ({kind}) for parameter volumeType is invalid. "
                       f"Valid values are {', '.join(SIZES)}.")
    lo, hi = SIZES[kind]
    if not max(lo, minimum) <= size <= hi:
        if size < minimum:
            raise AWSError("InvalidParameterValue", f"Volume of {size}GiB is smaller than the snapshot or image "
                           f"it is made from, expect size >= {minimum}GiB")
        raise AWSError("InvalidParameterValue", f"Volume of size {size}GiB is {'too large' if size > hi else 'too small'}"
                       f" for volume type {kind}; {'maximum' if size > hi else 'minimum'} is "
                       f"{hi if size > hi else lo}GiB")


def new_volume(db, zone: str, size: int, kind: str, source: dict | None, snapshot_id: str = "",
               attachment: dict | None = None) -> dict:
    """Record a volume the controller will make: empty, or from source ({"snapshot": id} or
    {"base": AMI name}); attachment: the instance and device it is attached to at once."""
    volume_id = ids.resource_id("vol")
    body = {"VolumeId": volume_id, "Size": size, "SnapshotId": snapshot_id, "AvailabilityZone": zone,
            "State": "creating", "CreateTime": now(), "VolumeType": kind, "Encrypted": False,
            "MultiAttachEnabled": False, "Attachments": [], "_source": source}
    if kind in ("gp2", "gp3", "io1", "io2"):
        body["Iops"] = 3000 if kind == "gp3" else max(100, min(16000, 3 * size))
    if kind == "gp3":
        body["Throughput"] = 125
    if attachment:
        body["Attachments"] = [{"VolumeId": volume_id, "AttachTime": now(), "State": "attaching",
                                "DeleteOnTermination": False, **attachment}]
    db.insert(table, volume_id=volume_id, state="creating",
              instance_id=attachment["InstanceId"] if attachment else None, body=json.dumps(body),
              updated_at=now())
    return body


def public(body: dict) -> dict:
    return {k: v for k, v in body.items() if not k.startswith("_")}


def find(db, volume_id: str) -> tuple[dict, dict]:
    row = db.one(table, table.c.volume_id == volume_id)
    if row is None:
        code = "InvalidVolume.NotFound" if volume_id.startswith("vol-") else "InvalidVolumeID.Malformed"
        raise AWSError(code, f"The volume '{volume_id}' does not exist.")
    return row, json.loads(row["body"])


def save(db, row: dict, body: dict, **values) -> None:
    db.update(table, table.c.volume_id == row["volume_id"], body=json.dumps(body), updated_at=now(), **values)


class Volumes:
    def create_volume(self, ctx, request):
        kind = request.get("VolumeType") or "gp2"
        by_id = {z["ZoneId"]: z["ZoneName"] for z in zones(ctx.region)}
        zone = request.get("AvailabilityZone") or by_id.get(request.get("AvailabilityZoneId"), "")
        if not request.get("AvailabilityZone") and not request.get("AvailabilityZoneId"):
            raise AWSError("MissingParameter", "The request must contain the parameter availabilityZone")
        if zone not in by_id.values():
            raise AWSError("InvalidZone.NotFound", f"The zone '{zone or request['AvailabilityZoneId']}' does not "
                           "exist.")
        if request.get("Encrypted") or request.get("KmsKeyId"):
            raise AWSError("UnsupportedOperation", "cloudlet does not encrypt EBS volumes.")
        snapshot_id = request.get("SnapshotId")
        if not snapshot_id and request.get("Size") is None:
            raise AWSError("MissingParameter", "The request must contain the parameter size or snapshotId")
        with ctx.write() as db:
            minimum = 1
            if snapshot_id:
                snap = db.one(ec2_snapshots, ec2_snapshots.c.snapshot_id == snapshot_id)
                if snap is None:
                    raise AWSError("InvalidSnapshot.NotFound", f"The snapshot '{snapshot_id}' does not exist.")
                minimum = json.loads(snap["body"])["VolumeSize"]
            size = request.get("Size") or minimum
            check_size(kind, size, minimum)
            body = new_volume(db, zone, size, kind, {"snapshot": snapshot_id} if snapshot_id else None,
                              snapshot_id or "")
            tags.apply_specifications(db, request.get("TagSpecifications"), "volume", body["VolumeId"],
                                      allowed=("volume",))
            body["Tags"] = tags.to_pairs(tags.get(db, body["VolumeId"]))
        self.volume_controller.wake()
        return {k: v for k, v in public(body).items() if k != "Tags" or v}

    def describe_volumes(self, ctx, request):
        wanted = request.get("VolumeIds") or []
        with ctx.read() as db:
            for volume_id in wanted:
                find(db, volume_id)
            rows = db.select(table, order_by=table.c.volume_id)
            tag_map = tags.get_many(db, [r["volume_id"] for r in rows])
        bodies = []
        for r in rows:
            if wanted and r["volume_id"] not in wanted:
                continue
            body = public(json.loads(r["body"]))
            body["Tags"] = tags.to_pairs(tag_map.get(r["volume_id"], {}))
            bodies.append(body)
        first = lambda key: lambda b: [a[key] for a in b["Attachments"]]  # noqa: E731
        getters = {"volume-id": lambda b: b["VolumeId"], "status": lambda b: b["State"], "size": lambda b: b["Size"],
                   "availability-zone": lambda b: b["AvailabilityZone"], "snapshot-id": lambda b: b["SnapshotId"],
                   "volume-type": lambda b: b["VolumeType"], "attachment.instance-id": first("InstanceId"),
                   "attachment.device": first("Device"), "attachment.status": first("State"),
                   "attachment.delete-on-termination": first("DeleteOnTermination")}
        bodies = filters.apply(bodies, request.get("Filters"), getters,
                               tags_of=lambda b: {t["Key"]: t["Value"] for t in b["Tags"]})
        for b in bodies:
            if not b["Tags"]:
                del b["Tags"]
        return {"Volumes": bodies}

    def delete_volume(self, ctx, request):
        with ctx.write() as db:
            row, body = find(db, request["VolumeId"])
            if row["instance_id"]:
                raise AWSError("VolumeInUse", f"Volume {row['volume_id']} is currently attached to "
                               f"{row['instance_id']}")
            db.delete(table, table.c.volume_id == row["volume_id"])
            tags.drop_resource(db, row["volume_id"])
        self.volume_controller.wake()  # it removes the file
        return {}

    def attach_volume(self, ctx, request):
        device, iid = request["Device"], request["InstanceId"]
        with ctx.write() as db:
            row, body = find(db, request["VolumeId"])
            instance = db.one(ec2_instances, ec2_instances.c.instance_id == iid)
            if instance is None:
                raise AWSError("InvalidInstanceID.NotFound", f"The instance ID '{iid}' does not exist")
            ibody = json.loads(instance["body"])
            if instance["state"] in ("shutting-down", "terminated"):
                raise AWSError("IncorrectInstanceState", f"Instance '{iid}' is not 'running' or 'stopped'.")
            if row["instance_id"]:
                raise AWSError("VolumeInUse", f"{row['volume_id']} is already attached to an instance")
            if body["State"] != "available":
                raise AWSError("IncorrectState", f"vol '{row['volume_id']}' is not 'available'.")
            if body["AvailabilityZone"] != ibody["Placement"]["AvailabilityZone"]:
                raise AWSError("InvalidVolume.ZoneMismatch", f"The volume '{row['volume_id']}' is not in the same "
                               f"availability zone as instance '{iid}'")
            if not DEVICE.match(device):
                raise AWSError("InvalidParameterValue", f"Value ({device}) for parameter device is invalid. "
                               f"{device} is not a valid EBS device name.")
            used = {json.loads(v["body"])["Attachments"][0]["Device"]
                    for v in db.select(table, table.c.instance_id == iid)}
            if device in used:
                raise AWSError("InvalidParameterValue", f"Invalid value '{device}' for unixDevice. Attachment point "
                               f"{device} is already in use")
            attachment = {"VolumeId": row["volume_id"], "InstanceId": iid, "Device": device, "State": "attaching",
                          "AttachTime": now(), "DeleteOnTermination": False}
            body.update(State="in-use", Attachments=[attachment])
            save(db, row, body, state="in-use", instance_id=iid)
        self.volume_controller.wake()
        return attachment

    def detach_volume(self, ctx, request):
        with ctx.write() as db:
            row, body = find(db, request["VolumeId"])
            if not row["instance_id"]:
                raise AWSError("IncorrectState", f"Volume '{row['volume_id']}' is in the 'available' state.")
            attachment = body["Attachments"][0]
            if request.get("InstanceId") and request["InstanceId"] != row["instance_id"]:
                raise AWSError("InvalidAttachment.NotFound", f"The volume '{row['volume_id']}' is not attached to "
                               f"instance '{request['InstanceId']}'")
            instance = db.one(ec2_instances, ec2_instances.c.instance_id == row["instance_id"])
            if attachment["Device"] == ROOT_DEVICE and instance["state"] != "stopped":
                raise AWSError("IncorrectState", f"Unable to detach root volume '{row['volume_id']}' from instance "
                               f"'{row['instance_id']}'")
            attachment["State"] = "detaching"
            save(db, row, body)
        self.volume_controller.wake()
        return attachment
