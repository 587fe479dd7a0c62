"""Application Auto Scaling for ECS services: scalable targets, step and target tracking
policies run by CloudWatch alarms, scheduled actions run when due (scheduled.py), and
the activities they leave. Capacity changes go through ECS's UpdateService."""

from __future__ import annotations

import json
import logging
import time

from cloudlet.edge.errors import AWSError
from cloudlet.services.common import pagination, tags
from cloudlet.services.common.tags import ArnTagging
from cloudlet.store.schema import appscaling_objects as objects

from . import activities, policies, scheduled, targets

log = logging.getLogger("cloudlet.application_autoscaling")


def _public(body: dict) -> dict:
    return {k: v for k, v in body.items() if not k.startswith("_")}


def _page(items: list, request, sort_key):
    return pagination.page(items, sort_key, request.get("NextToken"), request.get("MaxResults"), default=50,
                           maximum=50, bad_token=lambda t: AWSError("InvalidNextTokenException", "Invalid token"),
                           bad_max=lambda n: targets.invalid("MaxResults must be between 1 and 50"))


def _listed(ctx, kind: str, request, name_member: str, names: list[str] | None) -> list[dict]:
    """The bodies of kind in the request's namespace, narrowed by the Describe call's filters:
    names (of name_member), ResourceId and ScalableDimension, each when given."""
    resource, dimension = request.get("ResourceId"), request.get("ScalableDimension")
    with ctx.read() as db:
        bodies = [json.loads(r["body"]) for r in db.select(objects, objects.c.kind == kind)]
    return [b for b in bodies if b["ServiceNamespace"] == request["ServiceNamespace"]
            and (not names or b[name_member] in names) and (not resource or b["ResourceId"] == resource)
            and (not dimension or b["ScalableDimension"] == dimension)]


