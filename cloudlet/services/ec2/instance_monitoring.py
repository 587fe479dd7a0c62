"""What CloudWatch sees of instances: detailed monitoring switched on and off (1-minute
instead of 5-minute AWS/EC2 datapoints, by the publisher in cloudlet/control/ec2_metrics.py),
and DescribeInstanceStatus, which reads the status checks' own datapoints so that it always
agrees with StatusCheckFailed_System, _Instance and _AttachedEBS."""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone

from cloudlet.control.ec2_metrics import latest_checks
from cloudlet.ids import now
from cloudlet.services.common import filters
from cloudlet.store.schema import ec2_instances as table

_SUMMARIES = {"StatusCheckFailed_System": "SystemStatus", "StatusCheckFailed_Instance": "InstanceStatus",
              "StatusCheckFailed_AttachedEBS": "AttachedEbsStatus"}


def monitoring(request) -> dict:
    """An instance's Monitoring as RunInstances' Monitoring.Enabled asks."""
    return {"State": "enabled" if (request.get("Monitoring") or {}).get("Enabled") else "disabled"}


def _summary(check: tuple[bool, int] | None) -> dict:
    if check is None:
        return {"Status": "initializing", "Details": [{"Name": "reachability", "Status": "initializing"}]}
    failed, since = check
    if not failed:
        return {"Status": "ok", "Details": [{"Name": "reachability", "Status": "passed"}]}
    return {"Status": "impaired", "Details": [{"Name": "reachability", "Status": "failed",
                                               "ImpairedSince": datetime.fromtimestamp(since, timezone.utc)}]}


class InstanceMonitoring:
    def _monitor(self, ctx, request, state: str, answer: str) -> list[dict]:
        with ctx.write() as db:
            rows = self._rows(db, request["InstanceIds"])
            for r in rows:
                body = json.loads(r["body"])
                body["Monitoring"] = {"State": state}
                db.update(table, table.c.instance_id == r["instance_id"], body=json.dumps(body), updated_at=now())
        # AWS answers with the state on its way; the publisher applies it from its next round
        return [{"InstanceId": r["instance_id"], "Monitoring": {"State": answer}} for r in rows]

    def monitor_instances(self, ctx, request):
        return {"InstanceMonitorings": self._monitor(ctx, request, "enabled", "pending")}

    def unmonitor_instances(self, ctx, request):
        return {"InstanceMonitorings": self._monitor(ctx, request, "disabled", "disabling")}

    def describe_instance_status(self, ctx, request):
        """Running instances' checks from their latest datapoints: initializing until the
        publisher's first round has seen them; not-applicable for the others (shown only with
        IncludeAllInstances)."""
        at = int(time.time())
        out = []
        with ctx.read() as db:
            for r in self._rows(db, request.get("InstanceIds")):
                body = json.loads(r["body"])
                running = body["State"]["Name"] == "running"
                if not running and not request.get("IncludeAllInstances"):
                    continue
                status = {"InstanceId": r["instance_id"], "AvailabilityZone": body["Placement"]["AvailabilityZone"],
                          "InstanceState": body["State"]}
                found = latest_checks(db, r["instance_id"], at, self.config.metrics_interval) if running else {}
                for name, key in _SUMMARIES.items():
                    status[key] = _summary(found[name]) if running else {"Status": "not-applicable"}
                out.append(status)
        getters = {"instance-state-name": lambda s: s["InstanceState"]["Name"],
                   "instance-state-code": lambda s: s["InstanceState"]["Code"],
                   "availability-zone": lambda s: s["AvailabilityZone"]}
        for prefix, key in (("instance-status", "InstanceStatus"), ("system-status", "SystemStatus"),
                            ("attached-ebs-status", "AttachedEbsStatus")):
            getters[f"{prefix}.status"] = lambda s, key=key: s[key]["Status"]
            getters[f"{prefix}.reachability"] = lambda s, key=key: [d["Status"] for d in s[key].get("Details", [])]
        return {"InstanceStatuses": filters.apply(out, request.get("Filters"), getters)}
