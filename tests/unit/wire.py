"""Puts requests on the wire with botocore's own serializers and reads our responses back
with botocore's parsers, so the protocol layer is tested against the real client code."""

from urllib.parse import unquote, urlsplit

from botocore import parsers, serialize
from botocore.awsrequest import HeadersDict, create_request_object, prepare_request_dict

from cloudlet.edge import models, protocols
from cloudlet.edge.http import Request

ENDPOINT = "http://127.0.0.1:4566"


def to_request(service: str, op_name: str, params: dict, protocol: str | None = None) -> Request:
    model = models.service_model(service)
    protocol = protocol or model.protocol
    serializer = serialize.create_serializer(protocol, include_validation=False)
    request_dict = serializer.serialize_to_request(params, model.operation_model(op_name))
    prepare_request_dict(request_dict, ENDPOINT)
    prepared = create_request_object(request_dict).prepare()
    split = urlsplit(prepared.url)
    body = prepared.body or b""
    return Request(method=prepared.method, path=unquote(split.path), raw_path=split.path,
                   query_string=split.query, headers={k.lower(): v for k, v in prepared.headers.items()},
                   body=body.encode() if isinstance(body, str) else body)


def parse(service: str, op_name: str, params: dict, protocol: str | None = None):
    """(protocol object, operation model, parsed params) for a request botocore would send."""
    model = models.service_model(service)
    request = to_request(service, op_name, params, protocol)
    proto = protocols.detect(model, request)
    operation = proto.find_operation(model, request)
    return proto, operation, proto.parse(operation, request)


def read_response(protocol: str, response, shape) -> dict:
    """What a boto3 client would make of one of our responses."""
    headers = HeadersDict(response.headers)
    parsed = parsers.create_parser(protocol).parse(
        {"status_code": response.status, "headers": headers, "body": response.body}, shape)
    parsed.pop("ResponseMetadata", None)
    return parsed
