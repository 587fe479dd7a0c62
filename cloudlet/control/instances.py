"""The instance controller: boots, stops and removes the VM behind each EC2 instance so that
it matches what the API asked for, and writes the state back, with AWS's state names:

    pending -> running        the VM started and its init said so on the console
    stopping -> stopped       the VM powered off (its files kept, to start again)
    shutting-down -> terminated   the VM removed (the instance stays visible, terminated)

A VM is named after its instance and found again from its files, so a controller that
restarts picks each instance up where it was."""

from __future__ import annotations

import json
import logging
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace

from sqlalchemy import delete, select, update

from cloudlet.agent.engine import Engine
from cloudlet.agent.vms import Disk, Disks, VMError, VMs
from cloudlet.config import boot_dir, engine_dir
from cloudlet.ids import now
from cloudlet.store.schema import ec2_instances, ec2_snapshots, ec2_volumes, tags

from . import instance_enis
from .loop import Loop
from .volumes import VolumeController, attached

log = logging.getLogger("cloudlet.control.instances")
POLL = 0.25
TERMINATED_VISIBLE = 3600  # seconds
INIT_MARKER = "cloudlet-init: running"  # what the AMIs' init prints (bootstrap/kernel.py)
_CODES = {"pending": 0, "running": 16, "shutting-down": 32, "terminated": 48, "stopping": 64, "stopped": 80}


def state(name: str) -> dict:
    """An instance state as EC2 writes it, with its code."""
    return {"Code": _CODES[name], "Name": name}


def instance_store_disk(instance_id: str) -> str:
    """The id of an instance's instance store disk (its VM's drive of that name)."""
    return "eph-" + instance_id[2:]


