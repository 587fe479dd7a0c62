"""CloudWatch Logs export tasks: CreateExportTask, DescribeExportTasks, CancelExportTask.

There is no S3 here, so a task's "bucket" is a directory of the data dir,
`<data dir>/exports/<account>/<bucket>/<prefix>/<task id>/<stream>/000000.gz`, laid out as
AWS lays out the objects: one gzip file per stream of the events in [from, to), one
`<ISO timestamp> <message>` line each. The task runs in its request (a read of the stored
events), so it is COMPLETED when its id is returned and there is nothing left to cancel.
Every path part a tenant names (bucket, prefix, stream names) is one quoted directory name
that can neither climb out nor be a link."""

from __future__ import annotations

import gzip
import os
import re
import uuid
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import quote

from cloudlet.edge.errors import AWSError
from cloudlet.store import log_objects
from cloudlet.store import logs as store_logs
from cloudlet.store.log_objects import EXPORT
from cloudlet.store.schema import log_events

from .errors import as_aws, invalid
from .paging import page

_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")  # S3's bucket names
DEFAULT_PREFIX = "exportedlogs"


def _part(name: str) -> str:
    """One directory name for a path part a tenant gave."""
    quoted = quote(name, safe="")
    return quoted.replace(".", "%2E") if set(quoted) <= {"."} else quoted


def _line(timestamp: int, message: str) -> bytes:
    when = datetime.fromtimestamp(timestamp / 1000, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
    return f"{when}Z {message}\n".encode()


def _newest_first(task: dict) -> list:
    """The order DescribeExportTasks lists tasks in, as AWS does (and its pages' key)."""
    return [-task["executionInfo"]["creationTime"], task["taskId"]]


class ExportTasksAPI:
    def _exports(self, ctx) -> Path:
        return Path(self.config.data_dir) / "exports" / ctx.account_id

    def create_export_task(self, ctx, request):
        group, bucket = request["logGroupName"], request["destination"]
        start, end = request["from"], request["to"]
        if start < 0 or end < start:
            raise invalid("The from time must not be negative nor after the to time.")
        if not _BUCKET.fullmatch(bucket) or ".." in bucket:
            raise invalid(f"The given bucket name '{bucket}' is not a valid bucket name.")
        prefix = request.get("destinationPrefix") or DEFAULT_PREFIX
        stream_prefix = request.get("logStreamNamePrefix") or ""
        task_id = str(uuid.uuid4())
        created = store_logs.now_ms()
        with ctx.read() as db, as_aws():
            retention = store_logs.group(db, group)["retention_days"]
            where = [log_events.c.timestamp >= start, log_events.c.timestamp < end,
                     log_events.c.log_stream.startswith(stream_prefix, autoescape=True)]
            by_stream: dict[str, list[bytes]] = {}
            for r in self._events(db, group, where, retention):  # the provider's: in order, retention applied
                by_stream.setdefault(r.log_stream, []).append(_line(r.timestamp, r.message))
        top = self._exports(ctx) / _part(bucket)
        where = top.joinpath(*(_part(p) for p in prefix.split("/") if p), task_id)
        for stream, lines in by_stream.items():
            directory = where / _part(stream)
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(directory / "000000.gz", os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            with os.fdopen(fd, "wb") as f, gzip.GzipFile(fileobj=f, mode="wb", mtime=0) as out:
                out.writelines(lines)
        body = {"taskId": task_id, "logGroupName": group, "from": start, "to": end, "destination": bucket,
                "destinationPrefix": prefix, "status": {"code": "COMPLETED", "message": "Completed successfully"},
                "executionInfo": {"creationTime": created, "completionTime": store_logs.now_ms()}}
        if request.get("taskName"):
            body["taskName"] = request["taskName"]
        with ctx.write() as db:
            log_objects.put(db, EXPORT, "", task_id, created, body)
        return {"taskId": task_id}

    def describe_export_tasks(self, ctx, request):
        with ctx.read() as db:
            tasks = log_objects.listed(db, EXPORT)
        tasks.sort(key=_newest_first)
        if request.get("taskId"):
            tasks = [t for t in tasks if t["taskId"] == request["taskId"]]
        if request.get("statusCode"):
            tasks = [t for t in tasks if t["status"]["code"] == request["statusCode"]]
        items, token = page(tasks, _newest_first, request)
        return {"exportTasks": items, **({"nextToken": token} if token else {})}

    def cancel_export_task(self, ctx, request):
        with ctx.read() as db:
            task = log_objects.get(db, EXPORT, "", request["taskId"])
        if task is None:
            raise AWSError("ResourceNotFoundException", "The specified export task does not exist.")
        raise AWSError("InvalidOperationException", f"The export task {request['taskId']} has already ended "
                       f"({task['status']['code']}): only a pending or running task can be cancelled.")
