"""What a launch template holds (its LaunchTemplateData), and what RunInstances makes of it.

AWS checks little of the data when a template or version is made ("launch template parameters
are not fully validated when you create the launch template"): only the tag specifications'
form and tags. The image, key, groups, subnet, user data and the rest are checked when an
instance is launched from it, by RunInstances' own checks, so a template can name an image
that does not exist yet (or one that is gone) and fail only at launch, as on AWS."""

from __future__ import annotations

from cloudlet.edge.errors import AWSError
from cloudlet.services.common import tags

# What the data's TagSpecifications may tag (LaunchTemplateTagSpecificationRequest); of them
# RunInstances here tags instances, volumes and network interfaces (spot requests are not made).
TAGGABLE = ("instance", "volume", "network-interface", "spot-instances-request")
LAUNCHED = ("instance", "volume", "network-interface")

# Members RequestLaunchTemplateData spells otherwise than RunInstances' request.
_RUN_NAMES = {"RamDiskId": "RamdiskId", "ElasticGpuSpecifications": "ElasticGpuSpecification"}


def check(data: dict) -> dict:
    """The data of a new template or version, as AWS checks it then."""
    for spec in data.get("TagSpecifications") or []:
        kind = spec.get("ResourceType")
        if not kind:
            raise AWSError("InvalidTagSpecification.Malformed", "The resource type cannot be null or empty.")
        if kind not in TAGGABLE:
            raise AWSError("InvalidParameterValue", f"'{kind}' is not a valid taggable resource type for this "
                           "operation.")
        if not spec.get("Tags"):
            raise AWSError("InvalidTagSpecification.Malformed", "The tags cannot be null or empty.")
        pairs = tags.from_pairs(spec["Tags"])
        tags.validate(pairs)
        if len(pairs) > tags.MAX_TAGS:
            raise AWSError("TagLimitExceeded", "The maximum number of Tags for a resource has been reached.")
    return data


def overlay(source: dict, given: dict) -> dict:
    """CreateLaunchTemplateVersion's SourceVersion: the new version inherits the source's launch
    parameters, and each parameter the request gives replaces the inherited one whole (a
    BlockDeviceMappings or NetworkInterfaces list is replaced, not merged item by item)."""
    return {**source, **given}


def launch_request(data: dict, request: dict) -> dict:
    """A RunInstances request that names a launch template, as one without: the template's data
    is the base and every member the request gives itself overrides it; tags of both are kept
    (for a key in both, the request's value). Members RunInstances does not honour are then
    ignored or refused by RunInstances exactly as when the request gives them itself."""
    base = {_RUN_NAMES.get(k, k): v for k, v in data.items() if k not in ("TagSpecifications", "InstanceRequirements")}
    own = {k: v for k, v in request.items() if k != "LaunchTemplate" and v is not None}
    merged = {**base, **own}
    if data.get("InstanceRequirements") and not merged.get("InstanceType"):
        # attribute-based type selection is for EC2 Fleet and Auto Scaling; RunInstances needs a type
        raise AWSError("InvalidParameterCombination", "The launch template specifies InstanceRequirements, which "
                       "RunInstances does not take. Specify an InstanceType.")
    # Template tags first, so that apply_specifications lets the request's win for a key in both.
    inherited = [s for s in data.get("TagSpecifications") or [] if s.get("ResourceType") in LAUNCHED]
    specs = inherited + list(request.get("TagSpecifications") or [])
    if specs:
        merged["TagSpecifications"] = specs
    return merged


def _interface(eni: dict) -> dict:
    attachment = eni.get("Attachment") or {}
    return {"DeviceIndex": attachment.get("DeviceIndex", 0), "NetworkInterfaceId": eni["NetworkInterfaceId"],
            "SubnetId": eni["SubnetId"], "Groups": [g["GroupId"] for g in eni["Groups"]],
            "Description": eni.get("Description", ""), "PrivateIpAddress": eni["PrivateIpAddress"],
            "PrivateIpAddresses": [{"Primary": p["Primary"], "PrivateIpAddress": p["PrivateIpAddress"]}
                                   for p in eni["PrivateIpAddresses"]],
            "DeleteOnTermination": attachment.get("DeleteOnTermination", False)}


def of_instance(body: dict, attached: list[dict], disks: list[dict], tag_map: dict[str, str]) -> dict:
    """GetLaunchTemplateData: what a template that launches an instance like this one holds.
    Its network interfaces are named as AWS names them, by their IDs, so a launch from such a
    template as it is fails while the instance keeps them (as on AWS). disks: the bodies of its
    volumes, by device."""
    data = {"ImageId": body["ImageId"], "InstanceType": body["InstanceType"], "Monitoring": {"Enabled": False},
            "EbsOptimized": False, "Placement": {"AvailabilityZone": body["Placement"]["AvailabilityZone"],
                                                  "GroupName": "", "Tenancy": body["Placement"]["Tenancy"]},
            "DisableApiTermination": body["_run"]["disable_api_termination"],
            "InstanceInitiatedShutdownBehavior": "stop", "CpuOptions": body["CpuOptions"],
            "MetadataOptions": {k: v for k, v in body["MetadataOptions"].items() if k != "State"},  # as requests give it
            "NetworkInterfaces": [_interface(e) for e in attached],
            "BlockDeviceMappings": [{"DeviceName": v["Attachments"][0]["Device"], "Ebs": {
                "DeleteOnTermination": v["Attachments"][0]["DeleteOnTermination"], "VolumeSize": v["Size"],
                "VolumeType": v["VolumeType"]}} for v in disks]}
    if body.get("KeyName"):
        data["KeyName"] = body["KeyName"]
    if body["_run"].get("user_data"):
        data["UserData"] = body["_run"]["user_data"]
    own_tags = {k: v for k, v in tag_map.items() if not tags.reserved(k)}
    if own_tags:
        data["TagSpecifications"] = [{"ResourceType": "instance", "Tags": tags.to_pairs(own_tags)}]
    return data
