"""CloudWatch Logs: log groups and streams, PutLogEvents, GetLogEvents, FilterLogEvents,
retention (applied when events are read, and purged in the background); tags (tagging.py),
metric filters (metric_filters.py), subscription filters (subscriptions.py), resource policies
(policies.py), Logs Insights queries (queries.py) and export tasks to the data dir (exports.py)."""

from __future__ import annotations

import logging
import threading
import time
from functools import partial

from sqlalchemy import select

from cloudlet.edge.errors import AWSError
from cloudlet.services.common import pagination, tags
from cloudlet.store import logs as store_logs
from cloudlet.store.schema import log_events, log_groups, log_streams

from .errors import as_aws
from .exports import ExportTasksAPI
from .metric_filters import MetricFiltersAPI, filter_count
from .patterns import compile_pattern
from .policies import ResourcePoliciesAPI
from .queries import QueriesAPI
from .subscriptions import SubscriptionFiltersAPI
from .tagging import TaggingAPI, group_arn, put_on_create

log = logging.getLogger("cloudlet.logs")
RETENTION_DAYS = {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
                  3288, 3653}
MAX_BATCH_EVENTS, MAX_BATCH_BYTES = 10_000, 1_048_576
PURGE_EVERY = 600.0  # seconds between purges of events past their group's retention


def _group_name(request) -> str:
    name = request.get("logGroupName") or (request.get("logGroupIdentifier") or "").rsplit(":log-group:", 1)[-1]
    if not name:
        raise AWSError("InvalidParameterException", "Either logGroupName or logGroupIdentifier must be given.")
    return name.removesuffix(":*")


