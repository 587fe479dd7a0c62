"""The requests test_fuzz.py sends: built from each operation's input shape, broken (wrong
types, missing members, huge values, text that is not Unicode, ARNs of other services in
name and identifier fields), put on the wire the way botocore would and signed, so that they
reach the parsers and the providers behind them."""

import datetime
import http.client
import math
import random
import re
import threading
from urllib.parse import urlencode, urlsplit

from botocore import serialize
from botocore.auth import SigV4Auth
from botocore.awsrequest import create_request_object, prepare_request_dict
from botocore.credentials import Credentials

from cloudlet.edge import models

HUGE = "x" * 70_000
SURROGATE = "\udc80"  # a lone UTF-16 surrogate: JSON can spell it, UTF-8 cannot
# Stands in for SURROGATE where botocore's encoder refuses it (query, CBOR), then replaced on the
# wire by the bytes a client that does not check would send: the surrogate's UTF-8-like encoding.
_STAND_IN = "~^~"
_WIRE_SURROGATE = {"query": ("~%5E~", "%ED%B2%80"), "ec2": ("~%5E~", "%ED%B2%80"),
                   "smithy-rpc-v2-cbor": ("~^~", b"\xed\xb2\x80")}
FOREIGN_ARNS = [
    "arn:aws:ecs:us-east-1:123456789012:cluster/x",
    "arn:aws:ssm:us-east-1:123456789012:parameter/x",
    "arn:aws:ecr:us-east-1:123456789012:repository/x",
    "arn:aws:logs:us-east-1:123456789012:log-group:x:*",
    "arn:aws:ec2:us-east-1:123456789012:instance/i-0123456789abcdef0",
    "arn:aws:iam::123456789012:role/x",
    "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/x/0123456789abcdef",
    "arn:",
    "arn:aws:ssm:us-east-1:123456789012:",
    "arn:aws:ecs:us-east-1:123456789012:task-definition/",
]
IDENTIFIER = re.compile(r"(name|names|id|ids|arn|arns|identifier|cluster|clusters|family|prefix|repository|"
                        r"service|services|task|tasks|resource|key|group|stream|path|target|definition)$", re.I)
ODD = [None, 12, -1, 2**70, "", HUGE, SURROGATE, "\u0000\u00ff\U0001f600?", [], {}, True, 1.5, math.nan,
       *FOREIGN_ARNS[:3]]


def broken(shape, rnd: random.Random, depth: int = 0):
    """A value for `shape` that is sometimes right and often wrong."""
    if rnd.random() < 0.12:
        return rnd.choice(ODD)
    kind = shape.type_name
    if kind == "structure":
        if depth > 3:
            return {}
        return {name: broken(member, rnd, depth + 1) for name, member in shape.members.items()
                if rnd.random() < 0.5}
    if kind == "list":
        return [broken(shape.member, rnd, depth + 1) for _ in range(rnd.randint(0, 2))] if depth <= 3 else []
    if kind == "map":
        return {str(rnd.randint(0, 9)): broken(shape.value, rnd, depth + 1) for _ in range(rnd.randint(0, 2))}
    if kind == "string":
        return rnd.choice(shape.enum) if shape.enum and rnd.random() < 0.5 else rnd.choice(["a", "web-1", "*", "-" * 300])
    if kind in ("integer", "long"):
        return rnd.choice([0, 1, -5, 10**12, 2**63])
    if kind in ("float", "double"):
        return rnd.choice([0.0, -1.5, math.inf, 1e308])
    if kind == "boolean":
        return rnd.choice([True, False])
    if kind == "timestamp":
        return rnd.choice([datetime.datetime(2020, 1, 1), datetime.datetime(1, 1, 1), 0])
    if kind == "blob":
        return rnd.randbytes(rnd.randint(0, 64))
    return None


def identifier_paths(shape, depth: int = 0, prefix: tuple = ()):
    """Paths to the name and identifier strings of an input shape (lists as their first item), with
    the shape of their container's other required members for a request that reaches them."""
    for name, member in shape.members.items():
        path = prefix + (name,)
        target = member.member if member.type_name == "list" else member
        if target.type_name == "string" and IDENTIFIER.search(name):
            yield path + ((0,) if member.type_name == "list" else ())
        elif target.type_name == "structure" and depth < 2:
            yield from identifier_paths(target, depth + 1, path + ((0,) if member.type_name == "list" else ()))


