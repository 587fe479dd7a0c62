"""The ASGI application: every AWS API on one port."""

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request as HTTPRequest
from starlette.responses import JSONResponse, Response as HTTPResponse
from starlette.routing import Route

from cloudlet import __version__
from cloudlet.edge.dispatch import Edge
from cloudlet.edge.http import Request
from cloudlet.registry.api import DistributionAPI

METHODS = ["GET", "POST", "PUT", "DELETE", "HEAD", "PATCH"]


def create_app(config, store) -> Starlette:
    edge = Edge(config, store)

    async def aws(http: HTTPRequest) -> HTTPResponse:
        scope = http.scope
        request = Request(
            method=http.method,
            path=scope["path"],
            raw_path=(scope.get("raw_path") or scope["path"].encode()).decode("latin-1"),
            query_string=scope["query_string"].decode("latin-1"),
            headers={k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]},
            body=await http.body(),
        )
        # Providers use the (synchronous) store, so they run off the event loop.
        response = await run_in_threadpool(edge.handle, request)
        return HTTPResponse(response.body, response.status, response.headers)

    async def health(_http: HTTPRequest) -> JSONResponse:
        return JSONResponse({"status": "ok", "version": __version__})

    edge.provider("ecs")  # its task controller picks up where the last run left off
    edge.provider("ec2")  # and its instance controller
    ecr = edge.provider("ecr")
    registry = DistributionAPI(ecr.registry, ecr.tokens, config.regions)

    app = Starlette(routes=[
        Route("/_cloudlet/health", health, methods=["GET"]),
        Route("/v2/{path:path}", registry.handle, methods=METHODS),
        Route("/{path:path}", aws, methods=METHODS),
    ])
    app.state.edge = edge  # the metadata listeners answer from its providers (edge/listeners.py)
    return app
