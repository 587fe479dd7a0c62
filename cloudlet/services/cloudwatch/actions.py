"""Alarm actions, as CloudWatch runs them. When an alarm whose actions are enabled changes
state, each ARN in the new state's list is acted on: an SNS topic is sent AWS's notification
JSON, an EC2 action stops, terminates or reboots the instance of the alarm's InstanceId
dimension, a scaling policy (EC2 Auto Scaling or Application Auto Scaling) is executed.
Scaling policies are executed again once a minute while the alarm stays in ALARM, as AWS
invokes Auto Scaling actions (target tracking relies on it). Every action leaves an Action
item in the alarm's history, succeeded or failed.

The actions run on one worker thread, not in the transaction that moved the state: a slow
webhook or a scaling step never holds up the evaluator or an API call."""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from dataclasses import dataclass

from botocore.loaders import Loader

from cloudlet.edge.errors import AWSError
from cloudlet.services.context import acting_for

from .evaluation import iso
from .history import record

log = logging.getLogger("cloudlet.cloudwatch.actions")
LISTS = {"ALARM": "AlarmActions", "OK": "OKActions", "INSUFFICIENT_DATA": "InsufficientDataActions"}
REPEAT = 60.0  # seconds between executions of a scaling action while its alarm stays in ALARM
_EC2 = {"stop": "stop_instances", "terminate": "terminate_instances", "reboot": "reboot_instances",
        # cloudlet's "hardware" is the host's QEMU process: recovering is restarting the VM in place
        "recover": "reboot_instances"}
_jobs: queue.Queue = queue.Queue(maxsize=10_000)


@dataclass
class Job:
    account_id: str
    region: str
    alarm: dict  # the alarm as DescribeAlarms shows it, at the time it moved
    old_state: str


def queue_actions(account_id: str, region: str, body: dict, old_state: str) -> None:
    """Queue the actions of body's state (body: the alarm's stored body, its state already the
    new one); notes when, so that scaling actions repeat a minute later."""
    if not body.get("ActionsEnabled", True) or not body.get(LISTS[body["StateValue"]]):
        return
    body["_acted"] = time.time()
    try:
        _jobs.put_nowait(Job(account_id, region, {k: v for k, v in body.items() if not k.startswith("_")}, old_state))
    except queue.Full:
        log.warning("alarm %s (account %s): actions dropped, the queue is full", body["AlarmName"], account_id)


def repeat_due(body: dict, now: float) -> bool:
    """Whether body, staying in ALARM, should run its scaling actions again."""
    return (body["StateValue"] == "ALARM" and body.get("ActionsEnabled", True)
            and any(":scalingPolicy:" in arn for arn in body.get("AlarmActions", []))
            and now - body.get("_acted", 0) >= REPEAT)


_REGIONS = {name: r["description"] for p in Loader().load_data("endpoints")["partitions"]
            for name, r in p["regions"].items()}


def region_name(region: str) -> str:
    return _REGIONS.get(region, region)


def _trigger(alarm: dict) -> dict:
    common = {"Period": alarm.get("Period"), "EvaluationPeriods": alarm.get("EvaluationPeriods"),
              **({"DatapointsToAlarm": alarm["DatapointsToAlarm"]} if "DatapointsToAlarm" in alarm else {}),
              "ComparisonOperator": alarm.get("ComparisonOperator"), "Threshold": alarm.get("Threshold"),
              "TreatMissingData": alarm.get("TreatMissingData", ""),
              "EvaluateLowSampleCountPercentile": alarm.get("EvaluateLowSampleCountPercentile", "")}
    if "Metrics" in alarm:
        return {**common, "Metrics": alarm["Metrics"]}
    statistic = ({"StatisticType": "ExtendedStatistic", "ExtendedStatistic": alarm["ExtendedStatistic"]}
                 if "ExtendedStatistic" in alarm else
                 {"StatisticType": "Statistic", "Statistic": str(alarm.get("Statistic", "")).upper()})
    return {"MetricName": alarm.get("MetricName"), "Namespace": alarm.get("Namespace"), **statistic,
            "Unit": alarm.get("Unit"),
            "Dimensions": [{"value": d["Value"], "name": d["Name"]} for d in alarm.get("Dimensions", [])],
            **common}


def _cause(alarm: dict) -> dict:
    """A metric alarm's Trigger, or a composite's rule and the children that decided it."""
    if "AlarmRule" not in alarm:
        return {"Trigger": _trigger(alarm)}
    try:
        deciding = json.loads(alarm.get("StateReasonData") or "{}").get("triggeringAlarms") or []
    except ValueError:
        deciding = []
    return {"AlarmRule": alarm["AlarmRule"], "TriggeringChildren": [
        {"Arn": c["arn"], "State": {"Value": c["state"]["value"], "Timestamp": c["state"]["timestamp"]}}
        for c in deciding]}


