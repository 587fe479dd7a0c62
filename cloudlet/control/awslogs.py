"""The awslogs log driver: each container's CloudWatch Logs stream, made when its task starts,
and what the container writes, moved there in order as it is written."""

from __future__ import annotations

import re
from datetime import datetime
from functools import partial

from cloudlet.agent.runtime.logs import read_from
from cloudlet.store import logs

from .records import TaskFailed


def prepare(store, key: tuple, body: dict) -> None:
    """Each awslogs container's group (made if the options say so) and stream, as ECS names
    it: <prefix>/<container>/<task id>."""
    task_id = body["taskArn"].rsplit("/", 1)[1]
    notes = body["_run"].setdefault("logs", {})
    for c in body["_run"]["definition"]["containerDefinitions"]:
        config = c.get("logConfiguration") or {}
        if config.get("logDriver") != "awslogs" or c["name"] in notes:
            continue
        options = config.get("options") or {}
        group, region = options.get("awslogs-group"), options.get("awslogs-region") or key[1]
        prefix = options.get("awslogs-stream-prefix")
        stream = f"{prefix}/{c['name']}/{task_id}" if prefix else task_id
        try:
            with store.scoped(key[0], region) as db:
                if options.get("awslogs-create-group") == "true":
                    logs.create_group(db, group, exist_ok=True)
                logs.create_stream(db, group, stream, exist_ok=True)  # the group must exist
        except logs.LogsError as e:
            raise TaskFailed(f"ResourceInitializationError: failed to validate logger args: {e.message} : "
                             "exit status 1", c["name"]) from None
        notes[c["name"]] = {"group": group, "region": region, "stream": stream, "offset": 0}


def ship(store, containers, key: tuple, body: dict) -> bool:
    """Move what each awslogs container wrote since last time into its stream."""
    moved = False
    for entry in body["containers"]:
        note = body["_run"].get("logs", {}).get(entry["name"])
        if not note or not entry.get("runtimeId"):
            continue
        path = containers / entry["runtimeId"] / "ctr.log"
        lines, offset = read_from(path, note["offset"])
        if offset == note["offset"]:
            continue
        events = sorted(((_millis(line.time), line.text) for line in lines), key=lambda e: e[0])
        logs.put_events(partial(store.scoped, key[0], note["region"]), note["group"], note["stream"], events)
        note["offset"] = offset
        moved = True
    return moved


def _millis(rfc3339: str) -> int:
    """conmon's RFC 3339 times (nanoseconds, Z or an offset) in milliseconds since the epoch."""
    m = re.match(r"^(.*?\.\d{1,6})\d*(Z|[+-]\d\d:\d\d)$", rfc3339) or re.match(r"^(.*?)(Z|[+-]\d\d:\d\d)$", rfc3339)
    stamp = datetime.fromisoformat(m.group(1) + ("+00:00" if m.group(2) == "Z" else m.group(2)))
    return int(stamp.timestamp() * 1000)
