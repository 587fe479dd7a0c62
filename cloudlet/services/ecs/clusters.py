"""ECS clusters: create, describe, list, update, delete, with settings and capacity providers.
Every cluster can run FARGATE and FARGATE_SPOT tasks on this host's Fargate pool."""

import json
import re

from cloudlet.edge.errors import AWSError
from cloudlet.ids import now
from cloudlet.services.common import pagination, tags
from cloudlet.store.schema import ecs_clusters as table
from cloudlet.store.schema import ecs_container_instances, ecs_tasks

from . import account_settings, capacity_providers
from .common import DEFAULT_CLUSTER, cluster_name, find_cluster, invalid

_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,255}$")
MAX_PROVIDERS = 20  # ECS's quota of capacity providers per cluster


def _settings(given, insights: str = "disabled") -> list[dict]:
    """Cluster settings as given; containerInsights, unless given, is `insights` (for a new cluster,
    the account setting of whoever makes it)."""
    out = {"containerInsights": insights}
    for s in given or []:
        if s.get("name") != "containerInsights" or s.get("value") not in ("enabled", "disabled", "enhanced"):
            raise invalid(f"Invalid setting {s.get('name')}={s.get('value')}: only containerInsights "
                          "(enabled, disabled or enhanced) is supported")
        out[s["name"]] = s["value"]
    return [{"name": k, "value": v} for k, v in out.items()]


def _providers(db, names, strategy) -> tuple[list[str], list[dict]]:
    names = list(dict.fromkeys(names or []))
    if len(names) > MAX_PROVIDERS:
        raise invalid("The maximum number of capacity providers per cluster has been exceeded.")
    for name in names:
        capacity_providers.usable(db, name)
    for item in strategy or []:
        if item.get("capacityProvider") not in names:
            raise invalid("The specified capacity provider strategy cannot contain a capacity provider that is not "
                          "associated with the cluster. Associate the capacity provider with the cluster or specify "
                          "a valid capacity provider and try again.")
    return names, [{"capacityProvider": s["capacityProvider"], "weight": s.get("weight", 0), "base": s.get("base", 0)}
                   for s in strategy or []]


def _in_use(db, cluster: str, removed: set[str]) -> None:
    """ResourceInUseException when a task of the cluster not yet stopped runs on a provider
    PutClusterCapacityProviders would take away, as ECS refuses it."""
    if not removed:
        return
    for row in db.select(ecs_tasks, ecs_tasks.c.cluster == cluster, ecs_tasks.c.last_status != "STOPPED"):
        if json.loads(row["body"]).get("capacityProviderName") in removed:
            raise AWSError("ResourceInUseException", "The specified capacity provider is in use and cannot be "
                                                     "removed.")


def ensure_cluster(db, name: str, settings: list[dict] | None = None, providers: list[str] = (),
                   strategy: list[dict] = ()) -> str:
    """The cluster's ARN, the cluster made (or a deleted one's name brought back) if needed.
    An existing active cluster stays as it is, as CreateCluster leaves it."""
    arn = f"arn:aws:ecs:{db.region}:{db.account_id}:cluster/{name}"
    values = dict(status="ACTIVE", settings=json.dumps(settings or _settings(None)),
                  capacity_providers=json.dumps(list(providers)), default_strategy=json.dumps(list(strategy)))
    row = db.one(table, table.c.name == name)
    if row is None:
        db.insert(table, name=name, arn=arn, created_at=now(), **values)
    elif row["status"] != "ACTIVE":
        db.update(table, table.c.name == name, **values)
    return arn


