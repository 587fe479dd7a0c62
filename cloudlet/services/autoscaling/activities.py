"""DescribeScalingActivities: a group's activities (recorded by asg_records.py), newest
first, with the filters AWS documents (StartTimeLowerBound, StartTimeUpperBound, Status) and
those of deleted groups when IncludeDeletedGroups asks for them."""

from __future__ import annotations

import json

from cloudlet.control import asg_records as records
from cloudlet.edge.protocols.values import parse_timestamp
from cloudlet.store.schema import autoscaling_activities as table

from .errors import at_most, invalid, page, paged

MAX_IDS = 50
_FILTERS = ("StartTimeLowerBound", "StartTimeUpperBound", "Status")


def _filters(request) -> dict[str, list]:
    out: dict[str, list] = {}
    for spec in request.get("Filters") or []:
        name = spec.get("Name") or ""
        if name not in _FILTERS:
            raise invalid(f"Unsupported filter name {name}. Supported filters are {', '.join(_FILTERS)}.")
        if name == "Status" and not request.get("AutoScalingGroupName"):
            raise invalid("The Status filter can only be used with the AutoScalingGroupName parameter.")
        values = spec.get("Values") or []
        if name != "Status":
            moments = [parse_timestamp(v) for v in values]
            if any(isinstance(m, str) for m in moments):
                raise invalid(f"The {name} filter takes ISO 8601 timestamps.")
            values = [m.timestamp() for m in moments]
        out[name] = values
    return out


def _wanted(activity: dict, filters: dict[str, list]) -> bool:
    start = activity["StartTime"]
    return (all(start >= v for v in filters.get("StartTimeLowerBound", []))
            and all(start <= v for v in filters.get("StartTimeUpperBound", []))
            and ("Status" not in filters or activity["StatusCode"] in filters["Status"]))


class Activities:
    def describe_scaling_activities(self, ctx, request):
        group, ids = request.get("AutoScalingGroupName"), request.get("ActivityIds")
        at_most(ids, MAX_IDS, "activity IDs")
        filters = _filters(request)
        with ctx.read() as db:
            rows = db.select(table, *([table.c.group_name == group] if group else []))
            live = {g["AutoScalingGroupName"] for g in records.every(db, records.GROUP)}
        found = []
        for row in rows:
            activity = json.loads(row["body"])
            deleted = row["group_name"] not in live
            if deleted and not request.get("IncludeDeletedGroups"):
                continue
            if (ids and activity["ActivityId"] not in ids) or not _wanted(activity, filters):
                continue
            found.append((row["seq"], {**activity, **({"AutoScalingGroupState": "Deleted"} if deleted else {})}))
        got, token = page(found, lambda f: -f[0], request, default=100, maximum=100)
        return paged("Activities", [a for _, a in got], token)
