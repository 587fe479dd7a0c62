"""EBS snapshots: point-in-time copies of volumes (pending until the volume controller has
copied the volume's file, completed after), the root disks of AMIs made by accounts."""

from __future__ import annotations

import json

from cloudlet import ids
from cloudlet.edge.errors import AWSError
from cloudlet.ids import now
from cloudlet.services.common import filters, tags
from cloudlet.store.schema import ec2_images
from cloudlet.store.schema import ec2_snapshots as table

from . import volumes


def _exists(db, snapshot_id: str) -> bool:
    return db.one(table, table.c.snapshot_id == snapshot_id) is not None


tags.register(tags.ResourceKind("snap", "snapshot", _exists, "InvalidSnapshot.NotFound"))


def new_snapshot(db, account_id: str, source: dict, size: int, volume_id: str, description: str = "",
                 wait_reboot: bool = False) -> dict:
    """Record a snapshot the controllers will copy: source is {"volume": id},
    {"snapshot": [region, id]} or {"base": AMI name}. wait_reboot: the instance controller
    copies it while it restarts the instance (CreateImage without NoReboot)."""
    snapshot_id = ids.resource_id("snap")
    body = {"SnapshotId": snapshot_id, "VolumeId": volume_id, "State": "pending", "StartTime": now(),
            "Progress": "", "OwnerId": account_id, "Description": description, "VolumeSize": size,
            "Encrypted": False, "StorageTier": "standard", "_source": source, "_wait_reboot": wait_reboot}
    db.insert(table, snapshot_id=snapshot_id, state="pending", body=json.dumps(body), updated_at=now())
    return body


def find(db, snapshot_id: str) -> dict:
    row = db.one(table, table.c.snapshot_id == snapshot_id)
    if row is None:
        code = "InvalidSnapshot.NotFound" if snapshot_id.startswith("snap-") else "InvalidSnapshotID.Malformed"
        raise AWSError(code, f"The snapshot '{snapshot_id}' does not exist.")
    return json.loads(row["body"])


class Snapshots:
    def create_snapshot(self, ctx, request):
        with ctx.write() as db:
            row, volume = volumes.find(db, request["VolumeId"])
            if volume["State"] == "creating":
                raise AWSError("IncorrectState", f"Volume '{row['volume_id']}' is in the 'creating' state.")
            body = new_snapshot(db, ctx.account_id, {"volume": row["volume_id"]}, volume["Size"],
                                row["volume_id"], request.get("Description") or "")
            tags.apply_specifications(db, request.get("TagSpecifications"), "snapshot", body["SnapshotId"],
                                      allowed=("snapshot",))
            body["Tags"] = tags.to_pairs(tags.get(db, body["SnapshotId"]))
        self.volume_controller.wake()
        return volumes.public(body)

    def describe_snapshots(self, ctx, request):
        wanted = request.get("SnapshotIds") or []
        owners = set(request.get("OwnerIds") or [])
        with ctx.read() as db:
            for snapshot_id in wanted:
                find(db, snapshot_id)
            rows = db.select(table, order_by=table.c.snapshot_id)
            tag_map = tags.get_many(db, [r["snapshot_id"] for r in rows])
        if owners and not owners & {"self", ctx.account_id}:
            rows = []  # no snapshot here is shared with other accounts
        bodies = []
        for r in rows:
            if wanted and r["snapshot_id"] not in wanted:
                continue
            body = volumes.public(json.loads(r["body"]))
            body["Tags"] = tags.to_pairs(tag_map.get(r["snapshot_id"], {}))
            bodies.append(body)
        getters = {"snapshot-id": lambda b: b["SnapshotId"], "status": lambda b: b["State"],
                   "volume-id": lambda b: b["VolumeId"], "volume-size": lambda b: b["VolumeSize"],
                   "owner-id": lambda b: b["OwnerId"], "description": lambda b: b["Description"]}
        return {"Snapshots": filters.apply(bodies, request.get("Filters"), getters,
                                           tags_of=lambda b: {t["Key"]: t["Value"] for t in b["Tags"]})}

    def delete_snapshot(self, ctx, request):
        snapshot_id = request["SnapshotId"]
        with ctx.write() as db:
            find(db, snapshot_id)
            for image in db.select(ec2_images):
                if snapshot_id in json.loads(image["body"])["_snapshots"]:
                    raise AWSError("InvalidSnapshot.InUse", f"The snapshot {snapshot_id} is currently in use by "
                                   f"{image['image_id']}")
            db.delete(table, table.c.snapshot_id == snapshot_id)
            tags.drop_resource(db, snapshot_id)
        self.volume_controller.wake()  # it removes the file
        return {}
