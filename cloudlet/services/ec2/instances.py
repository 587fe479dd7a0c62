"""EC2 instances: RunInstances records VMs that should run and answers at once (pending);
the instance controller (cloudlet/control/instances.py) boots them. Stop, start, reboot and
terminate only ask; DescribeInstances and GetConsoleOutput read what is recorded."""

from __future__ import annotations

import base64
import json

from cloudlet import ids
from cloudlet.control.instances import state
from cloudlet.control.volumes import device_order
from cloudlet.edge.errors import AWSError
from cloudlet.ids import now
from cloudlet.services.common import filters, tags
from cloudlet.store import enis
from cloudlet.store.schema import ec2_instances as table
from cloudlet.store.schema import key_pairs

from . import addresses, images, instance_fields, instance_network, instance_types, launch_templates, snapshots, volumes
from .instance_attributes import metadata_options
from .instance_monitoring import monitoring
from .network_events import wake_network


def _exists(db, instance_id: str) -> bool:
    return db.one(table, table.c.instance_id == instance_id) is not None


tags.register(tags.ResourceKind("i", "instance", _exists, "InvalidInstanceID.NotFound"))

_verbs = {"running": "started", "stopped": "stopped", "rebooted": "rebooted", "terminated": "terminated"}
MAX_COUNT = 20  # AWS's default On-Demand limit for a RunInstances call of small types
_TAGGED = ("instance", "volume", "network-interface")  # what RunInstances' TagSpecifications may tag


def public(body: dict) -> dict:
    return {k: v for k, v in body.items() if not k.startswith("_")}


def _block_devices(body: dict, attachments: list[dict]) -> dict:
    body["BlockDeviceMappings"] = [
        {"DeviceName": a["Device"], "Ebs": {"AttachTime": a["AttachTime"], "DeleteOnTermination":
                                            a["DeleteOnTermination"], "Status": a["State"], "VolumeId": a["VolumeId"]}}
        for a in sorted(attachments, key=lambda a: device_order(a["Device"]))]
    return body


def _mappings(db, requested: list[dict], image_size: int, from_image: dict[str, dict]) -> dict[str, dict]:
    """device -> the EBS volume to make for it: the image's (the root one resized or kept at
    termination as asked), less those the request maps to NoDevice, and any others the
    request maps (empty, or from a snapshot)."""
    keys = ("VolumeSize", "VolumeType", "SnapshotId", "DeleteOnTermination")
    out = {volumes.ROOT_DEVICE: {"VolumeSize": image_size, "VolumeType": "gp2", "DeleteOnTermination": True},
           **{device: {k: ebs.get(k) for k in keys} for device, ebs in from_image.items()}}
    for m in requested:
        device, ebs = m.get("DeviceName") or "", m.get("Ebs")
        if device != volumes.ROOT_DEVICE and not volumes.DEVICE.match(device):
            raise AWSError("InvalidBlockDeviceMapping", f"Invalid device name {device}")
        if m.get("NoDevice") is not None and device != volumes.ROOT_DEVICE:
            out.pop(device, None)
        if m.get("VirtualName") or ebs is None:
            continue  # instance store comes with the instance type, as on Nitro
        if ebs.get("Encrypted") or ebs.get("KmsKeyId"):
            raise AWSError("UnsupportedOperation", "cloudlet does not encrypt EBS volumes.")
        if device == volumes.ROOT_DEVICE and ebs.get("SnapshotId"):
            raise AWSError("InvalidBlockDeviceMapping", "The root device's snapshot comes from the image.")
        base = out.get(device, {})
        snapshot = ebs.get("SnapshotId") or base.get("SnapshotId")
        minimum = image_size if device == volumes.ROOT_DEVICE else \
            snapshots.find(db, snapshot)["VolumeSize"] if snapshot else 1
        size = ebs.get("VolumeSize") or base.get("VolumeSize") or (minimum if snapshot else None)
        if size is None:
            raise AWSError("InvalidBlockDeviceMapping", f"The device {device} needs a volume size or a snapshot.")
        kind = ebs.get("VolumeType") or base.get("VolumeType") or "gp2"
        volumes.check_size(kind, size, minimum)
        out[device] = {"VolumeSize": size, "VolumeType": kind, "SnapshotId": snapshot,
                       "DeleteOnTermination": ebs.get("DeleteOnTermination", base.get("DeleteOnTermination", True))}
    return out


