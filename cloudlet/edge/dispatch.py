"""One request through the edge: route, authenticate, parse, call the provider, serialize."""

import importlib
import logging
import threading
import time

from botocore import xform_name

from cloudlet import ids
from cloudlet.edge import auth, catalog, encoding, limits, protocols, routing
from cloudlet.edge.errors import AWSError
from cloudlet.edge.http import Request, Response
from cloudlet.edge.refusals import refusal
from cloudlet.logins import Logins
from cloudlet.services.context import Context
from cloudlet.store.accounts import Credential, find_key
from cloudlet.store.capacity import no_space

log = logging.getLogger("cloudlet.edge")

# service -> "module:Class" of its provider; services without one still answer (unknown action).
PROVIDERS = {
    "ec2": "cloudlet.services.ec2.provider:EC2",
    "ecr": "cloudlet.services.ecr.provider:ECR",
    "cloudwatch": "cloudlet.services.cloudwatch.provider:CloudWatch",
    "ecs": "cloudlet.services.ecs.provider:ECS",
    "sns": "cloudlet.services.sns.provider:SNS",
    "autoscaling": "cloudlet.services.autoscaling.provider:AutoScaling",
    "application-autoscaling": "cloudlet.services.application_autoscaling.provider:ApplicationAutoScaling",
    "logs": "cloudlet.services.logs.provider:Logs",
    "ssm": "cloudlet.services.ssm.provider:SSM",
    "sts": "cloudlet.services.sts.provider:STS",
    "acm": "cloudlet.services.acm.provider:ACM",
    "elbv2": "cloudlet.services.elbv2.provider:ELBv2",
}

_SNS_LINKS = ("ConfirmSubscription", "Unsubscribe")

_CREDENTIAL_TTL = 10.0  # seconds a looked-up access key is trusted before asking the store again

# Headers that decide which operation a request calls and how its body is read: a signature that
# leaves them out would let them be added or changed on the way.
_MUST_SIGN = {"json": ("X-Amz-Target", "Content-Type"),
              "smithy-rpc-v2-cbor": ("X-Amz-Target", "Content-Type", "Smithy-Protocol")}

_FULL = ("The service cannot record this request: cloudlet's data directory has no space left. Retry once "
         "space has been freed there.")


