"""CloudWatch: metrics (PutMetricData, GetMetricStatistics, GetMetricData with metric math,
ListMetrics) over the store's roll-ups, and alarms (alarms.py) evaluated as data comes, on all
three of the model's protocols (CBOR, JSON, query)."""

from __future__ import annotations

import json
import logging
import threading
import time

from cloudlet.edge.errors import AWSError
from cloudlet.services.common import pagination
from cloudlet.store import metrics as store

from . import actions
from . import statistics as stats
from .alarms import AlarmsAPI
from .composite import CompositeAlarmsAPI
from .evaluator import AlarmEvaluator
from .metrics import data
from .queries import Evaluation, check_queries, label

log = logging.getLogger("cloudlet.cloudwatch")
EXPIRE_EVERY = 600.0  # seconds between purges of points past their retention
LIST_PAGE = 500
DEFAULT_MAX_DATAPOINTS = 100_800


def _seconds(value) -> int:
    return int(value.timestamp())


def _metric_out(row: dict) -> dict:
    return {"Namespace": row["namespace"], "MetricName": row["name"],
            "Dimensions": [{"Name": n, "Value": v} for n, v in json.loads(row["dimensions"])]}


def _span(request, now: int) -> tuple[int, int]:
    start, end = _seconds(request["StartTime"]), _seconds(request["EndTime"])
    if start >= end:
        raise AWSError("InvalidParameterValue", "The parameter StartTime must be less than the parameter EndTime.")
    return start, end


class CloudWatch(CompositeAlarmsAPI, AlarmsAPI):
    def __init__(self, config, store_):
        self.config = config
        self.store = store_
        self.evaluator = AlarmEvaluator(store_)
        self.actions = actions.Worker(store_, config)
        self.alarms_changed = self.evaluator.wake
        threading.Thread(target=self._expire, name="metrics-retention", daemon=True).start()

    def use_providers(self, providers) -> None:
        self.actions.providers = providers  # what alarm actions reach: EC2, Auto Scaling, SNS

    def _expire(self) -> None:
        while True:
            time.sleep(EXPIRE_EVERY)
            try:
                store.expire(self.store, int(time.time()))
            except Exception:
                log.exception("purging expired metric points")

    def put_metric_data(self, ctx, request):
        now = int(time.time())
        given = data(request, now)
        with ctx.write() as db:
            store.put(db, given, now)
        return {}

    def list_metrics(self, ctx, request):
        now = int(time.time())
        active = now - 3 * 3600 if request.get("RecentlyActive") == "PT3H" else None
        wanted = request.get("Dimensions") or []
        with ctx.read() as db:
            rows = store.listed(db, now, request.get("Namespace"), request.get("MetricName"), active)

        def matches(row) -> bool:
            have = dict(json.loads(row["dimensions"]))
            return all(f["Name"] in have and ("Value" not in f or have[f["Name"]] == f["Value"]) for f in wanted)

        items = [r for r in rows if matches(r)]
        got, token = pagination.page(items, lambda r: r["series_id"], request.get("NextToken"), None,
                                     default=LIST_PAGE)
        return {"Metrics": [_metric_out(r) for r in got], **({"NextToken": token} if token else {})}

    # -- statistics ---------------------------------------------------------------------------

    def get_metric_statistics(self, ctx, request):
        now = int(time.time())
        start, end = _span(request, now)
        period = request["Period"]
        stats.check_period(period)
        basic, extended = request.get("Statistics") or [], request.get("ExtendedStatistics") or []
        if not basic and not extended:
            raise AWSError("MissingParameter", "Must specify either Statistics or ExtendedStatistics.")
        if basic and extended:
            raise AWSError("InvalidParameterCombination",
                           "The parameters Statistics and ExtendedStatistics are mutually exclusive.")
        for stat in extended:
            if not stats.is_percentile(stat):
                raise AWSError("InvalidParameterValue", f"The value {stat} for parameter ExtendedStatistics is "
                                                        "invalid: it must be a percentile from p0.0 to p100.")
        first = stats.origin(start, period, now)
        wanted = -(-(end - first) // period)
        if wanted > stats.MAX_DATAPOINTS:
            raise AWSError("InvalidParameterCombination", f"You have requested up to {wanted:,} datapoints, which "
                           f"exceeds the limit of {stats.MAX_DATAPOINTS:,}. You may reduce the datapoints requested "
                           "by increasing Period, or decreasing the time range.")
        metric = {k: request.get(k) for k in ("Namespace", "MetricName", "Dimensions")}
        with ctx.read() as db:
            buckets = stats.metric_buckets(db, metric, period, start, end, request.get("Unit"), now)
        points = []
        for (at, unit), agg in sorted(buckets.items()):
            point = {"Timestamp": at, "Unit": unit, **{s: stats.value(agg, s) for s in basic}}
            if extended:
                values = {s: stats.value(agg, s) for s in extended}
                point["ExtendedStatistics"] = {s: v for s, v in values.items() if v is not None}
            points.append(point)
        return {"Label": request["MetricName"], "Datapoints": points}

    # -- GetMetricData --------------------------------------------------------------------------

    def get_metric_data(self, ctx, request):
        now = int(time.time())
        start, end = _span(request, now)
        queries = check_queries(request["MetricDataQueries"], "MetricDataQueries")
        with ctx.read() as db:
            values = Evaluation(db, queries, start, end, now).all()
        results = [{"Id": q["Id"], "Label": q.get("Label") or label(q), "StatusCode": "Complete",
                    "series": values[q["Id"]]} for q in queries.values() if q.get("ReturnData", True)]
        return _paged(results, request)


def _paged(results: list[dict], request) -> dict:
    """The results newest first (or oldest first with ScanBy TimestampAscending), at most
    MaxDatapoints values in all; NextToken carries how many were given before."""
    ascending = request.get("ScanBy") == "TimestampAscending"
    limit = request.get("MaxDatapoints") or DEFAULT_MAX_DATAPOINTS
    skip = 0
    if request.get("NextToken"):
        try:
            skip = int(pagination.decode(request["NextToken"])["skip"])
        except (TypeError, KeyError, ValueError):
            raise AWSError("InvalidNextToken", "The service couldn't process the NextToken.") from None
    out, seen, room = [], 0, limit
    for r in results:
        series = sorted(r.pop("series").items(), reverse=not ascending)
        mine = series[max(0, skip - seen):][:room] if seen + len(series) > skip else []
        seen += len(series)
        room -= len(mine)
        out.append({**r, "Timestamps": [t for t, _ in mine], "Values": [v for _, v in mine]})
    total = sum(len(r["Timestamps"]) for r in out)
    more = skip + total < seen
    if more:
        for r in out:
            r["StatusCode"] = "PartialData"
    return {"MetricDataResults": out, "Messages": [],
            **({"NextToken": pagination.encode({"skip": skip + total})} if more else {})}