class Logs(TaggingAPI, MetricFiltersAPI, SubscriptionFiltersAPI, ResourcePoliciesAPI, QueriesAPI, ExportTasksAPI):
    def __init__(self, config, store):
        self.config = config
        self.store = store
        threading.Thread(target=self._purge, name="logs-retention", daemon=True).start()

    def _purge(self) -> None:
        while True:
            time.sleep(PURGE_EVERY)
            try:
                store_logs.expire(self.store)
            except Exception:
                log.exception("purging expired log events")

    def _group_out(self, ctx, db, row: dict) -> dict:
        arn = group_arn(ctx, row["name"])
        out = {"logGroupName": row["name"], "creationTime": row["created_at"],
               "metricFilterCount": filter_count(db, row["name"]),
               "arn": f"{arn}:*", "logGroupArn": arn, "storedBytes": store_logs.stored_bytes(db, row["name"]),
               "logGroupClass": "STANDARD"}
        if row["retention_days"]:
            out["retentionInDays"] = row["retention_days"]
        if row["kms_key_id"]:
            out["kmsKeyId"] = row["kms_key_id"]
        return out

    # -- groups and streams ----------------------------------------------------------------

    def create_log_group(self, ctx, request):
        with ctx.write() as db, as_aws():
            store_logs.create_group(db, request["logGroupName"], request.get("kmsKeyId"))
            put_on_create(ctx, db, request["logGroupName"], request.get("tags"))
        return {}

    def delete_log_group(self, ctx, request):
        name = request["logGroupName"]
        with ctx.write() as db, as_aws():
            store_logs.delete_group(db, name)
            tags.drop_resource(db, group_arn(ctx, name))
        return {}

    def describe_log_groups(self, ctx, request):
        prefix, pattern = request.get("logGroupNamePrefix"), request.get("logGroupNamePattern")
        if prefix and pattern:
            raise AWSError("InvalidParameterException", "LogGroup name prefix and LogGroup name pattern are "
                           "mutually exclusive parameters.")
        with ctx.read() as db:
            rows = [r for r in db.select(log_groups) if r["name"].startswith(prefix or "") and
                    (not pattern or pattern.lower() in r["name"].lower())]
            page, token = pagination.page(rows, lambda r: r["name"], request.get("nextToken"), request.get("limit"),
                                          default=50, maximum=50)
            return {"logGroups": [self._group_out(ctx, db, r) for r in page], "nextToken": token}

    def create_log_stream(self, ctx, request):
        with ctx.write() as db, as_aws():
            store_logs.create_stream(db, request["logGroupName"], request["logStreamName"])
        return {}

    def delete_log_stream(self, ctx, request):
        group, name = request["logGroupName"], request["logStreamName"]
        with ctx.write() as db, as_aws():
            store_logs.stream(db, group, name)
            db.delete(log_events, log_events.c.log_group == group, log_events.c.log_stream == name)
            db.delete(log_streams, log_streams.c.log_group == group, log_streams.c.name == name)
        return {}

    def describe_log_streams(self, ctx, request):
        group = _group_name(request)
        order = request.get("orderBy") or "LogStreamName"
        if order == "LastEventTime" and request.get("logStreamNamePrefix"):
            raise AWSError("InvalidParameterException", "Cannot order by LastEventTime with a logStreamNamePrefix.")
        with ctx.read() as db, as_aws():
            store_logs.group(db, group)
            rows = [r for r in db.select(log_streams, log_streams.c.log_group == group)
                    if r["name"].startswith(request.get("logStreamNamePrefix") or "")]
        rows.sort(key=(lambda r: (r["last_event"] or 0, r["name"])) if order == "LastEventTime" else
                  (lambda r: r["name"]), reverse=bool(request.get("descending")))
        page, token = _by_position(rows, request)
        arn = group_arn(ctx, group)
        return {"logStreams": [{"logStreamName": r["name"], "creationTime": r["created_at"],
                                "firstEventTimestamp": r["first_event"], "lastEventTimestamp": r["last_event"],
                                "lastIngestionTime": r["last_ingestion"], "storedBytes": r["stored_bytes"],
                                "arn": f"{arn}:log-stream:{r['name']}"} for r in page], "nextToken": token}

    def put_retention_policy(self, ctx, request):
        days = request["retentionInDays"]
        if days not in RETENTION_DAYS:
            raise AWSError("InvalidParameterException", f"1 validation error detected: Value '{days}' at "
                           "'retentionInDays' failed to satisfy constraint: Member must satisfy enum value set: "
                           f"[{', '.join(str(d) for d in sorted(RETENTION_DAYS))}]")
        with ctx.write() as db, as_aws():
            store_logs.group(db, request["logGroupName"])
            db.update(log_groups, log_groups.c.name == request["logGroupName"], retention_days=days)
        return {}

    def delete_retention_policy(self, ctx, request):
        with ctx.write() as db, as_aws():
            store_logs.group(db, request["logGroupName"])
            db.update(log_groups, log_groups.c.name == request["logGroupName"], retention_days=None)
        return {}

    # -- events --------------------------------------------------------------------------------

    def put_log_events(self, ctx, request):
        events = request["logEvents"]
        if len(events) > MAX_BATCH_EVENTS or \
                sum(len(e["message"].encode()) + store_logs.EVENT_OVERHEAD for e in events) > MAX_BATCH_BYTES:
            raise AWSError("InvalidParameterException", "Upload too large: a batch holds at most 10,000 events "
                           "and 1,048,576 bytes.")
        with as_aws():
            rejected = store_logs.put_events(partial(ctx.store.scoped, ctx.account_id, ctx.region),
                                             request["logGroupName"], request["logStreamName"],
                                             [(e["timestamp"], e["message"]) for e in events])
        out = {"nextSequenceToken": f"{store_logs.now_ms():056d}"}
        info = {k: v for k, v in (("tooNewLogEventStartIndex", rejected.too_new_from),
                                  ("tooOldLogEventEndIndex", rejected.too_old_to),
                                  ("expiredLogEventEndIndex", rejected.expired_to)) if v is not None}
        if info:
            out["rejectedLogEventsInfo"] = info
        return out

    def _events(self, db, group: str, where, retention_days) -> list:
        query = select(log_events).where(log_events.c.account_id == db.account_id, log_events.c.region == db.region,
                                         log_events.c.log_group == group, *where)
        if retention_days:
            query = query.where(log_events.c.timestamp >= store_logs.now_ms() - retention_days * 86400 * 1000)
        return list(db.conn.execute(query.order_by(log_events.c.timestamp, log_events.c.seq)))

    def get_log_events(self, ctx, request):
        group, name = _group_name(request), request["logStreamName"]
        limit = request.get("limit") or 10_000
        with ctx.read() as db, as_aws():
            retention = store_logs.group(db, group)["retention_days"]
            store_logs.stream(db, group, name)
            where = [log_events.c.log_stream == name]
            if request.get("startTime") is not None:
                where.append(log_events.c.timestamp >= request["startTime"])
            if request.get("endTime") is not None:
                where.append(log_events.c.timestamp < request["endTime"])
            rows = self._events(db, group, where, retention)
        # Tokens are positions in the time-ordered stream: f/<next index>, b/<first index>.
        token = request.get("nextToken")
        if token:
            try:
                direction, position = token.split("/", 1)
                position = int(position)
            except ValueError:
                raise AWSError("InvalidParameterException", "The specified nextToken is invalid.") from None
        else:
            direction = "f" if request.get("startFromHead") else "b"
            position = 0 if direction == "f" else len(rows)
        start, end = (position, min(len(rows), position + limit)) if direction == "f" else \
            (max(0, position - limit), position)
        page = rows[start:end]
        return {"events": [{"timestamp": r.timestamp, "message": r.message, "ingestionTime": r.ingestion}
                           for r in page],
                "nextForwardToken": f"f/{end}", "nextBackwardToken": f"b/{start}"}

    def filter_log_events(self, ctx, request):
        group = _group_name(request)
        if request.get("logStreamNames") and request.get("logStreamNamePrefix"):
            raise AWSError("InvalidParameterException", "logStreamNames and logStreamNamePrefix are mutually "
                           "exclusive.")
        match = compile_pattern(request.get("filterPattern"))
        with ctx.read() as db, as_aws():
            retention = store_logs.group(db, group)["retention_days"]
            where = []
            if request.get("logStreamNames"):
                where.append(log_events.c.log_stream.in_(request["logStreamNames"]))
            if request.get("logStreamNamePrefix"):
                where.append(log_events.c.log_stream.startswith(request["logStreamNamePrefix"], autoescape=True))
            if request.get("startTime") is not None:
                where.append(log_events.c.timestamp >= request["startTime"])
            if request.get("endTime") is not None:
                where.append(log_events.c.timestamp <= request["endTime"])
            rows = [r for r in self._events(db, group, where, retention) if match(r.message)]
        page, token = pagination.page(rows, lambda r: (r.timestamp, r.seq), request.get("nextToken"),
                                      request.get("limit"), default=10_000, maximum=10_000)
        return {"events": [{"logStreamName": r.log_stream, "timestamp": r.timestamp, "message": r.message,
                            "ingestionTime": r.ingestion, "eventId": f"{r.seq:056d}"} for r in page],
                "searchedLogStreams": [], "nextToken": token}


def _by_position(rows: list, request) -> tuple[list, str | None]:
    """A page of rows already in order; the token is the position of the next one."""
    token = request.get("nextToken") or "0"
    if not token.isdigit():
        raise AWSError("InvalidParameterException", "The specified nextToken is invalid.")
    start, limit = int(token), request.get("limit") or 50
    if not 1 <= limit <= 50:
        raise AWSError("InvalidParameterException", "limit must be between 1 and 50.")
    return rows[start:start + limit], str(start + limit) if start + limit < len(rows) else None
