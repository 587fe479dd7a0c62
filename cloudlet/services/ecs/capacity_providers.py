"""ECS capacity providers: CreateCapacityProvider, UpdateCapacityProvider, DeleteCapacityProvider
and DescribeCapacityProviders, with ECS's messages.

FARGATE and FARGATE_SPOT are built in (every account sees them, none stores them). An account's
own providers are Auto Scaling group providers: the group must be one of the same account and
region in cloudlet's Auto Scaling store, used by no other active provider. Their settings are
recorded as ECS shows them; nothing here scales the group, since no container instance of this
host comes from one (a task's strategy may name only the Fargate providers: tasks.launch_of).

A provider associated with a cluster is not deleted: DeleteCapacityProvider answers with it
unchanged but for updateStatus DELETE_FAILED and AWS's reason, as ECS does."""

from __future__ import annotations

import json
import re

from cloudlet.control import asg_records
from cloudlet.services.common import pagination, tags
from cloudlet.store.schema import ecs_capacity_providers as table
from cloudlet.store.schema import ecs_clusters

from .common import client_error, invalid

FARGATE_PROVIDERS = ("FARGATE", "FARGATE_SPOT")
_NAME = re.compile(r"[a-zA-Z0-9_-]{1,255}")
_RESERVED = ("aws", "ecs", "fargate")  # refused as prefixes in any case, as ECS does
_ASG_ARN = re.compile(r"arn:aws:autoscaling:(?P<region>[a-z0-9-]+):(?P<account>[0-9]{12}):autoScalingGroup:"
                      r"[0-9a-f-]{36}:autoScalingGroupName/(?P<name>.{1,255})")
# ECS's defaults for what a managedScaling leaves out (the model bounds each value).
_SCALING_DEFAULTS = {"status": "DISABLED", "targetCapacity": 100, "minimumScalingStepSize": 1,
                     "maximumScalingStepSize": 10000, "instanceWarmupPeriod": 300}
MAX_DESCRIBED = 100
PAGE = 10


def _bad_name() -> Exception:
    return client_error('The specified capacity provider name is invalid. Up to 255 characters are allowed, '
                        'including letters (upper and lowercase), numbers, underscores, and hyphens. The name '
                        'cannot be prefixed with "aws", "ecs", or "fargate". Specify a valid name and try again.')


def _not_found() -> Exception:
    return client_error("The specified capacity provider does not exist. Specify a valid name or ARN and try again.")


def provider_arn(db, name: str) -> str:
    return f"arn:aws:ecs:{db.region}:{db.account_id}:capacity-provider/{name}"


def _name_of(db, ref: str) -> str | None:
    """The provider's name from its name or ARN; None for an ARN of another account or region."""
    if not ref.startswith("arn:"):
        return ref
    prefix = provider_arn(db, "")
    return ref[len(prefix):] if ref.startswith(prefix) else None


def _load(db, name: str | None) -> dict | None:
    row = db.one(table, table.c.name == name) if name else None
    return json.loads(row["body"]) if row else None


def active(db, name: str | None) -> dict | None:
    """The account's provider of that name, if it is ACTIVE (not deleted)."""
    body = _load(db, name)
    return body if body is not None and body["status"] == "ACTIVE" else None


def _save(db, body: dict) -> None:
    where = table.c.name == body["name"]
    values = dict(status=body["status"], body=json.dumps(body))
    if not db.update(table, where, **values):
        db.insert(table, name=body["name"], **values)


def _built_in(db, name: str) -> dict:
    return {"capacityProviderArn": provider_arn(db, name), "name": name, "status": "ACTIVE", "type": name}


