"""Scaling processes: DescribeScalingProcessTypes, SuspendProcesses and ResumeProcesses. The
group controller and the policies skip what a group has suspended (control/autoscaling.py
suspended())."""

from __future__ import annotations

from cloudlet.control import asg_records as records

from .errors import find_group, invalid

PROCESSES = ("Launch", "Terminate", "AddToLoadBalancer", "AlarmNotification", "AZRebalance", "HealthCheck",
             "InstanceRefresh", "ReplaceUnhealthy", "ScheduledActions")


def _named(request) -> list[str]:
    names = request.get("ScalingProcesses") or list(PROCESSES)  # none named: all of them
    for name in names:
        if name not in PROCESSES:
            raise invalid(f"Process {name} is not a valid scaling process. Valid processes are "
                          f"{', '.join(PROCESSES)}.")
    return names


class Processes:
    def describe_scaling_process_types(self, ctx, request):
        return {"Processes": [{"ProcessName": p} for p in PROCESSES]}

    def suspend_processes(self, ctx, request):
        names = _named(request)
        with ctx.write() as db:
            group = find_group(db, request["AutoScalingGroupName"])
            have = {p["ProcessName"] for p in group["SuspendedProcesses"]}
            group["SuspendedProcesses"] += [{"ProcessName": n, "SuspensionReason": f"User suspended at "
                                                                                   f"{records.stamp()}"}
                                            for n in dict.fromkeys(names) if n not in have]
            records.save_group(db, group)
        return {}

    def resume_processes(self, ctx, request):
        names = set(_named(request))
        with ctx.write() as db:
            group = find_group(db, request["AutoScalingGroupName"])
            group["SuspendedProcesses"] = [p for p in group["SuspendedProcesses"] if p["ProcessName"] not in names]
            records.save_group(db, group)
        self.wake()
        return {}
