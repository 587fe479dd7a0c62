"""Refusals that the edge itself makes, before or around any service: each in the error code and
status AWS uses for it in the request's protocol family."""

from cloudlet.edge.errors import AWSError

# JSON-bodied protocols name their errors with the "Exception" suffix; S3 has codes of its own; other
# XML protocols answer like query.
_FAMILY = {"ec2": "ec2", "json": "json", "rest-json": "json", "smithy-rpc-v2-cbor": "json", "rest-xml-s3": "s3"}

# kind -> family -> (code, status)
_REFUSALS = {
    # a body over what the operation takes (AWS's front end answers 413 before the service sees it)
    "too_large": {"ec2": ("RequestEntityTooLarge", 413), "query": ("RequestEntityTooLarge", 413),
                  "json": ("RequestEntityTooLargeException", 413), "s3": ("EntityTooLarge", 400)},
    # a body that is not what its Content-Encoding says
    "malformed": {"ec2": ("InvalidParameterValue", 400), "query": ("InvalidParameterValue", 400),
                  "json": ("SerializationException", 400), "s3": ("InvalidRequest", 400)},
    # a body that did not arrive in time; SDKs retry RequestTimeout
    "timeout": {"ec2": ("RequestTimeout", 408), "query": ("RequestTimeout", 408),
                "json": ("RequestTimeoutException", 408), "s3": ("RequestTimeout", 400)},
    # too many requests from one source waiting to be authenticated; SDKs back off and retry these
    "busy": {"ec2": ("RequestLimitExceeded", 503), "query": ("Throttling", 400), "json": ("ThrottlingException", 400),
             "s3": ("SlowDown", 503)},
    # the service cannot store anything (the data dir is full): a temporary fault of ours
    "unavailable": {"ec2": ("Unavailable", 503), "query": ("ServiceUnavailable", 503),
                    "json": ("ServiceUnavailableException", 503), "s3": ("ServiceUnavailable", 503)},
}


def family(protocol: str) -> str:
    return _FAMILY.get(protocol, "query")


def refusal(kind: str, protocol: str, message: str) -> AWSError:
    code, status = _REFUSALS[kind][family(protocol)]
    return AWSError(code, message, status, sender=status < 500)
