"""The query protocol (STS, Auto Scaling, ELB, CloudWatch's oldest form): form-encoded
requests with an Action, XML responses wrapped in <OpResponse><OpResult>."""

from cloudlet.edge.errors import AWSError
from cloudlet.edge.http import Request, Response
from cloudlet.edge.protocols import values, xml
from cloudlet.edge.protocols.base import Protocol
from cloudlet.edge.protocols.shapes import member_key

XML_HEADERS = {"content-type": "text/xml"}


def _trie(pairs) -> dict:
    """'Filter.1.Name=x' pairs as nested dicts; a key that is both a value and a prefix keeps
    its value under ''."""
    root: dict = {}
    for key, value in pairs:
        node = root
        *parents, last = key.split(".")
        for part in parents:
            child = node.get(part)
            if not isinstance(child, dict):
                child = {} if child is None else {"": child}
                node[part] = child
            node = child
        if isinstance(node.get(last), dict):
            node[last][""] = value
        else:
            node[last] = value
    return root


def _indexed(node) -> list:
    """The values of a node keyed '1', '2', ... in index order."""
    items = {}
    for key, value in node.items():
        if key.isdigit():
            items.setdefault(int(key), value)
    return [items[i] for i in sorted(items)]


class QueryProtocol(Protocol):
    name = "query"
    unknown_service = ("InvalidAction", 400)
    validation_code = "ValidationError"

    def form(self, request: Request) -> list[tuple[str, str]]:
        try:
            return request.form
        except ValueError as error:
            raise AWSError("MalformedQueryString", f"The request's parameters could not be read: {error}") from None

    def operation_name(self, model, request: Request) -> str:
        action = dict(self.form(request)).get("Action")
        if not action:
            raise AWSError("MissingAction", "The request must contain the parameter Action.")
        return action

    def decode(self, operation, request: Request) -> dict:
        shape = operation.input_shape
        if shape is None:
            return {}
        fields = [(k, v) for k, v in self.form(request) if k not in ("Action", "Version")]
        decoded = self.read(shape, _trie(fields))
        return decoded if isinstance(decoded, dict) else {}

    def key(self, member, name: str) -> str:
        return member_key(member, name)

    def list_items(self, shape, node: dict):
        if shape.serialization.get("flattened"):
            return node
        return node.get(shape.member.serialization.get("name", "member"), {})

    def read(self, shape, node):
        type_name = shape.type_name
        if type_name == "structure":
            if not isinstance(node, dict):
                return node
            return {name: self.read(member, node[key]) for name, member in shape.members.items()
                    if (key := self.key(member, name)) in node}
        if type_name == "list":
            if node == "":
                return []  # botocore sends 'Name=' for an empty list
            items = self.list_items(shape, node) if isinstance(node, dict) else node
            return [self.read(shape.member, item) for item in _indexed(items)] if isinstance(items, dict) else node
        if type_name == "map":
            return self.read_map(shape, node)
        if isinstance(node, dict):
            node = node.get("", node)
        return values.from_text(type_name, node) if isinstance(node, str) else node

    def read_map(self, shape, node):
        if not isinstance(node, dict):
            return node
        entries = node if shape.serialization.get("flattened") else node.get("entry", {})
        if not isinstance(entries, dict):
            return entries
        key_name = shape.key.serialization.get("name", "key")
        value_name = shape.value.serialization.get("name", "value")
        out = {}
        for entry in _indexed(entries):
            if isinstance(entry, dict) and isinstance(entry.get(key_name), str):
                out[entry[key_name]] = self.read(shape.value, entry.get(value_name, ""))
        return out

    def unknown_operation(self, model, name: str) -> AWSError:
        return AWSError("InvalidAction", f"The action {name} is not valid for this web service.")

    def serialize(self, operation, result: dict, request_id: str) -> Response:
        name = operation.name
        out = [f'<{name}Response xmlns="{xml.namespace(operation.service_model)}">']
        shape = operation.output_shape
        if shape is not None:
            wrapper = shape.serialization.get("resultWrapper", f"{name}Result")
            out.append(f"<{wrapper}>")
            xml.members(shape, result, out)
            out.append(f"</{wrapper}>")
        out.append(f"<ResponseMetadata>{xml.text('RequestId', request_id)}</ResponseMetadata></{name}Response>")
        return Response(200, dict(XML_HEADERS), "".join(out).encode())

    def serialize_error(self, model, error: AWSError, request_id: str) -> Response:
        return Response(error.status, dict(XML_HEADERS), xml.error_response(model, error, request_id))
