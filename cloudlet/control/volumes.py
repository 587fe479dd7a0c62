"""The volume controller: makes each EBS volume's qcow2 file (empty, over an AMI's root
disk, or from a snapshot), plugs volumes into running instances and unplugs them, copies
volumes into snapshots (pausing the VM that writes to one, so the copy is one point in time),
makes an account's images available once their snapshots are, and removes the files of
volumes and snapshots that are gone from the store.

    <data>/ebs/volumes/vol-*.qcow2      <data>/ebs/snapshots/snap-*.qcow2
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

from sqlalchemy import select, update

from cloudlet.agent.vms import Disk, Disks, VMError, VMs
from cloudlet.agent.vms.qmp import QMPError
from cloudlet.bootstrap import amis
from cloudlet.config import boot_dir
from cloudlet.ids import now
from cloudlet.store.schema import ec2_images, ec2_instances, ec2_snapshots, ec2_volumes

from .loop import Loop

POLL = 0.5
ROOT_DEVICE = "/dev/xvda"  # where the root volume is attached, as on AWS's Xen-era AMIs


def device_order(device: str) -> tuple:
    """The root volume first, then by device name: the order the guest sees them in."""
    return device != ROOT_DEVICE, device


def attached(db, instance_id: str) -> list[dict]:
    """An instance's volumes (rows of an account's scoped store), in device_order."""
    rows = db.select(ec2_volumes, ec2_volumes.c.instance_id == instance_id)
    return sorted(rows, key=lambda v: device_order(json.loads(v["body"])["Attachments"][0]["Device"]))


def _key(row) -> tuple:
    return row.account_id, row.region


class VolumeController(Loop):
    def __init__(self, store, data_dir: Path, vms: VMs, made=lambda: None):
        self.store = store
        self.vms = vms
        self.made = made  # called when a volume is made: an instance may be waiting to boot from it
        self.volumes = Disks(Path(data_dir) / "ebs" / "volumes")
        self.snapshots = Disks(Path(data_dir) / "ebs" / "snapshots")
        self.boot_dir = boot_dir(data_dir)
        self._detaching: set[str] = set()  # unplugs under way (the guest takes seconds)
        for partial in [*self.volumes.root.glob("*.partial"), *self.snapshots.root.glob("*.partial")]:
            partial.unlink()  # a copy a crash cut short
        self.start("volume-controller", POLL)

    def _rows(self, table) -> list:
        with self.store.begin(write=False) as conn:
            return conn.execute(select(table)).all()

    def _save(self, table, key_column, row, body: dict, **values) -> None:
        """Write back what changed, unless the API changed the row since it was read (the
        next round sees that change)."""
        with self.store.begin() as conn:
            conn.execute(update(table).where(
                table.c.account_id == row.account_id, table.c.region == row.region,
                key_column == getattr(row, key_column.name), table.c.updated_at == row.updated_at,
            ).values(body=json.dumps(body), updated_at=now(), **values))

    def root_disk(self, name: str) -> Path:
        return amis.root_disk(self.boot_dir, name)

    def round(self) -> None:
        instances = {(r.account_id, r.region, r.instance_id): r for r in self._rows(ec2_instances)}
        for row in self._rows(ec2_volumes):
            body = json.loads(row.body)
            try:
                if row.state == "creating":
                    self._make(row, body)
                elif body["Attachments"]:
                    self._attachment(row, body, instances.get((*_key(row), row.instance_id)))
            except Exception:  # one volume that cannot be made or plugged must not stall the others
                self._log.exception("volume %s", row.volume_id)
        for row in self._rows(ec2_snapshots):
            body = json.loads(row.body)
            try:
                if row.state == "pending" and not self._waits_for_reboot(row, body, instances):
                    self.copy_snapshot(row, body)
            except Exception:  # nor one snapshot
                self._log.exception("snapshot %s", row.snapshot_id)
        self._images()
        self._sweep()

    def _make(self, row, body: dict) -> None:
        source, size = body["_source"] or {}, body["Size"]
        if "snapshot" in source:
            self.volumes.copy(self.snapshots.path(source["snapshot"]), row.volume_id, size)
        else:
            self.volumes.create(row.volume_id, size, self.root_disk(source["base"]) if "base" in source else None)
        state = "in-use" if body["Attachments"] else "available"
        body["State"] = state
        self._save(ec2_volumes, ec2_volumes.c.volume_id, row, body, state=state)
        self.made()

    def _attachment(self, row, body: dict, instance) -> None:
        attachment = body["Attachments"][0]
        running = instance is not None and self._vm_running(instance.instance_id)
        if attachment["State"] == "attaching":
            if running:
                self.vms.attach(instance.instance_id, Disk(row.volume_id, str(self.volumes.path(row.volume_id))))
            elif instance is not None and instance.state == "pending":
                return  # it boots with the volume, or is plugged in once it runs
            attachment["State"] = "attached"
            self._save(ec2_volumes, ec2_volumes.c.volume_id, row, body)
        elif attachment["State"] == "detaching" and row.volume_id not in self._detaching:
            self._detaching.add(row.volume_id)
            threading.Thread(target=self._detach, args=(row, body, running), daemon=True).start()

    def _detach(self, row, body: dict, running: bool) -> None:
        try:
            if running:
                self.vms.detach(row.instance_id, row.volume_id)
            body.update(State="available", Attachments=[])
            self._save(ec2_volumes, ec2_volumes.c.volume_id, row, body, state="available", instance_id=None)
        except (VMError, QMPError):
            self._log.exception("detaching %s", row.volume_id)
        finally:
            self._detaching.discard(row.volume_id)

    def _vm_running(self, vm_id: str) -> bool:
        try:
            return self.vms.get(vm_id).status == "running"
        except VMError:
            return False

    def _waits_for_reboot(self, row, body: dict, instances: dict) -> bool:
        """A CreateImage snapshot that the instance controller copies while it restarts the VM."""
        if not body["_wait_reboot"]:
            return False
        with self.store.scoped(row.account_id, row.region, write=False) as db:
            volume = db.one(ec2_volumes, ec2_volumes.c.volume_id == body["VolumeId"])
        instance = instances.get((*_key(row), volume["instance_id"])) if volume else None
        return instance is not None and instance.desired == "rebooted"

    def copy_snapshot(self, row, body: dict) -> None:
        source = body["_source"]
        if "base" in source:
            self.snapshots.create(row.snapshot_id, body["VolumeSize"], self.root_disk(source["base"]))
        elif "snapshot" in source:
            region, snapshot_id = source["snapshot"]
            with self.store.scoped(row.account_id, region, write=False) as db:
                origin = db.one(ec2_snapshots, ec2_snapshots.c.snapshot_id == snapshot_id)
            if origin is None or origin["state"] == "error":
                return self._fail(row, body)
            if origin["state"] != "completed":
                return
            self.snapshots.copy(self.snapshots.path(snapshot_id), row.snapshot_id)
        else:
            with self.store.scoped(row.account_id, row.region, write=False) as db:
                volume = db.one(ec2_volumes, ec2_volumes.c.volume_id == source["volume"])
            if volume is None:
                return self._fail(row, body)
            if volume["state"] == "creating":
                return
            self._copy_volume(volume, row.snapshot_id)
        body.update(State="completed", Progress="100%")
        self._save(ec2_snapshots, ec2_snapshots.c.snapshot_id, row, body, state="completed")

    def _copy_volume(self, volume, snapshot_id: str) -> None:
        """Copy a volume, pausing the VM that has it (its writes so far are on disk: QEMU
        flushes when it pauses) for as long as the copy takes."""
        vm = volume["instance_id"] if volume["instance_id"] and self._vm_running(volume["instance_id"]) else None
        if vm:
            self.vms.query(vm, "stop")
        try:
            self.snapshots.copy(self.volumes.path(volume["volume_id"]), snapshot_id)
        finally:
            if vm:
                self.vms.query(vm, "cont")

    def _fail(self, row, body: dict) -> None:
        body["State"] = "error"
        self._save(ec2_snapshots, ec2_snapshots.c.snapshot_id, row, body, state="error")

    def _images(self) -> None:
        # one read: an image copied between a read of the snapshots and one of the images
        # would name snapshots not yet seen, and fail
        with self.store.begin(write=False) as conn:
            snapshots, images = (conn.execute(select(t)).all() for t in (ec2_snapshots, ec2_images))
        states = {(r.account_id, r.region, r.snapshot_id): r.state for r in snapshots}
        for row in images:
            if row.state != "pending":
                continue
            body = json.loads(row.body)
            got = [states.get((*_key(row), s), "error") for s in body["_snapshots"]]
            if "error" in got or all(s == "completed" for s in got):
                body["State"] = "failed" if "error" in got else "available"
                self._save(ec2_images, ec2_images.c.image_id, row, body, state=body["State"])

    def _sweep(self) -> None:
        """Remove the files of volumes and snapshots deleted from the store (files are made
        only after their rows, so a file without a row is one whose row is gone)."""
        for disks, table, column in ((self.volumes, ec2_volumes, "volume_id"),
                                     (self.snapshots, ec2_snapshots, "snapshot_id")):
            files = [p.stem for p in disks.root.glob("*.qcow2")]
            known = {getattr(r, column) for r in self._rows(table)}
            for disk_id in files:
                if disk_id not in known:
                    disks.remove(disk_id)