class Edge:
    def __init__(self, config, store, logins: Logins):
        self.config = config
        self.store = store
        self.logins = logins
        self._providers: dict[str, object] = {}
        self._credentials: dict[str, tuple[float, Credential]] = {}
        self._limits: dict[tuple[str, str | None], int] = {}
        self._lock = threading.Lock()
        self._making: dict[str, threading.Lock] = {}  # one per service: one made at a time, others on

    def provider(self, service: str):
        """service's provider, made on first use (by a request, or by `cloudlet up` starting
        its controllers once it listens); a provider with a use_providers method is handed this
        function before anyone else gets it (its controllers reach other services)."""
        if service in self._providers:
            return self._providers[service]
        with self._lock:
            making = self._making.setdefault(service, threading.Lock())
        with making:
            if service not in self._providers:
                spec = PROVIDERS.get(service)
                made = None
                if spec is not None:
                    module, _, cls = spec.partition(":")
                    made = getattr(importlib.import_module(module), cls)(self.config, self.store)
                    if hasattr(made, "use_providers"):
                        made.use_providers(self.provider)
                self._providers[service] = made
            return self._providers[service]

    def credential(self, access_key: str) -> Credential | None:
        cached = self._credentials.get(access_key)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        cred = find_key(self.store, access_key)
        if cred is not None:
            self._credentials[access_key] = (time.monotonic() + _CREDENTIAL_TTL, cred)
        return cred

    def body_limit(self, request: Request) -> int:
        """The most body bytes `request` may carry, told from its headers, path and query alone."""
        service, model, proto = _wire(request)
        if service is None or not catalog.offered(service):
            return limits.DEFAULT  # refused once authenticated, whatever the body
        operation = None
        if proto.name in _MUST_SIGN:  # the operation is in a header or the path, not the body
            try:
                operation = proto.operation_name(model, request)
            except AWSError:
                return limits.DEFAULT
            if operation not in model.operation_names:
                return limits.DEFAULT  # refused as unknown; and the cache keeps only the model's names
        key = (service, operation)
        if key not in self._limits:
            provider = self.provider(service)
            self._limits[key] = limits.body_limit(
                service, operation, lambda name: hasattr(provider, xform_name(name)))
        return self._limits[key]

    def refuse(self, request: Request, kind: str, message: str) -> Response:
        """The edge's own refusal of `kind` (see refusals), in the protocol the request was sent in."""
        _, model, proto = _wire(request)
        return proto.serialize_error(model, refusal(kind, proto.name, message), ids.request_id())

    def handle(self, request: Request) -> Response:
        """Answer one request, and log it (service, operation, status, time) at info level."""
        started, seen = time.monotonic(), {}
        response = self._handle(request, seen)
        log.info("%s %s %d %.1f ms", seen.get("service", "-"), seen.get("operation", "-"), response.status,
                 (time.monotonic() - started) * 1000)
        return response

    def _handle(self, request: Request, seen: dict) -> Response:
        request_id = ids.request_id()
        service = seen["service"] = routing.service_for(request, auth.scope(request))
        link = _sns_link(request) if service is None else None
        if link:
            service = seen["service"] = "sns"
        elif service is None:
            return self.unroutable(request, request_id)
        model = catalog.model(service)
        try:
            proto = protocols.detect(model, request)
        except AWSError as error:
            return protocols.get(model.protocol).serialize_error(model, error, request_id)
        try:
            if link:
                operation = model.operation_model(link)
                seen["operation"] = link
                result = self.provider("sns").follow_link(link, proto.parse(operation, request))
                return proto.serialize(operation, result, request_id)
            cred, region = self.authenticate(request, proto.name)
            if not catalog.offered(service):
                raise proto.not_offered(model)
            request = encoding.inflated(request, proto.name, self.body_limit)
            operation = proto.find_operation(model, request)
            seen["operation"] = operation.name
            method = getattr(self.provider(service), xform_name(operation.name), None)
            if method is None:
                raise proto.unknown_operation(model, operation.name)
            params = proto.parse(operation, request)
            if service == "ec2" and params.get("DryRun"):
                raise AWSError("DryRunOperation", "Request would have succeeded, but DryRun flag is set.", 412)
            ctx = Context(self.store, self.config, cred, region, request_id, request.header("host"))
            result = method(ctx, params)
            return proto.serialize(operation, result or {}, request_id)
        except AWSError as error:
            return proto.serialize_error(model, error, request_id)
        except Exception as failure:
            cause = no_space(failure)
            if cause is not None:
                # Refused whole: the transaction that met the full disk was rolled back.
                log.warning("data dir full: refused a request to %s (request %s): %s", service, request_id, cause)
                return proto.serialize_error(model, refusal("unavailable", proto.name, _FULL), request_id)
            log.exception("internal error in %s (request %s)", service, request_id)
            error = AWSError("InternalFailure", "The request processing has failed because of an unknown error.",
                             500, sender=False)
            return proto.serialize_error(model, error, request_id)

    def unroutable(self, request: Request, request_id: str) -> Response:
        """The answer for a request no service can be told from, once it has authenticated (as every
        signed request must before it is told anything)."""
        _, model, proto = _wire(request)
        try:
            self.authenticate(request, proto.name)
        except AWSError as error:
            return proto.serialize_error(model, error, request_id)
        code, status = proto.unknown_service
        error = AWSError(code, f"No AWS service signs its requests as '{auth.scope(request)[2]}' (this request's "
                               "credential scope), and neither its X-Amz-Target nor its path names one.", status)
        return proto.serialize_error(model, error, request_id)

    def authenticate(self, request: Request, protocol: str) -> tuple[Credential, str]:
        found: dict[str, Credential] = {}
        asked: list[str] = []

        def secret_for(access_key: str) -> str | None:
            asked.append(access_key)
            cred = self.credential(access_key)
            if cred is None:
                return None
            found["cred"] = cred
            return cred.secret_access_key

        try:
            signed = auth.verify(request, secret_for, must_sign=_MUST_SIGN.get(protocol, ()))
        except auth.AuthFailure as failure:
            if asked and failure.kind in ("unknown_key", "signature"):
                # a guess at a key or secret (an expired or malformed request guessed nothing)
                self.logins.failed(request.source, "sigv4", asked[0])
            raise auth.error_for(failure.kind, protocol, failure.message) from None
        if signed.region not in self.config.regions:
            # AWS answers a call to a region not enabled for the account as an unknown credential.
            raise auth.error_for("unknown_key", protocol,
                                 f"The region '{signed.region}' is not enabled on this cloudlet.")
        return found["cred"], signed.region


def _sns_link(request: Request) -> str | None:
    """The action of an SNS message's SubscribeURL or UnsubscribeURL: GETs that work without any
    credentials, as AWS's do. The only exception to signing: the SNS provider acts on nothing but
    what the link's token or subscription ARN names (services/sns/provider.py follow_link)."""
    if request.method != "GET" or request.path != "/" or not auth.is_unsigned(request):
        return None
    action = dict(request.query).get("Action")
    return action if action in _SNS_LINKS else None


def _wire(request: Request):
    """(service, model, protocol) of a request, from its headers, path and query alone, for answers
    that must reach its client in a shape it reads: a request no service can be told from is (None,
    STS's model, the query or json protocol its form suggests); one in none of its service's
    protocols gets the service's own."""
    service = routing.service_for(request, auth.scope(request))
    if service is None:
        # Form-encoded requests are read by query-protocol clients, which expect XML.
        return None, catalog.model("sts"), protocols.get("query" if protocols.is_query(request) else "json")
    model = catalog.model(service)
    try:
        return service, model, protocols.detect(model, request)
    except AWSError:
        return service, model, protocols.get(model.protocol)