def _group(db, ref: str) -> dict:
    """The Auto Scaling group an autoScalingGroupArn (or a group's name) names, in this account
    and region; an ARN of anything else, or of a group gone or going, names none."""
    match = _ASG_ARN.fullmatch(ref)
    name = match["name"] if match else ref
    group = None if ref.startswith("arn:") and not match else asg_records.load(db, asg_records.GROUP, name, name)
    if group is None or group.get("Status") or (match and group["AutoScalingGroupARN"] != ref):
        raise client_error("The specified Auto Scaling group ARN is invalid. Specify a valid Auto Scaling group "
                           "ARN and try again.")
    return group


def _scaling(given: dict | None, current: dict) -> dict:
    out = {**current, **{k: v for k, v in (given or {}).items() if v is not None}}
    if out["minimumScalingStepSize"] > out["maximumScalingStepSize"]:
        raise invalid("The minimum scaling step size must be less than or equal to the maximum scaling step size.")
    return out


def _check_protection(provider: dict, group: dict) -> None:
    """Managed termination protection needs managed scaling, and the group protecting its new
    instances from scale in, as ECS requires."""
    if provider["managedTerminationProtection"] != "ENABLED":
        return
    if provider["managedScaling"]["status"] != "ENABLED":
        raise client_error("The managed termination protection setting for the capacity provider is invalid. To "
                           "enable managed termination protection for a capacity provider, managed scaling must "
                           "also be enabled.")
    if not group.get("NewInstancesProtectedFromScaleIn"):
        raise client_error("The managed termination protection setting for the capacity provider is invalid. To "
                           "enable managed termination protection for a capacity provider, the Auto Scaling group "
                           "must have instance protection from scale in enabled.")


def clusters_using(db, name: str) -> list[str]:
    rows = db.select(ecs_clusters, ecs_clusters.c.status == "ACTIVE", order_by=ecs_clusters.c.name)
    return [r["name"] for r in rows if name in json.loads(r["capacity_providers"])]


def usable(db, name: str) -> None:
    """ECS's InvalidParameterException unless `name` is a provider a cluster can take."""
    if name in FARGATE_PROVIDERS:
        return
    found = _load(db, name) if _NAME.fullmatch(name or "") else None
    if found is None:
        raise invalid("The specified capacity provider was not found. Specify a valid capacity provider and try "
                      "again.")
    if found["status"] != "ACTIVE":
        raise invalid(f"The specified capacity provider '{name}' is not in an ACTIVE state. Specify a valid "
                      "capacity provider and try again.")


