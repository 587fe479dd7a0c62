"""The ASGI application: every AWS API on one port."""

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request as HTTPRequest
from starlette.responses import JSONResponse, Response as HTTPResponse
from starlette.routing import Route

from cloudlet import __version__
from cloudlet.edge.admission import Admission
from cloudlet.edge.dispatch import Edge
from cloudlet.edge.intake import Intake
from cloudlet.logins import Logins
from cloudlet.registry.api import DistributionAPI
from cloudlet.services.sns.signing import CERT_PATH

METHODS = ["GET", "POST", "PUT", "DELETE", "HEAD", "PATCH"]


def create_app(config, store) -> Starlette:
    logins = Logins()
    edge = Edge(config, store, logins)
    intake = Intake(edge)

    async def aws(http: HTTPRequest) -> HTTPResponse:
        # the body read under its operation's limit; providers run off the event loop
        response = await intake.answer(http)
        return HTTPResponse(response.body, response.status, response.headers)

    async def health(_http: HTTPRequest) -> JSONResponse:
        return JSONResponse({"status": "ok", "version": __version__})

    async def sns_certificate(_http: HTTPRequest) -> HTTPResponse:
        # what an SNS message's SigningCertURL names, so that its subscriber can check the signature
        return HTTPResponse(await run_in_threadpool(sns.certificate), 200, media_type="application/x-x509-ca-cert")

    edge.provider("ecs")  # its task controller picks up where the last run left off
    edge.provider("ec2")  # and its instance controller
    edge.provider("elbv2")  # and the load balancers' controller, which adopts their running proxies
    edge.provider("autoscaling").start(edge.provider)  # its group controller launches through EC2's operations
    edge.provider("cloudwatch").actions.providers = edge.provider  # its alarm evaluator; actions reach EC2
    edge.provider("application-autoscaling").providers = edge.provider  # its schedules; it scales through ECS
    sns = edge.provider("sns")  # and where SNS's messages link to (its delivery worker starts on first use)
    ecr = edge.provider("ecr")
    registry = DistributionAPI(ecr.registry, ecr.tokens, config.regions)

    app = Starlette(routes=[
        Route("/_cloudlet/health", health, methods=["GET"]),
        Route(CERT_PATH, sns_certificate, methods=["GET"]),
        Route("/v2/{path:path}", registry.handle, methods=METHODS),
        Route("/{path:path}", aws, methods=METHODS),
    ], middleware=[Middleware(Admission, edge=edge, logins=logins)])
    app.state.logins = logins  # the registry reports failed passwords there
    app.state.edge = edge  # the metadata listeners answer from its providers (edge/listeners.py)
    return app