class ApplicationAutoScaling(ArnTagging):
    tag_arn_member = "ResourceARN"
    tag_list_member = "Tags"
    tag_keys_member = "TagKeys"
    tag_pair_names = None

    def __init__(self, config, store):
        self.config = config
        self.store = store
        self.providers = None  # service -> provider, set by the edge: capacity goes through ECS
        self.scheduler = scheduled.Scheduler(store, self.apply)

    def use_providers(self, providers) -> None:
        self.providers = providers

    def tagged_resource_type(self, db, arn: str) -> str:
        for row in db.select(objects, objects.c.kind == "target"):
            if json.loads(row["body"])["ScalableTargetARN"] == arn:
                return "scalable-target"
        raise AWSError("ResourceNotFoundException", f"No scalable target found for ARN {arn}", 400)

    # -- targets

    def register_scalable_target(self, ctx, request):
        with ctx.write() as db:
            target, wanted = targets.register(db, ctx, request)
            if request.get("Tags"):
                tags.put(db, target["ScalableTargetARN"], "scalable-target", request["Tags"])
        if wanted is not None:
            self.apply(ctx.account_id, ctx.region, target, wanted,
                       f"minimum capacity was set to {target['MinCapacity']} and maximum capacity was set to "
                       f"{target['MaxCapacity']}")
        return {"ScalableTargetARN": target["ScalableTargetARN"]}

    def describe_scalable_targets(self, ctx, request):
        bodies = _listed(ctx, "target", request, "ResourceId", request.get("ResourceIds"))
        got, token = _page(bodies, request, lambda b: b["ResourceId"])
        return {"ScalableTargets": [_public(b) for b in got], **({"NextToken": token} if token else {})}

    def deregister_scalable_target(self, ctx, request):
        namespace, resource, dimension = targets.check(request)
        tkey = targets.key(namespace, resource, dimension)
        with ctx.write() as db:
            target = targets.find(db, namespace, resource, dimension)
            for row in db.select(objects, objects.c.kind.in_(("policy", "scheduled-action"))):
                if row["key"].startswith(tkey + "|"):
                    if row["kind"] == "policy":
                        policies.remove(db, row)
                    else:
                        db.delete(objects, objects.c.kind == row["kind"], objects.c.key == row["key"])
            db.delete(objects, objects.c.kind == "target", objects.c.key == tkey)
            tags.drop_resource(db, target["ScalableTargetARN"])
        return {}

    # -- policies

    def put_scaling_policy(self, ctx, request):
        namespace, resource, dimension = targets.check(request)
        with ctx.write() as db:
            target = targets.find(db, namespace, resource, dimension)
            body = policies.put(db, ctx, request, target)
        return {"PolicyARN": body["PolicyARN"], **({"Alarms": body["Alarms"]} if body["Alarms"] else {})}

    def describe_scaling_policies(self, ctx, request):
        bodies = _listed(ctx, "policy", request, "PolicyName", request.get("PolicyNames"))
        got, token = _page(bodies, request, lambda b: [b["ResourceId"], b["PolicyName"]])
        return {"ScalingPolicies": [_public(b) for b in got], **({"NextToken": token} if token else {})}

    def delete_scaling_policy(self, ctx, request):
        namespace, resource, dimension = targets.check(request)
        name = request["PolicyName"]
        with ctx.write() as db:
            row = db.one(objects, objects.c.kind == "policy", objects.c.key == policies.policy_key(
                targets.key(namespace, resource, dimension), name))
            if row is None:
                raise AWSError("ObjectNotFoundException", f"No scaling policy found for service namespace: "
                                                          f"{namespace}, resource ID: {resource}, scalable "
                                                          f"dimension: {dimension}, policy name: {name}")
            policies.remove(db, row)
        return {}

    # -- scheduled actions

    def put_scheduled_action(self, ctx, request):
        namespace, resource, dimension = targets.check(request)
        with ctx.write() as db:
            target = targets.find(db, namespace, resource, dimension)
            scheduled.put(db, ctx, request, target)
        self.scheduler.wake()
        return {}

    def describe_scheduled_actions(self, ctx, request):
        bodies = _listed(ctx, "scheduled-action", request, "ScheduledActionName", request.get("ScheduledActionNames"))
        got, token = _page(bodies, request, lambda b: [b["ResourceId"], b["ScheduledActionName"]])
        return {"ScheduledActions": [_public(b) for b in got], **({"NextToken": token} if token else {})}

    def delete_scheduled_action(self, ctx, request):
        namespace, resource, dimension = targets.check(request)
        with ctx.write() as db:
            scheduled.remove(db, targets.key(namespace, resource, dimension), request["ScheduledActionName"])
        return {}

    # -- activities

    def describe_scaling_activities(self, ctx, request):
        namespace, resource, dimension = request["ServiceNamespace"], request.get("ResourceId"), \
            request.get("ScalableDimension")
        with ctx.read() as db:
            items = activities.listed(db, namespace, resource, dimension,
                                      request.get("IncludeNotScaledActivities", False))
        got, token = _page(items, request, lambda b: -b["_seq"])
        return {"ScalingActivities": [_public(b) for b in got], **({"NextToken": token} if token else {})}

    # -- capacity changes: from alarms (the CloudWatch action dispatcher) and schedules

    def execute_from_alarm(self, account_id: str, region: str, policy_arn: str, alarm: dict) -> None:
        with self.store.scoped(account_id, region, write=False) as db:
            policy = policies.by_arn(db, policy_arn)
            if policy is None:
                raise AWSError("ObjectNotFoundException", f"No scaling policy found for ARN {policy_arn}")
            target = targets.find(db, policy["ServiceNamespace"], policy["ResourceId"], policy["ScalableDimension"])
            current = targets.capacity(db, target)
        if current is None:
            return
        decided = policies.wanted_capacity(policy, alarm, current)
        if decided is None:
            return
        new, direction = decided
        suspended = target.get("SuspendedState") or {}
        if suspended.get("DynamicScalingOutSuspended" if direction == "out" else "DynamicScalingInSuspended"):
            return
        new = min(max(new, target["MinCapacity"]), target["MaxCapacity"])
        if new == current or not self._cooled(target, policy, direction, new):
            return
        self.apply(account_id, region, target, new,
                   f"monitor alarm {alarm['AlarmName']} in state {alarm['StateValue']} triggered policy "
                   f"{policy['PolicyName']}", cooldown=(direction, _cooldown(policy, direction)))

    @staticmethod
    def _cooled(target: dict, policy: dict, direction: str, new: int) -> bool:
        """ECS's cooldowns: no scale-in while a cooldown runs; a scale-out during one only when
        it asks for more than the capacity the cooldown began with already gave."""
        held = target.get("_cooldown")
        if not held or held["until"] <= time.time():
            return True
        return direction == "out" and new > held["capacity"]

    def apply(self, account_id: str, region: str, target: dict, new: int, cause: str,
              cooldown: tuple[str, float] | None = None) -> None:
        """Set the target's capacity to new through ECS, then record it."""
        targets.set_capacity(self.store, self.config, self.providers, account_id, region, target, new)
        with self.store.scoped(account_id, region) as db:
            row = db.one(objects, objects.c.kind == "target", objects.c.key == targets.key(
                target["ServiceNamespace"], target["ResourceId"], target["ScalableDimension"]))
            if row is not None and cooldown is not None:
                body = json.loads(row["body"])
                body["_cooldown"] = {"until": time.time() + cooldown[1], "direction": cooldown[0], "capacity": new}
                db.update(objects, objects.c.kind == "target", objects.c.key == row["key"], body=json.dumps(body))
            activities.scaled(db, target, new, cause)
        log.info("%s (account %s): desired count %d (%s)", target["ResourceId"], account_id, new, cause)


def _cooldown(policy: dict, direction: str) -> float:
    if policy["PolicyType"] == "StepScaling":
        return policy["StepScalingPolicyConfiguration"].get("Cooldown", 0)
    config = policy["TargetTrackingScalingPolicyConfiguration"]
    return config.get("ScaleOutCooldown" if direction == "out" else "ScaleInCooldown", policies.COOLDOWN)
