"""Composite alarms' API: PutCompositeAlarm, and what DescribeAlarms (AlarmTypes,
ChildrenOfAlarmName, ParentsOfAlarmName), DeleteAlarms and DescribeAlarmHistory do with them.
A composite alarm is a row of cloudwatch_alarms like a metric alarm, its body marked with
"_type" and holding the alarms its rule names ("_children": reference as written -> name).
composite_states.py moves their states."""

from __future__ import annotations

import json
import re

from cloudlet.edge.errors import AWSError
from cloudlet.services.common import pagination, tags
from cloudlet.store.schema import cloudwatch_alarms as alarms

# alarms.py calls on this module and it on alarms.py: modules imported, not their names
from . import alarm_rules, composite_states
from . import alarms as metric_alarms

MAX_PARENTS = 150  # composite alarms one alarm may be in the rule of
# The actions a composite alarm can take: SNS, Lambda, Systems Manager OpsItems and Incident
# Manager, Q Developer investigations (no EC2 or Auto Scaling actions).
_ACTION = re.compile(r"arn:aws:(sns:[a-z0-9-]+:\d{12}:[\w-]{1,256}|lambda:[a-z0-9-]+:\d{12}:function:[\w-]+"
                     r"(:[\w$-]+)?|ssm:[a-z0-9-]+:\d{12}:opsitem:[1-5](#CATEGORY=\w+)?|ssm-incidents::\d{12}:"
                     r"responseplan/[\w-]+|aiops:[a-z0-9-]+:\d{12}:investigation-group:\w+)")
_CONFIG = ("AlarmName", "AlarmDescription", "AlarmRule", "ActionsEnabled", "OKActions", "AlarmActions",
           "InsufficientDataActions", "ActionsSuppressor", "ActionsSuppressorWaitPeriod",
           "ActionsSuppressorExtensionPeriod")
_SUPPRESSION = ("ActionsSuppressedBy", "ActionsSuppressedReason", "_until", "_held")
_FAMILY_FIELDS = {"ChildrenOfAlarmName": ("AlarmName", "AlarmArn", "StateValue", "StateUpdatedTimestamp"),
                  "ParentsOfAlarmName": ("AlarmName", "AlarmArn")}


def _invalid(message: str) -> AWSError:
    return AWSError("ValidationError", message)


def _check_request(request) -> alarm_rules.Rule:
    try:
        rule = alarm_rules.parse(request["AlarmRule"])
    except alarm_rules.RuleError as error:
        raise _invalid(str(error)) from None
    for member in ("OKActions", "AlarmActions", "InsufficientDataActions"):
        for arn in request.get(member) or []:
            if arn.startswith(("arn:aws:automate:", "arn:aws:autoscaling:", "arn:aws:swf:")):
                raise _invalid(f"Composite alarms can not take EC2 or Auto Scaling actions: {arn}")
            if not _ACTION.fullmatch(arn):
                raise _invalid(f"Invalid arn syntax: {arn}")
    periods = [k for k in ("ActionsSuppressorWaitPeriod", "ActionsSuppressorExtensionPeriod") if k in request]
    if "ActionsSuppressor" in request and len(periods) < 2:
        raise _invalid("ActionsSuppressorWaitPeriod and ActionsSuppressorExtensionPeriod are required when "
                       "ActionsSuppressor is specified.")
    if "ActionsSuppressor" not in request and periods:
        raise _invalid(f"{periods[0]} can only be specified with ActionsSuppressor.")
    for period in periods:
        if request[period] < 0:
            raise _invalid(f"The value {request[period]} for parameter {period} is invalid: it must be 0 or more.")
    return rule


def _resolve(ctx, db, references) -> tuple[dict[str, str], list[str]]:
    """{reference: alarm name} of the account's alarms among references (names, or ARNs that
    must be this account's and region's), and the references that name none."""
    prefix = ctx.arn("cloudwatch", "alarm:")
    names = {}
    for ref in references:
        if not ref.startswith("arn:"):
            names[ref] = ref
        elif ref.startswith(prefix):
            names[ref] = ref[len(prefix):]
    present = {r["name"] for r in db.select(alarms, alarms.c.name.in_(set(names.values())))}
    return {ref: name for ref, name in names.items() if name in present}, [r for r in references
                                                                            if names.get(r) not in present]


def _check_parents(db, name: str, children: set[str]) -> None:
    counts: dict[str, int] = {}
    for row, body in composite_states.composites(db):
        if row["name"] != name:
            for child in composite_states.children(body) & children:
                counts[child] = counts.get(child, 0) + 1
    if full := sorted(c for c, n in counts.items() if n >= MAX_PARENTS):
        raise AWSError("LimitExceeded", f"The alarm {full[0]} is already in the rules of {MAX_PARENTS} composite "
                                        "alarms, the most one alarm can be in.")


