"""What storing log events publishes to CloudWatch metrics, in the transaction that stores them:
AWS/Logs' IncomingBytes and IncomingLogEvents (by LogGroupName, and for the whole account as
AWS also publishes them) and the values of the group's metric filters, in one metrics.put per
batch. The filters are read and measured before that transaction (logs.put_events).

A filter publishes its metricValue (a number, or a $-reference to a value its pattern
extracts) for each event it matches, at the event's time, with its dimensions taken from the
match; for an event it does not match, its defaultValue if it has one. Values are gathered per
series and minute before they become aggregates, so a batch costs a few statements whatever
its size; a group without filters costs one indexed lookup."""

from __future__ import annotations

import json

from . import metrics
from .log_conditions import PatternError, number
from .log_patterns import compile_pattern
from .metrics import Agg, Datum, storable
from .schema import log_metric_filters

MAX_SERIES = 1000  # dimension combinations one filter publishes per batch (AWS disables a filter past 1,000)
MAX_DIMENSION_VALUE = 1024  # CloudWatch's longest dimension value


def filters(db, group: str) -> list[_Filter]:
    """The group's metric filters, ready to measure events."""
    found = [_Filter(db, json.loads(row["body"]))
             for row in db.select(log_metric_filters, log_metric_filters.c.log_group == group)]
    return [f for f in found if f.pattern is not None]


def measure(found: list[_Filter], events: list[tuple[int, str]]) -> list[Datum]:
    """What the filters found publish for these (timestamp ms, message) events."""
    for event in events:  # event by event, so that filters share each message's parse
        for f in found:
            f.add(*event)
    return [datum for f in found for datum in f.data()]


def publish(db, group: str, count: int, size: int, now_ms: int, measured: list[Datum]) -> None:
    """Publish the storing of `count` events of `size` bytes, and what filters measured of them."""
    now = now_ms // 1000
    metrics.put(db, [Datum("AWS/Logs", name, dimensions, now, unit, Agg.of(float(value)), False)
                     for dimensions in ((("LogGroupName", group),), ())
                     for name, unit, value in (("IncomingBytes", "Bytes", size), ("IncomingLogEvents", "Count", count))]
                + measured, now)


class _Filter:
    """One metric filter's values over a batch, by series and minute."""

    def __init__(self, db, body: dict):
        try:
            self.pattern = compile_pattern(body["filterPattern"])
        except PatternError:  # put checked it; a stricter grammar later must not stop ingestion
            self.pattern = None
        self.t = t = body["metricTransformations"][0]
        self.reference, self.default = t["metricValue"], t.get("defaultValue")
        self.literal = number(self.reference)
        self.wanted = sorted((t.get("dimensions") or {}).items())
        self.system = tuple((f, db.account_id if f == "@aws.account" else db.region)
                            for f in body.get("emitSystemFieldDimensions") or [])
        self.values: dict[tuple, list[float]] = {}
        self.series: set[tuple] = set()

    def add(self, timestamp: int, message: str) -> None:
        match = self.pattern.match(message)
        if match is None:
            if self.default is None:
                return
            value, dimensions = self.default, ()
        else:
            value = self.literal if self.literal is not None else match.number(self.reference)
            dimensions = _dimensions(match, self.wanted)
            if value is None or not storable(value) or dimensions is None:
                return
        if dimensions or self.system:
            dimensions = tuple(sorted(dimensions + self.system))
        if dimensions not in self.series:
            if len(self.series) >= MAX_SERIES:
                return
            self.series.add(dimensions)
        seconds = timestamp // 1000
        self.values.setdefault((dimensions, seconds - seconds % 60), []).append(value)

    def data(self) -> list[Datum]:
        t = self.t
        return [Datum(t["metricNamespace"], t["metricName"], dimensions, minute, t.get("unit") or "None",
                      Agg.of_values(vs), False)
                for (dimensions, minute), vs in self.values.items()]


def _dimensions(match, wanted: list[tuple[str, str]]) -> tuple | None:
    """(name, value) of each dimension the filter takes from the match; None if one is missing."""
    out = []
    for name, reference in wanted:
        value = match.lookup(reference)
        if not value or len(value) > MAX_DIMENSION_VALUE:
            return None
        out.append((name, value))
    return tuple(out)
