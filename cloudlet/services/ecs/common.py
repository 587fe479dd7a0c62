"""What the ECS operations share: error shapes, names and ARNs of clusters, finding a service."""

from cloudlet.edge.errors import AWSError
from cloudlet.store.schema import ecs_clusters, ecs_services

DEFAULT_CLUSTER = "default"


def client_error(message: str) -> AWSError:
    return AWSError("ClientException", message)


def invalid(message: str) -> AWSError:
    return AWSError("InvalidParameterException", message)


def cluster_name(ref: str | None) -> str:
    """A cluster's name from its name or ARN (arn:aws:ecs:<region>:<account>:cluster/<name>)."""
    if not ref:
        return DEFAULT_CLUSTER
    return ref.split(":cluster/", 1)[1] if ref.startswith("arn:") and ":cluster/" in ref else ref


def find_cluster(db, ref: str | None) -> dict:
    name = cluster_name(ref)
    row = db.one(ecs_clusters, ecs_clusters.c.name == name)
    if row is None or row["status"] != "ACTIVE":
        raise AWSError("ClusterNotFoundException", "Cluster not found.")
    return row


def find_service(db, cluster: str, ref: str) -> dict:
    name = ref.rsplit("/", 1)[-1]
    row = db.one(ecs_services, ecs_services.c.cluster == cluster, ecs_services.c.name == name)
    if row is None or row["status"] == "INACTIVE":
        raise AWSError("ServiceNotFoundException", "Service not found.")
    return row
