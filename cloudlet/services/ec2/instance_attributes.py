"""Instance attributes: the instance type and user-data of a stopped instance, termination
protection, and the metadata service's options (IMDSv2 required, endpoint off, tags)."""

from __future__ import annotations

import base64
import json

from cloudlet.edge.errors import AWSError
from cloudlet.ids import now
from cloudlet.store.schema import ec2_instances as table

from . import instance_types
from .metadata import options_of

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


class InstanceAttributes:
    def modify_instance_attribute(self, ctx, request):
        """The instance type and user-data of a stopped instance; termination protection any time."""
        iid = request["InstanceId"]
        with ctx.write() as db:
            row = self._rows(db, [iid])[0]
            body = json.loads(row["body"])
            kind = (request.get("InstanceType") or {}).get("Value")
            data = (request.get("UserData") or {}).get("Value")
            if (kind or data) and row["state"] != "stopped":
                raise AWSError("IncorrectInstanceState", f"The instance '{iid}' is not in the 'stopped' state.")
            if kind:
                body["_run"]["vcpus"], body["_run"]["memory"] = instance_types.check(kind)
                body["InstanceType"] = kind
            if data is not None:
                body["_run"]["user_data"] = base64.b64encode(data).decode() if isinstance(data, bytes) else data
            protection = (request.get("DisableApiTermination") or {}).get("Value")
            if protection is not None:
                body["_run"]["disable_api_termination"] = bool(protection)
            db.update(table, table.c.instance_id == iid, body=json.dumps(body), updated_at=now())
        return {}

    def describe_instance_attribute(self, ctx, request):
        iid, attribute = request["InstanceId"], request["Attribute"]
        with ctx.read() as db:
            body = json.loads(self._rows(db, [iid])[0]["body"])
        values = {"instanceType": {"Value": body["InstanceType"]},
                  "userData": {"Value": body["_run"].get("user_data")} if body["_run"].get("user_data") else {},
                  "disableApiTermination": {"Value": body["_run"]["disable_api_termination"]}}
        if attribute not in values:
            raise AWSError("InvalidParameterValue", f"Value ({attribute}) for parameter attribute is invalid. "
                           "Supported here: instanceType, userData, disableApiTermination.")
        key = {"instanceType": "InstanceType", "userData": "UserData",
               "disableApiTermination": "DisableApiTermination"}[attribute]
        return {"InstanceId": iid, key: values[attribute]}

    def modify_instance_metadata_options(self, ctx, request):
        iid = request["InstanceId"]
        with ctx.write() as db:
            body = json.loads(self._rows(db, [iid])[0]["body"])
            body["MetadataOptions"] = metadata_options(request, body.get("MetadataOptions"))
            db.update(table, table.c.instance_id == iid, body=json.dumps(body), updated_at=now())
        return {"InstanceId": iid, "InstanceMetadataOptions": body["MetadataOptions"]}
