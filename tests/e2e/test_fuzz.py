"""Malformed requests built from the service models, for every service on offer: never a 5xx,
and the server keeps answering.

Every operation gets broken requests (tests/e2e/fuzz_cases.py), and every name and identifier
field of every operation a lone surrogate, a 70,000-character string and ARNs of other services;
the operations a provider implements get many more. Junk bodies and unsigned garbage are sent as
well. Over 10,000 signed requests in all, sent on a few connections at once.
"""

import importlib
import random
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from botocore import xform_name
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloudlet.edge import models
from cloudlet.edge.dispatch import PROVIDERS
from tests.e2e.fuzz_cases import HUGE, SURROGATE, Sender, cases, wire_request

SERVICES = ["ec2", "ecs", "ecr", "logs", "ssm", "sts", "cloudwatch", "autoscaling", "elbv2", "sns", "acm"]
SEEDS_IMPLEMENTED = 30  # broken requests per operation a provider implements
SEEDS_OTHER = 2  # ... per operation answered as unknown
CONNECTIONS = 3  # the client's signing overlaps the server's work on 2 cores


def implemented(service: str) -> set[str]:
    spec = PROVIDERS.get(service)
    if spec is None:
        return set()
    module, _, cls = spec.partition(":")
    provider = getattr(importlib.import_module(module), cls)
    return {op for op in models.service_model(service).operation_names if hasattr(provider, xform_name(op))}


@pytest.fixture(scope="module")
def sender(server):
    s = Sender(server)
    yield s
    s.close()
    assert server.healthy()


def send(sender, service: str, op_name: str, params: dict, rnd: random.Random):
    request = wire_request(service, op_name, params)
    if request is None:  # botocore itself cannot put this on the wire: send junk in its place
        request = wire_request(service, op_name, {})
        request["body"] = rnd.randbytes(40)
    return sender.signed(service, request)


def work(service: str) -> list[tuple[str, dict, random.Random]]:
    """(operation, params, its own random source) of every request for `service`, the same each run."""
    rnd = random.Random(service)
    done = implemented(service)
    return [(op, params, random.Random(rnd.random()))
            for op in models.service_model(service).operation_names
            for params in cases(service, op, SEEDS_IMPLEMENTED if op in done else SEEDS_OTHER, rnd)]


def test_every_service_meets_every_attack():
    total = 0
    for service in SERVICES:
        sent = [str(params) for _, params, _ in work(service)]
        total += len(sent)
        for attack in (repr(SURROGATE), HUGE, "arn:aws:"):
            assert any(attack in text for text in sent), (service, attack[:20])
    assert total >= 10_000


@pytest.mark.parametrize("service", SERVICES)
def test_model_driven_requests(sender, service):
    work_list = work(service)
    started = time.monotonic()
    with ThreadPoolExecutor(CONNECTIONS) as pool:
        statuses = list(pool.map(lambda item: send(sender, service, *item), work_list))
    failed = [(op, str(params)[:300], status) for (op, params, _), status in zip(work_list, statuses) if status >= 500]
    print(f"{service}: {len(work_list)} requests in {time.monotonic() - started:.1f}s", Counter(statuses))
    assert not failed, failed[:20]


FUZZ = settings(deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow,
                                                                      HealthCheck.function_scoped_fixture])


@settings(FUZZ, max_examples=500)
@given(service=st.sampled_from(SERVICES), body=st.binary(max_size=300) | st.text(max_size=300).map(str.encode),
       target=st.sampled_from(["", "Bogus.Op", None]))
def test_signed_junk_bodies(sender, service, body, target):
    request = wire_request(service, models.service_model(service).operation_names[0], {})
    request["body"] = body
    if target is not None and "X-Amz-Target" in request["headers"]:
        request["headers"]["X-Amz-Target"] = target
    assert sender.signed(service, request) < 500


@settings(FUZZ, max_examples=300)
@given(method=st.sampled_from(["GET", "POST", "PUT", "DELETE"]),
       path=st.text(alphabet="/abcv2%.?&=_-", max_size=40).map(lambda p: "/" + p),
       auth=st.sampled_from(["", "AWS4-HMAC-SHA256", "AWS4-HMAC-SHA256 Credential=AKIA/2020/us-east-1/ec2/aws4_request,"
                             " SignedHeaders=host, Signature=00", "Bearer x", "AWS4-HMAC-SHA256 Credential=/////"]),
       body=st.binary(max_size=200))
def test_unsigned_garbage(sender, method, path, auth, body):
    headers = {"Authorization": auth} if auth else {}
    assert sender.send(method, path, headers, body) < 500
