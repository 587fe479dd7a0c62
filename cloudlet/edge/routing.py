"""Which service a request is for: SigV4 credential scope first, then X-Amz-Target, then the path.
Services cloudlet offers come first; any other botocore knows is named too (edge/catalog.py), so
that it is refused in its own protocol."""

from cloudlet.edge import catalog, models


def _form(request) -> dict[str, str]:
    try:
        return dict(request.form)
    except ValueError:
        return {}


def _target_prefix(request) -> str | None:
    target = request.header("x-amz-target")
    if target:
        return target.rpartition(".")[0]
    if request.path.startswith("/service/"):
        return request.path.split("/")[2]  # smithy-rpc-v2-cbor: /service/<ServiceName>/operation/<Op>
    return None


def service_for(request, scope: tuple[str, str, str] | None) -> str | None:
    prefix = _target_prefix(request)
    if scope is not None:
        service = models.signing_names().get(scope[2])
        if service in ("elb", "elbv2"):
            # Both ELB APIs sign as "elasticloadbalancing"; the Version parameter tells them apart.
            version = _form(request).get("Version")
            return "elb" if version == models.service_model("elb").api_version else "elbv2"
        if service is not None:
            return service
        service = catalog.signed_as(scope[2], prefix, _form(request).get("Version"))
        if service is not None:
            return service
    if prefix is not None:
        return models.target_prefixes().get(prefix) or catalog.targeted(prefix)
    return None
