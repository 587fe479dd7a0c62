"""CloudWatch Logs' state: groups, streams and their events, kept by account and region.
The Logs API (services/logs) and the awslogs driver of ECS tasks (control/tasks.py) both
write through here, so a container's output and a PutLogEvents call end up alike, metrics
included (log_metrics.py: AWS/Logs' and those of the group's metric filters)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import func, insert, select

from cloudlet.store import log_metrics, log_objects
from cloudlet.store.schema import log_events, log_groups, log_metric_filters, log_streams

EVENT_OVERHEAD = 26  # bytes CloudWatch counts per event besides its message
MAX_FUTURE_MS = 2 * 3600 * 1000
MAX_AGE_MS = 14 * 24 * 3600 * 1000
QUERY_KEPT_MS = 7 * 24 * 3600 * 1000  # how long an Insights query and its results are kept


class LogsError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def now_ms() -> int:
    return int(time.time() * 1000)


def group(db, name: str) -> dict:
    row = db.one(log_groups, log_groups.c.name == name)
    if row is None:
        raise LogsError("ResourceNotFoundException", "The specified log group does not exist.")
    return row


def stream(db, group_name: str, name: str) -> dict:
    group(db, group_name)
    row = db.one(log_streams, log_streams.c.log_group == group_name, log_streams.c.name == name)
    if row is None:
        raise LogsError("ResourceNotFoundException", "The specified log stream does not exist.")
    return row


def create_group(db, name: str, kms_key_id: str | None = None, exist_ok: bool = False) -> None:
    if db.one(log_groups, log_groups.c.name == name):
        if exist_ok:
            return
        raise LogsError("ResourceAlreadyExistsException", "The specified log group already exists")
    db.insert(log_groups, name=name, created_at=now_ms(), kms_key_id=kms_key_id)


def create_stream(db, group_name: str, name: str, exist_ok: bool = False) -> None:
    group(db, group_name)
    if db.one(log_streams, log_streams.c.log_group == group_name, log_streams.c.name == name):
        if exist_ok:
            return
        raise LogsError("ResourceAlreadyExistsException", "The specified log stream already exists")
    db.insert(log_streams, log_group=group_name, name=name, created_at=now_ms(), stored_bytes=0)


@dataclass
class Rejected:
    too_new_from: int | None = None  # index of the first event too far in the future
    too_old_to: int | None = None  # index of the last event older than 14 days
    expired_to: int | None = None  # index of the last event older than the group's retention


def put_events(scoped, group_name: str, stream_name: str, events: list[tuple[int, str]]) -> Rejected:
    """Store (timestamp ms, message) events, which must be in time order; those CloudWatch
    would reject for their age are left out and reported, as PutLogEvents reports them.

    `scoped(write=...)` opens a transaction of one account and region. The group's metric
    filters are read in one that only reads and run over the events before the one that writes
    (events, streams' figures and every metric at once): however many filters a tenant keeps,
    their work never holds the store's write lock."""
    if any(a[0] > b[0] for a, b in zip(events, events[1:])):
        raise LogsError("InvalidParameterException",
                        "Log events in a single PutLogEvents request must be in chronological order.")
    ingested = now_ms()
    with scoped(write=False) as db:
        retention = group(db, group_name)["retention_days"]
        stream(db, group_name, stream_name)
        filters = log_metrics.filters(db, group_name)
    rejected = Rejected()
    kept = []
    for i, (ts, message) in enumerate(events):
        if ts > ingested + MAX_FUTURE_MS:
            rejected.too_new_from = i if rejected.too_new_from is None else rejected.too_new_from
        elif ts < ingested - MAX_AGE_MS:
            rejected.too_old_to = i
        elif retention and ts < ingested - retention * 86400 * 1000:
            rejected.expired_to = i
        else:
            kept.append((ts, message))
    if not kept:
        return rejected
    measured = log_metrics.measure(filters, kept)
    size = sum(len(message.encode()) for _, message in kept)
    with scoped(write=True) as db:
        info = stream(db, group_name, stream_name)  # it may have gone meanwhile
        db.conn.execute(insert(log_events), [
            {"account_id": db.account_id, "region": db.region, "log_group": group_name, "log_stream": stream_name,
             "timestamp": ts, "ingestion": ingested, "message": message} for ts, message in kept])
        db.update(log_streams, log_streams.c.log_group == group_name, log_streams.c.name == stream_name,
                  first_event=min([info["first_event"] or kept[0][0], kept[0][0]]),
                  last_event=max(info["last_event"] or 0, kept[-1][0]), last_ingestion=ingested,
                  stored_bytes=info["stored_bytes"] + size + EVENT_OVERHEAD * len(kept))
        log_metrics.publish(db, group_name, len(kept), size, ingested, measured)
    return rejected


def expire(store) -> int:
    """Drop events older than their group's retention, and Insights queries past a week (every
    account); returns how many events went."""
    removed = 0
    with store.begin() as conn:
        groups = conn.execute(select(log_groups).where(log_groups.c.retention_days.is_not(None))).all()
        for g in groups:
            cutoff = now_ms() - g.retention_days * 86400 * 1000
            removed += conn.execute(log_events.delete().where(
                log_events.c.account_id == g.account_id, log_events.c.region == g.region,
                log_events.c.log_group == g.name, log_events.c.timestamp < cutoff)).rowcount
        log_objects.expire_queries(conn, now_ms() - QUERY_KEPT_MS)
    return removed


def delete_group(db, name: str) -> None:
    """The group and all it holds: streams, events, metric and subscription filters, its policy."""
    group(db, name)
    for table in (log_events, log_streams, log_metric_filters):
        db.delete(table, table.c.log_group == name)
    for kind in (log_objects.SUBSCRIPTION_FILTER, log_objects.POLICY):
        log_objects.delete(db, kind, name)
    db.delete(log_groups, log_groups.c.name == name)


def stored_bytes(db, group_name: str) -> int:
    return db.conn.execute(select(func.coalesce(func.sum(log_streams.c.stored_bytes), 0)).where(
        log_streams.c.account_id == db.account_id, log_streams.c.region == db.region,
        log_streams.c.log_group == group_name)).scalar_one()
