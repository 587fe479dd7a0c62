"""Running a parsed Logs Insights query (insights_parse.py) over log events.

Each event becomes a record: @timestamp, @message, @logStream, @log, @ingestionTime, and the
fields of a JSON message (nested keys joined with '.', list items by index, at most
MAX_FIELDS), as Insights discovers them. Commands are stages over a stream of records:
parse, fields and filter pass records along one at a time; stats and sort gather theirs.
Values are compared as numbers where both sides read as numbers, else as text; a record
without the field compared does not match."""

from __future__ import annotations

import datetime
import json
import re
from dataclasses import dataclass, field
from itertools import islice

from cloudlet.store.log_conditions import number

from .insights_parse import Command

MAX_FIELDS = 200  # fields discovered in one JSON message
_UTC = datetime.timezone.utc


class Time(int):
    """Milliseconds since the epoch, shown as Insights shows a timestamp."""

    def __str__(self) -> str:
        moment = datetime.datetime.fromtimestamp(self / 1000, _UTC)
        return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{self % 1000:03d}"


@dataclass
class Event:
    group: str
    stream: str
    timestamp: int
    ingestion: int
    message: str
    ptr: str


@dataclass
class Outcome:
    rows: list[list[dict]]
    matched: int = 0
    scanned: int = 0
    scanned_bytes: int = 0
    shown: list[str] | None = field(default=None)


def _flatten(value, prefix: str, out: dict) -> None:
    if len(out) >= MAX_FIELDS:
        return
    if isinstance(value, dict):
        for key, item in value.items():
            _flatten(item, f"{prefix}{key}" if not prefix else f"{prefix}.{key}", out)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _flatten(item, f"{prefix}.{i}" if prefix else str(i), out)
    elif prefix:
        out[prefix] = "true" if value is True else "false" if value is False else value


def record(event: Event, account: str) -> dict:
    out = {"@timestamp": Time(event.timestamp), "@message": event.message, "@logStream": event.stream,
           "@log": f"{account}:{event.group}", "@ingestionTime": Time(event.ingestion)}
    if event.message.lstrip().startswith("{"):
        try:
            parsed = json.loads(event.message)
        except (ValueError, RecursionError):
            parsed = None
        if isinstance(parsed, dict):
            found: dict = {}
            _flatten(parsed, "", found)
            out.update((k, v) for k, v in found.items() if not k.startswith("@"))
    out["@ptr"] = event.ptr
    return out


# -- conditions -------------------------------------------------------------------------------

def _numeric(value) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return number(value) if isinstance(value, str) else None


def _value(operand, rec: dict):
    return rec.get(operand[1]) if operand[0] == "field" else operand[1]


