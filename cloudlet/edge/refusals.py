"""Refusals that the edge itself makes, before or around any service: each in the error code and
status AWS uses for it in the request's protocol family."""

from cloudlet.edge.errors import AWSError

# JSON-bodied protocols name their errors with the "Exception" suffix; other XML protocols answer like query.
_FAMILY = {"ec2": "ec2", "json": "json", "rest-json": "json", "smithy-rpc-v2-cbor": "json"}

# kind -> family -> (code, status)
_REFUSALS = {
    # the service cannot store anything (the data dir is full): a temporary fault of ours
    "unavailable": {"ec2": ("Unavailable", 503), "query": ("ServiceUnavailable", 503),
                    "json": ("ServiceUnavailableException", 503)},
}


def family(protocol: str) -> str:
    return _FAMILY.get(protocol, "query")


def refusal(kind: str, protocol: str, message: str) -> AWSError:
    code, status = _REFUSALS[kind][family(protocol)]
    return AWSError(code, message, status, sender=status < 500)
