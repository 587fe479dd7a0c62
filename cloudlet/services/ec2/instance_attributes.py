"""Instance attributes: the instance type and user-data of a stopped instance, termination
protection, and the metadata service's options (IMDSv2 required, endpoint off, tags)."""

from __future__ import annotations

import base64
import json

from cloudlet.edge.errors import AWSError
from cloudlet.ids import now
from cloudlet.store.schema import ec2_instances as table

from cloudlet.store import enis

from . import instance_fields, instance_types
from .instance_network import instance_groups
from .metadata import options_of
from .network_events import wake_network

_CHOICES = {"HttpTokens": ("optional", "required"), "HttpEndpoint": ("enabled", "disabled"),
            "InstanceMetadataTags": ("enabled", "disabled"), "HttpProtocolIpv6": ("enabled", "disabled")}


def metadata_options(requested: dict | None, current: dict | None = None) -> dict:
    """MetadataOptions as RunInstances and ModifyInstanceMetadataOptions take them, checked."""
    options = dict(options_of({"MetadataOptions": current}))
    for key, value in (requested or {}).items():
        if key in _CHOICES and value not in _CHOICES[key]:
            raise AWSError("InvalidParameterValue", f"The value '{value}' is not valid for {key}.")
        if key == "HttpPutResponseHopLimit" and not 1 <= value <= 64:
            raise AWSError("InvalidParameterValue", "The HttpPutResponseHopLimit must be between 1 and 64.")
        if key in _CHOICES or key == "HttpPutResponseHopLimit":
            options[key] = value
    return options


def _source_dest_check(request) -> bool | None:
    """SourceDestCheck as ModifyInstanceAttribute takes it: its own member, or Attribute and Value."""
    if request.get("SourceDestCheck") is not None:
        return bool(request["SourceDestCheck"].get("Value"))
    if request.get("Attribute") == "sourceDestCheck":
        value = (request.get("Value") or "").lower()
        if value not in ("true", "false"):
            raise AWSError("InvalidParameterValue", f"Value ({request.get('Value')}) for parameter sourceDestCheck "
                           "is invalid. Expecting true or false.")
        return value == "true"
    return None


class InstanceAttributes:
    def modify_instance_attribute(self, ctx, request):
        """The instance type and user-data of a stopped instance; termination protection, the
        security groups and source/destination check (its one ENI's) any time."""
        iid = request["InstanceId"]
        check = _source_dest_check(request)
        network = bool(request.get("Groups")) or check is not None
        with ctx.write() as db:
            row = self._rows(db, [iid])[0]
            body = json.loads(row["body"])
            if network:
                self._change_interface(db, row, request.get("Groups"), check)
            kind = (request.get("InstanceType") or {}).get("Value")
            data = (request.get("UserData") or {}).get("Value")
            if (kind or data) and row["state"] != "stopped":
                raise AWSError("IncorrectInstanceState", f"The instance '{iid}' is not in the 'stopped' state.")
            if kind:
                body["_run"]["vcpus"], body["_run"]["memory"] = instance_types.check(kind)
                body["InstanceType"] = kind
                body.update(instance_fields.of_type(kind, body.get("BootMode")))
            if data is not None:
                body["_run"]["user_data"] = base64.b64encode(data).decode() if isinstance(data, bytes) else data
            protection = (request.get("DisableApiTermination") or {}).get("Value")
            if protection is not None:
                body["_run"]["disable_api_termination"] = bool(protection)
            db.update(table, table.c.instance_id == iid, body=json.dumps(body), updated_at=now())
        if network:
            wake_network(ctx)
        return {}

    def _change_interface(self, db, row: dict, groups: list[str] | None, check: bool | None) -> None:
        attached = enis.attached_to(db, row["instance_id"])
        if len(attached) != 1:
            raise AWSError("InvalidInstanceID", f"There are multiple interfaces attached to instance "
                           f"'{row['instance_id']}'. Please specify an interface ID for the operation instead.")
        eni = attached[0]
        if groups:
            eni["Groups"] = instance_groups(db, self.config.vpc_pool, enis.subnet_of(db, eni), groups)
        if check is not None:
            eni["SourceDestCheck"] = check
        enis.save(db, eni)

    def describe_instance_attribute(self, ctx, request):
        iid, attribute = request["InstanceId"], request["Attribute"]
        with ctx.read() as db:
            body = json.loads(self._rows(db, [iid])[0]["body"])
            attached = enis.attached_to(db, iid)
        primary = attached[0] if attached else {"Groups": [], "SourceDestCheck": True}
        values = {"instanceType": {"Value": body["InstanceType"]},
                  "groupSet": list({g["GroupId"]: g for eni in attached for g in eni["Groups"]}.values()),
                  "sourceDestCheck": {"Value": primary["SourceDestCheck"]},
                  "userData": {"Value": body["_run"].get("user_data")} if body["_run"].get("user_data") else {},
                  "disableApiTermination": {"Value": body["_run"]["disable_api_termination"]}}
        if attribute not in values:
            raise AWSError("InvalidParameterValue", f"Value ({attribute}) for parameter attribute is invalid. "
                           f"Supported here: {', '.join(values)}.")
        key = {"instanceType": "InstanceType", "userData": "UserData", "disableApiTermination": "DisableApiTermination",
               "groupSet": "Groups", "sourceDestCheck": "SourceDestCheck"}[attribute]
        return {"InstanceId": iid, key: values[attribute]}

    def modify_instance_metadata_options(self, ctx, request):
        iid = request["InstanceId"]
        with ctx.write() as db:
            body = json.loads(self._rows(db, [iid])[0]["body"])
            body["MetadataOptions"] = metadata_options(request, body.get("MetadataOptions"))
            db.update(table, table.c.instance_id == iid, body=json.dumps(body), updated_at=now())
        return {"InstanceId": iid, "InstanceMetadataOptions": body["MetadataOptions"]}
