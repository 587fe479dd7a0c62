"""SigV4 on the wire: every protocol refuses bad signatures, unknown keys and skewed clocks, and\na signature that leaves out the headers saying which operation is called and how."""

import contextlib
import datetime
import http.client
import json
import secrets
import urllib.error
import urllib.request
from urllib.parse import urlsplit

import cbor2
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

# one service per wire protocol: (service, operation, kwargs)
CALLS = {
    "ec2": ("ec2", "describe_regions", {}),
    "query": ("sts", "get_caller_identity", {}),
    "json": ("ecs", "list_clusters", {}),
    "cbor": ("cloudwatch", "list_metrics", {}),
}

UNKNOWN_KEY = {"ec2": ("AuthFailure", 401), "query": ("InvalidClientTokenId", 403),
               "json": ("UnrecognizedClientException", 403), "cbor": ("UnrecognizedClientException", 403)}
BAD_SIGNATURE = {"ec2": "SignatureDoesNotMatch", "query": "SignatureDoesNotMatch",
                 "json": "InvalidSignatureException", "cbor": "InvalidSignatureException"}


def failure(server, protocol, **client_kwargs):
    service, op, kwargs = CALLS[protocol]
    with pytest.raises(ClientError) as err:
        getattr(server.client(service, **client_kwargs), op)(**kwargs)
    return err.value.response["Error"]["Code"], err.value.response["ResponseMetadata"]["HTTPStatusCode"]


@pytest.mark.parametrize("protocol", CALLS)
def test_wrong_secret(server, protocol):
    code, status = failure(server, protocol, secret="x" * 40)
    assert (code, status) == (BAD_SIGNATURE[protocol], 403)


@pytest.mark.parametrize("protocol", CALLS)
def test_unknown_key(server, protocol):
    assert failure(server, protocol, key="AKIAUNKNOWNKEY000000", secret="x" * 40) == UNKNOWN_KEY[protocol]


@pytest.mark.parametrize("protocol", CALLS)
@pytest.mark.parametrize("minutes", [-16, 16])
def test_clock_skew(server, protocol, minutes, monkeypatch):
    skewed = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None) + datetime.timedelta(minutes=minutes)
    monkeypatch.setattr("botocore.auth.get_current_datetime", lambda *a, **k: skewed)
    code, status = failure(server, protocol)
    assert status == 403


def test_small_skew_is_accepted(server, monkeypatch):
    skewed = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None) - datetime.timedelta(minutes=10)
    monkeypatch.setattr("botocore.auth.get_current_datetime", lambda *a, **k: skewed)
    assert server.client("sts").get_caller_identity()["Account"]


def test_unsigned_request_is_refused(server):
    req = urllib.request.Request(f"{server.endpoint}/", data=b"Action=GetCallerIdentity&Version=2011-06-15",
                                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=10)
    assert err.value.code == 403 and b"MissingAuthenticationToken" in err.value.read()


def test_presigned_url(server):
    url = server.client("ec2").generate_presigned_url("describe_regions", Params={}, ExpiresIn=60)
    assert "X-Amz-Signature=" in url
    with urllib.request.urlopen(url, timeout=10) as r:
        assert r.status == 200 and b"<regionName>us-east-1</regionName>" in r.read()
    tampered = url.replace("Action=DescribeRegions", "Action=DescribeKeyPairs")
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(tampered, timeout=10)
    assert err.value.code == 403


def test_second_account_is_separate(server):
    key, secret = server.new_account("team-b")
    other = server.client("ec2", key=key, secret=secret)
    mine = server.client("ec2")
    mine.create_key_pair(KeyName="private-to-admin", KeyType="ed25519")
    try:
        assert other.describe_key_pairs()["KeyPairs"] == []
        other_id = server.client("sts", key=key, secret=secret).get_caller_identity()["Account"]
        assert other_id != server.client("sts").get_caller_identity()["Account"]
    finally:
        mine.delete_key_pair(KeyName="private-to-admin")


def test_region_not_enabled(server):
    code, status = failure(server, "query", region="xx-nowhere-1")
    assert (code, status) == ("InvalidClientTokenId", 403)


def hand_signed(server, service: str, path: str, body: bytes, signed: dict, added: dict) -> tuple[int, dict]:
    """A request signed by botocore's SigV4Auth over the `signed` headers only, with `added` put on
    after signing (as something between the client and the server could): (status, JSON or CBOR body)."""
    request = AWSRequest("POST", f"{server.endpoint}{path}", data=body, headers=signed)
    profile = server.profile()
    SigV4Auth(Credentials(profile["aws_access_key_id"], profile["aws_secret_access_key"]), service,
              "us-east-1").add_auth(request)
    conn = http.client.HTTPConnection(urlsplit(server.endpoint).netloc, timeout=30)
    try:
        conn.request("POST", path, body=body, headers={**dict(request.headers), **added})
        reply = conn.getresponse()
        data = reply.read()
    finally:
        conn.close()
    return reply.status, (cbor2.loads(data) if data and reply.getheader("smithy-protocol") else json.loads(data))


ECS_JSON = "application/x-amz-json-1.1"
ECS_TARGET = "AmazonEC2ContainerServiceV20141113"


def test_the_signature_must_cover_the_operation(server):
    name = f"victim-{secrets.token_hex(4)}"
    server.client("ecs").create_cluster(clusterName=name)
    body = json.dumps({"cluster": name}).encode()
    try:
        status, answer = hand_signed(server, "ecs", "/", body, {"Content-Type": ECS_JSON},
                                     {"X-Amz-Target": f"{ECS_TARGET}.DeleteCluster"})
        assert (status, answer["__type"]) == (403, "IncompleteSignatureException")
        assert answer["message"] == "'X-Amz-Target' must be a 'SignedHeader' in the AWS Authorization."
        status, answer = hand_signed(server, "ecs", "/", body, {"X-Amz-Target": f"{ECS_TARGET}.DeleteCluster"},
                                     {"Content-Type": ECS_JSON})
        assert (status, answer["__type"]) == (403, "IncompleteSignatureException")
        assert "'Content-Type' must be a 'SignedHeader'" in answer["message"]
        clusters = server.client("ecs").describe_clusters(clusters=[name])["clusters"]
        assert [c["status"] for c in clusters] == ["ACTIVE"]
        # the same request signed whole is its client's own, and is done
        status, answer = hand_signed(server, "ecs", "/", body, {"Content-Type": ECS_JSON,
                                                                "X-Amz-Target": f"{ECS_TARGET}.DeleteCluster"}, {})
        assert (status, answer["cluster"]["status"]) == (200, "INACTIVE")
    finally:
        with contextlib.suppress(ClientError):
            server.client("ecs").delete_cluster(cluster=name)


def test_a_cbor_signature_must_cover_how_it_is_read(server):
    path = "/service/GraniteServiceVersion20100801/operation/ListMetrics"
    status, answer = hand_signed(server, "monitoring", path, cbor2.dumps({}), {"Content-Type": "application/cbor",
                                                                              "Smithy-Protocol": "rpc-v2-cbor"},
                                 {"X-Amz-Target": "GraniteServiceVersion20100801.DeleteAlarms"})
    assert status == 403 and answer["__type"] == "IncompleteSignatureException", answer
    assert "'X-Amz-Target' must be a 'SignedHeader'" in answer["message"]
