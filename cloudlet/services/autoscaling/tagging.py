"""Groups' tags: CreateOrUpdateTags, DeleteTags and DescribeTags. A group's tags live in its
record (they carry PropagateAtLaunch, which the shared tags table has no place for); those
that propagate are given to the instances the group launches."""

from __future__ import annotations

from cloudlet.control import asg_records as records

from .errors import find_group, invalid, page, paged
from .group_spec import RESOURCE_TYPE, group_tags, merged_tags

_FILTERS = {"auto-scaling-group": "ResourceId", "key": "Key", "value": "Value",
            "propagate-at-launch": "PropagateAtLaunch"}


def _by_group(given: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for tag in given:
        if not tag.get("ResourceId"):
            raise invalid("ResourceId is required for each tag: the name of the Auto Scaling group.")
        if tag.get("ResourceType", RESOURCE_TYPE) != RESOURCE_TYPE:
            raise invalid(f"Invalid resource type: {tag['ResourceType']}. Valid value: {RESOURCE_TYPE}")
        out.setdefault(tag["ResourceId"], []).append(tag)
    return out


def _matches(tag: dict, name: str, values: list[str]) -> bool:
    have = tag[_FILTERS[name]]
    return str(have).lower() in [v.lower() for v in values] if name == "propagate-at-launch" else have in values


class Tagging:
    def create_or_update_tags(self, ctx, request):
        with ctx.write() as db:
            for name, given in _by_group(request["Tags"]).items():
                group = find_group(db, name)
                group["Tags"] = merged_tags(group.get("Tags", []), group_tags(name, given))
                records.save_group(db, group)
        return {}

    def delete_tags(self, ctx, request):
        with ctx.write() as db:
            for name, given in _by_group(request["Tags"]).items():
                group = find_group(db, name)
                keys = {t.get("Key") for t in given}
                group["Tags"] = [t for t in group.get("Tags", []) if t["Key"] not in keys]
                records.save_group(db, group)
        return {}

    def describe_tags(self, ctx, request):
        checks = []
        for spec in request.get("Filters") or []:
            if spec.get("Name") not in _FILTERS:
                raise invalid(f"Filter type {spec.get('Name')} is not correct. Allowed Filter types are: "
                              f"{' '.join(_FILTERS)}")
            checks.append((spec["Name"], spec.get("Values") or []))
        with ctx.read() as db:
            tags = [t for g in records.every(db, records.GROUP) for t in g.get("Tags", [])]
        tags = [t for t in tags if all(_matches(t, name, values) for name, values in checks)]
        got, token = page(tags, lambda t: (t["ResourceId"], t["Key"]), request)
        return paged("Tags", got, token)
