"""CloudWatch metrics' state: series by account and region, and their points as aggregates
per period with AWS's retention (1-s points for 3 hours, 60-s for 15 days, 5-min for 63 days,
1-h for 455 days). A value lands in one row per period it is kept at, whatever the number of
requests that brought values for that second, minute or hour."""

from __future__ import annotations

import json
import math
import struct
from array import array
from dataclasses import dataclass, field

from sqlalchemy import text

from cloudlet.store.schema import metric_series

PERIODS = (1, 60, 300, 3600)
RETENTION = {1: 3 * 3600, 60: 15 * 86400, 300: 63 * 86400, 3600: 455 * 86400}
LISTED_FOR = 14 * 86400  # ListMetrics shows a metric for two weeks after its last value
MAX_PAIRS = 256  # (value, count) pairs kept per point for percentiles: ~1% rank error at worst
_SMALLEST, _LARGEST = 2.0 ** -260, 2.0 ** 360  # the magnitudes CloudWatch stores


def storable(value: float) -> bool:
    """Whether CloudWatch keeps this value (others are refused, or not published)."""
    return math.isfinite(value) and (value == 0 or _SMALLEST <= abs(value) <= _LARGEST)


@dataclass
class Agg:
    """What a point knows: count, sum, min, max, and the values (None once a statistic set,
    which has none, was merged in)."""
    count: float
    sum: float
    min: float
    max: float
    samples: list[tuple[float, float]] | None = field(default_factory=list)

    @classmethod
    def of(cls, value: float, count: float = 1.0) -> Agg:
        return cls(count, value * count, value, value, [(value, count)])

    @classmethod
    def of_values(cls, values: list[float]) -> Agg:
        """The aggregate of values seen once each, compacted at once (a batch of log events can
        bring thousands for one point)."""
        return cls(float(len(values)), sum(values), min(values), max(values), _compact([(v, 1.0) for v in values]))

    def merge(self, other: Agg) -> None:
        self.count += other.count
        self.sum += other.sum
        self.min, self.max = min(self.min, other.min), max(self.max, other.max)
        if self.samples is None or other.samples is None:
            self.samples = None
        else:
            self.samples = _compact(self.samples + other.samples)


def _compact(pairs: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Sorted, equal values together, and at most MAX_PAIRS: neighbours merged into their
    weighted mean (the counts, and so the ranks, stay exact)."""
    counts: dict[float, float] = {}
    for value, count in pairs:
        counts[value] = counts.get(value, 0.0) + count
    merged = sorted(counts.items())
    while len(merged) > MAX_PAIRS:
        halved = [((v1 * c1 + v2 * c2) / (c1 + c2), c1 + c2)
                  for (v1, c1), (v2, c2) in zip(merged[::2], merged[1::2])]
        merged = halved + merged[-1:] if len(merged) % 2 else halved
    return merged


def _pack(samples) -> bytes | None:
    return None if samples is None else array("d", [x for pair in samples for x in pair]).tobytes()


def _unpack(blob: bytes | None) -> list[tuple[float, float]] | None:
    if blob is None:
        return None
    flat = struct.unpack(f"<{len(blob) // 8}d", blob)
    return list(zip(flat[::2], flat[1::2]))


@dataclass
class Datum:
    namespace: str
    name: str
    dimensions: tuple[tuple[str, str], ...]  # sorted by name
    timestamp: int  # epoch seconds
    unit: str
    agg: Agg
    high_resolution: bool


def _encoded(pairs) -> str:
    """How a series' dimensions are stored: JSON of its (name, value) pairs sorted by name."""
    return json.dumps([list(p) for p in sorted(pairs)], separators=(",", ":"))


def dimensions_key(dimensions) -> str:
    return _encoded((d["Name"], d["Value"]) for d in dimensions)


_CHUNK = 400  # SQL variables per statement, under SQLite's limit with room for the others


def _chunks(items: list) -> list[list]:
    return [items[i:i + _CHUNK] for i in range(0, len(items), _CHUNK)]


def put(db, data: list[Datum], now: int) -> None:
    """Record data (already validated) in db, a Scoped transaction: a few statements per
    request whatever its size (on the driver's connection, in the same transaction, as
    SQLAlchemy's per-statement cost would be most of the work)."""
    cur = db.conn.connection.driver_connection.cursor()
    ids = _series_ids(cur, db.account_id, db.region, data, now)
    points: dict[tuple, Agg] = {}
    for d, series_id in zip(data, ids):
        for period in PERIODS if d.high_resolution else PERIODS[1:]:
            start = d.timestamp - d.timestamp % period
            if start + period <= now - RETENTION[period]:
                continue  # older than what this period keeps
            key = (series_id, period, start, d.unit)
            agg = Agg(d.agg.count, d.agg.sum, d.agg.min, d.agg.max, None if d.agg.samples is None else
                      list(d.agg.samples))
            if key in points:
                points[key].merge(agg)
            else:
                points[key] = agg
    for period in PERIODS:
        keys = [k for k in points if k[1] == period]
        starts = sorted({k[2] for k in keys})
        for part in _chunks(sorted({k[0] for k in keys})):
            for row in cur.execute(
                    f"SELECT series_id, start, unit, count, sum, min, max, samples FROM metric_points WHERE period = ? "
                    f"AND series_id IN ({','.join('?' * len(part))}) AND start IN ({','.join('?' * len(starts))})",
                    [period, *part, *starts]).fetchall():
                key = (row[0], period, row[1], row[2])
                if key in points:
                    stored = Agg(row[3], row[4], row[5], row[6], _unpack(row[7]))
                    stored.merge(points[key])
                    points[key] = stored
    cur.executemany(
        "INSERT OR REPLACE INTO metric_points (series_id, period, start, unit, count, sum, min, max, samples) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(*key, a.count, a.sum, a.min, a.max, _pack(None if a.samples is None else _compact(a.samples)))
         for key, a in points.items()])


