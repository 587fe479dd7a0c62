"""The guests' metadata services, each on a listener of its own that serves only its paths:
a workload's 169.254.169.254 (VMs) and 169.254.170.2 (tasks) are DNAT'd there, and the host's
input filter lets nothing else of the host in (agent/network/filter.py), so no workload ever
reaches the API port."""

from starlette.applications import Starlette
from starlette.routing import Route

from cloudlet.services.ec2.metadata import Metadata


def instance_metadata_app(store) -> Starlette:
    return Starlette(routes=[Route("/latest/{path:path}", Metadata(store).handle, methods=["GET", "PUT"])])


def task_metadata_app(edge) -> Starlette:
    endpoint = edge.provider("ecs").task_metadata
    return Starlette(routes=[Route("/{path:path}", endpoint.handle, methods=["GET"])])
