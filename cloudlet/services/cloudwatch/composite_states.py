"""How composite alarms' states move. A composite alarm is in ALARM while its rule holds and
in OK while it does not (INSUFFICIENT_DATA only from its creation to its first evaluation,
which comes at once). It is evaluated when it is put, and whenever one of its alarms changes
state: set_state (alarms.py) calls transitioned(), which evaluates, in the same transaction,
each composite above the alarm that moved once, those below before those above, so that a
change climbs a tree of composites in one pass. AWS lets composites form a cycle; the pass
evaluates each of a cycle's composites once and stops there, as CloudWatch stops evaluating
where it finds a cycle in the evaluation path.

Actions suppression (ActionsSuppressor, with its WaitPeriod W and ExtensionPeriod E), the
state a composite's body keeps in ActionsSuppressedBy:
  none             the composite moves: its actions run, unless the suppressor is in ALARM
                   (-> Alarm) or W > 0 (-> WaitPeriod, for W seconds);
  WaitPeriod       moves are held; the suppressor goes into ALARM -> Alarm; W ends -> none,
                   and the held actions run if the composite is still in the state held;
  Alarm            moves are held; the suppressor leaves ALARM -> ExtensionPeriod (E seconds;
                   none at once when E is 0);
  ExtensionPeriod  moves are held; the suppressor goes into ALARM again -> Alarm; E ends ->
                   none, the held actions run as when W ends.
Held actions are those of the last state the composite moved to; a composite back in the state
it had when the hold began has none held. The evaluator's rounds end waits (release_due)."""

from __future__ import annotations

import datetime
import json
import time
from collections import defaultdict, deque
from contextvars import ContextVar

from cloudlet.store.schema import cloudwatch_alarms as alarms

# alarms.set_state calls back here: the module is imported, not its names, so either loads first
from . import actions, alarm_rules
from . import alarms as metric_alarms
from .evaluation import iso

COMPOSITE = "CompositeAlarm"
_MARKER = f'"_type": "{COMPOSITE}"'  # as json.dumps writes it: a string value can not hold it unescaped
_passing: ContextVar[bool] = ContextVar("composite_pass", default=False)


def is_composite(body: dict) -> bool:
    return body.get("_type") == COMPOSITE


def composites(db) -> list[tuple[dict, dict]]:
    """(row, body) of each of the account's composite alarms."""
    rows = db.select(alarms, alarms.c.body.contains(_MARKER, autoescape=True), order_by=alarms.c.name)
    return [(row, body) for row, body in ((r, json.loads(r["body"])) for r in rows) if is_composite(body)]


def children(body: dict) -> set[str]:
    """The names of the alarms a composite's rule refers to."""
    return set(body["_children"].values())


def _moved_at(body: dict) -> float:
    return body.get("StateTransitionedTimestamp") or body["StateUpdatedTimestamp"]


def _said(seconds: float) -> str:
    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).strftime("%A %d %B, %Y %H:%M:%S UTC")


def outcome(db, body: dict) -> tuple[str, str, str]:
    """The composite's state by its rule, with AWS's reason (the triggering alarm that moved
    last) and reason data (every triggering alarm, newest first)."""
    rule = alarm_rules.parse(body["AlarmRule"])
    names = body["_children"]
    states = {r["name"]: json.loads(r["body"]) for r in db.select(alarms, alarms.c.name.in_(children(body)))}
    holds, deciding = alarm_rules.evaluate(rule, lambda ref: states.get(names[ref], {}).get("StateValue"))
    triggering = sorted({names[ref]: states[names[ref]] for ref in deciding if names[ref] in states}.values(),
                        key=_moved_at, reverse=True)
    state = "ALARM" if holds else "OK"
    data = json.dumps({"triggeringAlarms": [
        {"arn": c["AlarmArn"], "state": {"value": c["StateValue"], "timestamp": iso(_moved_at(c))}}
        for c in triggering]}, separators=(",", ":"))
    if triggering:
        first = triggering[0]
        return state, f"{first['AlarmArn']} transitioned to {first['StateValue']} at {_said(_moved_at(first))}", data
    return state, f"The alarm rule evaluated to {'TRUE' if holds else 'FALSE'}.", data


def evaluate(db, name: str) -> None:
    """Move the composite alarm `name` to the state its rule gives now, if it is not there."""
    row = db.one(alarms, alarms.c.name == name)
    if row is None or not is_composite(body := json.loads(row["body"])):
        return
    state, reason, data = outcome(db, body)
    if state != body["StateValue"]:
        metric_alarms.set_state(db, row, state, reason, data)


def transitioned(db, name: str, old: str, new: str) -> None:
    """set_state's word that the alarm `name` moved from old to new."""
    _suppressor_moved(db, name, old, new)
    if _passing.get():
        return  # a composite moved by the pass under way, which evaluates what is above it
    token = _passing.set(True)
    try:
        for parent in _above(db, name):
            evaluate(db, parent)
    finally:
        _passing.reset(token)


