"""How many body bytes an API request may carry, decided before any of them is read.

AWS's JSON and query APIs take requests of up to 1 MB (CloudWatch documents it for
PutMetricData, Logs for a PutLogEvents batch), so that is the default. An operation whose
model allows a bigger member gets room for it as it travels: ECR's UploadLayerPart carries a
layer part of up to 20,971,520 bytes base64'd in JSON, PutImage a manifest of up to 4,194,304
characters. Only operations a provider implements get more than the default: the others are
refused once authenticated, so their bodies need not be read whole.
"""

from functools import lru_cache

from cloudlet.edge import models

DEFAULT = 1 << 20

# JSON may spell one character of a string in up to 6 bytes (\u00XX); blobs travel base64'd.
_CHAR_BYTES = 6

# Limits AWS documents outside the model. PutLogEvents: a batch of 1,048,576 bytes of UTF-8 messages
# (plus 26 per event, at most 10,000 events), each character up to 6 bytes on the wire, and each
# event's JSON envelope under 64 bytes.
_DOCUMENTED = {("logs", "PutLogEvents"): _CHAR_BYTES * 1_048_576 + 10_000 * 64}


def _wire_bytes(member) -> int:
    most = member.metadata.get("max")
    if not most:
        return 0
    if member.type_name == "blob":
        return -(-most // 3) * 4
    return most * _CHAR_BYTES if member.type_name == "string" else 0


@lru_cache(maxsize=None)
def _operation_limit(service: str, operation: str) -> int:
    shape = models.service_model(service).operation_model(operation).input_shape
    members = shape.members.values() if shape is not None else ()
    return max(_DOCUMENTED.get((service, operation), 0), DEFAULT + sum(_wire_bytes(m) for m in members))


def body_limit(service: str, operation: str | None, implemented) -> int:
    """The most body bytes a request for `operation` (one of the service's; None: not known before
    the body, as with the query protocols, so any of them) may carry. `implemented(name)` says
    whether the service's provider has that operation."""
    names = [operation] if operation is not None else models.service_model(service).operation_names
    return max((_operation_limit(service, name) for name in names if implemented(name)), default=DEFAULT)
