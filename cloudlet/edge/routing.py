"""Which service a request is for: SigV4 credential scope first, then X-Amz-Target, then the path."""

from cloudlet.edge import models


def _form(request) -> dict[str, str]:
    try:
        return dict(request.form)
    except ValueError:
        return {}


def service_for(request, scope: tuple[str, str, str] | None) -> str | None:
    if scope is not None:
        service = models.signing_names().get(scope[2])
        if service in ("elb", "elbv2"):
            # Both ELB APIs sign as "elasticloadbalancing"; the Version parameter tells them apart.
            version = _form(request).get("Version")
            return "elb" if version == models.service_model("elb").api_version else "elbv2"
        if service is not None:
            return service
    target = request.header("x-amz-target")
    if target:
        return models.target_prefixes().get(target.rpartition(".")[0])
    if request.path.startswith("/service/"):
        # smithy-rpc-v2-cbor: /service/<ServiceName>/operation/<Op>
        wanted = request.path.split("/")[2]
        for name in models.SERVICES:
            if models.service_model(name).metadata.get("targetPrefix") == wanted:
                return name
    return None
