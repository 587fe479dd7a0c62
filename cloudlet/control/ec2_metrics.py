"""The EC2 metrics publisher: AWS/EC2 and AWS/EBS metrics of the instances that really run,
worked out from their VMs' counters (ec2_figures.py) and put into each instance's account and
region, as EC2 and EBS publish them:

- a datapoint covers one period and is stamped with the period's start: with detailed
  monitoring (Monitoring.Enabled, MonitorInstances) 1 minute, with basic monitoring 5 minutes;
  EBS volumes and status checks always 1 minute. Rounds fall on multiples of the period on the
  wall clock, so each datapoint fills one CloudWatch period.
- cloudlet's metrics clock (--metrics-interval, config.metrics_interval) is AWS's 20-s sampling
  at its default; the 1-minute period is 3 of its intervals, so a test that shortens it shortens
  EC2's periods in proportion (and the data is then stored at high resolution).
- each round reads every running instance's VM once (one QMP round trip, a few /proc reads)
  and writes each account's datapoints in one transaction. The first reading of a VM (a new
  instance, a restarted QEMU, a restarted server) only starts its spans.

DescribeInstanceStatus answers from the status checks' datapoints (latest_checks), so the two
always agree."""

from __future__ import annotations

import json
import logging
import time
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select

from cloudlet.agent.vms import VMs
from cloudlet.agent.vms.stats import Reading, read
from cloudlet.store import metrics
from cloudlet.store.metrics import Agg, Datum
from cloudlet.store.schema import ec2_instances, ec2_volumes, tags

from .ec2_figures import checks, dimension_sets, instance_figures, volume_figures
from .instances import instance_store_disk
from .loop import Loop

log = logging.getLogger("cloudlet.control.ec2_metrics")
SAMPLES_PER_MINUTE = 3  # config.metrics_interval is AWS's 20-s sampling at its default
BASIC = 5  # a basic monitoring datapoint spans 5 one-minute periods
GROUP_TAG = "aws:autoscaling:groupName"
CHECKS = ("StatusCheckFailed_System", "StatusCheckFailed_Instance", "StatusCheckFailed_AttachedEBS")


def minute(metrics_interval: float) -> float:
    """The length of what stands for a minute (EC2's detailed period) on cloudlet's clock."""
    return SAMPLES_PER_MINUTE * metrics_interval


@dataclass
class Running:
    account: str
    region: str
    instance_id: str
    image_id: str
    instance_type: str
    detailed: bool
    group: str | None
    volumes: set[str]


class EC2Metrics(Loop):
    def __init__(self, store, vms: VMs, metrics_interval: float):
        self.store = store
        self.vms = vms
        self.period = minute(metrics_interval)
        self.high_resolution = self.period < 60
        self._since: dict[str, tuple[float, Reading]] = {}  # instance -> (tick, reading) its EC2 datapoint began at
        self._last: dict[str, tuple[float, Reading]] = {}  # instance -> (tick, reading) of the last round
        self._tick = None
        self.start("ec2-metrics", self.period, aligned=True)

    def round(self) -> None:
        tick = time.time() // self.period * self.period
        if tick == self._tick:
            return  # woken early, within a period already published
        self._tick = tick
        began = time.perf_counter()
        running = self._running()
        data: dict[tuple[str, str], list[Datum]] = defaultdict(list)
        for inst in running:
            try:
                data[(inst.account, inst.region)] += self._datums(inst, tick, read(self.vms, inst.instance_id))
            except Exception:  # one VM's odd answer must not cost the others their datapoints
                log.exception("instance %s", inst.instance_id)
        for gone in set(self._last) - {i.instance_id for i in running}:
            self._last.pop(gone, None)
            self._since.pop(gone, None)
        now = int(time.time())
        for (account, region), datums in data.items():
            with self.store.scoped(account, region) as db:
                metrics.put(db, datums, now)
        log.debug("%d instances, %d datapoints in %.1f ms", len(running), sum(map(len, data.values())),
                  (time.perf_counter() - began) * 1000)

    def _running(self) -> list[Running]:
        with self.store.begin(write=False) as conn:
            rows = conn.execute(select(ec2_instances).where(ec2_instances.c.state == "running")).all()
            groups = {(r.account_id, r.region, r.resource_id): r.value for r in conn.execute(
                select(tags).where(tags.c.key == GROUP_TAG))}
            attached = conn.execute(select(ec2_volumes.c.account_id, ec2_volumes.c.region, ec2_volumes.c.instance_id,
                                           ec2_volumes.c.volume_id).where(ec2_volumes.c.instance_id.is_not(None)))
            volumes: dict[tuple, set[str]] = defaultdict(set)
            for v in attached:
                volumes[(v.account_id, v.region, v.instance_id)].add(v.volume_id)
        out = []
        for row in rows:
            body = json.loads(row.body)
            key = (row.account_id, row.region, row.instance_id)
            out.append(Running(row.account_id, row.region, row.instance_id, body["ImageId"], body["InstanceType"],
                               body.get("Monitoring", {}).get("State") == "enabled", groups.get(key), volumes[key]))
        return out

    def _datums(self, inst: Running, tick: float, reading: Reading) -> list[Datum]:
        out: list[Datum] = []
        series = dimension_sets(inst.instance_id, inst.image_id, inst.instance_type, inst.group, inst.detailed)

        def put(namespace: str, name: str, dims, unit: str, value: float, at: float) -> None:
            out.append(Datum(namespace, name, dims, int(at), unit, Agg.of(float(value)), self.high_resolution))

        for name, failed in checks(reading).items():  # every period, whatever the monitoring
            for dims in series:
                put("AWS/EC2", name, dims, "Count", failed, tick - self.period)
        iid = inst.instance_id
        if reading.pid is None or not reading.answered:
            self._last.pop(iid, None)  # nothing to measure: spans start again when it answers
            self._since.pop(iid, None)
            return out
        last = self._last.get(iid)
        if last is None or last[1].pid != reading.pid:
            self._since[iid] = (tick, reading)  # first sight of this QEMU: its counters start here
        else:
            span = reading.at - last[1].at
            for volume in sorted(inst.volumes & reading.drives.keys() & last[1].drives.keys()):
                for name, unit, value in volume_figures(last[1].drives[volume], reading.drives[volume], span):
                    put("AWS/EBS", name, (("VolumeId", volume),), unit, value, last[0])
        self._last[iid] = (tick, reading)
        began, before = self._since[iid]
        if before is not reading and (inst.detailed or round(tick / self.period) % BASIC == 0):
            for name, unit, value in instance_figures(before, reading, inst.volumes, {instance_store_disk(iid)}):
                for dims in series:
                    put("AWS/EC2", name, dims, unit, value, began)
            self._since[iid] = (tick, reading)
        return out


def latest_checks(db, instance_id: str, now: int, metrics_interval: float) -> dict[str, tuple[bool, int] | None]:
    """Each status check's last result for the instance (failed?, when), None where it has none
    from the last two periods (it is initializing)."""
    period = minute(metrics_interval)
    rows = 1 if period < 60 else 60  # the finest stored period
    out: dict[str, tuple[bool, int] | None] = {}
    for name in CHECKS:
        found = metrics.series(db, "AWS/EC2", name, [{"Name": "InstanceId", "Value": instance_id}])
        points = metrics.points(db, found["series_id"], rows, int(now - 2 * period - rows), now + rows) \
            if found else []
        out[name] = (points[-1][2].max >= 1, points[-1][0]) if points else None
    return out
