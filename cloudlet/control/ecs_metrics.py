"""AWS/ECS and ECS/ContainerInsights metrics, measured from the tasks that really run.

Every interval (AWS samples every 20 s into 1-minute data) the publisher reads each RUNNING
task's containers' cgroup counters (CPU time, memory in use, network bytes) and puts, per
account and region, what ECS publishes:

- AWS/ECS by ClusterName and ServiceName: CPUUtilization and MemoryUtilization, one value per
  task — its use over what its definition reserves — so that Average is ECS's service formula
  (total used / (reserved × tasks)) and Minimum/Maximum are the least and most loaded task.
  A task that reserves no CPU (an EC2 task with cpu 0 everywhere) has no CPUUtilization.
- AWS/ECS by ClusterName, for tasks on container instances (EC2 launch type), against what the
  cluster's ACTIVE and DRAINING instances registered: CPUUtilization, MemoryUtilization,
  CPUReservation, MemoryReservation.
- ECS/ContainerInsights, where the cluster's containerInsights setting is enabled or enhanced:
  CpuUtilized/CpuReserved (units), MemoryUtilized/MemoryReserved (MiB), NetworkRx/TxBytes
  (bytes/s), RunningTaskCount, by ClusterName, by ClusterName+ServiceName and by
  ClusterName+TaskDefinitionFamily (and, enhanced, by task: +TaskId); per cluster also
  TaskCount, ServiceCount, ContainerInstanceCount; per service DesiredTaskCount.

A resource with no running task gets no datapoint, as in ECS. The first reading of a container
only starts its CPU and network spans. Sampled faster than AWS does (tests, --metrics-interval
under 20 s), the metrics are stored at high resolution so that 10-second alarms can use them.
"""

from __future__ import annotations

import json
import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import select

from cloudlet.agent.runtime import ContainerNotFound
from cloudlet.store import metrics
from cloudlet.store.metrics import Agg, Datum
from cloudlet.store.schema import ecs_clusters, ecs_container_instances, ecs_services, ecs_tasks

from .capacity import registered, task_need
from .loop import Loop

log = logging.getLogger("cloudlet.control.ecs_metrics")
AWS_INTERVAL = 20.0
MIB = 1 << 20


@dataclass
class TaskUse:
    cluster: str
    service: str | None
    family: str
    task_id: str
    on_instance: bool
    reserved_cpu: int  # units (1024 a vCPU)
    reserved_memory: int  # MiB
    cpu: float | None = None  # units in use over the last span; None before a span exists
    memory: float = 0.0  # MiB in use
    rx: float | None = None  # bytes/s
    tx: float | None = None


@dataclass
class Account:
    tasks: list[TaskUse] = field(default_factory=list)
    insights: dict[str, str] = field(default_factory=dict)  # cluster -> setting
    instances: dict[str, list[dict]] = field(default_factory=lambda: defaultdict(list))  # cluster -> registered
    desired: dict[tuple[str, str], int] = field(default_factory=dict)  # (cluster, service) -> desiredCount


class ECSMetrics(Loop):
    def __init__(self, store, runtime, interval: float):
        self.store = store
        self.runtime = runtime
        self.interval = interval
        self._last: dict[str, tuple[float, object]] = {}  # runtime id -> (monotonic time, Counters)
        self.start("ecs-metrics", interval)

    def round(self) -> None:
        now = int(time.time())
        for (account, region), acct in self._accounts().items():
            data = datums(acct, now, self.interval < AWS_INTERVAL)
            if data:
                with self.store.scoped(account, region) as db:
                    metrics.put(db, data, now)

    def _accounts(self) -> dict[tuple[str, str], Account]:
        with self.store.begin(write=False) as conn:
            tasks = conn.execute(select(ecs_tasks).where(ecs_tasks.c.last_status == "RUNNING")).all()
            clusters = conn.execute(select(ecs_clusters)).all()
            instances = conn.execute(select(ecs_container_instances).where(
                ecs_container_instances.c.status.in_(("ACTIVE", "DRAINING")))).all()
            services = conn.execute(select(ecs_services).where(ecs_services.c.status == "ACTIVE")).all()
        out: dict[tuple[str, str], Account] = defaultdict(Account)
        seen = set()
        for row in tasks:
            use = self._measure(row.cluster, json.loads(row.body), seen)
            if use is not None:
                out[(row.account_id, row.region)].tasks.append(use)
        for rid in set(self._last) - seen:
            del self._last[rid]  # its container is gone
        for row in clusters:
            setting = next((s["value"] for s in json.loads(row.settings) if s["name"] == "containerInsights"), "")
            if (row.account_id, row.region) in out and setting in ("enabled", "enhanced"):
                out[(row.account_id, row.region)].insights[row.name] = setting
        for row in instances:
            if (row.account_id, row.region) in out:
                out[(row.account_id, row.region)].instances[row.cluster].append(registered(json.loads(row.body)))
        for row in services:
            if (row.account_id, row.region) in out:
                out[(row.account_id, row.region)].desired[(row.cluster, row.name)] = json.loads(row.body)[
                    "desiredCount"]
        return out

    def _measure(self, cluster: str, body: dict, seen: set) -> TaskUse | None:
        group = body.get("group", "")
        cpu, memory, _ = task_need(body)
        use = TaskUse(cluster, group[8:] if group.startswith("service:") else None,
                      body["taskDefinitionArn"].rsplit("/", 1)[1].rsplit(":", 1)[0], body["taskArn"].rsplit("/", 1)[1],
                      bool(body.get("containerInstanceArn")), cpu, memory)
        spans = []
        for c in body["containers"]:
            rid = c.get("runtimeId")
            if not rid or c.get("lastStatus") != "RUNNING":
                continue
            try:
                now = self.runtime.counters(rid)
            except ContainerNotFound:
                now = None
            if now is None:
                continue
            seen.add(rid)
            at, before = time.monotonic(), self._last.get(rid, (None, None))
            self._last[rid] = (at, now)
            use.memory += now.memory_usage / MIB
            if before[0] is not None and at > before[0]:
                spans.append(((now.cpu_usage_ns - before[1].cpu_usage_ns) / 1e9 / (at - before[0]) * 1024,
                              (now.net_rx_bytes - before[1].net_rx_bytes) / (at - before[0]),
                              (now.net_tx_bytes - before[1].net_tx_bytes) / (at - before[0])))
        if spans:
            use.cpu, use.rx, use.tx = (max(0.0, sum(s[k] for s in spans)) for k in range(3))
        return use