def notification(job: Job) -> tuple[str, str]:
    """The subject and message CloudWatch publishes to an SNS topic for job."""
    alarm = job.alarm
    message = {
        "AlarmName": alarm["AlarmName"], "AlarmDescription": alarm.get("AlarmDescription"),
        "AWSAccountId": job.account_id,
        "AlarmConfigurationUpdatedTimestamp": iso(alarm["AlarmConfigurationUpdatedTimestamp"]),
        "NewStateValue": alarm["StateValue"], "NewStateReason": alarm["StateReason"],
        "StateChangeTime": iso(alarm["StateUpdatedTimestamp"]), "Region": region_name(job.region),
        "AlarmArn": alarm["AlarmArn"], "OldStateValue": job.old_state,
        "OKActions": alarm.get("OKActions", []), "AlarmActions": alarm.get("AlarmActions", []),
        "InsufficientDataActions": alarm.get("InsufficientDataActions", []), **_cause(alarm)}
    subject = f'{alarm["StateValue"]}: "{alarm["AlarmName"]}" in {region_name(job.region)}'
    return subject[:100], json.dumps(message)


class Worker:
    """Runs queued actions. `providers(service)` gives the provider an EC2 action calls (set by
    the edge, which owns the providers)."""

    def __init__(self, store, config):
        self.store = store
        self.config = config
        self.providers = None
        threading.Thread(target=self._run, name="alarm-actions", daemon=True).start()

    def _run(self) -> None:
        while True:
            job = _jobs.get()
            for arn in job.alarm.get(LISTS[job.alarm["StateValue"]], []):
                try:
                    data = self.act(job, arn)
                    summary, data = f"Successfully executed action {arn}", {"actionState": "Succeeded", **data}
                except AWSError as error:
                    summary, data = f"Failed to execute action {arn}", {"actionState": "Failed",
                                                                        "error": error.message}
                except Exception as error:  # a bug in one action must not stop the others
                    log.exception("alarm %s: action %s", job.alarm["AlarmName"], arn)
                    summary, data = f"Failed to execute action {arn}", {"actionState": "Failed", "error": str(error)}
                data["stateUpdateTimestamp"] = int(job.alarm["StateUpdatedTimestamp"] * 1000)
                try:
                    with self.store.scoped(job.account_id, job.region) as db:
                        record(db, job.alarm["AlarmName"], "Action", summary, data)
                except Exception:
                    log.exception("alarm %s: recording action %s", job.alarm["AlarmName"], arn)

    def act(self, job: Job, arn: str) -> dict:
        parts = arn.split(":")
        service, region, account = parts[2], parts[3], parts[4]
        if region != job.region or (service != "automate" and account != job.account_id):
            raise AWSError("InvalidParameterValue", f"The action {arn} is not in the alarm's account and region.")
        if service == "sns":
            from cloudlet.services.sns import delivery
            subject, message = notification(job)
            if delivery.publish(self.store, job.account_id, job.region, arn, message, subject) is None:
                raise AWSError("NotFound", f"Topic {arn} does not exist.")
            return {"notificationResource": arn, "publishedMessage": json.loads(message)}
        if service == "automate":
            return self._ec2(job, parts[-1], arn)
        if service == "autoscaling":  # the policy's resource part tells the two services apart
            if ":resource/" in arn:
                self.providers("application-autoscaling").execute_from_alarm(job.account_id, job.region, arn,
                                                                             job.alarm)
            elif ":autoScalingGroupName/" in arn:
                from cloudlet.services.autoscaling import policies
                policies.execute_from_alarm(self.store, job.account_id, job.region, arn, job.alarm)
            else:
                raise AWSError("InvalidParameterValue", f"{arn} is not a scaling policy.")
            return {"notificationResource": arn}
        raise AWSError("UnsupportedOperation", f"cloudlet has no {service} service to run the action {arn}.")

    def _ec2(self, job: Job, verb: str, arn: str) -> dict:
        instance = next((d["Value"] for d in job.alarm.get("Dimensions", []) if d["Name"] == "InstanceId"), None)
        if instance is None:
            raise AWSError("InvalidParameterValue", "EC2 actions need an alarm on a metric with an InstanceId "
                                                    "dimension.")
        ctx = acting_for(self.store, self.config, job.account_id, job.region, "AWSServiceRoleForCloudWatchEvents")
        getattr(self.providers("ec2"), _EC2[verb])(ctx, {"InstanceIds": [instance]})
        return {"notificationResource": arn, "instanceId": instance}
