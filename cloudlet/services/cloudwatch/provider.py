"""CloudWatch metrics: PutMetricData, GetMetricStatistics, GetMetricData (metric math) and
ListMetrics, over the store's roll-ups, on all three of the model's protocols (CBOR, JSON,
query)."""

from __future__ import annotations

import json
import logging
import re
import threading
import time

from cloudlet.edge.errors import AWSError
from cloudlet.services.common import pagination
from cloudlet.store import metrics as store

from . import statistics as stats
from .expressions import ExpressionError, evaluate
from .metrics import check_dimensions, data

log = logging.getLogger("cloudlet.cloudwatch")
EXPIRE_EVERY = 600.0  # seconds between purges of points past their retention
LIST_PAGE = 500
MAX_QUERIES, DEFAULT_MAX_DATAPOINTS = 500, 100_800
_ID = re.compile(r"[a-z][a-zA-Z0-9_]*")


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


class CloudWatch:
    def __init__(self, config, store_):
        self.config = config
        self.store = store_
        threading.Thread(target=self._expire, name="metrics-retention", daemon=True).start()

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

    def _buckets(self, db, metric: dict, period: int, start: int, end: int, unit, now: int):
        """(origin, {(bucket, unit): Agg}) of one metric over [start, end) at period."""
        dims = metric.get("Dimensions") or []
        check_dimensions(dims, "Dimensions")
        found = store.series(db, metric["Namespace"], metric["MetricName"], dims)
        first = stats.origin(start, period, now)
        if found is None:
            return first, {}
        source = stats.source_period(period, start, now, bool(found["high_resolution"]))
        if source is None:
            return first, {}
        points = store.points(db, found["series_id"], source, first, end, unit)
        return first, stats.buckets(points, period, first)

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
            _, buckets = self._buckets(db, metric, period, start, end, request.get("Unit"), now)
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
        queries = request["MetricDataQueries"]
        if not queries or len(queries) > MAX_QUERIES:
            raise AWSError("ValidationError", f"MetricDataQueries must hold 1 to {MAX_QUERIES} queries.")
        by_id = {}
        for q in queries:
            if not _ID.fullmatch(q["Id"]):
                raise AWSError("ValidationError", f"The value {q['Id']} for parameter MetricDataQueries.Id is "
                                                  "invalid: it must start with a lowercase letter and hold only "
                                                  "letters, digits and underscores.")
            if q["Id"] in by_id:
                raise AWSError("ValidationError", f"The value {q['Id']} for parameter MetricDataQueries.Id is "
                                                  "not unique.")
            if ("MetricStat" in q) == ("Expression" in q):
                raise AWSError("ValidationError", f"The query {q['Id']} must have exactly one of MetricStat and "
                                                  "Expression.")
            if "MetricStat" in q:
                stat = q["MetricStat"]["Stat"]
                stats.check_period(q["MetricStat"]["Period"], f"MetricDataQueries.{q['Id']}.MetricStat.Period")
                if stat not in stats.BASIC and not stats.is_percentile(stat):
                    raise AWSError("ValidationError", f"The value {stat} for parameter "
                                                      f"MetricDataQueries.{q['Id']}.MetricStat.Stat is invalid.")
            by_id[q["Id"]] = q
        with ctx.read() as db:
            values = _Evaluation(self, db, by_id, start, end, now).all()
        results = [{"Id": q["Id"], "Label": q.get("Label") or _label(q), "StatusCode": "Complete",
                    **values[q["Id"]]} for q in queries if q.get("ReturnData", True)]
        return _paged(results, request)


def _label(q: dict) -> str:
    return q["MetricStat"]["Metric"]["MetricName"] if "MetricStat" in q else q["Id"]


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


class _Evaluation:
    """Each query's series once: MetricStats read from the store, expressions over them."""

    def __init__(self, cw: CloudWatch, db, queries: dict, start: int, end: int, now: int):
        self.cw, self.db, self.queries = cw, db, queries
        self.start, self.end, self.now = start, end, now
        self.done: dict[str, object] = {}
        self.busy: set[str] = set()
        periods = [q["MetricStat"]["Period"] for q in queries.values() if "MetricStat" in q]
        self.period = min(periods) if periods else 60
        first = stats.origin(start, self.period, now)
        self.grid = range(first, end, self.period)

    def all(self) -> dict[str, dict]:
        out = {}
        for qid, q in self.queries.items():
            try:
                got = self.value(qid)
            except ExpressionError as e:
                raise AWSError("ValidationError", f"Error in expression {qid}: {e}") from None
            if not isinstance(got, dict):
                raise AWSError("ValidationError", f"Error in expression {qid}: the expression must return a single "
                                                  "time series.")
            out[qid] = {"series": got}
        return out

    def value(self, qid: str):
        if qid in self.done:
            return self.done[qid]
        q = self.queries.get(qid)
        if q is None:
            raise ExpressionError(f"Unrecognized token: {qid}.")
        if qid in self.busy:
            raise ExpressionError(f"{qid} refers to itself.")
        self.busy.add(qid)
        if "MetricStat" in q:
            got = self._stat(q["MetricStat"])
        else:
            got = evaluate(q["Expression"], self.value, self._metrics, self.grid)
        self.busy.discard(qid)
        self.done[qid] = got
        return got

    def _metrics(self, text: str) -> list:
        return [self.value(qid) for qid, q in self.queries.items()
                if "MetricStat" in q and text in (q.get("Label") or _label(q))]

    def _stat(self, stat: dict) -> dict:
        _, buckets = self.cw._buckets(self.db, stat["Metric"], stat["Period"], self.start, self.end,
                                      stat.get("Unit"), self.now)
        merged: dict[int, object] = {}
        for (at, _unit), agg in sorted(buckets.items()):
            if at in merged:
                merged[at].merge(agg)  # one value per timestamp whatever the units
            else:
                merged[at] = agg
        values = {at: stats.value(agg, stat["Stat"]) for at, agg in merged.items()}
        return {at: v for at, v in values.items() if v is not None}