def _above(db, origin: str) -> list[str]:
    """The composites over `origin` at any height, each once, each after those of them below
    it (where a cycle makes that impossible, in the order they were reached)."""
    below: dict[str, set[str]] = {}
    parents: dict[str, list[str]] = defaultdict(list)
    for row, body in composites(db):
        below[row["name"]] = children(body)
        for child in below[row["name"]]:
            parents[child].append(row["name"])
    reached: dict[str, None] = {}
    queue = deque([origin])
    while queue:
        for parent in parents[queue.popleft()]:
            if parent != origin and parent not in reached:
                reached[parent] = None
                queue.append(parent)
    waiting = {p: len(below[p] & reached.keys()) for p in reached}  # children of p yet to be evaluated
    ready = deque(p for p in reached if not waiting[p])
    order: list[str] = []
    done: set[str] = set()
    pending = iter(reached)  # where a cycle leaves nothing ready: the first reached not yet done
    while len(order) < len(reached):
        node = ready.popleft() if ready else next(p for p in pending if p not in done)
        if node in done:
            continue
        done.add(node)
        order.append(node)
        for parent in parents[node]:
            if parent in waiting and parent not in done:
                waiting[parent] -= 1
                if waiting[parent] == 0:
                    ready.append(parent)
    return order


# -- actions suppression -------------------------------------------------------------------


def _suppress(body: dict, by: str, until: float | None) -> None:
    suppressor = body["ActionsSuppressor"]
    body["ActionsSuppressedBy"] = by
    body["ActionsSuppressedReason"] = {
        "Alarm": f"Actions are suppressed while the suppressor alarm {suppressor} is in ALARM.",
        "WaitPeriod": f"Actions are held for the WaitPeriod of {body['ActionsSuppressorWaitPeriod']} seconds, "
                      f"for the suppressor alarm {suppressor} to go into ALARM.",
        "ExtensionPeriod": f"Actions are held for the ExtensionPeriod of {body['ActionsSuppressorExtensionPeriod']}"
                           f" seconds after the suppressor alarm {suppressor} left ALARM."}[by]
    if until is None:
        body.pop("_until", None)
    else:
        body["_until"] = until


def holds_actions(db, body: dict, old: str) -> bool:
    """set_state's question as body (its new state in it) moves from old: whether its actions
    are held back by its suppressor (noted in body, which the caller stores)."""
    if not is_composite(body) or not body.get("_suppressor") or not body.get("ActionsEnabled", True):
        return False
    suppressor = db.one(alarms, alarms.c.name == body["_suppressor"])
    if suppressor is None:
        return False
    if suppressor["state"] == "ALARM":
        _suppress(body, "Alarm", None)
    elif body.get("ActionsSuppressedBy") not in ("WaitPeriod", "ExtensionPeriod"):
        if not body["ActionsSuppressorWaitPeriod"]:
            return False
        _suppress(body, "WaitPeriod", time.time() + body["ActionsSuppressorWaitPeriod"])
    held = body.setdefault("_held", {"state": body["StateValue"], "from": old})
    held["state"] = None if body["StateValue"] == held["from"] else body["StateValue"]
    return True


def _release(db, body: dict) -> None:
    """End the composite's suppression: the held actions run if it is still in the state held."""
    for key in ("ActionsSuppressedBy", "ActionsSuppressedReason", "_until"):
        body.pop(key, None)
    held = body.pop("_held", None)
    if held and held["state"] == body["StateValue"]:
        actions.queue_actions(db.account_id, db.region, body, held["from"])


def _suppressor_moved(db, name: str, old: str, new: str) -> None:
    """The composites that alarm `name` suppresses follow it into and out of ALARM."""
    for row, body in composites(db):
        if body.get("_suppressor") != name:
            continue
        if new == "ALARM":
            _suppress(body, "Alarm", None)
        elif old == "ALARM" and body.get("ActionsSuppressedBy") == "Alarm":
            if body["ActionsSuppressorExtensionPeriod"]:
                _suppress(body, "ExtensionPeriod", time.time() + body["ActionsSuppressorExtensionPeriod"])
            else:
                _release(db, body)
        else:
            continue
        db.update(alarms, alarms.c.name == row["name"], body=json.dumps(body))


def release_due(store, rows: list[tuple[str, str, str, dict]], now: float) -> None:
    """End the waits that are over among rows (account, region, name, body: the evaluator's)."""
    for account, region, name, body in rows:
        if body.get("_until") is None or body["_until"] > now:
            continue
        with store.scoped(account, region) as db:
            row = db.one(alarms, alarms.c.name == name)
            body = json.loads(row["body"]) if row else {}
            if body.get("_until") is not None and body["_until"] <= now:  # still so: not moved on since
                _release(db, body)
                db.update(alarms, alarms.c.name == name, body=json.dumps(body))
