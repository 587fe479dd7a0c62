"""Smithy RPC v2 CBOR (CloudWatch's default in current botocore): POST
/service/<Service>/operation/<Operation>, CBOR bodies, timestamps as CBOR tag 1."""

import cbor2

from cloudlet.edge.http import Request
from cloudlet.edge.protocols import values
from cloudlet.edge.protocols.json import JSONProtocol


def _from_cbor(type_name, value):
    if type_name == "timestamp":
        return values.parse_timestamp(value)
    if type_name == "blob" and isinstance(value, bytearray):
        return bytes(value)
    return value


def _to_cbor(type_name, value):
    if type_name == "timestamp":
        return values.to_datetime(value)
    if type_name == "blob" and isinstance(value, str):
        return value.encode()
    return value


class CBORProtocol(JSONProtocol):
    name = "smithy-rpc-v2-cbor"

    def operation_name(self, model, request: Request) -> str:
        parts = request.path.split("/")
        # ['', 'service', <Service>, 'operation', <Operation>]
        if len(parts) != 5 or parts[3] != "operation" or not parts[4]:
            raise self.unknown_operation(model, request.path)
        return parts[4]

    def load(self, body: bytes):
        return cbor2.loads(body)

    def dump(self, data) -> bytes:
        return cbor2.dumps(data, datetime_as_timestamp=True)

    def content_type(self, model) -> str:
        return "application/cbor"

    def headers(self, model, request_id: str) -> dict[str, str]:
        return {**super().headers(model, request_id), "smithy-protocol": "rpc-v2-cbor"}

    from_wire = staticmethod(_from_cbor)
    to_wire = staticmethod(_to_cbor)
