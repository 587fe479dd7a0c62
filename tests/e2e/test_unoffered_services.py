"""Services botocore knows and cloudlet does not offer: each is named, in its own protocol's error
shape, once (and only once) the request has authenticated."""

import datetime
import http.client
import urllib.error
import urllib.request
from urllib.parse import urlsplit

import boto3
import pytest
from botocore import UNSIGNED
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

# service, call, kwargs, (code, status) as the service refuses an action it does not know, name in the message
CALLS = [
    ("iam", "list_users", {}, ("InvalidAction", 400), "AWS Identity and Access Management (iam)"),
    ("cloudformation", "list_stacks", {}, ("InvalidAction", 400), "AWS CloudFormation (cloudformation)"),
    ("s3", "list_buckets", {}, ("NotImplemented", 501), "Amazon Simple Storage Service (s3)"),
    # S3 signs its path as sent: a key with spaces and '~' must still authenticate
    ("s3", "put_object", {"Bucket": "b", "Key": "a b/../c~d", "Body": b"x"}, ("NotImplemented", 501),
     "Amazon Simple Storage Service (s3)"),
    ("dynamodb", "list_tables", {}, ("UnknownOperationException", 400), "Amazon DynamoDB (dynamodb)"),
    # signs as "dynamodb" too: its X-Amz-Target tells them apart
    ("dynamodbstreams", "list_streams", {}, ("UnknownOperationException", 400), "Amazon DynamoDB Streams (dynamodb)"),
    ("lambda", "list_functions", {}, ("UnknownOperationException", 404), "AWS Lambda (lambda)"),
    ("sqs", "list_queues", {}, ("UnknownOperationException", 400), "Amazon Simple Queue Service (sqs)"),
    ("cloudhsmv2", "describe_clusters", {}, ("UnknownOperationException", 400), "AWS CloudHSM V2 (cloudhsm)"),
    ("route53", "list_hosted_zones", {}, ("InvalidAction", 400), "Amazon Route 53 (route53)"),
]

BAD_SIGNATURE = {"query": "SignatureDoesNotMatch", "rest-xml": "SignatureDoesNotMatch", "json": "InvalidSignatureException",
                 "rest-json": "InvalidSignatureException", "smithy-rpc-v2-cbor": "InvalidSignatureException"}


def refusal(client, call, kwargs):
    with pytest.raises(ClientError) as err:
        getattr(client, call)(**kwargs)
    resp = err.value.response
    return resp["Error"]["Code"], resp["ResponseMetadata"]["HTTPStatusCode"], resp["Error"].get("Message", "")


@pytest.mark.parametrize("service, call, kwargs, expected, name", CALLS, ids=[f"{c[0]}-{c[1]}" for c in CALLS])
def test_named_in_its_own_protocol(server, service, call, kwargs, expected, name):
    code, status, message = refusal(server.client(service), call, kwargs)
    assert (code, status) == expected
    assert message == f"cloudlet does not offer {name}"


def test_a_second_account_is_told_the_same(server):
    key, secret = server.new_account("unoffered-b")
    assert refusal(server.client("iam", key=key, secret=secret), "list_users", {})[:2] == ("InvalidAction", 400)


@pytest.mark.parametrize("service, call, kwargs, expected, name", CALLS, ids=[f"{c[0]}-{c[1]}" for c in CALLS])
def test_a_bad_signature_is_refused_first(server, service, call, kwargs, expected, name):
    client = server.client(service, secret="x" * 40)
    code, status, message = refusal(client, call, kwargs)
    assert (code, status) == (BAD_SIGNATURE[client.meta.service_model.protocol], 403)
    assert "does not offer" not in message


@pytest.mark.parametrize("service, call, expected", [
    ("iam", "list_users", "InvalidClientTokenId"), ("dynamodb", "list_tables", "UnrecognizedClientException"),
    ("lambda", "list_functions", "UnrecognizedClientException"), ("s3", "list_buckets", "InvalidAccessKeyId")])
def test_an_unknown_key_is_refused_first(server, service, call, expected):
    client = server.client(service, key="AKIAUNKNOWNKEY000000", secret="x" * 40)
    assert refusal(client, call, {})[:2] == (expected, 403)


