"""The ASGI application: every AWS API on one port."""

import functools
import logging
import threading

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
from cloudlet.services.sns.signing import CERT_PATH

METHODS = ["GET", "POST", "PUT", "DELETE", "HEAD", "PATCH"]


def create_app(config, store) -> Starlette:
    """The API, its providers made on first use: start_controllers() makes those whose
    controllers must run whether or not anyone asks (the listener serves meanwhile)."""
    logins = Logins()
    edge = Edge(config, store, logins)
    intake = Intake(edge)

    async def aws(http: HTTPRequest) -> HTTPResponse:
        # the body read under its operation's limit; providers run off the event loop
        response = await intake.answer(http)
        return HTTPResponse(response.body, response.status, response.headers)

    async def health(_http: HTTPRequest) -> JSONResponse:
        if app.state.failed:
            return JSONResponse({"status": "failed", "version": __version__}, 500)
        if not app.state.started.is_set():  # the API answers; its controllers are on their way
            return JSONResponse({"status": "starting", "version": __version__}, 503)
        return JSONResponse({"status": "ok", "version": __version__})

    async def sns_certificate(_http: HTTPRequest) -> HTTPResponse:
        # what an SNS message's SigningCertURL names, so that its subscriber can check the signature
        body = await run_in_threadpool(lambda: edge.provider("sns").certificate())
        return HTTPResponse(body, 200, media_type="application/x-x509-ca-cert")

    @functools.cache
    def distribution():
        from cloudlet.registry.api import DistributionAPI  # its imports are costly: not before the first pull

        ecr = edge.provider("ecr")
        return DistributionAPI(ecr.registry, ecr.tokens, config.regions)

    async def registry(http: HTTPRequest) -> HTTPResponse:
        return await (await run_in_threadpool(distribution)).handle(http)

    app = Starlette(routes=[
        Route("/_cloudlet/health", health, methods=["GET"]),
        Route(CERT_PATH, sns_certificate, methods=["GET"]),
        Route("/v2/{path:path}", registry, methods=METHODS),
        Route("/{path:path}", aws, methods=METHODS),
    ], middleware=[Middleware(Admission, edge=edge, logins=logins)])
    app.state.logins = logins  # the registry reports failed passwords there
    app.state.edge = edge  # the metadata listeners answer from its providers (edge/listeners.py)
    app.state.started = threading.Event()  # set by start_controllers: /_cloudlet/health says ok
    app.state.failed = False
    return app


def start_controllers(app, ready=lambda: None) -> None:
    """Make the providers whose controllers pick up where the last run left off (ECS's tasks,
    EC2's instances, the load balancers' proxies, Auto Scaling's groups, alarms, schedules, SNS's
    deliveries), then ready() (the fork server listening, say); health says ok after both."""
    try:
        # EC2's first: its network controller routes what ECS's and the others' workloads plug in
        for service in ("ec2", "ecs", "elbv2", "autoscaling", "cloudwatch", "application-autoscaling", "sns", "ecr"):
            app.state.edge.provider(service)
        ready()
    except Exception:  # health says so, and the log why
        logging.getLogger("cloudlet.edge").exception("starting the controllers")
        app.state.failed = True
        return
    app.state.started.set()