class CompositeAlarmsAPI:
    def put_composite_alarm(self, ctx, request):
        rule = _check_request(request)
        name = request["AlarmName"]
        with ctx.write() as db:
            children, missing = _resolve(ctx, db, rule.references)
            if missing:
                raise _invalid(f"Could not save the composite alarm as alarms [{', '.join(missing)}] in the alarm "
                               "rule do not exist")
            suppressor = None
            if "ActionsSuppressor" in request:
                found, _ = _resolve(ctx, db, [request["ActionsSuppressor"]])
                if not found:
                    raise _invalid(f"The suppressor alarm {request['ActionsSuppressor']} does not exist.")
                suppressor = found[request["ActionsSuppressor"]]
            _check_parents(db, name, set(children.values()))
            _save(ctx, db, request, children, suppressor)
            composite_states.evaluate(db, name)
        return {}


def _save(ctx, db, request, children: dict[str, str], suppressor: str | None) -> None:
    """Create or replace the composite alarm, through what metric alarms are saved with."""
    name = request["AlarmName"]
    alarm = {**{k: request[k] for k in _CONFIG if k in request},
             "_type": composite_states.COMPOSITE, "_children": children, "_suppressor": suppressor}
    old = db.one(alarms, alarms.c.name == name)
    kept = json.loads(old["body"]) if old else {}
    if kept.get("_suppressor") == suppressor:  # a suppression under way goes on if by the same alarm
        alarm.update({k: kept[k] for k in _SUPPRESSION if k in kept})
    metric_alarms.save_alarm(db, alarm, ctx.arn("cloudwatch", f"alarm:{name}"), tags.from_pairs(request.get("Tags")))


# -- what the metric alarms' operations do with composites ------------------------------------


def alarm_type(row: dict) -> str:
    return composite_states.COMPOSITE if composite_states.is_composite(json.loads(row["body"])) else "MetricAlarm"


def by_type(rows: list[dict], fields: tuple[str, ...] | None = None) -> dict:
    """DescribeAlarms' two lists of rows (all of each alarm's fields, or only `fields`)."""
    out: dict[str, list] = {"MetricAlarms": [], "CompositeAlarms": []}
    for row in rows:
        body = json.loads(row["body"])
        shown = {k: v for k, v in body.items() if not k.startswith("_") and (fields is None or k in fields)}
        out["CompositeAlarms" if composite_states.is_composite(body) else "MetricAlarms"].append(shown)
    return out


def describe_family(ctx, request) -> dict:
    """DescribeAlarms with ChildrenOfAlarmName or ParentsOfAlarmName: the alarms a composite's
    rule names, or the composites whose rules name an alarm (never the alarm itself)."""
    given = [k for k in _FAMILY_FIELDS if request.get(k)]
    others = [k for k in ("AlarmNames", "AlarmNamePrefix", "AlarmTypes", "StateValue", "ActionPrefix")
              if request.get(k)]
    if len(given) > 1 or others:
        raise _invalid("If you specify ChildrenOfAlarmName or ParentsOfAlarmName, you cannot specify any other "
                       "parameters in the request except for MaxRecords and NextToken.")
    key = given[0]
    name = request[key]
    with ctx.read() as db:
        if key == "ChildrenOfAlarmName":
            row = db.one(alarms, alarms.c.name == name)
            body = json.loads(row["body"]) if row else {}
            wanted = composite_states.children(body) - {name} if composite_states.is_composite(body) else set()
            rows = db.select(alarms, alarms.c.name.in_(wanted))
        else:
            rows = [row for row, body in composite_states.composites(db)
                    if row["name"] != name and name in composite_states.children(body)]
    got, token = pagination.page(rows, lambda r: r["name"], request.get("NextToken"), request.get("MaxRecords"),
                                 default=50, maximum=100)
    return {**by_type(got, _FAMILY_FIELDS[key]), **({"NextToken": token} if token else {})}


def check_deletable(db, rows: dict[str, dict]) -> None:
    """Refuse a DeleteAlarms of rows (name -> row) that takes more than one composite alarm,
    or an alarm a composite that stays names in its rule or as its ActionsSuppressor (a
    composite deleted in the same call does not count, unless it names itself)."""
    if sum(composite_states.is_composite(json.loads(r["body"])) for r in rows.values()) > 1:
        raise _invalid("You can delete at most one composite alarm in one DeleteAlarms call.")
    needed = set()
    for row, body in composite_states.composites(db):
        for child in composite_states.children(body) | {body.get("_suppressor")}:
            if child in rows and (row["name"] not in rows or child == row["name"]):
                needed.add(child)
    if needed:
        raise _invalid(f"Cannot delete {','.join(sorted(needed))} as there are composite alarm(s) depending on "
                       f"{'it' if len(needed) == 1 else 'them'}.")


def composite_names(db) -> set[str]:
    return {row["name"] for row, _ in composite_states.composites(db)}