class InstanceController(Loop):
    def __init__(self, store, data_dir: Path, network_changed=lambda: None):
        self.store = store
        self.network_changed = network_changed  # the network controller enforces a new port's groups
        self.vms = VMs(Path(data_dir) / "vms")
        self.volumes = VolumeController(store, data_dir, self.vms, made=self.wake)
        self.instance_store = Disks(Path(data_dir) / "ebs" / "ephemeral")  # wiped at every stop
        self.engine = Engine(engine_dir(Path(data_dir)))  # its networks: VMs plug into their VPCs' routers
        self.boot_dir = boot_dir(data_dir)  # made on first use, unless `cloudlet setup --amis` made it
        self._lock = threading.Lock()
        self._boot_files = None  # (vmlinux, initramfs): the kernel apt has when the first instance boots
        self.start("instance-controller", POLL)

    def has_room(self, memory_mib: int) -> bool:
        """Whether the host can give VMs memory_mib more (MemAvailable, less a reserve)."""
        with open("/proc/meminfo") as f:
            available = next(int(line.split()[1]) for line in f if line.startswith("MemAvailable:")) // 1024
        return memory_mib <= available - 512

    def console(self, instance_id: str) -> str:
        return self.vms.console(instance_id)

    def round(self) -> None:
        with self.store.begin(write=False) as conn:
            rows = conn.execute(select(ec2_instances).where(ec2_instances.c.state != "terminated")).all()
        for row in rows:
            try:
                self._step(row)
            except Exception:  # one VM that will not start must not stall the others
                log.exception("instance %s", row.instance_id)
        self._forget_terminated()

    def _forget_terminated(self) -> None:
        """Terminated instances stay visible for an hour, as on AWS, then go with their tags."""
        cutoff = (datetime.now(timezone.utc) - timedelta(seconds=TERMINATED_VISIBLE)).isoformat()
        old = (ec2_instances.c.state == "terminated") & (ec2_instances.c.updated_at < cutoff)
        with self.store.begin(write=False) as conn:
            gone = conn.execute(select(ec2_instances).where(old)).all()
        if not gone:
            return
        with self.store.begin() as conn:
            for row in gone:
                conn.execute(delete(tags).where(tags.c.account_id == row.account_id, tags.c.region == row.region,
                                                tags.c.resource_id == row.instance_id))
            conn.execute(delete(ec2_instances).where(old))

    def _step(self, row) -> None:
        body = json.loads(row.body)
        vm_id = row.instance_id
        if row.desired == "running" and row.state == "pending":
            if not self._exists(vm_id) or self.vms.get(vm_id).status != "running":
                if not self._boot(row, body):
                    return  # its volumes are still being made
                self._set(row, row.state, body)  # its address, for the metadata service it asks at once
            else:
                self._plug(row, body)  # the address in this round's copy, too
            if INIT_MARKER in self.vms.console(vm_id):
                name = "ip-" + body["PrivateIpAddress"].replace(".", "-")
                self._set(row, "running", body, PrivateDnsName=f"{name}.{row.region}.compute.internal")
        elif row.desired == "rebooted":
            self.vms.stop(vm_id)
            self._snapshots_at_reboot(row)
            if self._boot(row, body):
                self._set(row, "pending", body, desired="running")
        elif row.desired == "stopped" and row.state in ("stopping", "pending", "running"):
            if self._exists(vm_id):
                # a guest still booting has no ACPI handler yet and nothing of its own to write out:
                # the power button would only cost the whole grace period
                force = body["_run"].get("force_stop", False) or row.state == "pending"
                self.vms.stop(vm_id, force=force)
            self.instance_store.remove(instance_store_disk(vm_id))
            self._set(row, "stopped", body, StateTransitionReason=f"User initiated ({now()})")
        elif row.desired == "terminated":
            if self._exists(vm_id):
                self.vms.remove(vm_id)
            self.instance_store.remove(instance_store_disk(vm_id))
            instance_enis.release(self.store, row, self.engine.networks.routers)
            self.network_changed()
            self._release_volumes(row)
            self._set(row, "terminated", body)
        elif row.desired == "running" and row.state == "running" and self.vms.get(vm_id).status != "running":
            # the VM went away behind our back (killed, or the host rebooted): as AWS, it stopped
            self._set(row, "stopped", body, StateTransitionReason="Server.InternalError: the VM ended",
                      desired="stopped")

    def _exists(self, vm_id: str) -> bool:
        try:
            self.vms.get(vm_id)
            return True
        except VMError:
            return False

    def _attached(self, row) -> list:
        with self.store.scoped(row.account_id, row.region, write=False) as db:
            return attached(db, row.instance_id)

    def _boot(self, row, body: dict) -> bool:
        """Start the VM with its volumes; False while they are not all made yet."""
        from cloudlet.bootstrap.kernel import busybox_initramfs, kernel

        vm_id, run = row.instance_id, body["_run"]
        volumes = self._attached(row)
        if not volumes or any(v["state"] == "creating" for v in volumes):  # it launches with all of them
            self.volumes.wake()
            return False
        with self._lock:  # one download and unpack, however many instances start at once
            if self._boot_files is None:  # asking apt for the kernel's version takes a second
                vmlinux = kernel(self.boot_dir)
                self._boot_files = vmlinux, busybox_initramfs(vmlinux)
        vmlinux, initrd = self._boot_files
        disks = [self._disk(volumes[0]["volume_id"], self.volumes.volumes)]
        if run.get("instance_store_gib"):  # empty at every start, as instance store is after a stop
            self.instance_store.remove(instance_store_disk(vm_id))
            self.instance_store.create(instance_store_disk(vm_id), run["instance_store_gib"])
            disks.append(self._disk(instance_store_disk(vm_id), self.instance_store))
        extra = [self._disk(v["volume_id"], self.volumes.volumes) for v in volumes[1:]
                 if json.loads(v["body"])["Attachments"][0]["State"] != "detaching"]
        port = self._plug(row, body)
        self.vms.start(vm_id, vmlinux, initrd, memory_mib=run["memory"], vcpus=run["vcpus"], tap=port.tap,
                       netns=port.router_netns, mac=port.mac, disks=disks, volumes=extra,
                       cmdline=f"cloudlet.instance={vm_id} cloudlet.root=/dev/vda "
                       f"cloudlet.ip={port.address}/{port.prefix} cloudlet.gw={port.gateway}")
        return True

    @staticmethod
    def _disk(disk_id: str, disks: Disks) -> Disk:
        return Disk(disk_id, str(disks.path(disk_id)))

    def _snapshots_at_reboot(self, row) -> None:
        """Copy the snapshots CreateImage asked for while the VM is down."""
        attached = {v["volume_id"] for v in self._attached(row)}
        with self.store.scoped(row.account_id, row.region, write=False) as db:
            pending = db.select(ec2_snapshots, ec2_snapshots.c.state == "pending")
        for snap in pending:
            body = json.loads(snap["body"])
            if body["_wait_reboot"] and body["_source"].get("volume") in attached:
                self.volumes.copy_snapshot(SimpleNamespace(**snap), body)

    def _release_volumes(self, row) -> None:
        """At termination: volumes marked DeleteOnTermination go, the others are detached."""
        with self.store.scoped(row.account_id, row.region) as db:
            for volume in attached(db, row.instance_id):
                body = json.loads(volume["body"])
                if body["Attachments"][0]["DeleteOnTermination"]:
                    db.delete(ec2_volumes, ec2_volumes.c.volume_id == volume["volume_id"])
                else:
                    body.update(State="available", Attachments=[])
                    db.update(ec2_volumes, ec2_volumes.c.volume_id == volume["volume_id"], state="available",
                              instance_id=None, body=json.dumps(body), updated_at=now())
        self.volumes.wake()

    def _plug(self, row, body: dict):
        """The instance's primary interface plugged into its VPC's router (its address kept
        across stops, as on AWS)."""
        eni, port = instance_enis.plug(self.store, row, body, self.engine.networks.routers)
        self.network_changed()
        body["PrivateIpAddress"] = eni["PrivateIpAddress"]
        body.setdefault("NetworkInterfaces", [{
            "NetworkInterfaceId": eni["NetworkInterfaceId"], "SubnetId": eni["SubnetId"], "VpcId": eni["VpcId"],
            "PrivateIpAddress": eni["PrivateIpAddress"], "MacAddress": eni["MacAddress"], "Status": "in-use",
            "InterfaceType": "interface", "PrivateIpAddresses": eni["PrivateIpAddresses"]}])
        return port

    def _set(self, row, name: str, body: dict, desired: str | None = None, **fields) -> None:
        body.update(State=state(name), **fields)
        with self.store.begin() as conn:
            conn.execute(update(ec2_instances).where(
                ec2_instances.c.account_id == row.account_id, ec2_instances.c.region == row.region,
                ec2_instances.c.instance_id == row.instance_id, ec2_instances.c.desired == row.desired,
            ).values(state=name, body=json.dumps(body), updated_at=now(),
                     **({"desired": desired} if desired else {})))