def test_a_skewed_clock_is_refused_in_s3s_words(server, monkeypatch):
    skewed = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None) + datetime.timedelta(minutes=20)
    monkeypatch.setattr("botocore.auth.get_current_datetime", lambda *a, **k: skewed)
    assert refusal(server.client("s3"), "list_buckets", {})[:2] == ("RequestTimeTooSkewed", 403)


@pytest.mark.parametrize("service, call, expected", [
    ("iam", "list_users", ("MissingAuthenticationToken", 403)),
    ("dynamodb", "list_tables", ("MissingAuthenticationTokenException", 403))])
def test_unsigned_requests_are_refused(server, service, call, expected):
    anonymous = boto3.session.Session().client(service, endpoint_url=server.endpoint, region_name="us-east-1",
                                               config=Config(signature_version=UNSIGNED, retries={"max_attempts": 1}))
    code, status, message = refusal(anonymous, call, {})
    assert (code, status) == expected and "does not offer" not in message


def test_a_presigned_s3_url(server):
    profile = server.profile()
    s3 = boto3.session.Session().client("s3", endpoint_url=server.endpoint, region_name="us-east-1",
                                        aws_access_key_id=profile["aws_access_key_id"],
                                        aws_secret_access_key=profile["aws_secret_access_key"],
                                        config=Config(signature_version="s3v4"))
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "b", "Key": "k y"}, ExpiresIn=60)
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(url, timeout=10)
    body = err.value.read()
    assert err.value.code == 501 and body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NotImplemented')
    assert b"<RequestId>" in body and err.value.headers["x-amz-request-id"]
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(url.replace("/b/", "/c/"), timeout=10)
    assert err.value.code == 403 and b"<Code>SignatureDoesNotMatch</Code>" in err.value.read()


def signed_as(server, service: str, secret: str | None = None) -> tuple[int, bytes]:
    """A query-protocol POST signed for the scope service `service`."""
    profile = server.profile()
    body = b"Action=ListUsers&Version=2010-05-08"
    request = AWSRequest("POST", f"{server.endpoint}/", data=body,
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
    SigV4Auth(Credentials(profile["aws_access_key_id"], secret or profile["aws_secret_access_key"]), service,
              "us-east-1").add_auth(request)
    conn = http.client.HTTPConnection(urlsplit(server.endpoint).netloc, timeout=30)
    try:
        conn.request("POST", "/", body=body, headers=dict(request.headers))
        reply = conn.getresponse()
        return reply.status, reply.read()
    finally:
        conn.close()


def test_a_signing_name_no_service_has(server):
    status, body = signed_as(server, "no-such<service>&")
    assert status == 400 and b"<Code>InvalidAction</Code>" in body
    assert b"No AWS service signs its requests as 'no-such&lt;service&gt;&amp;'" in body
    status, body = signed_as(server, "no-such-service", secret="y" * 40)
    assert status == 403 and b"<Code>SignatureDoesNotMatch</Code>" in body


def _rss_kib(server) -> int:
    for line in open(f"/proc/{server.proc.pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_naming_services_does_not_load_their_models(server):
    """A client may name every service in turn: only their metadata is kept, not their models."""
    services = ["sagemaker", "glue", "iot", "quicksight", "connect", "securityhub", "rds", "redshift", "ssm-sap",
                "wafv2", "pinpoint", "medialive", "chime", "lightsail", "config", "workspaces", "guardduty", "emr",
                "mediaconvert", "datazone", "bedrock-agent", "appflow", "codebuild", "iotwireless", "cognito-idp"]
    signed_as(server, "iam")  # the catalogue itself is read on the first such request
    before = _rss_kib(server)
    for service in services:
        status, _ = signed_as(server, service)
        assert status in (400, 404, 501)
    assert _rss_kib(server) - before < 20 * 1024


def test_the_aws_cli_is_told(server):
    proc = server.aws("s3", "ls", check=False)
    assert proc.returncode != 0
    assert "(NotImplemented)" in proc.stderr and "cloudlet does not offer Amazon Simple Storage Service (s3)" in proc.stderr
    proc = server.aws("iam", "list-users", check=False)
    assert "(InvalidAction)" in proc.stderr and "AWS Identity and Access Management (iam)" in proc.stderr
