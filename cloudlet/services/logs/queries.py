"""CloudWatch Logs Insights: StartQuery, GetQueryResults, StopQuery and DescribeQueries.

StartQuery checks the query (insights_parse.py), runs it at once over the stored events of
its log groups in its time range (insights_run.py; seconds, both ends included, each group's
retention applied) in a read-only transaction, and keeps the query with its results for 7
days (store/logs.py purges them), so a query is Complete when its id is returned and
StopQuery finds it no longer running, as AWS answers for a query that has ended. Only the
Logs Insights query language (CWLI) is offered."""

from __future__ import annotations

import base64
import uuid

from sqlalchemy import select

from cloudlet.edge.errors import AWSError
from cloudlet.store import log_objects
from cloudlet.store import logs as store_logs
from cloudlet.store.log_objects import QUERY
from cloudlet.store.schema import log_events

from .errors import as_aws, invalid
from .paging import page
from .insights_parse import QueryError, parse
from .insights_run import Event, run

MAX_GROUPS = 50
DEFAULT_LIMIT = 1000


def _malformed(e: QueryError) -> AWSError:
    compile_error = {"location": {"startCharOffset": e.start, "endCharOffset": e.end}, "message": e.message}
    return AWSError("MalformedQueryException", e.message, fields={"queryCompileError": compile_error})


def _group_names(ctx, request) -> list[str]:
    given = [m for m in ("logGroupName", "logGroupNames", "logGroupIdentifiers") if request.get(m)]
    if len(given) != 1:
        raise invalid("Exactly one of logGroupName, logGroupNames or logGroupIdentifiers must be given.")
    names = [request["logGroupName"]] if given[0] == "logGroupName" else list(request[given[0]])
    if len(names) > MAX_GROUPS:
        raise invalid(f"A query can name at most {MAX_GROUPS} log groups.")
    prefix = ctx.arn("logs", "log-group:")
    out = []
    for name in names:
        if name.startswith("arn:"):
            if name.endswith("*") or not name.startswith(prefix):  # another account's or region's
                raise AWSError("ResourceNotFoundException", f"Log group '{name}' does not exist.")
            name = name[len(prefix):]
        if name not in out:
            out.append(name)
    return out


def _events(db, groups: dict[str, int | None], start_ms: int, end_ms: int):
    """The groups' events in the range, newest first, read as the query goes."""
    now = store_logs.now_ms()
    query = select(log_events).where(
        log_events.c.account_id == db.account_id, log_events.c.region == db.region,
        log_events.c.log_group.in_(list(groups)), log_events.c.timestamp.between(start_ms, end_ms)).order_by(
        log_events.c.timestamp.desc(), log_events.c.seq.desc())
    for row in db.conn.execute(query):
        retention = groups[row.log_group]
        if retention and row.timestamp < now - retention * 86400 * 1000:
            continue
        ptr = base64.urlsafe_b64encode(f"{row.log_group}\n{row.seq}".encode()).decode()
        yield Event(row.log_group, row.log_stream, row.timestamp, row.ingestion, row.message, ptr)


def _public(body: dict) -> dict:
    return {k: v for k, v in body.items() if not k.startswith("_")}


class QueriesAPI:
    """The Logs Insights operations of the Logs provider."""

    def start_query(self, ctx, request):
        if (request.get("queryLanguage") or "CWLI") != "CWLI":
            raise invalid(f"The query language {request['queryLanguage']} is not offered here; use CWLI.")
        if request["endTime"] < request["startTime"]:
            raise invalid("The endTime must not be before the startTime.")
        try:
            commands = parse(request["queryString"])
        except QueryError as e:
            raise _malformed(e) from None
        names = _group_names(ctx, request)
        query_id = str(uuid.uuid4())
        created = store_logs.now_ms()
        with ctx.read() as db, as_aws():
            groups = {name: store_logs.group(db, name)["retention_days"] for name in names}
            outcome = run(commands, _events(db, groups, request["startTime"] * 1000, request["endTime"] * 1000 + 999),
                          ctx.account_id, request.get("limit") or DEFAULT_LIMIT)
        body = {"queryLanguage": "CWLI", "queryId": query_id, "queryString": request["queryString"],
                "status": "Complete", "createTime": created, "logGroupName": names[0],
                "queryDuration": store_logs.now_ms() - created, "bytesScanned": float(outcome.scanned_bytes),
                "_groups": names, "_results": outcome.rows,
                "_statistics": {"recordsMatched": float(outcome.matched), "recordsScanned": float(outcome.scanned),
                                "estimatedRecordsSkipped": 0.0, "bytesScanned": float(outcome.scanned_bytes),
                                "estimatedBytesSkipped": 0.0, "logGroupsScanned": float(len(names))}}
        with ctx.write() as db:
            log_objects.put(db, QUERY, "", query_id, created, body)
        return {"queryId": query_id}

    def _query(self, ctx, query_id: str) -> dict:
        with ctx.read() as db:
            body = log_objects.get(db, QUERY, "", query_id)
        if body is None:
            raise AWSError("ResourceNotFoundException", f"Query does not exist: {query_id}")
        return body

    def get_query_results(self, ctx, request):
        body = self._query(ctx, request["queryId"])
        token = request.get("nextToken") or "0"
        if not token.isdigit():
            raise invalid("The specified nextToken is invalid.")
        start, size = int(token), request.get("maxItems") or len(body["_results"]) or 1
        end = start + size
        out = {"queryLanguage": "CWLI", "results": body["_results"][start:end], "statistics": body["_statistics"],
               "status": body["status"]}
        if end < len(body["_results"]):
            out["nextToken"] = str(end)
        return out

    def stop_query(self, ctx, request):
        body = self._query(ctx, request["queryId"])
        raise invalid(f"The query {body['queryId']} is not running: its status is {body['status']}.")

    def describe_queries(self, ctx, request):
        with ctx.read() as db:
            queries = log_objects.listed(db, QUERY, "")
        group, status = request.get("logGroupName"), request.get("status")
        queries = [_public(q) for q in reversed(queries)  # the newest first
                   if (group is None or group in q["_groups"]) and (status is None or q["status"] == status)]
        found, token = page(queries, lambda q: (-q["createTime"], q["queryId"]), request, "maxResults", 1000)
        return {"queries": found, "nextToken": token}
