"""Metric alarms' API: PutMetricAlarm (one metric, or metric math), DescribeAlarms and
DescribeAlarmsForMetric, DeleteAlarms, SetAlarmState, Enable/DisableAlarmActions,
DescribeAlarmHistory and tags. The evaluator (evaluator.py) moves their states."""

from __future__ import annotations

import json
import math
import re
import time

from cloudlet.edge.errors import AWSError
from cloudlet.services.common import pagination, tags
from cloudlet.services.common.tags import ArnTagging
from cloudlet.store.schema import cloudwatch_alarm_history as history
from cloudlet.store.schema import cloudwatch_alarms as alarms

from . import statistics as stats
from . import actions, composite, composite_states
from .evaluation import COMPARISONS
from .history import record
from .metrics import check_dimensions
from .queries import check_queries

ALARM_PERIODS = (10, 20, 30)  # and multiples of 60
TREATMENTS = ("breaching", "notBreaching", "ignore", "missing")
STATES = ("OK", "ALARM", "INSUFFICIENT_DATA")
_ACTION = re.compile(r"arn:aws:(sns:[a-z0-9-]+:\d{12}:[\w-]{1,256}|automate:[a-z0-9-]+:ec2:(stop|terminate|reboot|"
                     r"recover)|autoscaling:[a-z0-9-]+:\d{12}:scalingPolicy:[\w:/-]+|ssm:[a-z0-9-]+:\d{12}:\S+|"
                     r"lambda:[a-z0-9-]+:\d{12}:function:\S+)")
_CONFIG = ("AlarmName", "AlarmDescription", "ActionsEnabled", "OKActions", "AlarmActions", "InsufficientDataActions",
           "MetricName", "Namespace", "Statistic", "ExtendedStatistic", "Dimensions", "Period", "Unit",
           "EvaluationPeriods", "DatapointsToAlarm", "Threshold", "ComparisonOperator", "TreatMissingData",
           "EvaluateLowSampleCountPercentile", "Metrics")


def _invalid(message: str) -> AWSError:
    return AWSError("ValidationError", message)


def _not_found(name: str) -> AWSError:
    return AWSError("ResourceNotFound", f"Could not find alarm {name}.", 404)


def check_alarm(request) -> dict:
    """The MetricAlarm's configuration from a PutMetricAlarm request, or AWS's refusal."""
    alarm = {k: request[k] for k in _CONFIG if k in request}
    single = [k for k in ("MetricName", "Namespace", "Statistic", "ExtendedStatistic", "Dimensions", "Period",
                          "Unit") if k in request]
    if "Metrics" in request:
        if single:
            raise AWSError("InvalidParameterCombination", f"The parameters Metrics and {single[0]} are mutually "
                                                          "exclusive.")
        queries = check_queries(request["Metrics"], "Metrics")
        returned = [q for q in queries.values() if q.get("ReturnData", True)]
        if len(returned) != 1:
            raise _invalid("Exactly one element of the metrics list should return data.")
        periods = [q["MetricStat"]["Period"] if "MetricStat" in q else q["Period"] for q in queries.values()
                   if "MetricStat" in q or q.get("Period")]
        alarm["Period"] = min(periods) if periods else 60
    else:
        for need in ("MetricName", "Namespace", "Period"):
            if need not in request:
                raise AWSError("MissingParameter", f"The parameter {need} is required.")
        if ("Statistic" in request) == ("ExtendedStatistic" in request):
            raise AWSError("InvalidParameterCombination",
                           "Exactly one of the parameters Statistic and ExtendedStatistic must be specified.")
        if "ExtendedStatistic" in request and not stats.is_percentile(request["ExtendedStatistic"]):
            raise _invalid(f"The value {request['ExtendedStatistic']} for parameter ExtendedStatistic is invalid.")
        check_dimensions(request.get("Dimensions") or [], "Dimensions")
    period, n = alarm["Period"], request.get("EvaluationPeriods")
    if period not in ALARM_PERIODS and period % 60:
        raise _invalid("Period must be 10, 20, 30 or a multiple of 60.")
    if n is None or "ComparisonOperator" not in request or "Threshold" not in request:
        raise AWSError("MissingParameter", "The parameters EvaluationPeriods, ComparisonOperator and Threshold "
                                           "are required.")
    if request["ComparisonOperator"] not in COMPARISONS:
        raise _invalid(f"ComparisonOperator {request['ComparisonOperator']} compares with an anomaly detection band "
                       "(ThresholdMetricId), which cloudlet does not model.")
    if period * n > 86400:
        raise _invalid("Metrics cannot be evaluated over more than one day: Period * EvaluationPeriods must be at "
                       "most 86400.")
    if request.get("DatapointsToAlarm", n) > n:
        raise _invalid("DatapointsToAlarm must be less than or equal to EvaluationPeriods.")
    if request.get("TreatMissingData", "missing") not in TREATMENTS:
        raise _invalid(f"TreatMissingData must be one of {', '.join(TREATMENTS)}.")
    alarm["Threshold"] = float(request["Threshold"])  # a double, however the wire spelled it
    if not math.isfinite(alarm["Threshold"]):
        raise _invalid(f"The value {request['Threshold']} for parameter Threshold is invalid.")
    for member in ("OKActions", "AlarmActions", "InsufficientDataActions"):
        for arn in request.get(member) or []:
            if not _ACTION.fullmatch(arn):
                raise _invalid(f"Invalid arn syntax: {arn}")
    return alarm


