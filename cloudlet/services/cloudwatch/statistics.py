"""Statistics over a metric's points: which stored period answers a query, the buckets of the
query's period, and each statistic of a bucket (percentiles from the values kept)."""

from __future__ import annotations

import re

from cloudlet.edge.errors import AWSError
from cloudlet.store import metrics as store
from cloudlet.store.metrics import Agg

from .metrics import check_dimensions

BASIC = ("SampleCount", "Average", "Sum", "Minimum", "Maximum")
_PERCENTILE = re.compile(r"p(\d{1,2}(\.\d{1,10})?|100(\.0{1,10})?)")
SUB_MINUTE = (1, 5, 10, 30)
MAX_DATAPOINTS = 1440  # GetMetricStatistics' limit per call


def check_period(period: int, member: str = "Period") -> None:
    if period <= 0 or (period not in SUB_MINUTE and period % 60):
        raise AWSError("InvalidParameterValue", f"The parameter {member} must be 1, 5, 10, 30, or a multiple of 60.")


def is_percentile(stat: str) -> bool:
    return bool(_PERCENTILE.fullmatch(stat))


def _step(start: int, period: int, now: int) -> int:
    """What StartTime is rounded down to, as AWS documents: the minute for data under 15 days
    old, 5 minutes under 63 days, the hour beyond; the period itself for sub-minute periods."""
    if period < 60:
        return period
    age = now - start
    return 60 if age < store.RETENTION[60] else 300 if age < store.RETENTION[300] else 3600


def origin(start: int, period: int, now: int) -> int:
    """Where a query's buckets begin."""
    return start - start % _step(start, period, now)


def source_period(period: int, start: int, now: int, high_resolution: bool) -> int | None:
    """The stored period a query of this period from start reads: the coarsest that divides
    both the period and the buckets' alignment and is still kept at start (1-s points only for
    high-resolution metrics); None when none is (as on AWS, a 60-s query of data over 15 days
    old returns nothing)."""
    step = _step(start, period, now)
    kept = [s for s in store.PERIODS if period % s == 0 and step % s == 0 and start >= now - store.RETENTION[s]
            and (s > 1 or high_resolution)]
    if kept:
        return kept[-1]
    if period < 60 and not high_resolution and start >= now - store.RETENTION[60]:
        return 60  # a standard metric's minute, in the sub-minute bucket it starts
    return None


def metric_buckets(db, metric: dict, period: int, start: int, end: int, unit, now: int) -> dict:
    """{(bucket, unit): Agg} of one metric ({Namespace, MetricName, Dimensions}) over
    [start, end) at period."""
    dims = metric.get("Dimensions") or []
    check_dimensions(dims, "Dimensions")
    found = store.series(db, metric["Namespace"], metric["MetricName"], dims)
    if found is None:
        return {}
    source = source_period(period, start, now, bool(found["high_resolution"]))
    if source is None:
        return {}
    first = origin(start, period, now)
    return buckets(store.points(db, found["series_id"], source, first, end, unit), period, first)


def buckets(points: list, period: int, first: int) -> dict[tuple[int, str], Agg]:
    """(bucket start, unit) -> the merged points of that bucket."""
    out: dict[tuple[int, str], Agg] = {}
    for start, unit, agg in points:
        key = (first + (start - first) // period * period, unit)
        if key in out:
            out[key].merge(agg)
        else:
            out[key] = agg
    return out


def value(agg: Agg, stat: str) -> float | None:
    """One statistic of a bucket; None where AWS has none (a percentile of statistic sets)."""
    match stat:
        case "SampleCount":
            return agg.count
        case "Average":
            return agg.sum / agg.count if agg.count else 0.0
        case "Sum":
            return agg.sum
        case "Minimum":
            return agg.min
        case "Maximum":
            return agg.max
    return percentile(agg, float(stat[1:]))


def percentile(agg: Agg, q: float) -> float | None:
    """The smallest value with at least q% of the values at or below it (nearest rank)."""
    if agg.samples is None or not agg.samples:
        return None
    total = sum(c for _, c in agg.samples)
    rank, seen = q / 100 * total, 0.0
    for v, c in agg.samples:
        seen += c
        if seen >= rank:
            return min(max(v, agg.min), agg.max)
    return agg.max
