"""Task placement on container instances, as ECS places EC2 tasks: the instances a task fits
on (CPU, memory, static host ports), narrowed by constraints (distinctInstance, memberOf
with a subset of the cluster query language), then ordered by the strategies in turn
(binpack on cpu or memory, spread over instanceId or an attribute, random). When nothing
fits, each instance gives the first reason it was refused, with ECS's words (ATTRIBUTE for
an instance without an attribute the task definition requires)."""

from __future__ import annotations

import heapq
import random
import re
from dataclasses import dataclass, field


@dataclass
class Instance:
    arn: str
    ec2_instance_id: str
    cpu: int  # remaining CPU units
    memory: int  # remaining MiB
    ports: set[int]  # host ports in use (TCP)
    attributes: dict[str, str]
    groups: dict[str, int] = field(default_factory=dict)  # task group -> tasks of it running here


@dataclass
class Need:
    cpu: int
    memory: int
    ports: set[int]
    group: str
    attributes: list[str] = field(default_factory=list)  # names an instance must have (requiresAttributes)


class PlacementError(ValueError):
    pass


def _value(instance: Instance, subject: str) -> str | None:
    if subject == "ec2InstanceId":
        return instance.ec2_instance_id
    if subject.startswith("attribute:"):
        return instance.attributes.get(subject[len("attribute:"):])
    raise PlacementError(f"unsupported expression subject {subject!r}")


_TERM = re.compile(r"^\s*(\S+)\s+(==|!=|not in|in|exists|!exists)\s*(.*?)\s*$", re.IGNORECASE)


def member_of(expression: str):
    """A predicate over instances for a memberOf expression, e.g.
    `attribute:ecs.instance-type == t3.micro and attribute:ecs.availability-zone in [us-east-1a, us-east-1b]`."""
    alternatives = []
    for part in re.split(r"\s+or\s+", expression.strip(), flags=re.IGNORECASE):
        terms = []
        for text in re.split(r"\s+and\s+", part, flags=re.IGNORECASE):
            m = _TERM.match(text.strip("() "))
            if not m:
                raise PlacementError(f"invalid memberOf expression: {expression}")
            subject, op, raw = m.group(1), m.group(2).lower(), m.group(3)
            values = [v.strip() for v in raw.strip("[]").split(",")] if op in ("in", "not in") else [raw.strip()]
            terms.append((subject, op, values))
        alternatives.append(terms)

    def holds(instance: Instance) -> bool:
        def one(subject, op, values):
            actual = _value(instance, subject)
            return {"==": actual == values[0], "!=": actual != values[0], "in": actual in values,
                    "not in": actual not in values, "exists": actual is not None,
                    "!exists": actual is None}[op]
        return any(all(one(*t) for t in terms) for terms in alternatives)
    return holds


def _refusal(instance: Instance, need: Need, distinct: bool, members: list) -> str | None:
    if any(name not in instance.attributes for name in need.attributes):
        return "ATTRIBUTE"
    if distinct and instance.groups.get(need.group):
        return "DistinctInstance placement constraint unsatisfied."
    if not all(holds(instance) for holds in members):
        return "MemberOf placement constraint unsatisfied."
    if instance.cpu < need.cpu:
        return "RESOURCE:CPU"
    if instance.memory < need.memory:
        return "RESOURCE:MEMORY"
    if need.ports & instance.ports:
        return "RESOURCE:PORTS"
    return None


def _rank(candidates: list[Instance], strategies: list[dict], need: Need):
    """The key that orders candidates by the strategies, the first deciding, the next
    breaking its ties."""
    keys = []
    for s in strategies:
        kind, fld = s.get("type"), s.get("field") or ""
        if kind == "binpack":
            keys.append(lambda i, f=fld.lower(): i.memory if f == "memory" else i.cpu)
        elif kind == "spread":
            if fld.lower() in ("instanceid", "host"):
                keys.append(lambda i: i.groups.get(need.group, 0))
            else:
                counts: dict = {}
                for i in candidates:
                    counts[_value(i, fld)] = counts.get(_value(i, fld), 0) + i.groups.get(need.group, 0)
                keys.append(lambda i, f=fld, c=counts: c[_value(i, f)])  # this spread's counts, not the last one's
        elif kind == "random":
            keys.append(lambda i, r={id(i): random.random() for i in candidates}: r[id(i)])
        else:
            raise PlacementError(f"unsupported placement strategy type {kind!r}")
    return lambda i: tuple(k(i) for k in keys)


