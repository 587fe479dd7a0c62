"""Malformed requests built from the service models: never a 5xx, and the server keeps answering.

Parameters are generated from each operation's input shape and then broken (wrong types,
missing members, huge values), serialized the way botocore would send them and signed, so
they reach the parsers; junk bodies and unsigned garbage are sent as well.
"""

import datetime
import http.client
import math
import random
from urllib.parse import urlsplit

import pytest
from botocore import serialize
from botocore.auth import SigV4Auth
from botocore.awsrequest import create_request_object, prepare_request_dict
from botocore.credentials import Credentials
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloudlet.edge import models

SERVICES = ["ec2", "ecs", "ecr", "logs", "cloudwatch", "autoscaling", "elbv2", "sts"]
HUGE = "x" * 70_000


def broken(shape, rnd: random.Random, depth: int = 0):
    """A value for `shape` that is sometimes right and often wrong."""
    if rnd.random() < 0.12:
        return rnd.choice([None, 12, -1, 2**70, "", HUGE, "\u0000\u00ff\U0001f600?", [], {}, True, 1.5, math.nan])
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


class Sender:
    def __init__(self, server):
        self.server = server
        prof = server.profile()
        self.creds = Credentials(prof["aws_access_key_id"], prof["aws_secret_access_key"])
        netloc = urlsplit(server.endpoint).netloc
        self.conn = http.client.HTTPConnection(netloc, timeout=30)
        self.statuses: list[int] = []

    def send(self, method, path, headers, body) -> int:
        for attempt in range(2):
            try:
                self.conn.request(method, path, body=body, headers=headers)
                resp = self.conn.getresponse()
                resp.read()
                self.statuses.append(resp.status)
                return resp.status
            except (http.client.HTTPException, ConnectionError):
                # The server may close a connection after a bad request; a new one must work.
                self.conn.close()
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


def wire_request(service: str, op_name: str, params: dict) -> dict | None:
    model = models.service_model(service)
    op = model.operation_model(op_name)
    try:
        return serialize.create_serializer(model.protocol, include_validation=False).serialize_to_request(params, op)
    except Exception:
        return None  # botocore itself cannot put this on the wire; junk bodies cover it


@pytest.fixture(scope="module")
def sender(server):
    s = Sender(server)
    yield s
    s.conn.close()
    assert server.healthy()
    assert all(status < 500 for status in s.statuses)


OPS = [(svc, op) for svc in SERVICES for op in models.service_model(svc).operation_names]
FUZZ = settings(max_examples=1300, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@FUZZ
@given(pick=st.sampled_from(OPS), seed=st.integers(0, 2**32))
def test_model_driven_requests(sender, pick, seed):
    service, op_name = pick
    rnd = random.Random(seed)
    op = models.service_model(service).operation_model(op_name)
    params = broken(op.input_shape, rnd) if op.input_shape is not None else {}
    request = wire_request(service, op_name, params if isinstance(params, dict) else {})
    if request is None:
        request = wire_request(service, op_name, {})
        request["body"] = rnd.randbytes(40)
    status = sender.signed(service, request)
    assert status < 500, (service, op_name, params)


@settings(max_examples=500, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(service=st.sampled_from(SERVICES), body=st.binary(max_size=300) | st.text(max_size=300).map(str.encode),
       target=st.sampled_from(["", "Bogus.Op", None]))
def test_signed_junk_bodies(sender, service, body, target):
    request = wire_request(service, models.service_model(service).operation_names[0], {})
    request["body"] = body
    if target is not None and "X-Amz-Target" in request["headers"]:
        request["headers"]["X-Amz-Target"] = target
    assert sender.signed(service, request) < 500


@settings(max_examples=300, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(method=st.sampled_from(["GET", "POST", "PUT", "DELETE"]),
       path=st.text(alphabet="/abcv2%.?&=_-", max_size=40).map(lambda p: "/" + p),
       auth=st.sampled_from(["", "AWS4-HMAC-SHA256", "AWS4-HMAC-SHA256 Credential=AKIA/2020/us-east-1/ec2/aws4_request,"
                             " SignedHeaders=host, Signature=00", "Bearer x", "AWS4-HMAC-SHA256 Credential=/////"]),
       body=st.binary(max_size=200))
def test_unsigned_garbage(sender, method, path, auth, body):
    headers = {"Authorization": auth} if auth else {}
    assert sender.send(method, path, headers, body) < 500
