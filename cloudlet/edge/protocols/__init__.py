"""The wire protocols, all driven by botocore's service models."""

from cloudlet.edge.errors import AWSError
from cloudlet.edge.http import Request
from cloudlet.edge.protocols.base import Protocol
from cloudlet.edge.protocols.cbor import CBORProtocol
from cloudlet.edge.protocols.ec2 import EC2Protocol
from cloudlet.edge.protocols.json import JSONProtocol
from cloudlet.edge.protocols.query import QueryProtocol
from cloudlet.edge.protocols.restjson import RestJSONProtocol
from cloudlet.edge.protocols.restxml import RestXMLProtocol, S3Protocol

_PROTOCOLS: dict[str, Protocol] = {p.name: p for p in (
    EC2Protocol(), QueryProtocol(), JSONProtocol(), RestJSONProtocol(), CBORProtocol(), RestXMLProtocol(),
    S3Protocol())}


def get(name: str) -> Protocol:
    return _PROTOCOLS[name]


def is_query(request: Request) -> bool:
    """Sent the query way: a form body, or an Action in the query string (presigned GETs)."""
    return request.is_form or "Action=" in request.query_string


def detect(model, request: Request) -> Protocol:
    """The protocol a request was sent in, among those its service speaks (CloudWatch
    accepts CBOR, JSON and query)."""
    spoken = model.metadata.get("protocols") or [model.protocol]
    if model.protocol == "ec2":
        return get("ec2")
    if "smithy-rpc-v2-cbor" in spoken and request.header("smithy-protocol") == "rpc-v2-cbor":
        return get("smithy-rpc-v2-cbor")
    if "json" in spoken and request.header("x-amz-target"):
        return get("json")
    if "query" in spoken and is_query(request):
        return get("query")
    if "rest-json" in spoken:
        return get("rest-json")
    if "rest-xml" in spoken:
        return get("rest-xml-s3" if model.metadata.get("serviceId") == "S3" else "rest-xml")
    raise AWSError("UnknownOperationException",
                   f"This request is in none of the protocols this service speaks ({', '.join(spoken)}).")
