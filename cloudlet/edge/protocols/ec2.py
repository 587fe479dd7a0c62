"""EC2's own query dialect: capitalised locationNames or queryNames on the wire, lists as
Name.N, <item> lists in responses, and its <Response><Errors> error envelope."""

from cloudlet.edge import validate
from cloudlet.edge.errors import AWSError
from cloudlet.edge.http import Response
from cloudlet.edge.protocols import xml
from cloudlet.edge.protocols.query import XML_HEADERS, QueryProtocol


class EC2Protocol(QueryProtocol):
    name = "ec2"
    # EC2 checks an instance type itself, after the image ("Invalid value 'x' for InstanceType."):
    # the SDK's list of types is only the one it was built with.
    open_enums = frozenset({"InstanceType"})

    @staticmethod
    def wire_name(member, name: str) -> str:
        if "queryName" in member.serialization:
            return member.serialization["queryName"]
        located = member.serialization.get("name")
        return located[0].upper() + located[1:] if located else name

    def key(self, member, name: str) -> str:
        return self.wire_name(member, name)

    def list_items(self, shape, node: dict):
        return node

    def validation_error(self, problems: list[validate.Problem], service: str) -> AWSError:
        missing = [p for p in problems if p.kind == "missing"]
        if missing:
            return AWSError("MissingParameter", f"The request must contain the parameter {missing[0].wire}")
        return AWSError("InvalidParameterValue", validate.message(problems))

    def serialize(self, operation, result: dict, request_id: str) -> Response:
        name = operation.name
        version = operation.service_model.api_version
        out = [f'<{name}Response xmlns="http://ec2.amazonaws.com/doc/{version}/">', xml.text("requestId", request_id)]
        if operation.output_shape is not None:
            xml.members(operation.output_shape, result, out)
        out.append(f"</{name}Response>")
        return Response(200, dict(XML_HEADERS), "".join(out).encode())

    def serialize_error(self, model, error: AWSError, request_id: str) -> Response:
        body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error>'
                f'{xml.text("Code", error.code)}{xml.text("Message", error.message)}</Error></Errors>'
                f'{xml.text("RequestID", request_id)}</Response>')
        return Response(error.status, dict(XML_HEADERS), body.encode())
