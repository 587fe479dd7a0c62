"""Results as XML elements, the way the query and ec2 protocols name them."""

import re
from xml.sax.saxutils import escape

from cloudlet.edge.protocols import values
from cloudlet.edge.protocols.shapes import member_key, present

# A parser turns a raw CR (and CRLF) into LF; as a character reference it reaches the client as sent.
_CR = {"\r": "&#13;"}
# Characters XML 1.0 cannot carry at all, even as references (a message quoting a tenant's value
# may hold them): spelled out instead, so that the response still parses.
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _escaped(value: str) -> str:
    return escape(_ILLEGAL.sub(lambda m: f"\\x{ord(m.group()):02x}", value), _CR)


def members(shape, value: dict, out: list[str]) -> None:
    for name, member, item in present(shape, value):
        key = member_key(member, name)
        if member.type_name == "list" and member.serialization.get("flattened"):
            for element_value in item:
                element(member.member, element_value, key, out)
        else:
            element(member, item, key, out)


def element(shape, value, name: str, out: list[str]) -> None:
    type_name = shape.type_name
    if type_name == "structure":
        out.append(f"<{name}>")
        members(shape, value, out)
        out.append(f"</{name}>")
    elif type_name == "list":
        item_name = shape.member.serialization.get("name", "member")
        out.append(f"<{name}>")
        for item in value:
            element(shape.member, item, item_name, out)
        out.append(f"</{name}>")
    elif type_name == "map":
        key_name = shape.key.serialization.get("name", "key")
        value_name = shape.value.serialization.get("name", "value")
        flat = shape.serialization.get("flattened")
        if not flat:
            out.append(f"<{name}>")
        for key, item in value.items():
            out.append(f"<{name}>" if flat else "<entry>")
            element(shape.key, key, key_name, out)
            element(shape.value, item, value_name, out)
            out.append(f"</{name}>" if flat else "</entry>")
        if not flat:
            out.append(f"</{name}>")
    else:
        out.append(f"<{name}>{_escaped(values.to_text(type_name, value))}</{name}>")


def text(tag: str, value: str) -> str:
    return f"<{tag}>{_escaped(value)}</{tag}>"


def namespace(model) -> str:
    return model.metadata.get("xmlNamespace") or f"https://{model.endpoint_prefix}.amazonaws.com/doc/{model.api_version}/"


def error_response(model, error, request_id: str) -> bytes:
    """The <ErrorResponse> envelope of the query protocol's errors, and of rest-xml's but S3's."""
    return (f'<ErrorResponse xmlns="{namespace(model)}"><Error><Type>{"Sender" if error.sender else "Receiver"}</Type>'
            f'{text("Code", error.code)}{text("Message", error.message)}</Error>'
            f'{text("RequestId", request_id)}</ErrorResponse>').encode()