class Instances:
    def run_instances(self, ctx, request):
        token, asked = instance_fields.client_token(request), instance_fields.digest(request)
        # From a launch template, the request is checked below as if it had given the template's data itself.
        request, launched_from = launch_templates.for_launch(ctx, request)
        lo, hi = request["MinCount"], request["MaxCount"]
        if not request.get("ImageId"):
            raise AWSError("MissingParameter", "The request must contain the parameter ImageId")
        if lo < 1 or hi < lo:
            raise AWSError("InvalidParameterValue", "MinCount must be at least 1 and at most MaxCount.")
        with ctx.write() as db:
            earlier = instance_fields.retried(db.select(table), token, asked)
            if not earlier:
                reservation, bodies = self._launch(db, ctx, request, launched_from, (token, asked))
        if earlier:  # a retry of a launch that succeeded: what it launched, as AWS answers it
            return self.describe_instances(ctx, {"InstanceIds": earlier})["Reservations"][0]
        self.volume_controller.wake()
        self.controller.wake()
        wake_network(ctx)
        bodies = [self._with_volumes(ctx, b) for b in bodies]
        return {"ReservationId": reservation, "OwnerId": ctx.account_id, "Groups": [],
                "Instances": [public(b) for b in bodies]}

    def _launch(self, db, ctx, request, launched_from: dict, idempotency: tuple[str, str]) -> tuple[str, list[dict]]:
        """The reservation and instance bodies of a RunInstances request (their ENIs and volumes made)."""
        lo, hi = request["MinCount"], request["MaxCount"]
        # AWS names a missing AMI before a bad instance type
        root_source, image_size, from_image, image = images.launchable(db, ctx.region, request["ImageId"])
        kind = request.get("InstanceType") or instance_types.DEFAULT
        vcpus, memory = instance_types.check(kind)
        launched = now()
        launch_fields = instance_fields.fields(request, kind, image, launched)
        user_data = request.get("UserData")
        if user_data:
            try:
                base64.b64decode(user_data, validate=True)
            except ValueError:
                raise AWSError("InvalidParameterValue", "Invalid BASE64 encoding of user data.") from None
        count = min(hi, MAX_COUNT)
        if count < lo:
            raise AWSError("InstanceLimitExceeded", f"You have requested more instances ({lo}) than your "
                           f"current instance limit of {MAX_COUNT} allows for the specified instance type.")
        if not self.controller.has_room(memory * count):
            raise AWSError("InsufficientInstanceCapacity", f"We currently do not have sufficient {kind} "
                           "capacity in the Availability Zone you requested. Our system will be working on "
                           "provisioning additional capacity.", 500, sender=False)
        options = metadata_options(request.get("MetadataOptions"))
        reservation = ids.resource_id("r")
        mappings = _mappings(db, request.get("BlockDeviceMappings") or [], image_size, from_image)
        if request.get("KeyName") and not db.one(key_pairs, key_pairs.c.key_name == request["KeyName"]):
            raise AWSError("InvalidKeyPair.NotFound", f"The key pair '{request['KeyName']}' does not exist")
        interfaces = instance_network.plan(db, self.config.vpc_pool, request, hi, kind)
        subnet = interfaces[0].subnet
        bodies = []
        for index in range(count):
            instance_id = ids.resource_id("i")
            attached = instance_network.make(db, self.config.public_pool, interfaces, instance_id)
            address = attached[0]["PrivateIpAddress"]
            body = {
                "InstanceId": instance_id, "ImageId": request["ImageId"], "InstanceType": kind,
                "State": state("pending"), "LaunchTime": launched, "AmiLaunchIndex": index,
                "ClientToken": idempotency[0], **launch_fields,
                "Placement": {"AvailabilityZone": subnet["zone"], "Tenancy": "default"},
                "SubnetId": subnet["subnet_id"], "VpcId": subnet["vpc_id"], "Architecture": "x86_64",
                "RootDeviceType": "ebs", "RootDeviceName": volumes.ROOT_DEVICE, "VirtualizationType": "hvm",
                "Hypervisor": "xen", "Monitoring": monitoring(request), "StateTransitionReason": "",
                "PrivateIpAddress": address, "PrivateDnsName": attached[0]["PrivateDnsName"],
                "MetadataOptions": options, "KeyName": request.get("KeyName"), "Tags": [], "ProductCodes": [],
                "_run": {"vcpus": vcpus, "memory": memory, "user_data": user_data, "cidr": subnet["cidr"],
                         "instance_store_gib": instance_types.STORE_GB.get(kind, 0), "address": address,
                         "reservation": reservation, "request_digest": idempotency[1], "disable_api_termination":
                         bool(request.get("DisableApiTermination")), "public_ip": interfaces[0].public_ip},
            }
            applied = tags.apply_specifications(db, request.get("TagSpecifications"), "instance", instance_id,
                                                allowed=_TAGGED)
            tags.put_reserved(db, instance_id, "instance", launched_from)
            body["Tags"] = tags.to_pairs({**applied, **launched_from})
            for interface, eni in zip(interfaces, attached):
                if interface.existing is None:
                    tags.apply_specifications(db, request.get("TagSpecifications"), "network-interface",
                                              eni["NetworkInterfaceId"], allowed=_TAGGED)
            db.insert(table, instance_id=instance_id, desired="running", state="pending", body=json.dumps(body),
                      updated_at=now())
            for device, ebs in mappings.items():
                source = root_source if device == volumes.ROOT_DEVICE else \
                    {"snapshot": ebs["SnapshotId"]} if ebs.get("SnapshotId") else None
                volume = volumes.new_volume(
                    db, subnet["zone"], ebs["VolumeSize"], ebs["VolumeType"], source, ebs.get("SnapshotId") or "",
                    {"InstanceId": instance_id, "Device": device, "State": "attached",
                     "DeleteOnTermination": ebs["DeleteOnTermination"]})
                tags.apply_specifications(db, request.get("TagSpecifications"), "volume", volume["VolumeId"],
                                          allowed=_TAGGED)
            bodies.append(instance_network.shown(body, attached))
        return reservation, bodies

    def _with_volumes(self, ctx, body: dict) -> dict:
        with ctx.read() as db:
            attached = db.select(volumes.table, volumes.table.c.instance_id == body["InstanceId"])
        return _block_devices(body, [json.loads(v["body"])["Attachments"][0] for v in attached])

    def _rows(self, db, wanted: list[str] | None) -> list[dict]:
        rows = db.select(table, order_by=table.c.instance_id)
        known = {r["instance_id"] for r in rows}
        missing = [i for i in wanted or [] if i not in known]
        if missing:
            code = "InvalidInstanceID.Malformed" if not missing[0].startswith("i-") else "InvalidInstanceID.NotFound"
            raise AWSError(code, f"The instance ID '{missing[0]}' does not exist")
        return [r for r in rows if not wanted or r["instance_id"] in wanted]

    def describe_instances(self, ctx, request):
        with ctx.read() as db:
            rows = self._rows(db, request.get("InstanceIds"))
            tag_map = tags.get_many(db, [r["instance_id"] for r in rows])
            attached = db.select(volumes.table, volumes.table.c.instance_id.is_not(None))
            interfaces = enis.of_instances(db)
        by_instance: dict[str, list[dict]] = {}
        for v in attached:
            by_instance.setdefault(v["instance_id"], []).append(json.loads(v["body"])["Attachments"][0])
        bodies = []
        for r in rows:
            body = _block_devices(json.loads(r["body"]), by_instance.get(r["instance_id"], []))
            body = instance_network.shown(body, interfaces.get(r["instance_id"], []))
            body["Tags"] = tags.to_pairs(tag_map.get(r["instance_id"], {}))
            bodies.append(body)
        getters = {"instance-id": lambda b: b["InstanceId"], "instance-state-name": lambda b: b["State"]["Name"],
                   "instance-state-code": lambda b: b["State"]["Code"], "instance-type": lambda b: b["InstanceType"],
                   "image-id": lambda b: b["ImageId"], "key-name": lambda b: b.get("KeyName"),
                   "subnet-id": lambda b: b["SubnetId"], "vpc-id": lambda b: b["VpcId"],
                   "availability-zone": lambda b: b["Placement"]["AvailabilityZone"],
                   "reservation-id": lambda b: b["_run"]["reservation"], **instance_network.GETTERS}
        bodies = filters.apply(bodies, request.get("Filters"), getters,
                               tags_of=lambda b: {t["Key"]: t["Value"] for t in b["Tags"]})
        reservations: dict[str, dict] = {}
        for b in bodies:
            res = reservations.setdefault(b["_run"]["reservation"], {
                "ReservationId": b["_run"]["reservation"], "OwnerId": ctx.account_id, "Groups": [], "Instances": []})
            res["Instances"].append(public(b))
        return {"Reservations": list(reservations.values())}

    def _change(self, ctx, request, desired: str, transition: str | None, force: bool = False) -> list[dict]:
        changes = []
        with ctx.write() as db:
            for r in self._rows(db, request["InstanceIds"]):
                body = json.loads(r["body"])
                before = body["State"]
                if before["Name"] in ("terminated", "shutting-down") and desired != "terminated":
                    raise AWSError("IncorrectInstanceState", f"The instance '{r['instance_id']}' is not in a state "
                                   f"from which it can be {_verbs[desired]}.")
                if before["Name"] == "terminated" or (desired == r["desired"] and desired != "rebooted"):
                    changes.append({"InstanceId": r["instance_id"], "CurrentState": before, "PreviousState": before})
                    continue
                if desired == "terminated" and body["_run"]["disable_api_termination"]:
                    raise AWSError("OperationNotPermitted", f"The instance '{r['instance_id']}' may not be "
                                   "terminated. Modify its 'disableApiTermination' instance attribute and try again.")
                allowed = {"running": ("stopped",), "stopped": ("running", "pending"),
                           "rebooted": ("running", "pending")}.get(desired)
                if allowed and r["state"] not in allowed:
                    raise AWSError("IncorrectInstanceState", f"The instance '{r['instance_id']}' is not in a state "
                                   f"from which it can be {_verbs[desired]}.")
                body["_run"]["force_stop"] = bool(force)
                if transition:
                    body["State"] = state(transition)
                    body["StateTransitionReason"] = f"User initiated ({now()})"
                db.update(table, table.c.instance_id == r["instance_id"], desired=desired,
                          state=transition or r["state"], body=json.dumps(body), updated_at=now())
                self._public_ip_on(db, r["instance_id"], desired)
                changes.append({"InstanceId": r["instance_id"], "CurrentState": body["State"],
                                "PreviousState": before})
        self.controller.wake()
        if desired in ("stopped", "running"):
            wake_network(ctx)
        return changes

    def _public_ip_on(self, db, instance_id: str, desired: str) -> None:
        """As AWS: the public IP given at launch goes at a stop and a new one comes at a start
        (an Elastic IP stays through both)."""
        attached = enis.attached_to(db, instance_id)
        if not attached:
            return
        if desired == "stopped":
            enis.take_launch_ip(db, attached[0])
        elif desired == "running":
            addresses.relaunch_ip(db, attached[0], self.config.public_pool)

    def stop_instances(self, ctx, request):
        return {"StoppingInstances": self._change(ctx, request, "stopped", "stopping", force=request.get("Force"))}

    def start_instances(self, ctx, request):
        return {"StartingInstances": self._change(ctx, request, "running", "pending")}

    def terminate_instances(self, ctx, request):
        return {"TerminatingInstances": self._change(ctx, request, "terminated", "shutting-down")}

    def reboot_instances(self, ctx, request):
        self._change(ctx, request, "rebooted", None)
        return {}

    def get_console_output(self, ctx, request):
        with ctx.read() as db:
            self._rows(db, [request["InstanceId"]])
        text = self.controller.console(request["InstanceId"])
        out = {"InstanceId": request["InstanceId"], "Timestamp": now()}
        if text:
            out["Output"] = base64.b64encode(text[-64 * 1024:].encode()).decode()  # AWS keeps the last 64 KB
        return out
