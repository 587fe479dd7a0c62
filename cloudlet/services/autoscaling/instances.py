"""A group's instances: DescribeAutoScalingInstances, TerminateInstanceInAutoScalingGroup,
SetInstanceHealth and SetInstanceProtection. They change the instance's record; the group
controller does the terminating and the replacing."""

from __future__ import annotations

import time

from cloudlet.control import asg_records as records

from .errors import at_most, find_group, invalid, page, paged

MAX_IDS = 50
_SHOWN = ("InstanceId", "InstanceType", "AvailabilityZone", "LifecycleState", "HealthStatus", "LaunchTemplate",
          "ProtectedFromScaleIn")


def shown_in_group(instance: dict) -> dict:
    return {k: instance[k] for k in _SHOWN if instance.get(k) is not None}


def _not_found(instance_id: str):
    return invalid(f"Instance Id not found - No managed instance found for instance ID: {instance_id}")


def _find(db, instance_id: str) -> dict:
    instance = records.find_instance(db, instance_id)
    if instance is None:
        raise _not_found(instance_id)
    return instance


class GroupInstances:
    def describe_auto_scaling_instances(self, ctx, request):
        wanted = request.get("InstanceIds")
        at_most(wanted, MAX_IDS, "instance IDs")
        with ctx.read() as db:
            found = [i for i in records.every(db, records.INSTANCE) if not wanted or i["InstanceId"] in wanted]
        got, token = page(found, lambda i: i["InstanceId"], request, default=50, maximum=50)
        # this one operation spells health in capitals, as AWS does
        return paged("AutoScalingInstances", [{**shown_in_group(i), "AutoScalingGroupName": i["_group"],
                                               "HealthStatus": i["HealthStatus"].upper()} for i in got], token)

    def terminate_instance_in_auto_scaling_group(self, ctx, request):
        instance_id, decrement = request.get("InstanceId"), request["ShouldDecrementDesiredCapacity"]
        if instance_id is None:  # optional in the model, required by the service
            raise invalid("1 validation error detected: Value null at 'instanceId' failed to satisfy constraint: "
                          "Member must not be null")
        with ctx.write() as db:
            instance = _find(db, instance_id)
            group = find_group(db, instance["_group"])
            if instance["LifecycleState"].startswith("Terminating"):
                return {"Activity": records.public(records.activity(db, instance["_activity"]))}
            why = f"At {records.stamp()} instance {instance_id} was taken out of service in response to a user request"
            if decrement:
                old = group["DesiredCapacity"]
                if old - 1 < group["MinSize"]:
                    raise invalid(f"Currently, desiredCapacity {old} cannot be decremented below the min size "
                                  f"{group['MinSize']} of the AutoScalingGroup.")
                group["DesiredCapacity"] = old - 1
                why += f", shrinking the capacity from {old} to {old - 1}"
                records.save_group(db, group)
            seq = records.take_out(db, group, instance, why + ".")
            records.save_instance(db, instance)
            activity = records.activity(db, seq)
        self.wake()
        return {"Activity": records.public(activity)}

    def set_instance_health(self, ctx, request):
        instance_id, health = request["InstanceId"], request["HealthStatus"]
        if health not in ("Healthy", "Unhealthy"):
            raise invalid("Valid health status values are Healthy and Unhealthy.")
        with ctx.write() as db:
            instance = _find(db, instance_id)
            group = find_group(db, instance["_group"])
            grace = group.get("HealthCheckGracePeriod") or 0
            since = instance.get("_in_service_at") or instance["_launched_at"]
            if request.get("ShouldRespectGracePeriod", True) and time.time() - since < grace:
                return {}  # a health check inside the grace period is not acted on, as AWS ignores it
            instance["HealthStatus"] = health
            if health == "Unhealthy":
                instance["_why"] = records.taken_out(records.UNHEALTHY_USER)
            records.save_instance(db, instance)
        self.wake()
        return {}

    def set_instance_protection(self, ctx, request):
        name, ids = request["AutoScalingGroupName"], request["InstanceIds"]
        at_most(ids, MAX_IDS, "instance IDs")
        with ctx.write() as db:
            find_group(db, name)
            instances = []
            for instance_id in ids:
                instance = records.load(db, records.INSTANCE, name, instance_id)
                if instance is None:
                    raise invalid(f"The instance {instance_id} is not part of Auto Scaling group {name}.")
                instances.append(instance)
            for instance in instances:
                instance["ProtectedFromScaleIn"] = bool(request["ProtectedFromScaleIn"])
                records.save_instance(db, instance)
        return {}
