"""Instance refreshes: StartInstanceRefresh, DescribeInstanceRefreshes,
CancelInstanceRefresh and RollbackInstanceRefresh. A refresh is recorded with the instances
it is to replace; the group controller replaces them a batch at a time
(control/asg_refresh.py). Checkpoints and alarm-driven rollback are refused rather than
ignored (cloudlet does not pause a refresh or watch alarms for one)."""

from __future__ import annotations

import time
import uuid

from cloudlet.control import asg_records as records
from cloudlet.control.asg_choice import live
from cloudlet.control.asg_refresh import ACTIVE, active
from cloudlet.edge.errors import AWSError

from . import templates
from .errors import find_group, invalid, page, paged

KEPT = 50  # finished refreshes a group keeps to describe
_PROTECTED = ("Refresh", "Ignore", "Wait")


def _preferences(given: dict) -> dict:
    prefs = {"MinHealthyPercentage": 90, "SkipMatching": False, "AutoRollback": False,
             "ScaleInProtectedInstances": "Ignore", "StandbyInstances": "Ignore", **given}
    high = prefs.get("MaxHealthyPercentage")
    if high is not None and high - prefs["MinHealthyPercentage"] > 100:
        raise invalid("The difference between MaxHealthyPercentage and MinHealthyPercentage must be at most 100.")
    if prefs.get("CheckpointPercentages") or prefs.get("CheckpointDelay"):
        raise invalid("cloudlet does not pause instance refreshes at checkpoints: CheckpointPercentages is not "
                      "supported.")
    if prefs.get("AlarmSpecification"):
        raise invalid("cloudlet does not watch alarms during an instance refresh: AlarmSpecification is not "
                      "supported.")
    if prefs["ScaleInProtectedInstances"] not in _PROTECTED or prefs["StandbyInstances"] not in _PROTECTED:
        raise invalid(f"ScaleInProtectedInstances and StandbyInstances must be one of {', '.join(_PROTECTED)}.")
    return prefs


def _same(instance: dict, template: dict) -> bool:
    spec = instance.get("LaunchTemplate") or {}
    return spec.get("LaunchTemplateId") == template["LaunchTemplateId"] and \
        str(spec.get("Version")) == template["Version"]


def _no_active(name: str) -> AWSError:
    return AWSError("ActiveInstanceRefreshNotFound",
                    f"No in progress or pending Instance Refresh found for Auto Scaling group {name}")


def _prune(db, name: str) -> None:
    done = sorted((r for r in records.of_group(db, records.REFRESH, name) if r["Status"] not in ACTIVE),
                  key=lambda r: r["StartTime"])
    for old in done[:max(0, len(done) - KEPT)]:
        records.drop(db, records.REFRESH, name, old["InstanceRefreshId"])


class Refreshes:
    def start_instance_refresh(self, ctx, request):
        name = request["AutoScalingGroupName"]
        if request.get("Strategy", "Rolling") != "Rolling":
            raise invalid(f"Strategy {request['Strategy']} is not supported: cloudlet refreshes instances by "
                          "replacing them (Rolling).")
        prefs = _preferences(request.get("Preferences") or {})
        with ctx.write() as db:
            group = find_group(db, name)
            if active(db, name) is not None:
                raise AWSError("InstanceRefreshInProgress", "An Instance Refresh is already in progress and blocks "
                                                            "the execution of this Instance Refresh.")
            wanted = request.get("DesiredConfiguration") or {}
            found = templates.source(db, wanted, required=False)
            target = templates.resolved(db, found["spec"] if found else group["_template"])
            instances = live(records.of_group(db, records.INSTANCE, name))
            outdated = [i["InstanceId"] for i in instances
                        if not (prefs["SkipMatching"] and _same(i, target))
                        and (not i.get("ProtectedFromScaleIn") or prefs["ScaleInProtectedInstances"] == "Refresh")]
            refresh = {"InstanceRefreshId": str(uuid.uuid4()), "AutoScalingGroupName": name, "Status": "Pending",
                       "StartTime": time.time(), "PercentageComplete": 0, "InstancesToUpdate": len(outdated),
                       "Preferences": prefs, "Strategy": "Rolling", "_outdated": outdated, "_total": len(outdated)}
            if found:
                refresh.update(DesiredConfiguration={found["member"]: found["shown"]}, _template=found["spec"],
                               _member=found["member"])
            records.save(db, records.REFRESH, name, refresh["InstanceRefreshId"], refresh)
            _prune(db, name)
        self.wake()
        return {"InstanceRefreshId": refresh["InstanceRefreshId"]}

    def describe_instance_refreshes(self, ctx, request):
        name, ids = request["AutoScalingGroupName"], request.get("InstanceRefreshIds")
        with ctx.read() as db:
            find_group(db, name, deleting_ok=True)
            found = [r for r in records.of_group(db, records.REFRESH, name) if not ids or r["InstanceRefreshId"] in ids]
        got, token = page(found, lambda r: (-r["StartTime"], r["InstanceRefreshId"]), request)
        return paged("InstanceRefreshes", [records.public(r) for r in got], token)

    def cancel_instance_refresh(self, ctx, request):
        name = request["AutoScalingGroupName"]
        with ctx.write() as db:
            find_group(db, name)
            refresh = active(db, name)
            if refresh is None or refresh["Status"] not in ("Pending", "InProgress"):
                raise _no_active(name)
            refresh.update(Status="Cancelling", StatusReason="Cancellation requested by user.")
            records.save(db, records.REFRESH, name, refresh["InstanceRefreshId"], refresh)
        self.wake()
        return {"InstanceRefreshId": refresh["InstanceRefreshId"]}

    def rollback_instance_refresh(self, ctx, request):
        name = request["AutoScalingGroupName"]
        with ctx.write() as db:
            group = find_group(db, name)
            refresh = active(db, name)
            if refresh is None or refresh["Status"] not in ("Pending", "InProgress"):
                raise _no_active(name)
            if not refresh.get("_template"):
                raise AWSError("IrreversibleInstanceRefresh", "The instance refresh cannot be rolled back: it was "
                                                              "started without a DesiredConfiguration.")
            if not str(group["_template"].get("Version", "")).isdigit():
                raise AWSError("IrreversibleInstanceRefresh", "The instance refresh cannot be rolled back: the "
                                                              "group's launch template version is $Latest or $Default.")
            previous = templates.resolved(db, group["_template"])
            back = [i["InstanceId"] for i in live(records.of_group(db, records.INSTANCE, name))
                    if not _same(i, previous)]
            now = time.time()
            refresh.update(Status="RollbackInProgress", StatusReason="Rollback initiated by user.", _outdated=back,
                           _total=len(back), RollbackDetails={
                               "RollbackReason": "Rollback initiated by user.", "RollbackStartTime": now,
                               "PercentageCompleteOnRollback": refresh.get("PercentageComplete", 0),
                               "InstancesToUpdateOnRollback": len(back)})
            records.save(db, records.REFRESH, name, refresh["InstanceRefreshId"], refresh)
        self.wake()
        return {"InstanceRefreshId": refresh["InstanceRefreshId"]}
