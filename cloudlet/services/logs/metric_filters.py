"""CloudWatch Logs metric filters: PutMetricFilter, DescribeMetricFilters, DeleteMetricFilter,
TestMetricFilter. A filter is checked here as AWS checks it and stored as DescribeMetricFilters
shows it; store/log_metrics.py applies a group's filters to every batch of events stored.

Decisions where AWS says little: a JSON filter's metricValue and dimensions may name any
`$.selector` (a value missing from an event means no value for that event), a space-delimited
one's only the fields its pattern names (or `$1`, `$2`... by position); AWS/ namespaces are
AWS's own, as in PutMetricData; fieldSelectionCriteria (a selection language over the system
fields of centralized logs) is not offered and is refused."""

from __future__ import annotations

import json

from cloudlet.edge.errors import AWSError
from cloudlet.store import logs as store_logs
from cloudlet.store.log_conditions import number
from cloudlet.store.metrics import storable
from cloudlet.store.schema import log_metric_filters

from .errors import as_aws
from .paging import page
from .patterns import compile_pattern

MAX_FILTERS = 100  # per log group
MAX_DIMENSIONS = 3  # per filter, system field dimensions included
SYSTEM_FIELDS = ("@aws.account", "@aws.region")
INVALID_PATTERN = "Invalid metric filter pattern"


def _invalid(message: str) -> AWSError:
    return AWSError("InvalidParameterException", message)


def _bad_transformation(message: str) -> AWSError:
    return _invalid(f"Invalid metric transformation: {message}")


def _transformation(t: dict, pattern, system: list[str]) -> dict:
    """The transformation as stored, or AWS's refusal."""
    for member in ("metricName", "metricNamespace", "metricValue"):
        if not t[member].strip():
            raise _bad_transformation(f"{member} must not be empty")
    if t["metricNamespace"].startswith("AWS/"):
        raise _bad_transformation(f"the namespace {t['metricNamespace']} is reserved for AWS")
    value = t["metricValue"]
    literal = number(value)
    if (literal is None or not storable(literal)) and not pattern.refers(value):
        raise _bad_transformation(f"metric value {value} must be a valid number")
    if t.get("defaultValue") is not None and not storable(t["defaultValue"]):
        raise _bad_transformation(f"default value {t['defaultValue']} must be a valid number")
    dimensions = t.get("dimensions") or {}
    if dimensions and pattern.kind == "terms":
        raise _invalid("The specified filter pattern does not support dimensions")
    if dimensions and t.get("defaultValue") is not None:
        raise _bad_transformation("dimensions and default value are mutually exclusive properties")
    if len(dimensions) + len(system) > MAX_DIMENSIONS:
        raise _bad_transformation(f"a metric filter can have at most {MAX_DIMENSIONS} dimensions, system field "
                                  "dimensions included")
    for name, reference in dimensions.items():
        if not name.strip() or name in system:
            raise _bad_transformation(f"the dimension name '{name}' is empty or taken by a system field")
        if not pattern.refers(reference):
            raise _bad_transformation(f"the dimension {name} must be a field the filter pattern extracts, "
                                      f"such as $.field or $field, not {reference}")
    keep = ("metricName", "metricNamespace", "metricValue", "defaultValue", "dimensions", "unit")
    return {k: t[k] for k in keep if t.get(k) is not None and t.get(k) != {}}


def _system_fields(request) -> list[str]:
    fields = request.get("emitSystemFieldDimensions") or []
    if any(f not in SYSTEM_FIELDS for f in fields) or len(set(fields)) != len(fields):
        raise _invalid("emitSystemFieldDimensions can hold @aws.account and @aws.region, each once.")
    return fields


def _where(group: str, name: str) -> tuple:
    return log_metric_filters.c.log_group == group, log_metric_filters.c.name == name


class MetricFiltersAPI:
    """The metric filter operations of the Logs provider."""

    def put_metric_filter(self, ctx, request):
        group, name = request["logGroupName"], request["filterName"]
        pattern = compile_pattern(request["filterPattern"], INVALID_PATTERN)
        system = _system_fields(request)
        transformation = _transformation(request["metricTransformations"][0], pattern, system)
        if request.get("fieldSelectionCriteria"):
            raise AWSError("InvalidOperationException", "Field selection criteria are not supported for this "
                                                        "log group.")
        with ctx.write() as db, as_aws():
            store_logs.group(db, group)
            existing = db.one(log_metric_filters, *_where(group, name))
            if existing is None and db.count(log_metric_filters, log_metric_filters.c.log_group == group) \
                    >= MAX_FILTERS:
                raise AWSError("LimitExceededException", "Resource limit exceeded.")
            body = {"filterName": name, "filterPattern": request["filterPattern"], "logGroupName": group,
                    "metricTransformations": [transformation],
                    "creationTime": json.loads(existing["body"])["creationTime"] if existing else store_logs.now_ms()}
            if "applyOnTransformedLogs" in request:  # no transformers here: the original events are the view
                body["applyOnTransformedLogs"] = request["applyOnTransformedLogs"]
            if system:
                body["emitSystemFieldDimensions"] = system
            if existing:
                db.update(log_metric_filters, *_where(group, name), body=json.dumps(body))
            else:
                db.insert(log_metric_filters, log_group=group, name=name, body=json.dumps(body))
        return {}

    def describe_metric_filters(self, ctx, request):
        group, metric, namespace = request.get("logGroupName"), request.get("metricName"), \
            request.get("metricNamespace")
        if (metric is None) != (namespace is None):
            raise _invalid("Describe Metric Filters request must contain both MetricName and MetricNamespace")
        with ctx.read() as db, as_aws():
            where = []
            if group is not None:
                store_logs.group(db, group)
                where.append(log_metric_filters.c.log_group == group)
                if request.get("filterNamePrefix"):  # AWS reads the prefix only beside a group
                    where.append(log_metric_filters.c.name.startswith(request["filterNamePrefix"], autoescape=True))
            bodies = [json.loads(r["body"]) for r in db.select(log_metric_filters, *where)]
        if metric is not None:
            bodies = [b for b in bodies if any(t["metricName"] == metric and t["metricNamespace"] == namespace
                                               for t in b["metricTransformations"])]
        found, token = page(bodies, lambda b: (b["filterName"], b["logGroupName"]), request)
        return {"metricFilters": found, "nextToken": token}

    def delete_metric_filter(self, ctx, request):
        group, name = request["logGroupName"], request["filterName"]
        with ctx.write() as db, as_aws():
            store_logs.group(db, group)
            if not db.delete(log_metric_filters, *_where(group, name)):
                raise AWSError("ResourceNotFoundException", "The specified metric filter does not exist.")
        return {}

    def test_metric_filter(self, ctx, request):
        pattern = compile_pattern(request["filterPattern"], INVALID_PATTERN)
        matches = []
        for position, message in enumerate(request["logEventMessages"]):  # AWS counts from 0
            match = pattern.match(message)
            if match is not None:
                matches.append({"eventNumber": position, "eventMessage": message,
                                "extractedValues": match.extracted()})
        return {"matches": matches}


def filter_count(db, group: str) -> int:
    """DescribeLogGroups' metricFilterCount."""
    return db.count(log_metric_filters, log_metric_filters.c.log_group == group)
