"""EC2 launch templates: CreateLaunchTemplate, ModifyLaunchTemplate, DescribeLaunchTemplates,
DeleteLaunchTemplate, and the lookup everything that launches from a template goes through
(resolve(): RunInstances here, Auto Scaling's groups).

A template is an ec2_launch_templates row whose body is the LaunchTemplate as
DescribeLaunchTemplates shows it, plus "_next" (the number its next version gets: numbers of
deleted versions are never given again, as on AWS) and "_clientToken". Its versions are
ec2_launch_template_versions rows (launch_template_versions.py); which one is the default is
the template's DefaultVersionNumber alone."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone

from cloudlet import ids
from cloudlet.edge.errors import AWSError
from cloudlet.control.volumes import device_order
from cloudlet.services.common import filters, pagination, tags
from cloudlet.store import enis
from cloudlet.store.schema import ec2_launch_template_versions as versions
from cloudlet.store.schema import ec2_launch_templates as table
from cloudlet.store.schema import ec2_volumes

from . import launch_template_data

RESOURCE_TYPE = "launch-template"
MAX_TEMPLATES = 5000  # AWS's quota of launch templates per region
_ID = re.compile(r"lt-[0-9a-f]{17}")
_NAME = re.compile(r"[a-zA-Z0-9().\-/_]{3,128}")
_NUMBER = re.compile(r"[0-9]{1,18}")  # beyond 18 digits no version can exist, nor fit the store's integers
# The tags AWS puts on an instance launched from a template (and that DescribeInstances shows).
TAG_ID, TAG_VERSION = "aws:ec2launchtemplate:id", "aws:ec2launchtemplate:version"


def created_at() -> str:
    """Now as AWS writes times on the wire, which is what the create-time filters match."""
    moment = datetime.now(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _exists(db, template_id: str) -> bool:
    return db.one(table, table.c.template_id == template_id) is not None


tags.register(tags.ResourceKind("lt", RESOURCE_TYPE, _exists, "InvalidLaunchTemplateId.NotFound"))


def missing_id(template_id: str) -> AWSError:
    return AWSError("InvalidLaunchTemplateId.NotFound",
                    f"The specified launch template, with template ID {template_id}, does not exist.")


def missing_name(name: str) -> AWSError:
    return AWSError("InvalidLaunchTemplateName.NotFoundException",
                    f"The specified launch template, with template name {name}, does not exist.")


def malformed_id(template_id: str) -> AWSError:
    return AWSError("InvalidLaunchTemplateId.Malformed",
                    f"The specified ID for the launch template, {template_id}, is malformed.")


def missing_version(template: dict, version) -> AWSError:
    return AWSError("InvalidLaunchTemplateId.VersionNotFound", f"Could not find the specified version {version} "
                    f"for the launch template with ID {template['LaunchTemplateId']}.")


def check_name(name: str) -> None:
    if not _NAME.fullmatch(name):
        raise AWSError("InvalidLaunchTemplateName.MalformedException", "A launch template name must be between 3 "
                       "and 128 characters, and may contain letters, numbers, and the following characters: "
                       "- ( ) . / _.")


def by_id(db, template_id: str) -> dict:
    if not _ID.fullmatch(template_id):
        raise malformed_id(template_id)
    row = db.one(table, table.c.template_id == template_id)
    if row is None:
        raise missing_id(template_id)
    return json.loads(row["body"])


def find(db, template_id: str | None, name: str | None, purpose: str) -> dict:
    """The template a request names by ID or by name (one of them, as AWS insists)."""
    if template_id and name:
        raise AWSError("InvalidParameterCombination", f"Either provide launch template ID or launch template name "
                       f"to {purpose}.")
    if template_id:
        return by_id(db, template_id)
    if not name:
        raise AWSError("MissingParameter", "The request must contain the parameter launch template ID or launch "
                       "template name")
    row = db.one(table, table.c.name == name)
    if row is None:
        raise missing_name(name)
    return json.loads(row["body"])


def as_number(text: str) -> int | None:
    """A version number given as text, or None if the text is not one."""
    return int(text) if _NUMBER.fullmatch(text) else None


def number(template: dict, version: str | None) -> int | None:
    """A version as requests give it ($Latest, $Default, a number; none is $Default) as a
    number, or None for text that names no version."""
    if version is None or version == "$Default":
        return template["DefaultVersionNumber"]
    if version == "$Latest":
        return template["LatestVersionNumber"]
    return as_number(version)


def version_body(db, template: dict, wanted: int | None) -> dict | None:
    row = None if wanted is None else db.one(versions, versions.c.template_id == template["LaunchTemplateId"],
                                             versions.c.version == wanted)
    return json.loads(row["body"]) if row else None


def resolve(db, spec: dict) -> dict:
    """A LaunchTemplateSpecification (RunInstances' LaunchTemplate, an Auto Scaling group's):
    {LaunchTemplateId, LaunchTemplateName, Version (the number, as text), LaunchTemplateData},
    or the error EC2 answers for it."""
    template = find(db, spec.get("LaunchTemplateId"), spec.get("LaunchTemplateName"), "launch an instance")
    body = version_body(db, template, number(template, spec.get("Version")))
    if body is None:
        raise missing_version(template, spec.get("Version"))
    return {"LaunchTemplateId": template["LaunchTemplateId"], "LaunchTemplateName": template["LaunchTemplateName"],
            "Version": str(body["VersionNumber"]), "LaunchTemplateData": body["LaunchTemplateData"]}


def for_launch(ctx, request: dict) -> tuple[dict, dict]:
    """(RunInstances' request as if it gave the template's data itself, the tags AWS puts on
    the instances) for a request with a LaunchTemplate; (the request, {}) for one without."""
    if not request.get("LaunchTemplate"):
        return request, {}
    with ctx.read() as db:
        found = resolve(db, request["LaunchTemplate"])
    return (launch_template_data.launch_request(found["LaunchTemplateData"], request),
            {TAG_ID: found["LaunchTemplateId"], TAG_VERSION: found["Version"]})


def save(db, template: dict) -> None:
    db.update(table, table.c.template_id == template["LaunchTemplateId"], body=json.dumps(template))


def shown(template: dict, tag_map: dict[str, str]) -> dict:
    out = {k: v for k, v in template.items() if not k.startswith("_")}
    if tag_map:
        out["Tags"] = tags.to_pairs(tag_map)
    return out


def new_version(db, ctx, template: dict, data: dict, description: str | None, token: str | None) -> dict:
    """The template's next version (the template, whose numbers it changes, is the caller's to save)."""
    body = {"LaunchTemplateId": template["LaunchTemplateId"], "LaunchTemplateName": template["LaunchTemplateName"],
            "VersionNumber": template["_next"], "CreateTime": created_at(), "CreatedBy": ctx.caller_arn,
            "LaunchTemplateData": data, "_clientToken": token}
    if description is not None:
        body["VersionDescription"] = description
    db.insert(versions, template_id=template["LaunchTemplateId"], version=body["VersionNumber"], body=json.dumps(body))
    template["LatestVersionNumber"] = body["VersionNumber"]
    template["_next"] += 1
    return body


def _all(db) -> list[dict]:
    return [json.loads(r["body"]) for r in db.select(table, order_by=table.c.template_id)]


class LaunchTemplates:
    def create_launch_template(self, ctx, request):
        name, token = request["LaunchTemplateName"], request.get("ClientToken")
        check_name(name)
        data = launch_template_data.check(request["LaunchTemplateData"])
        with ctx.write() as db:
            earlier = next((t for t in _all(db) if token and t.get("_clientToken") == token), None)
            if earlier is not None:  # a retry of a create that succeeded: its template, as AWS answers
                return {"LaunchTemplate": shown(earlier, tags.get(db, earlier["LaunchTemplateId"]))}
            if db.one(table, table.c.name == name):
                raise AWSError("InvalidLaunchTemplateName.AlreadyExistsException", "Launch template name already in "
                               "use.")
            if db.count(table) >= MAX_TEMPLATES:
                raise AWSError("ResourceLimitExceeded", f"You have reached the maximum number of launch templates "
                               f"({MAX_TEMPLATES}) for this Region.")
            template_id = ids.resource_id("lt")
            template = {"LaunchTemplateId": template_id, "LaunchTemplateName": name, "CreateTime": created_at(),
                        "CreatedBy": ctx.caller_arn, "DefaultVersionNumber": 1, "LatestVersionNumber": 1,
                        "_next": 1, "_clientToken": token}
            new_version(db, ctx, template, data, request.get("VersionDescription"), token)
            db.insert(table, template_id=template_id, name=name, body=json.dumps(template))
            applied = tags.apply_specifications(db, request.get("TagSpecifications"), RESOURCE_TYPE, template_id,
                                                allowed=(RESOURCE_TYPE,))
        return {"LaunchTemplate": shown(template, applied)}

    def modify_launch_template(self, ctx, request):
        wanted = request.get("DefaultVersion")
        with ctx.write() as db:
            template = find(db, request.get("LaunchTemplateId"), request.get("LaunchTemplateName"),
                            "modify the template")
            if wanted is not None:
                body = version_body(db, template, number(template, wanted))
                if body is None:
                    raise AWSError("InvalidLaunchTemplateId.VersionNotFound", f"The launch template version {wanted} "
                                   "is not found for the specified launch template.")
                template["DefaultVersionNumber"] = body["VersionNumber"]
                save(db, template)
            tag_map = tags.get(db, template["LaunchTemplateId"])
        return {"LaunchTemplate": shown(template, tag_map)}

    def describe_launch_templates(self, ctx, request):
        wanted_ids, wanted_names = request.get("LaunchTemplateIds") or [], request.get("LaunchTemplateNames") or []
        with ctx.read() as db:
            found = _all(db)
            tag_map = tags.get_many(db, [t["LaunchTemplateId"] for t in found])
        known_ids, known_names = {t["LaunchTemplateId"] for t in found}, {t["LaunchTemplateName"] for t in found}
        for template_id in wanted_ids:
            if not _ID.fullmatch(template_id):
                raise malformed_id(template_id)
            if template_id not in known_ids:
                raise AWSError("InvalidLaunchTemplateId.NotFound", "At least one of the launch templates specified "
                               "in the request does not exist.")
        if any(name not in known_names for name in wanted_names):
            raise AWSError("InvalidLaunchTemplateName.NotFoundException", "At least one of the launch templates "
                           "specified in the request does not exist.")
        if wanted_ids or wanted_names:
            found = [t for t in found if t["LaunchTemplateId"] in wanted_ids or t["LaunchTemplateName"] in wanted_names]
        getters = {"launch-template-name": lambda t: t["LaunchTemplateName"], "create-time": lambda t: t["CreateTime"]}
        found = filters.apply(found, request.get("Filters"), getters, tags_of=lambda t: tag_map[t["LaunchTemplateId"]])
        chunk, token = pagination.page(found, key=lambda t: (t["CreateTime"], t["LaunchTemplateId"]),
                                       token=request.get("NextToken"), max_results=request.get("MaxResults"),
                                       maximum=200)
        return {"LaunchTemplates": [shown(t, tag_map[t["LaunchTemplateId"]]) for t in chunk], "NextToken": token}

    def delete_launch_template(self, ctx, request):
        with ctx.write() as db:
            template = find(db, request.get("LaunchTemplateId"), request.get("LaunchTemplateName"),
                            "delete the template")
            db.delete(versions, versions.c.template_id == template["LaunchTemplateId"])
            db.delete(table, table.c.template_id == template["LaunchTemplateId"])
            tags.drop_resource(db, template["LaunchTemplateId"])
        return {"LaunchTemplate": shown(template, {})}

    def get_launch_template_data(self, ctx, request):
        iid = request["InstanceId"]
        with ctx.read() as db:
            body = json.loads(self._rows(db, [iid])[0]["body"])
            attached = enis.attached_to(db, iid)
            disks = [json.loads(v["body"]) for v in db.select(ec2_volumes, ec2_volumes.c.instance_id == iid)]
            tag_map = tags.get(db, iid)
        disks.sort(key=lambda v: device_order(v["Attachments"][0]["Device"]))
        return {"LaunchTemplateData": launch_template_data.of_instance(body, attached, disks, tag_map)}
