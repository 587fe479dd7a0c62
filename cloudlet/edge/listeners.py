"""The guests' metadata services, each on a listener of its own that serves only its paths:
a workload's 169.254.169.254 (VMs) and 169.254.170.2 (tasks) are DNAT'd there (by its VPC's
router to the host's end of its uplink; from a bridge to 127.0.0.1), and the host's
input filter lets nothing else of the host in (agent/network/filter.py), so no workload ever
reaches the API port."""

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.routing import Route

from cloudlet.services.ec2.metadata import Metadata


def instance_metadata_app(store, router_of) -> Starlette:
    return Starlette(routes=[Route("/latest/{path:path}", Metadata(store, router_of).handle,
                                   methods=["GET", "PUT"])])


def router_of(edge):
    """host address -> the VPC whose router's uplink ends there (None: not a router's); EC2's
    provider is asked at each call, as it may not be made yet when the listener starts."""
    return lambda address: edge.provider("ec2").network_controller.networks.routers.by_host_address(address)


def task_metadata_app(edge) -> Starlette:
    async def handle(request):
        endpoint = (await run_in_threadpool(edge.provider, "ecs")).task_metadata
        return await endpoint.handle(request)

    return Starlette(routes=[Route("/{path:path}", handle, methods=["GET"])])