def _series_ids(cur, account: str, region: str, data: list[Datum], now: int) -> list[int]:
    """The series of each of data, made where new, their last_put moved to now."""
    keys = [(d.namespace, d.name, _encoded(d.dimensions)) for d in data]
    high: dict[tuple, bool] = {}
    for key, d in zip(keys, data):
        high[key] = high.get(key, False) or d.high_resolution
    cur.executemany(
        "INSERT INTO metric_series (account_id, region, namespace, name, dimensions, high_resolution, last_put) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (account_id, region, namespace, name, dimensions) DO UPDATE SET "
        "last_put = excluded.last_put, high_resolution = max(high_resolution, excluded.high_resolution)",
        [(account, region, *k, int(h), now) for k, h in high.items()])
    ids: dict[tuple, int] = {}
    for namespace in {k[0] for k in high}:
        for name in {k[1] for k in high if k[0] == namespace}:
            for part in _chunks([k[2] for k in high if k[:2] == (namespace, name)]):
                ids.update(((namespace, name, dims), sid) for sid, dims in cur.execute(
                    f"SELECT series_id, dimensions FROM metric_series WHERE account_id = ? AND region = ? AND "
                    f"namespace = ? AND name = ? AND dimensions IN ({','.join('?' * len(part))})",
                    [account, region, namespace, name, *part]))
    return [ids[k] for k in keys]


def series(db, namespace: str, name: str, dimensions) -> dict | None:
    """The series of exactly these dimensions (AWS matches the whole set)."""
    return db.one(metric_series, metric_series.c.namespace == namespace, metric_series.c.name == name,
                  metric_series.c.dimensions == dimensions_key(dimensions))


def listed(db, now: int, namespace=None, name=None, active_since=None) -> list[dict]:
    where = [metric_series.c.last_put >= (active_since if active_since is not None else now - LISTED_FOR)]
    if namespace is not None:
        where.append(metric_series.c.namespace == namespace)
    if name is not None:
        where.append(metric_series.c.name == name)
    return db.select(metric_series, *where, order_by=metric_series.c.series_id)


def points(db, series_id: int, period: int, start: int, end: int, unit: str | None = None) -> list:
    """(start, unit, Agg) of series_id's points at period in [start, end). series_id comes from
    series() or listed(), which are scoped to db's account and region."""
    rows = db.conn.execute(text(
        "SELECT start, unit, count, sum, min, max, samples FROM metric_points WHERE series_id = :s AND period = :p "
        "AND start >= :a AND start < :b" + (" AND unit = :u" if unit is not None else "") + " ORDER BY start"),
        {"s": series_id, "p": period, "a": start, "b": end, "u": unit})
    return [(r.start, r.unit, Agg(r.count, r.sum, r.min, r.max, _unpack(r.samples))) for r in rows]


def expire(store, now: int) -> None:
    """Drop points past their period's retention, and series with nothing left."""
    with store.begin() as conn:
        for period, keep in RETENTION.items():
            conn.execute(text("DELETE FROM metric_points WHERE period = :p AND start < :t"),
                         {"p": period, "t": now - keep})
        conn.execute(text("DELETE FROM metric_series WHERE last_put < :t AND NOT EXISTS "
                          "(SELECT 1 FROM metric_points WHERE metric_points.series_id = metric_series.series_id)"),
                     {"t": now - LISTED_FOR})
