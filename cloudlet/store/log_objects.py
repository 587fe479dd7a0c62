"""CloudWatch Logs' resource policies, subscription filters, Insights queries and export tasks (the
log_objects table): each a JSON body by kind, group and name, in the caller's account and region."""

from __future__ import annotations

import json

from cloudlet.store.schema import log_objects as table

POLICY, SUBSCRIPTION_FILTER, QUERY, EXPORT = "policy", "subscription-filter", "query", "export"  # the kinds


def _where(kind: str, group: str, name: str | None = None) -> list:
    where = [table.c.kind == kind, table.c.log_group == group]
    return where + [table.c.name == name] if name is not None else where


def get(db, kind: str, group: str, name: str) -> dict | None:
    row = db.one(table, *_where(kind, group, name))
    return json.loads(row["body"]) if row else None


def listed(db, kind: str, group: str | None = None) -> list[dict]:
    """Every body of a kind (of one group, or of all), oldest first."""
    where = _where(kind, group) if group is not None else [table.c.kind == kind]
    return [json.loads(r["body"]) for r in db.select(table, *where, order_by=(table.c.created_at, table.c.name))]


def count(db, kind: str, group: str) -> int:
    return db.count(table, *_where(kind, group))


def put(db, kind: str, group: str, name: str, created_at: int, body: dict) -> None:
    """Create, or replace the body of, the object (its created_at stays the first one's)."""
    if not db.update(table, *_where(kind, group, name), body=json.dumps(body)):
        db.insert(table, kind=kind, log_group=group, name=name, created_at=created_at, body=json.dumps(body))


def delete(db, kind: str, group: str, name: str | None = None) -> int:
    """Delete one object, or with no name all of a group's of this kind; how many went."""
    return db.delete(table, *_where(kind, group, name))


def expire_queries(conn, before_ms: int) -> int:
    """Drop Insights queries made before `before_ms`, in every account (AWS keeps a query's
    results for 7 days)."""
    return conn.execute(table.delete().where(table.c.kind == QUERY, table.c.created_at < before_ms)).rowcount