def save_alarm(db, alarm: dict, arn: str, tag_pairs: dict[str, str] | None = None) -> None:
    """Create the alarm check_alarm() gave, or replace a same-named one's configuration whole
    (its state kept), with its history record; what PutMetricAlarm and other services'
    alarms (target tracking's) are written through."""
    name = alarm["AlarmName"]
    stamp = time.time()
    old = db.one(alarms, alarms.c.name == name)
    body = {"AlarmArn": arn, "ActionsEnabled": True, "OKActions": [], "AlarmActions": [],
            "InsufficientDataActions": [], "Dimensions": [], **alarm, "AlarmConfigurationUpdatedTimestamp": stamp}
    if old is None:
        body.update(StateValue="INSUFFICIENT_DATA", StateReason="Unchecked: Initial alarm creation",
                    StateUpdatedTimestamp=stamp, StateTransitionedTimestamp=stamp)
        db.insert(alarms, name=name, state="INSUFFICIENT_DATA", body=json.dumps(body))
        tags.put(db, arn, "alarm", tag_pairs or {})
    else:  # its state stays; its configuration is the new one, whole
        kept = json.loads(old["body"])
        body.update({k: kept[k] for k in ("StateValue", "StateReason", "StateReasonData",
                                          "StateUpdatedTimestamp", "StateTransitionedTimestamp") if k in kept})
        db.update(alarms, alarms.c.name == name, body=json.dumps(body))
    record(db, name, "ConfigurationUpdate", f'Alarm "{name}" {"created" if old is None else "updated"}',
           {"version": "1.0", "type": "Create" if old is None else "Update",
            "createdAlarm" if old is None else "updatedAlarm": _public(body)})


def remove_alarm(db, row: dict) -> None:
    """The alarm of row gone, with its history and tags."""
    db.delete(alarms, alarms.c.name == row["name"])
    db.delete(history, history.c.name == row["name"])
    tags.drop_resource(db, json.loads(row["body"])["AlarmArn"])


def _out(row: dict) -> dict:
    return {k: v for k, v in json.loads(row["body"]).items() if not k.startswith("_")}