def place(instances: list[Instance], need: Need, count: int, strategies: list[dict], constraints: list[dict]
          ) -> tuple[list[Instance], list[dict]]:
    """The instances chosen for `count` tasks (each choice taking its resources), and ECS's
    failures for the tasks that found no room."""
    distinct = any(c.get("type") == "distinctInstance" for c in constraints)
    members = [member_of(c.get("expression", "")) for c in constraints if c.get("type") == "memberOf"]
    split = _split(strategies)
    if split is None:
        return _scan(instances, need, count, strategies, distinct, members)
    return _Index(instances, need, distinct, members, *split).place(count)


def _take(best: Instance, need: Need) -> None:
    best.cpu -= need.cpu
    best.memory -= need.memory
    best.ports |= need.ports
    best.groups[need.group] = best.groups.get(need.group, 0) + 1


def _failures(instances: list[Instance], need: Need, distinct: bool, members: list) -> list[dict]:
    return [{"arn": i.arn, "reason": _refusal(i, need, distinct, members)} for i in instances]


def _scan(instances, need, count, strategies, distinct, members) -> tuple[list[Instance], list[dict]]:
    """Every instance looked at for every task: any order of strategies, random ones included."""
    chosen = []
    for _ in range(count):
        fits = [i for i in instances if _refusal(i, need, distinct, members) is None]
        if not fits:
            return chosen, _failures(instances, need, distinct, members)
        best = min(fits, key=_rank(fits, strategies, need))
        _take(best, need)
        chosen.append(best)
    return chosen, []


def _split(strategies: list[dict]):
    """(attribute fields, per-instance keys) where every spread over an attribute comes before
    every strategy that ranks instances one by one (binpack, spread over instanceId): the
    order _Index can keep up to date as tasks are placed. None otherwise (random too)."""
    fields, own = [], []
    for s in strategies:
        kind, fld = s.get("type"), s.get("field") or ""
        if kind == "binpack":
            own.append("memory" if fld.lower() == "memory" else "cpu")
        elif kind == "spread" and fld.lower() in ("instanceid", "host"):
            own.append("group")
        elif kind == "spread" and not own:
            fields.append(fld)
        elif kind in ("spread", "random"):
            return None
        else:
            raise PlacementError(f"unsupported placement strategy type {kind!r}")
    return fields, own


class _Index:
    """The choice _scan makes, without looking at every instance for every task: the
    instances that fit, in groups by the attribute values the spreads go over (each group
    ranked by its tasks of the task's group, counted over the instances that fit, as _scan
    counts them), each group a heap by the per-instance keys; only the instance chosen
    changes, and once it no longer fits it never does again. Ties go to the first in the
    list, as min() gives them."""

    def __init__(self, instances, need, distinct, members, fields, own):
        self.instances, self.need, self.distinct, self.members = instances, need, distinct, members
        self.fields, self.own = fields, own
        self.version = [0] * len(instances)
        self.counts: list[dict] = [{} for _ in fields]
        self.heaps: dict[tuple, list] = {}
        for n, i in enumerate(instances):
            if _refusal(i, need, distinct, members) is None:
                values = tuple(_value(i, f) for f in fields)
                self._count(values, i.groups.get(need.group, 0))
                heapq.heappush(self.heaps.setdefault(values, []), (self._key(i), n, 0))

    def _key(self, i: Instance) -> tuple:
        return tuple(i.memory if k == "memory" else i.cpu if k == "cpu" else i.groups.get(self.need.group, 0)
                     for k in self.own)

    def _count(self, values: tuple, tasks: int) -> None:
        for counts, value in zip(self.counts, values):
            counts[value] = counts.get(value, 0) + tasks

    def _top(self, values: tuple):
        heap = self.heaps[values]
        while heap and heap[0][2] != self.version[heap[0][1]]:
            heapq.heappop(heap)  # an entry of before the instance last changed, or stopped fitting
        return heap[0] if heap else None

    def place(self, count: int) -> tuple[list[Instance], list[dict]]:
        chosen = []
        for _ in range(count):
            tops = [(tuple(c[v] for c, v in zip(self.counts, values)), top[0], top[1], values)
                    for values in self.heaps if (top := self._top(values))]
            if not tops:
                return chosen, _failures(self.instances, self.need, self.distinct, self.members)
            _, _, n, values = min(tops)
            best = self.instances[n]
            before = best.groups.get(self.need.group, 0)
            _take(best, self.need)
            self.version[n] += 1
            if _refusal(best, self.need, self.distinct, self.members) is None:
                self._count(values, 1)
                heapq.heappush(self.heaps[values], (self._key(best), n, self.version[n]))
            else:
                self._count(values, -before)  # no longer among those that fit
            chosen.append(best)
        return chosen, []
