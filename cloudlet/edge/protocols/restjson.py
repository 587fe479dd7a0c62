"""rest-json (Lambda and other newer APIs): the method and URI template pick the operation;
members travel in the path, query string, headers and a JSON (or raw) payload."""

import email.utils
import json
import re
from functools import lru_cache
from urllib.parse import parse_qs, unquote

from cloudlet.edge.errors import AWSError
from cloudlet.edge.http import Request, Response
from cloudlet.edge.protocols import values
from cloudlet.edge.protocols.json import JSONProtocol, check_text
from cloudlet.edge.protocols.shapes import convert, output

_LABEL = re.compile(r"\{([^}]+?)(\+?)\}")


def _route(uri: str):
    """requestUri -> (path regex, query keys the URI requires)."""
    path, _, query = uri.partition("?")
    pattern, last = "", 0
    for m in _LABEL.finditer(path):
        pattern += re.escape(path[last:m.start()]) + (f"(?P<{_group(m.group(1))}>.+)" if m.group(2)
                                                       else f"(?P<{_group(m.group(1))}>[^/]+)")
        last = m.end()
    pattern += re.escape(path[last:])
    required = [pair.split("=")[0] for pair in query.split("&") if pair]
    return re.compile(pattern + "/?"), required


def _group(label: str) -> str:
    return re.sub(r"\W", "_", label)


@lru_cache(maxsize=None)
def _routes(model):
    routes = []
    for name in model.operation_names:
        op = model.operation_model(name)
        regex, required = _route(op.http["requestUri"])
        routes.append((op.http["method"], regex, required, name))
    # More literal text first, so /functions/{F}/policy wins over /functions/{F+}.
    routes.sort(key=lambda r: -len(_LABEL.sub("", r[1].pattern)))
    return routes


def _header_value(type_name, text):
    if type_name == "timestamp":
        try:
            return email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return values.parse_timestamp(text)
    if type_name == "string":
        return text
    return values.from_text(type_name, text)


class RestJSONProtocol(JSONProtocol):
    name = "rest-json"
    unknown_service = ("UnknownOperationException", 404)  # a path none of the service's operations has

    def content_type(self, model) -> str:
        return "application/json"

    def operation_name(self, model, request: Request) -> str:
        query = parse_qs(request.query_string, keep_blank_values=True)
        for method, regex, required, name in _routes(model):
            if method == request.method and regex.fullmatch(request.raw_path) and all(k in query for k in required):
                return name
        raise self.unknown_operation(model, f"{request.method} {request.raw_path}")

    def decode(self, operation, request: Request) -> dict:
        shape = operation.input_shape
        if shape is None:
            return {}
        regex, _ = _route(operation.http["requestUri"])
        match = regex.fullmatch(request.raw_path)
        labels = {k: unquote(v) for k, v in match.groupdict().items()} if match else {}
        query = parse_qs(request.query_string, keep_blank_values=True)
        payload = shape.serialization.get("payload")
        params = {}
        body_members = {}
        for name, member in shape.members.items():
            where = member.serialization.get("location")
            wire = member.serialization.get("name", name)
            if where == "uri" and _group(wire) in labels:
                params[name] = _header_value(member.type_name, labels[_group(wire)])
            elif where == "querystring":
                self.read_query(params, name, member, wire, query)
            elif where == "header" and request.header(wire) is not None:
                params[name] = _header_value(member.type_name, request.header(wire))
            elif where == "headers":
                prefix = wire.lower()
                found = {k[len(prefix):]: v for k, v in request.headers.items() if k.startswith(prefix)}
                if found:
                    params[name] = found
            elif where is None and name != payload:
                body_members[name] = member
        if payload is not None:
            params.update(self.read_payload(shape.members[payload], payload, request.body))
        elif body_members:
            data = JSONProtocol.decode(self, operation, request)
            params.update({k: v for k, v in data.items() if k in body_members})
        return params

    @staticmethod
    def read_query(params, name, member, wire, query):
        if member.type_name == "map":
            params[name] = {k: v[0] for k, v in query.items()}
        elif wire in query:
            if member.type_name == "list":
                params[name] = [values.from_text(member.member.type_name, v) for v in query[wire]]
            else:
                params[name] = _header_value(member.type_name, query[wire][0])

    def read_payload(self, member, name, body: bytes) -> dict:
        if member.type_name in ("blob", "string"):
            return {name: body if member.type_name == "blob" else body.decode("utf-8", "replace")} if body else {}
        if not body.strip():
            return {}
        try:
            data = json.loads(body)
        except ValueError:
            raise AWSError("SerializationException", "The request body could not be parsed.") from None
        check_text(data)
        return {name: convert(member, data, self.from_wire)}

    def serialize(self, operation, result: dict, request_id: str) -> Response:
        status = operation.http.get("responseCode", 200)
        headers = self.headers(operation.service_model, request_id)
        shape = operation.output_shape
        if shape is None:
            return Response(status, headers, b"")
        payload = shape.serialization.get("payload")
        body = {}
        for name, member in shape.members.items():
            if result.get(name) is None:
                continue
            where = member.serialization.get("location")
            wire = member.serialization.get("name", name)
            if where == "statusCode":
                status = int(result[name])
            elif where == "header":
                headers[wire.lower()] = values.to_text(member.type_name, result[name])
            elif where == "headers":
                headers.update({f"{wire.lower()}{k}": v for k, v in result[name].items()})
            elif name != payload:
                body[name] = result[name]
        if payload is not None:
            return Response(status, headers, self.payload_bytes(shape.members[payload], result.get(payload)))
        return Response(status, headers, self.dump(output(shape, body, self.to_wire)))

    def payload_bytes(self, member, value) -> bytes:
        if value is None:
            return b""
        if member.type_name in ("blob", "string"):
            return value.encode() if isinstance(value, str) else bytes(value)
        return self.dump(output(member, value, self.to_wire))

    def serialize_error(self, model, error: AWSError, request_id: str) -> Response:
        headers = {**self.headers(model, request_id), "x-amzn-errortype": error.code}
        return Response(error.status, headers, self.dump({"message": error.message}))