class AlarmsAPI(ArnTagging):
    tag_arn_member = "ResourceARN"
    tag_list_member = "Tags"
    tag_keys_member = "TagKeys"
    tag_pair_names = ("Key", "Value")

    def tagged_resource_type(self, db, arn: str) -> str:
        name = arn.split(":alarm:", 1)[-1]
        if ":alarm:" not in arn or db.one(alarms, alarms.c.name == name) is None:
            raise AWSError("ResourceNotFoundException", f"The resource {arn} does not exist.", 404)
        return "alarm"

    def put_metric_alarm(self, ctx, request):
        alarm = check_alarm(request)
        with ctx.write() as db:
            save_alarm(db, alarm, ctx.arn("cloudwatch", f"alarm:{alarm['AlarmName']}"),
                       tags.from_pairs(request.get("Tags")))
        self.alarms_changed()
        return {}

    def describe_alarms(self, ctx, request):
        if request.get("ChildrenOfAlarmName") or request.get("ParentsOfAlarmName"):
            return composite.describe_family(ctx, request)
        names, prefix = request.get("AlarmNames"), request.get("AlarmNamePrefix")
        if names and prefix:
            raise AWSError("InvalidParameterCombination",
                           "The parameters AlarmNames and AlarmNamePrefix are mutually exclusive.")
        types = request.get("AlarmTypes") or ["MetricAlarm"]
        with ctx.read() as db:
            rows = [r for r in db.select(alarms, order_by=alarms.c.name) if composite.alarm_type(r) in types]

        def wanted(row) -> bool:
            body = json.loads(row["body"])
            actions = body["OKActions"] + body["AlarmActions"] + body["InsufficientDataActions"]
            return ((not names or row["name"] in names) and (not prefix or row["name"].startswith(prefix))
                    and (not request.get("StateValue") or row["state"] == request["StateValue"])
                    and (not request.get("ActionPrefix") or any(a.startswith(request["ActionPrefix"])
                                                               for a in actions)))

        got, token = pagination.page([r for r in rows if wanted(r)], lambda r: r["name"], request.get("NextToken"),
                                     request.get("MaxRecords"), default=50, maximum=100)
        return {**composite.by_type(got), **({"NextToken": token} if token else {})}

    def describe_alarms_for_metric(self, ctx, request):
        wanted = {k: request[k] for k in ("MetricName", "Namespace", "Statistic", "ExtendedStatistic", "Period",
                                          "Unit") if k in request}
        dims = sorted((d["Name"], d["Value"]) for d in request.get("Dimensions") or [])
        with ctx.read() as db:
            bodies = [_out(r) for r in db.select(alarms, order_by=alarms.c.name)]
        return {"MetricAlarms": [b for b in bodies if all(b.get(k) == v for k, v in wanted.items())
                                 and ("Dimensions" not in request
                                      or sorted((d["Name"], d["Value"]) for d in b["Dimensions"]) == dims)]}

    def delete_alarms(self, ctx, request):
        names = request.get("AlarmNames") or []
        with ctx.write() as db:
            rows = {r["name"]: r for r in db.select(alarms, alarms.c.name.in_(names))}
            if missing := [n for n in names if n not in rows]:
                raise AWSError("ResourceNotFound", f"The following alarms were not found: {', '.join(missing)}.",
                               404)
            composite.check_deletable(db, rows)
            for row in rows.values():
                remove_alarm(db, row)
        return {}

    def set_alarm_state(self, ctx, request):
        name, state = request["AlarmName"], request["StateValue"]
        data = request.get("StateReasonData")
        if data is not None:
            try:
                json.loads(data)
            except ValueError:
                raise AWSError("InvalidFormat", "StateReasonData is not valid JSON.") from None
        with ctx.write() as db:
            row = db.one(alarms, alarms.c.name == name)
            if row is None:
                raise _not_found(name)
            set_state(db, row, state, request["StateReason"], data)
        return {}

    def enable_alarm_actions(self, ctx, request):
        return self._actions_enabled(ctx, request["AlarmNames"], True)

    def disable_alarm_actions(self, ctx, request):
        return self._actions_enabled(ctx, request["AlarmNames"], False)

    def _actions_enabled(self, ctx, names: list[str], enabled: bool):
        with ctx.write() as db:
            for row in db.select(alarms, alarms.c.name.in_(names)):
                body = json.loads(row["body"])
                body["ActionsEnabled"] = enabled
                db.update(alarms, alarms.c.name == row["name"], body=json.dumps(body))
        return {}

    def describe_alarm_history(self, ctx, request):
        where = []
        if request.get("AlarmName"):
            where.append(history.c.name == request["AlarmName"])
        if request.get("HistoryItemType"):
            where.append(history.c.kind == request["HistoryItemType"])
        if request.get("StartDate"):
            where.append(history.c.at >= int(request["StartDate"].timestamp() * 1000))
        if request.get("EndDate"):
            where.append(history.c.at <= int(request["EndDate"].timestamp() * 1000))
        types = request.get("AlarmTypes") or ["MetricAlarm"]
        with ctx.read() as db:
            kinds = dict.fromkeys(composite.composite_names(db), composite_states.COMPOSITE)
            rows = [r for r in db.select(history, *where) if kinds.get(r["name"], "MetricAlarm") in types]
        newest = request.get("ScanBy", "TimestampDescending") == "TimestampDescending"
        got, token = pagination.page(rows, lambda r: -r["seq"] if newest else r["seq"], request.get("NextToken"),
                                     request.get("MaxRecords"), default=100, maximum=100)
        return {"AlarmHistoryItems": [
            {"AlarmName": r["name"], "AlarmType": kinds.get(r["name"], "MetricAlarm"), "Timestamp": r["at"] / 1000,
             "HistoryItemType": r["kind"], "HistorySummary": r["summary"], "HistoryData": r["data"]} for r in got],
            **({"NextToken": token} if token else {})}


def _public(body: dict) -> dict:
    return {k: v for k, v in body.items() if not k.startswith("_") and k not in ("StateReasonData",)}


def set_state(db, row: dict, state: str, reason: str, data: str | None) -> bool:
    """Move the alarm of row to state (its reason and reason data updated either way); whether
    the state changed, which is then in its history."""
    body = json.loads(row["body"])
    old, old_reason, stamp = body["StateValue"], body["StateReason"], time.time()
    body.update(StateValue=state, StateReason=reason, StateUpdatedTimestamp=stamp)
    if data is not None:
        body["StateReasonData"] = data
    else:
        body.pop("StateReasonData", None)
    if old != state:
        body["StateTransitionedTimestamp"] = stamp
        new = {"stateValue": state, "stateReason": reason, **({"stateReasonData": json.loads(data)} if data else {})}
        record(db, row["name"], "StateUpdate", f"Alarm updated from {old} to {state}",
               {"version": "1.0", "oldState": {"stateValue": old, "stateReason": old_reason}, "newState": new})
        if not composite_states.holds_actions(db, body, old):
            actions.queue_actions(db.account_id, db.region, body, old)
    db.update(alarms, alarms.c.name == row["name"], state=state, body=json.dumps(body))
    if old != state:
        composite_states.transitioned(db, row["name"], old, state)  # its composites follow it
    return old != state