class Clusters:
    def _describe(self, ctx, db, row: dict, include: list[str] = ()) -> dict:
        counts = {status: db.count(ecs_tasks, ecs_tasks.c.cluster == row["name"], ecs_tasks.c.last_status == status)
                  for status in ("RUNNING", "PENDING", "PROVISIONING")}
        out = {"clusterArn": row["arn"], "clusterName": row["name"], "status": row["status"],
               "registeredContainerInstancesCount": db.count(
                   ecs_container_instances, ecs_container_instances.c.cluster == row["name"],
                   ecs_container_instances.c.status != "INACTIVE"), "runningTasksCount": counts["RUNNING"],
               "pendingTasksCount": counts["PENDING"] + counts["PROVISIONING"], "activeServicesCount": 0,
               "statistics": [], "settings": json.loads(row["settings"]),
               "capacityProviders": json.loads(row["capacity_providers"]),
               "defaultCapacityProviderStrategy": json.loads(row["default_strategy"])}
        if "TAGS" in include:
            out["tags"] = tags.to_pairs(tags.get(db, row["arn"]), "key", "value")
        return out

    def create_cluster(self, ctx, request):
        name = request.get("clusterName") or DEFAULT_CLUSTER
        if not _NAME.match(name):
            raise invalid("Cluster name must be 1-255 letters, numbers, hyphens and underscores.")
        with ctx.write() as db:
            providers, strategy = _providers(db, request.get("capacityProviders"),
                                             request.get("defaultCapacityProviderStrategy"))
            insights = account_settings.effective(db, ctx.caller_arn, "containerInsights")["value"]
            settings = _settings(request.get("settings"), insights)
            arn = ensure_cluster(db, name, settings, providers, strategy)
            pairs = tags.from_pairs(request.get("tags"), "key", "value")
            if pairs:
                tags.put(db, arn, "cluster", pairs)
            return {"cluster": self._describe(ctx, db, db.one(table, table.c.name == name))}

    def describe_clusters(self, ctx, request):
        include = request.get("include") or []
        wanted = request.get("clusters") or [DEFAULT_CLUSTER]
        clusters, failures = [], []
        with ctx.read() as db:
            for ref in wanted:
                row = db.one(table, table.c.name == cluster_name(ref))
                if row is None:
                    failures.append({"arn": ref if ref.startswith("arn:") else ctx.arn("ecs", f"cluster/{ref}"),
                                     "reason": "MISSING"})
                else:
                    clusters.append(self._describe(ctx, db, row, include))
        return {"clusters": clusters, "failures": failures}

    def list_clusters(self, ctx, request):
        with ctx.read() as db:
            rows = db.select(table, table.c.status == "ACTIVE")
        page, token = pagination.page(rows, lambda r: r["arn"], request.get("nextToken"), request.get("maxResults"),
                                      default=100, maximum=100)
        return {"clusterArns": [r["arn"] for r in page], "nextToken": token}

    def update_cluster_settings(self, ctx, request):
        with ctx.write() as db:
            row = find_cluster(db, request["cluster"])
            db.update(table, table.c.name == row["name"], settings=json.dumps(_settings(request["settings"])))
            return {"cluster": self._describe(ctx, db, db.one(table, table.c.name == row["name"]))}

    def update_cluster(self, ctx, request):
        with ctx.write() as db:
            row = find_cluster(db, request["cluster"])
            if request.get("settings") is not None:
                db.update(table, table.c.name == row["name"], settings=json.dumps(_settings(request["settings"])))
            return {"cluster": self._describe(ctx, db, db.one(table, table.c.name == row["name"]))}

    def put_cluster_capacity_providers(self, ctx, request):
        with ctx.write() as db:
            row = find_cluster(db, request["cluster"])
            providers, strategy = _providers(db, request["capacityProviders"],
                                             request["defaultCapacityProviderStrategy"])
            _in_use(db, row["name"], set(json.loads(row["capacity_providers"])) - set(providers))
            db.update(table, table.c.name == row["name"], capacity_providers=json.dumps(providers),
                      default_strategy=json.dumps(strategy))
            return {"cluster": self._describe(ctx, db, db.one(table, table.c.name == row["name"]))}

    def delete_cluster(self, ctx, request):
        with ctx.write() as db:
            row = find_cluster(db, request["cluster"])
            active = db.count(ecs_tasks, ecs_tasks.c.cluster == row["name"], ecs_tasks.c.last_status != "STOPPED")
            if active:
                raise AWSError("ClusterContainsTasksException",
                               "The Cluster cannot be deleted while Tasks are active.")
            db.update(table, table.c.name == row["name"], status="INACTIVE")
            return {"cluster": self._describe(ctx, db, db.one(table, table.c.name == row["name"]))}
