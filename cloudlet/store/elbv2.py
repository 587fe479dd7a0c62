"""Elastic Load Balancing v2's records, shared by its API (services/elbv2) and its controllers
(the load balancers' data plane, ECS services and Auto Scaling groups registering targets).
Plain functions over a Scoped handle.

An object (load balancer, target group, listener, rule) is its Describe* body plus
"_"-prefixed private fields; its kind, name and parent (a listener's load balancer, a rule's
listener) are columns, so lookups by name and by parent need no scan of bodies.

A target is (group, id, port) with its health: registering makes it "initial" (a target
registered again keeps its state, as AWS's does, unless it was draining); deregistering makes
it "draining" from that moment, and drained() removes those whose deregistration delay has
passed. The data plane writes what its health checks see (set_health).
"""

from __future__ import annotations

import json
import time

from cloudlet.store.schema import ec2_instances as instances
from cloudlet.store.schema import elbv2_objects as objects
from cloudlet.store.schema import elbv2_targets as targets_table

LOAD_BALANCER, TARGET_GROUP, LISTENER, RULE = "load-balancer", "target-group", "listener", "rule"
INITIAL, HEALTHY, UNHEALTHY, UNUSED, DRAINING, UNAVAILABLE = (
    "initial", "healthy", "unhealthy", "unused", "draining", "unavailable")


def public(body: dict) -> dict:
    """What the API shows of a body: its private fields left out."""
    return {k: v for k, v in body.items() if not k.startswith("_")}


def get(db, arn: str, kind: str | None = None) -> dict | None:
    where = [objects.c.arn == arn] + ([objects.c.kind == kind] if kind else [])
    row = db.one(objects, *where)
    return json.loads(row["body"]) if row else None


def by_name(db, kind: str, name: str) -> dict | None:
    row = db.one(objects, objects.c.kind == kind, objects.c.name == name)
    return json.loads(row["body"]) if row else None


def objects_of(db, kind: str, parent: str | None = None) -> list[dict]:
    """Every object of kind (of one parent, if given), by name then ARN: a stable order to page."""
    where = [objects.c.kind == kind] + ([objects.c.parent == parent] if parent is not None else [])
    rows = db.select(objects, *where, order_by=(objects.c.name, objects.c.arn))
    return [json.loads(r["body"]) for r in rows]


def count(db, kind: str, parent: str | None = None) -> int:
    where = [objects.c.kind == kind] + ([objects.c.parent == parent] if parent is not None else [])
    return db.count(objects, *where)


def put(db, kind: str, arn: str, name: str, body: dict, parent: str = "") -> None:
    """Write an object whole (made, or changed)."""
    if not db.update(objects, objects.c.arn == arn, name=name, parent=parent, body=json.dumps(body)):
        db.insert(objects, arn=arn, kind=kind, name=name, parent=parent, body=json.dumps(body))


def delete(db, arn: str) -> bool:
    """The object goes, and what hangs from it (a load balancer's listeners and their rules,
    a listener's rules, a target group's targets)."""
    for child in db.select(objects, objects.c.parent == arn):
        delete(db, child["arn"])
    db.delete(targets_table, targets_table.c.group_arn == arn)
    return db.delete(objects, objects.c.arn == arn) > 0


# -- targets -----------------------------------------------------------------------------------


def _target(row: dict) -> dict:
    return {"id": row["target_id"], "port": row["port"], "zone": row["zone"], "state": row["state"],
            "reason": row["reason"], "since": row["since"]}


def targets(db, group_arn: str) -> list[dict]:
    """The group's targets: {id, port, zone, state, reason, since}, by id then port."""
    rows = db.select(targets_table, targets_table.c.group_arn == group_arn,
                     order_by=(targets_table.c.target_id, targets_table.c.port))
    return [_target(r) for r in rows]