def _compare(op: str, left, right) -> bool:
    if left is None or right is None:
        return False
    a, b = _numeric(left), _numeric(right)
    if a is None or b is None:
        a, b = text(left), text(right)
    return {"=": a == b, "!=": a != b, "<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]


def holds(node, rec: dict) -> bool:
    kind = node[0]
    if kind == "and":
        return holds(node[1], rec) and holds(node[2], rec)
    if kind == "or":
        return holds(node[1], rec) or holds(node[2], rec)
    if kind == "not":
        return not holds(node[1], rec)
    if kind == "exists":
        return rec.get(node[1][1]) is not None
    if kind == "like":
        value = _value(node[1], rec)
        return value is not None and node[2](text(value)) != node[3]
    return _compare(node[1], _value(node[2], rec), _value(node[3], rec))


def text(value) -> str:
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e16 else repr(value)
    return str(value)


# -- stages -----------------------------------------------------------------------------------

def _parsed(pieces: list[str], value: str) -> list[str] | None:
    """The values a glob's wildcards take in `value` (each as short as it can be, the last one
    to the end of the line), found in one pass; None where the glob does not match."""
    at = value.find(pieces[0])
    if at < 0:
        return None
    at += len(pieces[0])
    out = []
    for piece in pieces[1:]:
        end = value.find(piece, at) if piece else (value.find("\n", at) % (len(value) + 1))
        if end < 0:
            return None
        out.append(value[at:end])
        at = end + len(piece)
    return out


def _parse(args: dict, records):
    for rec in records:
        value = rec.get(args["source"])
        found = _parsed(args["pieces"], text(value)) if value is not None else None
        if found is not None:
            rec.update(zip(args["names"], found))
        yield rec


def _fields(args: dict, records):
    for rec in records:
        for name, alias in args["items"]:
            rec[alias] = rec.get(name)
        yield rec


def _natural(value) -> tuple:
    """Insights' ascending order: text (chunks of digits by length, then value) before numbers."""
    n = _numeric(value)
    if n is not None:
        return (1, n, ())
    chunks = tuple(("0", len(c), c) if c.isdigit() else (c, 0, "") for c in re.findall(r"\d+|\D+", text(value)))
    return (0, 0.0, chunks)


def _sort(args: dict, records):
    rows = list(records)
    for name, descending in reversed(args["keys"]):  # stable sorts, the last key first
        present = [r for r in rows if r.get(name) is not None]
        present.sort(key=lambda r: _natural(r[name]), reverse=descending)
        rows = present + [r for r in rows if r.get(name) is None]
    return iter(rows)


def _limit(args: dict, records):
    return islice(list(records), args["n"])  # drained: what came this far is counted as matched


class _Aggregate:
    def __init__(self, function: str, arg: str | None):
        self.function, self.arg, self.n, self.total, self.best = function, arg, 0, 0.0, None

    def add(self, rec: dict) -> None:
        if self.arg is None:
            self.n += 1
            return
        value = rec.get(self.arg)
        if value is None:
            return
        if self.function == "count":
            self.n += 1
            return
        n = _numeric(value)
        if n is None:
            return
        self.n, self.total = self.n + 1, self.total + n
        if self.best is None or (n < self.best if self.function == "min" else n > self.best):
            self.best = n

    def result(self):
        if self.function == "count":
            return self.n
        if not self.n:
            return None
        return {"sum": self.total, "avg": self.total / self.n}.get(self.function, self.best)


def _stats(args: dict, records):
    groups: dict[tuple, list[_Aggregate]] = {}
    for rec in records:
        key = tuple(Time(rec["@timestamp"] - rec["@timestamp"] % spec) if kind == "bin" else rec.get(spec)
                    for (kind, spec), _ in args["by"])
        aggregates = groups.get(key)
        if aggregates is None:
            aggregates = groups[key] = [_Aggregate(f, a) for f, a, _ in args["aggregates"]]
        for aggregate in aggregates:
            aggregate.add(rec)
    for key in sorted(groups, key=lambda k: tuple(_natural(v) if v is not None else (2, 0.0, ()) for v in k)):
        row = {alias: value for ((_, _), alias), value in zip(args["by"], key)}
        row.update((alias, a.result()) for (_, _, alias), a in zip(args["aggregates"], groups[key]))
        yield row


_STAGES = {"parse": _parse, "fields": _fields, "sort": _sort, "limit": _limit, "stats": _stats,
           "filter": lambda args, records: (r for r in records if holds(args["condition"], r))}


def run(commands: list[Command], events, account: str, limit: int) -> Outcome:
    """The query's result rows (at most `limit`) and statistics over `events`, an iterable of Event."""
    outcome = Outcome(rows=[])

    def scan():
        for event in events:
            outcome.scanned += 1
            outcome.scanned_bytes += len(event.message.encode())
            yield record(event, account)

    def counted(records):
        for rec in records:
            outcome.matched += 1
            yield rec

    records = scan()
    boundary = next((i for i, c in enumerate(commands) if c.name in ("stats", "limit")), len(commands))
    for i, command in enumerate(commands):
        if i == boundary:
            records = counted(records)
        records = _STAGES[command.name](command.args, records)
        if command.name == "fields":
            outcome.shown = [alias for _, alias in command.args["items"]]
        elif command.name == "stats":
            outcome.shown = [alias for _, alias in command.args["by"]] + [a for _, _, a in command.args["aggregates"]]
    if boundary == len(commands):
        records = counted(records)
    for rec in islice(records, limit):
        names = outcome.shown if outcome.shown is not None else [k for k in rec if k != "@ptr"]
        row = [{"field": name, "value": text(rec[name])} for name in names if rec.get(name) is not None]
        if "@ptr" in rec:
            row.append({"field": "@ptr", "value": rec["@ptr"]})
        outcome.rows.append(row)
    for _ in records:  # what the limit left still counts as matched
        pass
    return outcome