def datums(acct: Account, now: int, high_resolution: bool) -> list[Datum]:
    out: list[Datum] = []

    def put(namespace: str, name: str, dims: dict, unit: str, value: float) -> None:
        out.append(Datum(namespace, name, tuple(sorted(dims.items())), now, unit, Agg.of(float(value)),
                         high_resolution))

    for t in acct.tasks:
        if t.service is None:
            continue
        dims = {"ClusterName": t.cluster, "ServiceName": t.service}
        if t.cpu is not None and t.reserved_cpu:
            put("AWS/ECS", "CPUUtilization", dims, "Percent", t.cpu / t.reserved_cpu * 100)
        if t.reserved_memory:
            put("AWS/ECS", "MemoryUtilization", dims, "Percent", t.memory / t.reserved_memory * 100)
    for cluster, regs in acct.instances.items():
        placed = [t for t in acct.tasks if t.cluster == cluster and t.on_instance]
        cpu_total, memory_total = sum(r["CPU"] for r in regs), sum(r["MEMORY"] for r in regs)
        if not placed or not cpu_total or not memory_total:
            continue
        dims = {"ClusterName": cluster}
        put("AWS/ECS", "CPUUtilization", dims, "Percent", sum(t.cpu or 0 for t in placed) / cpu_total * 100)
        put("AWS/ECS", "MemoryUtilization", dims, "Percent", sum(t.memory for t in placed) / memory_total * 100)
        put("AWS/ECS", "CPUReservation", dims, "Percent", sum(t.reserved_cpu for t in placed) / cpu_total * 100)
        put("AWS/ECS", "MemoryReservation", dims, "Percent",
            sum(t.reserved_memory for t in placed) / memory_total * 100)
    for cluster, setting in acct.insights.items():
        _insights(acct, cluster, setting, put)
    return out


def _insights(acct: Account, cluster: str, setting: str, put) -> None:
    mine = [t for t in acct.tasks if t.cluster == cluster]
    groups: dict[tuple, list[TaskUse]] = defaultdict(list)
    for t in mine:
        groups[(("ClusterName", cluster),)].append(t)
        groups[(("ClusterName", cluster), ("TaskDefinitionFamily", t.family))].append(t)
        if t.service is not None:
            groups[(("ClusterName", cluster), ("ServiceName", t.service))].append(t)
        if setting == "enhanced":
            groups[(("ClusterName", cluster), ("TaskDefinitionFamily", t.family), ("TaskId", t.task_id))].append(t)
    for dims, tasks in groups.items():
        d = dict(dims)
        for name, unit, value in (
                ("CpuUtilized", "None", sum(t.cpu or 0 for t in tasks)),
                ("CpuReserved", "None", sum(t.reserved_cpu for t in tasks)),
                ("MemoryUtilized", "Megabytes", sum(t.memory for t in tasks)),
                ("MemoryReserved", "Megabytes", sum(t.reserved_memory for t in tasks)),
                ("NetworkRxBytes", "Bytes/Second", sum(t.rx or 0 for t in tasks)),
                ("NetworkTxBytes", "Bytes/Second", sum(t.tx or 0 for t in tasks)),
                ("RunningTaskCount", "Count", len(tasks))):
            put("ECS/ContainerInsights", name, d, unit, value)
        if "ServiceName" in d and "TaskDefinitionFamily" not in d:
            put("ECS/ContainerInsights", "DesiredTaskCount", d, "Count",
                acct.desired.get((cluster, d["ServiceName"]), len(tasks)))
    cluster_dims = {"ClusterName": cluster}
    put("ECS/ContainerInsights", "TaskCount", cluster_dims, "Count", len(mine))
    put("ECS/ContainerInsights", "ServiceCount", cluster_dims, "Count",
        sum(1 for (c, _) in acct.desired if c == cluster))
    put("ECS/ContainerInsights", "ContainerInstanceCount", cluster_dims, "Count", len(acct.instances.get(cluster, [])))
