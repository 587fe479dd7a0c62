"""Versions of EC2 launch templates: CreateLaunchTemplateVersion (from a SourceVersion or
not), DescribeLaunchTemplateVersions and DeleteLaunchTemplateVersions.

A version's row body is the LaunchTemplateVersion as DescribeLaunchTemplateVersions shows it,
without DefaultVersion (the template's DefaultVersionNumber says which one is) and with
"_clientToken"."""

from __future__ import annotations

import json

from cloudlet.edge.errors import AWSError
from cloudlet.services.common import filters, pagination
from cloudlet.store.schema import ec2_launch_template_versions as versions
from cloudlet.store.schema import ec2_launch_templates as table

from . import launch_template_data
from .launch_templates import as_number, find, missing_version, new_version, number, save, version_body

MAX_VERSIONS = 10000  # AWS's quota of versions per launch template
MAX_DELETED = 200  # versions one DeleteLaunchTemplateVersions call may name
_ALIASES = ("$Latest", "$Default")
_ALL_TEMPLATES = ("To describe the launch template data for all your launch templates, for ‘--versions’ specify "
                  "‘$Latest’, ‘$Default’, or both, and omit ‘--launch-template-id’, ‘--launch-template-name’, and "
                  "version numbers. To describe the launch template data for a specific launch template, specify "
                  "‘--launch-template-id’ or ‘--launch-template-name’, and for ‘--versions’ specify one or more of "
                  "the following values: ‘$Latest’, ‘$Default’, or one or more version numbers.")


# DeleteLaunchTemplateVersions' per-version codes for a template that cannot be found.
_FAILURES = {"InvalidLaunchTemplateId.Malformed": "launchTemplateIdMalformed",
             "InvalidLaunchTemplateId.NotFound": "launchTemplateIdDoesNotExist",
             "InvalidLaunchTemplateName.NotFoundException": "launchTemplateNameDoesNotExist"}


def _shown(template: dict, body: dict) -> dict:
    out = {k: v for k, v in body.items() if not k.startswith("_")}
    out["DefaultVersion"] = body["VersionNumber"] == template["DefaultVersionNumber"]
    return out


def _of(db, template: dict) -> list[dict]:
    rows = db.select(versions, versions.c.template_id == template["LaunchTemplateId"], order_by=versions.c.version)
    return [json.loads(r["body"]) for r in rows]


def _bound(request, member: str) -> int | None:
    value = request.get(member)
    if value is None:
        return None
    if as_number(value) is None:
        raise AWSError("InvalidParameterValue", f"Value ({value}) for parameter {member[:1].lower() + member[1:]} is "
                       "invalid. Expecting a version number.")
    return as_number(value)


def _data(body: dict) -> dict:
    return body["LaunchTemplateData"]


_GETTERS = {
    "create-time": lambda v: v["CreateTime"],
    "is-default-version": lambda v: v["DefaultVersion"],
    "image-id": lambda v: _data(v).get("ImageId"),
    "instance-type": lambda v: _data(v).get("InstanceType"),
    "kernel-id": lambda v: _data(v).get("KernelId"),
    "ram-disk-id": lambda v: _data(v).get("RamDiskId"),
    "ebs-optimized": lambda v: _data(v).get("EbsOptimized"),
    "iam-instance-profile": lambda v: [p for p in (_data(v).get("IamInstanceProfile") or {}).values()],
    "http-endpoint": lambda v: (_data(v).get("MetadataOptions") or {}).get("HttpEndpoint"),
    "http-tokens": lambda v: (_data(v).get("MetadataOptions") or {}).get("HttpTokens"),
    "http-protocol-ipv6": lambda v: (_data(v).get("MetadataOptions") or {}).get("HttpProtocolIpv6"),
    "network-card-index": lambda v: [n.get("NetworkCardIndex") for n in _data(v).get("NetworkInterfaces") or []],
    "license-configuration-arn": lambda v: [s.get("LicenseConfigurationArn")
                                            for s in _data(v).get("LicenseSpecifications") or []],
    "host-resource-group-arn": lambda v: (_data(v).get("Placement") or {}).get("HostResourceGroupArn"),
}