def _where(group_arn: str, target_id: str, port: int):
    return (targets_table.c.group_arn == group_arn, targets_table.c.target_id == target_id,
            targets_table.c.port == port)


def register(db, group_arn: str, target_id: str, port: int, zone: str | None = None,
             at: float | None = None) -> None:
    where = _where(group_arn, target_id, port)
    row = db.one(targets_table, *where)
    at = time.time() if at is None else at
    if row is None:
        db.insert(targets_table, group_arn=group_arn, target_id=target_id, port=port, zone=zone, state=INITIAL,
                  reason="Elb.RegistrationInProgress", since=at)
    elif row["state"] == DRAINING:
        db.update(targets_table, *where, zone=zone, state=INITIAL, reason="Elb.RegistrationInProgress", since=at)


def deregister(db, group_arn: str, target_id: str, port: int, at: float | None = None) -> bool:
    """Start draining the target; whether it was registered (and not draining already)."""
    where = _where(group_arn, target_id, port)
    row = db.one(targets_table, *where)
    if row is None or row["state"] == DRAINING:
        return False
    db.update(targets_table, *where, state=DRAINING, reason="Target.DeregistrationInProgress",
              since=time.time() if at is None else at)
    return True


def set_health(db, group_arn: str, target_id: str, port: int, state: str, reason: str | None) -> None:
    """What the data plane's checks say of a target (never of one draining: that one is going)."""
    where = _where(group_arn, target_id, port)
    row = db.one(targets_table, *where)
    if row is not None and row["state"] != DRAINING and (row["state"], row["reason"]) != (state, reason):
        db.update(targets_table, *where, state=state, reason=reason, since=time.time())


def address(db, group: dict, target: dict) -> str | None:
    """Where a target of group is reached: its id for type ip, a running instance's private
    address for type instance (None for an instance gone, stopped or not yet addressed)."""
    if group.get("TargetType") == "ip":
        return target["id"]
    row = db.one(instances, instances.c.instance_id == target["id"])
    return json.loads(row["body"]).get("PrivateIpAddress") if row and row["state"] == "running" else None


def drained(db, group_arn: str, delay: float, at: float | None = None) -> list[dict]:
    """Remove the draining targets whose delay has passed; the ones removed."""
    at = time.time() if at is None else at
    gone = [t for t in targets(db, group_arn) if t["state"] == DRAINING and t["since"] + delay <= at]
    for t in gone:
        db.delete(targets_table, *_where(group_arn, t["id"], t["port"]))
    return gone


# -- which load balancers use a group ------------------------------------------------------------


def forwarded_to(actions: list[dict] | None) -> set[str]:
    """The target groups a listener's default actions or a rule's actions forward to."""
    out = set()
    for action in actions or []:
        if action.get("Type") != "forward":
            continue
        groups = (action.get("ForwardConfig") or {}).get("TargetGroups") or []
        out.update(g["TargetGroupArn"] for g in groups if g.get("TargetGroupArn"))
        if action.get("TargetGroupArn"):
            out.add(action["TargetGroupArn"])
    return out


def load_balancers_of(db) -> dict[str, list[str]]:
    """target group ARN -> the ARNs of the load balancers (of db's account and region) whose
    listeners or rules forward to it, in order: a group is "used" only while it has one."""
    used: dict[str, list[str]] = {}
    for listener in objects_of(db, LISTENER):
        groups = forwarded_to(listener.get("DefaultActions"))
        for rule in objects_of(db, RULE, listener["ListenerArn"]):
            groups |= forwarded_to(rule.get("Actions"))
        for group in sorted(groups):
            if listener["LoadBalancerArn"] not in used.setdefault(group, []):
                used[group].append(listener["LoadBalancerArn"])
    return used


def rewrite(db, arn: str, body: dict) -> None:
    """Write an object's body again, its kind, name and parent as they were (tags changed, say)."""
    db.update(objects, objects.c.arn == arn, body=json.dumps(body))
