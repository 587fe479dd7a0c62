"""What a group launches from: a launch template (LaunchTemplate, or a MixedInstancesPolicy
that is one in effect: one template, at most one instance type override, no Spot), looked up
through EC2's own resolve(), with AWS's refusal wording around EC2's reason. Launch
configurations are not modelled (AWS deprecated them; none can exist here)."""

from __future__ import annotations

from cloudlet.edge.errors import AWSError
from cloudlet.services.ec2 import launch_templates

from .errors import invalid

SOURCES = ("LaunchTemplate", "LaunchConfigurationName", "InstanceId", "MixedInstancesPolicy")


def resolved(db, spec: dict) -> dict:
    """EC2's resolve() of spec, or AWS Auto Scaling's refusal of it."""
    try:
        return launch_templates.resolve(db, spec)
    except AWSError as error:
        raise invalid(f"You must use a valid fully-formed launch template. {error.message}") from None


def _shown(db, spec: dict) -> tuple[dict, dict]:
    """(the spec as Describe shows it: ID, name and the version as given, the spec to launch by)."""
    found = resolved(db, spec)
    version = spec.get("Version") or "$Default"
    return ({"LaunchTemplateId": found["LaunchTemplateId"], "LaunchTemplateName": found["LaunchTemplateName"],
             "Version": version}, {"LaunchTemplateId": found["LaunchTemplateId"], "Version": version})


def _mixed(db, policy: dict) -> tuple[dict, dict, str | None]:
    template = policy.get("LaunchTemplate") or {}
    if not template.get("LaunchTemplateSpecification"):
        raise invalid("A MixedInstancesPolicy must contain a LaunchTemplate with a LaunchTemplateSpecification.")
    overrides = template.get("Overrides") or []
    distribution = policy.get("InstancesDistribution") or {}
    trivial = len(overrides) <= 1 and all(set(o) <= {"InstanceType", "WeightedCapacity"} and
                                          o.get("WeightedCapacity", "1") == "1" for o in overrides) and \
        distribution.get("OnDemandPercentageAboveBaseCapacity", 100) == 100
    if not trivial:
        raise invalid("cloudlet launches On-Demand instances of one instance type from one launch template: a "
                      "MixedInstancesPolicy may override the instance type once, without weights, and ask for no "
                      "Spot capacity (OnDemandPercentageAboveBaseCapacity 100).")
    shown, spec = _shown(db, template["LaunchTemplateSpecification"])
    out = {"LaunchTemplate": {"LaunchTemplateSpecification": shown, "Overrides": overrides},
           "InstancesDistribution": {"OnDemandAllocationStrategy": "prioritized", "OnDemandBaseCapacity": 0,
                                     "OnDemandPercentageAboveBaseCapacity": 100,
                                     "SpotAllocationStrategy": "lowest-price", "SpotInstancePools": 2,
                                     **distribution}}
    return out, spec, overrides[0].get("InstanceType") if overrides else None


def source(db, request, required: bool) -> dict | None:
    """The group's launch source from a Create/Update request: {"member": the member that
    gave it, "shown": its value as Describe shows it, "spec", "instance_type"}; None when an
    update leaves it be."""
    given = [m for m in SOURCES if request.get(m)]
    if len(given) > 1 or (required and not given):
        raise invalid("Valid requests must contain either LaunchTemplate, LaunchConfigurationName, InstanceId or "
                      "MixedInstancesPolicy parameter.")
    if not given:
        return None
    member = given[0]
    if member == "LaunchConfigurationName":
        name = request[member]
        raise invalid(f"Launch configuration name not found - Launch configuration {name} not found")
    if member == "InstanceId":
        raise invalid("cloudlet makes groups from launch templates: create one (CreateLaunchTemplate) with the "
                      "instance's settings and name it in LaunchTemplate.")
    if member == "LaunchTemplate":
        shown, spec = _shown(db, request[member])
        return {"member": member, "shown": shown, "spec": spec, "instance_type": None}
    shown, spec, kind = _mixed(db, request[member])
    return {"member": member, "shown": shown, "spec": spec, "instance_type": kind}


def apply(group: dict, found: dict) -> None:
    """The group launches from found (a source()) from now on."""
    for member in ("LaunchTemplate", "MixedInstancesPolicy"):
        group.pop(member, None)
    group[found["member"]] = found["shown"]
    group["_template"] = found["spec"]
    group["_instance_type"] = found["instance_type"]