class LaunchTemplateVersions:
    def create_launch_template_version(self, ctx, request):
        token = request.get("ClientToken")
        with ctx.write() as db:
            template = find(db, request.get("LaunchTemplateId"), request.get("LaunchTemplateName"),
                            "create a version")
            present = _of(db, template)
            earlier = next((v for v in present if token and v.get("_clientToken") == token), None)
            if earlier is not None:  # a retry of a create that succeeded: its version
                return {"LaunchTemplateVersion": _shown(template, earlier)}
            data = request["LaunchTemplateData"]
            if request.get("SourceVersion") is not None:
                source = version_body(db, template, number(template, request["SourceVersion"]))
                if source is None:
                    raise missing_version(template, request["SourceVersion"])
                data = launch_template_data.overlay(source["LaunchTemplateData"], data)
            launch_template_data.check(data)
            if len(present) >= MAX_VERSIONS:
                raise AWSError("ResourceLimitExceeded", f"You have reached the maximum number of versions "
                               f"({MAX_VERSIONS}) for the launch template {template['LaunchTemplateId']}.")
            body = new_version(db, ctx, template, data, request.get("VersionDescription"), token)
            save(db, template)
        return {"LaunchTemplateVersion": _shown(template, body)}

    def describe_launch_template_versions(self, ctx, request):
        asked = request.get("Versions") or []
        low, high = _bound(request, "MinVersion"), _bound(request, "MaxVersion")
        most = request.get("MaxResults")
        if most is not None and not 1 <= most <= 200:
            raise AWSError("InvalidParameterValue", f"Value ( {most} ) for parameter maxResults is invalid. "
                           "Expecting a value between 1 and 200.")
        with ctx.read() as db:
            if request.get("LaunchTemplateId") or request.get("LaunchTemplateName"):
                template = find(db, request.get("LaunchTemplateId"), request.get("LaunchTemplateName"),
                                "describe its versions")
                found = self._versions_of(db, template, asked, low, high)
            else:
                found = self._aliased_everywhere(db, asked)
        found = filters.apply(found, request.get("Filters"), _GETTERS)
        chunk, token = pagination.page(found, key=lambda v: (v["LaunchTemplateId"], v["VersionNumber"]),
                                       token=request.get("NextToken"), max_results=most, maximum=200)
        return {"LaunchTemplateVersions": chunk, "NextToken": token}

    @staticmethod
    def _versions_of(db, template: dict, asked: list[str], low: int | None, high: int | None) -> list[dict]:
        present = _of(db, template)
        if asked:
            numbers = {number(template, v): v for v in asked}
            known = {v["VersionNumber"] for v in present}
            for wanted, text in numbers.items():
                if wanted not in known:
                    raise missing_version(template, text)
            present = [v for v in present if v["VersionNumber"] in numbers]
        present = [v for v in present if (low is None or v["VersionNumber"] >= low)
                   and (high is None or v["VersionNumber"] <= high)]
        return [_shown(template, v) for v in present]

    @staticmethod
    def _aliased_everywhere(db, asked: list[str]) -> list[dict]:
        """$Latest and/or $Default of every template: all that may be asked without naming one."""
        if not asked:
            raise AWSError("MissingParameter", _ALL_TEMPLATES)
        if any(v not in _ALIASES for v in asked):
            raise AWSError("InvalidParameterValue", _ALL_TEMPLATES)
        out = []
        for row in db.select(table, order_by=table.c.template_id):
            template = json.loads(row["body"])
            for wanted in sorted({number(template, v) for v in asked}):
                out.append(_shown(template, version_body(db, template, wanted)))
        return out

    def delete_launch_template_versions(self, ctx, request):
        """Each version named is deleted or reported, with AWS's codes, in the answer (HTTP 200):
        the default version cannot go, nor one that does not exist; nor any, with their
        template's code, when the template named is not there."""
        asked = request["Versions"]
        if len(asked) > MAX_DELETED:
            raise AWSError("InvalidParameterValue", f"You can specify up to {MAX_DELETED} launch template versions "
                           "in a request.")
        with ctx.write() as db:
            try:
                template = find(db, request.get("LaunchTemplateId"), request.get("LaunchTemplateName"),
                                "delete its versions")
            except AWSError as error:
                if error.code in ("InvalidParameterCombination", "MissingParameter"):
                    raise
                return {"UnsuccessfullyDeletedLaunchTemplateVersions": [
                    {"LaunchTemplateId": request.get("LaunchTemplateId"),
                     "LaunchTemplateName": request.get("LaunchTemplateName"), "VersionNumber": as_number(v),
                     "ResponseError": {"Code": _FAILURES[error.code], "Message": error.message}} for v in asked]}
            deleted, failed = [], []
            ours = {"LaunchTemplateId": template["LaunchTemplateId"], "LaunchTemplateName": template["LaunchTemplateName"]}
            for text in asked:
                wanted = number(template, text)
                if wanted is not None and wanted == template["DefaultVersionNumber"]:
                    failed.append({**ours, "VersionNumber": wanted, "ResponseError": {
                        "Code": "unexpectedError", "Message": "You cannot delete the default version of a launch "
                        "template; you must first assign a different version as the default."}})
                elif wanted is None or not db.delete(versions, versions.c.template_id == template["LaunchTemplateId"],
                                                     versions.c.version == wanted):
                    failed.append({**ours, "VersionNumber": wanted, "ResponseError": {
                        "Code": "launchTemplateVersionDoesNotExist",
                        "Message": f"The specified launch template version {text} does not exist."}})
                else:
                    deleted.append({**ours, "VersionNumber": wanted})
            if deleted:
                template["LatestVersionNumber"] = max(v["VersionNumber"] for v in _of(db, template))
                save(db, template)
        return {"SuccessfullyDeletedLaunchTemplateVersions": deleted,
                "UnsuccessfullyDeletedLaunchTemplateVersions": failed}