def minimal(shape, depth: int = 0):
    """A value of `shape` with its required members only, each as plain as the model allows, so
    that a request built on it gets past validation to whatever it carries besides."""
    kind = shape.type_name
    if kind == "structure":
        return {name: minimal(shape.members[name], depth + 1) for name in shape.required_members} if depth < 6 else {}
    if kind == "list":
        return [minimal(shape.member, depth + 1) for _ in range(shape.metadata.get("min", 0))]
    if kind == "map":
        return {}
    if kind == "string":
        if shape.enum:
            return shape.enum[0]
        return "web-1".ljust(shape.metadata.get("min", 1), "1")[:shape.metadata.get("max", 5) or 5]
    if kind in ("integer", "long", "float", "double"):
        return max(shape.metadata.get("min", 1), 1)
    return {"boolean": True, "blob": b"x", "timestamp": datetime.datetime(2024, 1, 1)}.get(kind)


def placed(shape, path, value):
    """A plain request (see minimal) with `value` at `path`, where 0 is a list's one item."""
    if not path:
        return value
    step, rest = path[0], path[1:]
    if step == 0:
        return [placed(shape.member, rest, value)]
    out = minimal(shape)
    out[step] = placed(shape.members[step], rest, value)
    return out


def cases(service: str, op_name: str, seeds: int, rnd: random.Random):
    """Params of `seeds` broken requests, then for each identifier field a lone surrogate, a huge
    string and an ARN of another service."""
    shape = models.service_model(service).operation_model(op_name).input_shape
    if shape is None:
        yield {}
        return
    for _ in range(seeds):
        params = broken(shape, rnd)
        yield params if isinstance(params, dict) else {}
    for path in identifier_paths(shape):
        for attack in (SURROGATE, HUGE, rnd.choice(FOREIGN_ARNS)):
            yield placed(shape, path, attack)


def _has_surrogate(value) -> bool:
    if isinstance(value, str):
        return SURROGATE in value
    if isinstance(value, dict):
        return any(_has_surrogate(v) for v in value.values())
    return isinstance(value, list) and any(_has_surrogate(v) for v in value)


def _stand_in(value):
    if isinstance(value, str):
        return value.replace(SURROGATE, _STAND_IN)
    if isinstance(value, dict):
        return {k: _stand_in(v) for k, v in value.items()}
    return [_stand_in(v) for v in value] if isinstance(value, list) else value


def wire_request(service: str, op_name: str, params: dict) -> dict | None:
    """botocore's request dict for `params` (a lone surrogate included, as raw bytes where its
    encoder would refuse one); None when botocore cannot put the params on the wire at all."""
    model = models.service_model(service)
    op = model.operation_model(op_name)
    swap = _WIRE_SURROGATE.get(model.protocol) if _has_surrogate(params) else None
    try:
        request = serialize.create_serializer(model.protocol, include_validation=False).serialize_to_request(
            _stand_in(params) if swap else params, op)
    except Exception:
        return None
    # as botocore does with inject_host_prefix=False: the server has no "streaming-" host of its own
    request.pop("host_prefix", None)
    if swap:
        old, new = swap
        body = request["body"]
        if isinstance(body, dict):  # query fields, form-encoded as botocore would, then swapped
            request["body"] = urlencode(body, doseq=True).replace(old, new)
        else:
            request["body"] = body.replace(old.encode(), new)
    return request


class Sender:
    """Signs and sends requests on one keep-alive connection per thread; keeps every status."""

    def __init__(self, server):
        self.server = server
        prof = server.profile()
        self.creds = Credentials(prof["aws_access_key_id"], prof["aws_secret_access_key"])
        self.netloc = urlsplit(server.endpoint).netloc
        self._local = threading.local()
        self._connections: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()

    def _conn(self) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = http.client.HTTPConnection(self.netloc, timeout=60)
            with self._lock:
                self._connections.append(conn)
        return conn

    def send(self, method, path, headers, body) -> int:
        conn = self._conn()
        for attempt in range(2):
            try:
                conn.request(method, path, body=body, headers=headers)
                resp = conn.getresponse()
                resp.read()
                return resp.status
            except (http.client.HTTPException, ConnectionError):
                # The server may close a connection after a bad request; a new one must work.
                conn.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def signed(self, service: str, request_dict: dict) -> int:
        model = models.service_model(service)
        prepare_request_dict(request_dict, self.server.endpoint)
        req = create_request_object(request_dict)
        SigV4Auth(self.creds, model.signing_name, "us-east-1").add_auth(req)
        prepared = req.prepare()
        split = urlsplit(prepared.url)
        path = split.path + (f"?{split.query}" if split.query else "")
        return self.send(prepared.method, path, dict(prepared.headers.items()), prepared.body)

    def close(self):
        for conn in self._connections:
            conn.close()
