"""rest-xml (S3, Route 53, CloudFront): cloudlet offers none of its services, so only their errors
are spoken here, for the refusals a request for one of them gets (edge/catalog.py)."""

import secrets

from cloudlet.edge.errors import AWSError
from cloudlet.edge.http import Response
from cloudlet.edge.protocols import xml
from cloudlet.edge.protocols.base import Protocol

_HEADERS = {"content-type": "application/xml"}


class RestXMLProtocol(Protocol):
    """Route 53's and CloudFront's errors: the query protocol's <ErrorResponse> envelope."""

    name = "rest-xml"
    unknown_service = ("InvalidAction", 400)

    def serialize_error(self, model, error: AWSError, request_id: str) -> Response:
        return Response(error.status, {**_HEADERS, "x-amzn-requestid": request_id},
                        xml.error_response(model, error, request_id))


class S3Protocol(RestXMLProtocol):
    """S3's errors: a bare <Error>, the request's ids also in headers, and codes of S3's own
    (see refusals.py and auth.py, family "s3")."""

    name = "rest-xml-s3"
    unknown_service = ("NotImplemented", 501)  # what S3 answers for functionality it does not have

    def serialize_error(self, model, error: AWSError, request_id: str) -> Response:
        host_id = secrets.token_urlsafe(48)
        body = ('<?xml version="1.0" encoding="UTF-8"?>\n<Error>'
                f'{xml.text("Code", error.code)}{xml.text("Message", error.message)}'
                f'{xml.text("RequestId", request_id)}{xml.text("HostId", host_id)}</Error>')
        return Response(error.status, {**_HEADERS, "x-amz-request-id": request_id, "x-amz-id-2": host_id},
                        body.encode())
