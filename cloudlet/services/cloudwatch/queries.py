"""Metric data queries (GetMetricData's, and metric math alarms'): their validation, and each
query's time series once: MetricStats read from the store, expressions computed over them."""

from __future__ import annotations

import re

from cloudlet.edge.errors import AWSError

from . import statistics as stats
from .expressions import ExpressionError, evaluate

MAX_QUERIES = 500
_ID = re.compile(r"[a-z][a-zA-Z0-9_]*")


def check_queries(queries: list, member: str, code: str = "ValidationError") -> dict[str, dict]:
    """The queries by Id, in their order, or AWS's refusal (code, as the operation names it)."""
    if not queries or len(queries) > MAX_QUERIES:
        raise AWSError(code, f"{member} must hold 1 to {MAX_QUERIES} queries.")
    by_id: dict[str, dict] = {}
    for q in queries:
        qid = q["Id"]
        if not _ID.fullmatch(qid):
            raise AWSError(code, f"The value {qid} for parameter {member}.Id is invalid: it must start with a "
                                 "lowercase letter and hold only letters, digits and underscores.")
        if qid in by_id:
            raise AWSError(code, f"The value {qid} for parameter {member}.Id is not unique.")
        if ("MetricStat" in q) == ("Expression" in q):
            raise AWSError(code, f"The query {qid} must have exactly one of MetricStat and Expression.")
        if "MetricStat" in q:
            stat = q["MetricStat"]["Stat"]
            stats.check_period(q["MetricStat"]["Period"], f"{member}.{qid}.MetricStat.Period")
            if stat not in stats.BASIC and not stats.is_percentile(stat):
                raise AWSError(code, f"The value {stat} for parameter {member}.{qid}.MetricStat.Stat is invalid.")
        by_id[qid] = q
    return by_id


def label(q: dict) -> str:
    return q["MetricStat"]["Metric"]["MetricName"] if "MetricStat" in q else q["Id"]


class Evaluation:
    def __init__(self, db, queries: dict[str, dict], start: int, end: int, now: int, code: str = "ValidationError"):
        self.db, self.queries, self.code = db, queries, code
        self.start, self.end, self.now = start, end, now
        self.done: dict[str, object] = {}
        self.busy: set[str] = set()
        periods = [q["MetricStat"]["Period"] for q in queries.values() if "MetricStat" in q]
        period = min(periods) if periods else 60
        self.grid = range(stats.origin(start, period, now), end, period)

    def all(self) -> dict[str, dict]:
        """Each query's series (timestamp -> value), or AWS's refusal of an expression."""
        out = {}
        for qid in self.queries:
            try:
                got = self.value(qid)
            except ExpressionError as e:
                raise AWSError(self.code, f"Error in expression {qid}: {e}") from None
            if not isinstance(got, dict):
                raise AWSError(self.code, f"Error in expression {qid}: the expression must return a single time "
                                          "series.")
            out[qid] = got
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
                if "MetricStat" in q and text in (q.get("Label") or label(q))]

    def _stat(self, stat: dict) -> dict:
        buckets = stats.metric_buckets(self.db, stat["Metric"], stat["Period"], self.start, self.end,
                                       stat.get("Unit"), self.now)
        merged: dict = {}
        for (at, _unit), agg in sorted(buckets.items()):
            if at in merged:
                merged[at].merge(agg)  # one value per timestamp whatever the units
            else:
                merged[at] = agg
        values = {at: stats.value(agg, stat["Stat"]) for at, agg in merged.items()}
        return {at: v for at, v in values.items() if v is not None}