class CapacityProviders:
    def _shown(self, db, body: dict, include: list[str] = ()) -> dict:
        if "TAGS" in include:
            return {**body, "tags": tags.to_pairs(tags.get(db, body["capacityProviderArn"]), "key", "value")}
        return body

    def create_capacity_provider(self, ctx, request):
        name = request["name"]
        if not _NAME.fullmatch(name) or name.lower().startswith(_RESERVED):
            raise _bad_name()
        if request.get("managedInstancesProvider") or not request.get("autoScalingGroupProvider"):
            raise invalid("An autoScalingGroupProvider is required: cloudlet offers no ECS Managed Instances.")
        spec = request["autoScalingGroupProvider"]
        pairs = tags.from_pairs(request.get("tags"), "key", "value")
        with ctx.write() as db:
            if active(db, name) is not None:
                raise client_error("The specified capacity provider already exists. To change the configuration "
                                   "of an existing capacity provider, update the capacity provider.")
            group = _group(db, spec["autoScalingGroupArn"])
            for row in db.select(table, table.c.status == "ACTIVE"):
                if json.loads(row["body"])["autoScalingGroupProvider"]["autoScalingGroupArn"] == \
                        group["AutoScalingGroupARN"]:
                    raise client_error("The specified Auto Scaling group ARN is already being used by another "
                                       "capacity provider. Specify a unique Auto Scaling group ARN and try again.")
            body = {"capacityProviderArn": provider_arn(db, name), "name": name, "status": "ACTIVE",
                    "autoScalingGroupProvider": {
                        "autoScalingGroupArn": group["AutoScalingGroupARN"],
                        "managedScaling": _scaling(spec.get("managedScaling"), _SCALING_DEFAULTS),
                        "managedTerminationProtection": spec.get("managedTerminationProtection") or "DISABLED",
                        "managedDraining": spec.get("managedDraining") or "ENABLED"},
                    "updateStatus": "CREATE_COMPLETE", "type": "EC2_AUTOSCALING"}
            _check_protection(body["autoScalingGroupProvider"], group)
            tags.drop_resource(db, body["capacityProviderArn"])  # a deleted namesake's
            if pairs:
                tags.put(db, body["capacityProviderArn"], "capacity-provider", pairs)
            _save(db, body)
            return {"capacityProvider": self._shown(db, body, ["TAGS"])}

    def update_capacity_provider(self, ctx, request):
        spec = request.get("autoScalingGroupProvider") or {}
        with ctx.write() as db:
            body = active(db, _name_of(db, request["name"]))
            if body is None:
                raise _not_found()
            provider = body["autoScalingGroupProvider"]
            provider["managedScaling"] = _scaling(spec.get("managedScaling"), provider["managedScaling"])
            for key in ("managedTerminationProtection", "managedDraining"):
                if spec.get(key):
                    provider[key] = spec[key]
            _check_protection(provider, _group(db, provider["autoScalingGroupArn"]))
            body.update(updateStatus="UPDATE_COMPLETE")
            body.pop("updateStatusReason", None)
            _save(db, body)
            return {"capacityProvider": self._shown(db, body)}

    def delete_capacity_provider(self, ctx, request):
        ref = request["capacityProvider"]
        with ctx.write() as db:
            name = _name_of(db, ref)
            if name in FARGATE_PROVIDERS:
                raise client_error(f"The {name} capacity provider is reserved and cannot be deleted. Disassociate "
                                   "it from the cluster instead.")
            body = active(db, name)
            if body is None:
                raise _not_found()
            using = clusters_using(db, name)
            if using:
                body.update(updateStatus="DELETE_FAILED", updateStatusReason=(
                    f"The capacity provider cannot be deleted because it is associated with cluster: {using[0]}. "
                    "Remove the capacity provider from the cluster and try again."))
            else:
                body.update(status="INACTIVE", updateStatus="DELETE_COMPLETE")
                body.pop("updateStatusReason", None)
            _save(db, body)
            return {"capacityProvider": self._shown(db, body)}

    def describe_capacity_providers(self, ctx, request):
        refs, include = request.get("capacityProviders"), request.get("include") or []
        if refs is not None and len(refs) > MAX_DESCRIBED:
            raise invalid(f"Up to {MAX_DESCRIBED} capacity providers can be described in an action.")
        found, failures = [], []
        with ctx.read() as db:
            if refs is None:
                rows = db.select(table, table.c.status == "ACTIVE", order_by=table.c.name)
                found = [_built_in(db, n) for n in FARGATE_PROVIDERS] + [json.loads(r["body"]) for r in rows]
            for ref in dict.fromkeys(refs or []):
                name = _name_of(db, ref)
                body = _built_in(db, name) if name in FARGATE_PROVIDERS else _load(db, name)
                if body is None:
                    failures.append({"arn": ref if ref.startswith("arn:") else provider_arn(db, ref),
                                     "reason": "MISSING"})
                else:
                    found.append(body)
            ordered = list(enumerate(found))  # in the order asked for, or built-ins then by name
            page, token = pagination.page(ordered, lambda item: item[0], request.get("nextToken"),
                                          request.get("maxResults"), default=PAGE, maximum=PAGE,
                                          bad_token=lambda t: invalid("The specified nextToken is invalid."),
                                          bad_max=lambda n: invalid(f"maxResults must be between 1 and {PAGE}."))
            shown = [self._shown(db, body, include) for _, body in page]
        return {"capacityProviders": shown, "failures": failures, "nextToken": token}
