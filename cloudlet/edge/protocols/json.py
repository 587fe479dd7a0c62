"""The json protocol (ECS, ECR, CloudWatch Logs): X-Amz-Target names the operation, bodies
are JSON, errors are {"__type", "message"}."""

import json
import re

from cloudlet.edge import validate
from cloudlet.edge.errors import AWSError
from cloudlet.edge.http import Request, Response
from cloudlet.edge.protocols import values
from cloudlet.edge.protocols.base import Protocol
from cloudlet.edge.protocols.shapes import convert, output

_SURROGATE = re.compile("[\ud800-\udfff]")


def check_text(data) -> None:
    """Refuse a decoded body any of whose strings (keys included) cannot be encoded: JSON's \\uD800
    escapes can spell surrogates without their pair, which no store, log or answer can write."""
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if not item.isascii() and _SURROGATE.search(item):
                raise AWSError("SerializationException", "The request body could not be parsed: it holds a "
                               "string with an unpaired UTF-16 surrogate, which is not a Unicode character.")
        elif isinstance(item, dict):
            stack.extend(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


_NON_FINITE = ("NaN", "Infinity", "-Infinity")


def _from_json(type_name, value):
    if type_name in ("float", "double") and value in _NON_FINITE:
        return float(value)  # how the AWS JSON protocols spell what JSON numbers cannot
    if type_name == "timestamp":
        return values.parse_timestamp(value)
    if type_name == "blob":
        return values.b64decode(value)
    return value


def _to_json(type_name, value):
    if type_name == "timestamp":
        return values.epoch(value)
    if type_name == "blob":
        return values.b64encode(value)
    return value


class JSONProtocol(Protocol):
    name = "json"

    def operation_name(self, model, request: Request) -> str:
        prefix, _, name = (request.header("x-amz-target") or "").rpartition(".")
        if prefix != model.metadata.get("targetPrefix") or not name:
            raise self.unknown_operation(model, request.header("x-amz-target") or "(none)")
        return name

    def load(self, body: bytes):
        return json.loads(body)

    def dump(self, data) -> bytes:
        return json.dumps(data, separators=(",", ":")).encode()

    def content_type(self, model) -> str:
        return f"application/x-amz-json-{model.metadata.get('jsonVersion', '1.0')}"

    def headers(self, model, request_id: str) -> dict[str, str]:
        return {"content-type": self.content_type(model), "x-amzn-requestid": request_id}

    from_wire = staticmethod(_from_json)
    to_wire = staticmethod(_to_json)

    def decode(self, operation, request: Request) -> dict:
        if not request.body.strip():
            data = {}
        else:
            try:
                data = self.load(request.body)
            except Exception:  # any codec failure is the client's malformed body
                raise AWSError("SerializationException", "The request body could not be parsed.") from None
        if not isinstance(data, dict):
            raise AWSError("SerializationException", "The request body must be an object.")
        check_text(data)
        if operation.input_shape is None:
            return {}
        return convert(operation.input_shape, data, self.from_wire)

    def validation_error(self, problems: list[validate.Problem], service: str) -> AWSError:
        wrong = [p for p in problems if p.kind == "type"]
        if wrong:
            # AWS's JSON services refuse values of the wrong type while deserialising, before validation.
            p = wrong[0]
            return AWSError("SerializationException",
                            f"Value {p.value_text()} at '{p.path}' could not be read: {p.constraint}")
        return super().validation_error(problems, service)

    def unknown_operation(self, model, name: str) -> AWSError:
        return AWSError("UnknownOperationException", f"The operation {name} is not supported by this endpoint.")

    def serialize(self, operation, result: dict, request_id: str) -> Response:
        shape = operation.output_shape
        data = output(shape, result, self.to_wire) if shape is not None else {}
        return Response(200, self.headers(operation.service_model, request_id), self.dump(data))

    def serialize_error(self, model, error: AWSError, request_id: str) -> Response:
        headers = self.headers(model, request_id)
        if "awsQueryCompatible" in model.metadata:
            # Clients of services that moved from the query protocol read the old code from here.
            headers["x-amzn-query-error"] = f"{error.code};{'Sender' if error.sender else 'Receiver'}"
        return Response(error.status, headers,
                        self.dump({"__type": error.code, "message": error.message, **error.fields}))
