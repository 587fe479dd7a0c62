"""SigV4 verification against what botocore itself signs: its signers directly and real boto3 clients."""

import hashlib
from datetime import datetime, timedelta, timezone
from urllib.parse import unquote, urlsplit

import boto3
import pytest
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from cloudlet.edge import auth
from cloudlet.edge.http import Request

KEY, SECRET = "AKIACLOUDLETTEST0001", "s3cr3t/+Test0000000000000000000000000000"
CREDS = Credentials(KEY, SECRET)
SIGNED_AT = datetime(2024, 1, 1, 0, 10, 0, tzinfo=timezone.utc)
ENDPOINT = "http://127.0.0.1:4566"


def secrets(access_key):
    return SECRET if access_key == KEY else None


@pytest.fixture(autouse=True)
def frozen_signing_clock(monkeypatch):
    # botocore stamps requests with its own clock (naive UTC); pinning it makes skew tests exact.
    monkeypatch.setattr("botocore.auth.get_current_datetime", lambda *a, **k: SIGNED_AT.replace(tzinfo=None))


def as_request(prepared) -> Request:
    """What the HTTP app would hand us for the request botocore is about to send."""
    url = urlsplit(prepared.url)
    headers = {name.lower(): value.decode() if isinstance(value, bytes) else value
               for name, value in prepared.headers.items()}
    headers.setdefault("host", url.netloc)  # urllib3 adds Host from the URL when it sends
    body = prepared.body or b""
    return Request(prepared.method, unquote(url.path) or "/", url.path or "/", url.query, headers,
                   body.encode() if isinstance(body, str) else body)


def signed(method="GET", url=ENDPOINT + "/", body=b"", headers=None, params=None, service="ec2",
           region="us-east-1", creds=CREDS) -> Request:
    req = AWSRequest(method=method, url=url, data=body, headers=headers or {}, params=params or {})
    SigV4Auth(creds, service, region).add_auth(req)
    return as_request(req.prepare())


def presigned(url=ENDPOINT + "/?Action=DescribeRegions&Version=2016-11-15", expires=300, service="ec2",
              region="us-east-1") -> Request:
    req = AWSRequest(method="GET", url=url)
    SigV4QueryAuth(CREDS, service, region, expires=expires).add_auth(req)
    return as_request(req.prepare())


def verify(request, now=SIGNED_AT):
    return auth.verify(request, secrets, now)


def failure(request, now=SIGNED_AT) -> auth.AuthFailure:
    with pytest.raises(auth.AuthFailure) as err:
        verify(request, now)
    return err.value


# --- botocore's signer, directly -----------------------------------------------------------------


QUERY_BODY = b"Action=DescribeInstances&Version=2016-11-15&Filter.1.Name=tag%3AName&Filter.1.Value.1=a+b"


@pytest.mark.parametrize("method,url,body,headers,params", [
    ("GET", ENDPOINT + "/", b"", {}, {}),
    ("POST", ENDPOINT + "/", QUERY_BODY, {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}, {}),
    ("POST", ENDPOINT + "/", b'{"cluster": "default"}',
     {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "AmazonEC2ContainerServiceV20141113.ListTasks"},
     {}),
    ("POST", ENDPOINT + "/service/GraniteServiceVersion20100801/operation/ListMetrics", b"\xa0\xff\x00",
     {"Content-Type": "application/cbor", "Smithy-Protocol": "rpc-v2-cbor"}, {}),
    # rest-json paths as botocore sends them: each label percent-encoded, '/' inside a label as %2F
    ("GET", ENDPOINT + "/2015-03-31/functions/my%20fn%2Fx%2B%25y/configuration", b"", {}, {}),
    ("DELETE", ENDPOINT + "/tags/arn%3Aaws%3Aecs%3Aus-east-1%3A1%3Acluster~x/", b"", {}, {}),
    # dot segments and doubled slashes are sent as written but signed normalized
    ("GET", ENDPOINT + "//a/./b/../c//d", b"", {}, {}),
    # params are sent form-encoded ('+' for space) but signed %20-encoded, sorted by name then value
    ("GET", ENDPOINT + "/", b"", {},
     [("b", "2"), ("a", "x y"), ("a", "1"), ("empty", ""), ("c", "~!*'()+/="), ("ü", "é")]),
    ("GET", ENDPOINT + "/?b=2&a=1&a=0&a=&flag&X-Amz-Signature=notmine", b"", {}, {}),
    ("PUT", ENDPOINT + "/x", b"data", {"X-Custom": "  a   b \t c ", "X-Amz-Meta": "v"}, {}),
])
def test_botocore_signatures_verify(method, url, body, headers, params):
    result = verify(signed(method, url, body, headers, params))
    assert result == auth.Signed(KEY, "us-east-1", "ec2", SIGNED_AT)


def test_scope_and_date_come_from_the_signature():
    result = verify(signed(service="monitoring", region="eu-west-3"))
    assert (result.access_key, result.region, result.service) == (KEY, "eu-west-3", "monitoring")
    assert result.date == SIGNED_AT and result.date.tzinfo is not None


def test_date_header_instead_of_x_amz_date():
    assert verify(signed(headers={"Date": "Mon, 01 Jan 2024 00:10:00 GMT"})).date == SIGNED_AT


def test_declared_payload_hash_and_unsigned_payload():
    body = b'{"a": 1}'
    declared = signed("POST", body=body, headers={"X-Amz-Content-SHA256": hashlib.sha256(body).hexdigest()})
    assert verify(declared).access_key == KEY
    unsigned = signed("POST", body=body, headers={"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"})
    unsigned.body = b"anything: the client chose not to sign it"
    assert verify(unsigned).access_key == KEY


def test_unsigned_headers_may_change():
    request = signed("POST", body=b"x")
    request.headers["user-agent"] = "changed in transit"
    request.headers["x-forwarded-for"] = "10.0.0.1"
    assert verify(request).access_key == KEY


def test_signing_key_is_cached():
    verify(signed())
    before = auth._signing_key.cache_info().hits
    verify(signed(url=ENDPOINT + "/other"))
    assert auth._signing_key.cache_info().hits == before + 1


# --- presigned URLs --------------------------------------------------------------------------------


def test_presigned_url_verifies():
    request = presigned(region="ap-south-1")
    assert "X-Amz-Signature=" in request.query_string and "authorization" not in request.headers
    assert verify(request) == auth.Signed(KEY, "ap-south-1", "ec2", SIGNED_AT)
    assert verify(request, SIGNED_AT + timedelta(seconds=300)).access_key == KEY


def test_presigned_url_expires():
    err = failure(presigned(expires=300), SIGNED_AT + timedelta(seconds=301))
    assert err.kind == "expired"
    assert failure(presigned(expires=3600), SIGNED_AT - timedelta(minutes=16)).kind == "expired"


def test_presigned_get_accepts_botocores_post_signature_only():
    url = ENDPOINT + "/?Action=GetCallerIdentity&Version=2011-06-15"
    req = AWSRequest(method="POST", url=url)
    SigV4QueryAuth(CREDS, "sts", "us-east-1", expires=60).add_auth(req)
    request = as_request(req.prepare())
    request.method = "GET"  # how boto3's presigned URLs for query services are opened
    assert verify(request).service == "sts"
    request.method = "DELETE"
    assert failure(request).kind == "signature"
    header_signed = signed("POST")
    header_signed.method = "GET"
    assert failure(header_signed).kind == "signature"


def test_presigned_url_tampered():
    request = presigned()
    request.query_string = request.query_string.replace("DescribeRegions", "DescribeKeyPairs")
    assert failure(request).kind == "signature"


@pytest.mark.parametrize("edit,kind", [
    (lambda q: q.replace("X-Amz-Expires=300", "X-Amz-Expires=604801"), "malformed"),
    (lambda q: q.replace("X-Amz-Expires=300", "X-Amz-Expires=-1"), "malformed"),
    (lambda q: q.replace("X-Amz-Expires=300&", ""), "malformed"),
    (lambda q: q.replace("X-Amz-Algorithm=AWS4-HMAC-SHA256", "X-Amz-Algorithm=AWS4-ECDSA-P256-SHA256"), "malformed"),
    (lambda q: q.split("&X-Amz-Signature=")[0], "malformed"),
    (lambda q: q.replace("X-Amz-Date=20240101T001000Z", "X-Amz-Date=20240102T001000Z"), "signature"),
])
def test_presigned_url_malformed(edit, kind):
    request = presigned()
    request.query_string = edit(request.query_string)
    assert failure(request).kind == kind


# --- real boto3 clients --------------------------------------------------------------------------


class Captured(Exception):
    def __init__(self, request):
        super().__init__("captured")
        self.request = request


def captured(service, operation, region="eu-west-1", **kwargs) -> Request:
    """The request a real boto3 client sends for one call, taken just before it leaves."""
    client = boto3.session.Session().client(service, region_name=region, endpoint_url=ENDPOINT,
                                            aws_access_key_id=KEY, aws_secret_access_key=SECRET)

    def stop(request, **_):
        raise Captured(request)

    client.meta.events.register("before-send", stop)
    with pytest.raises(Captured) as caught:
        getattr(client, operation)(**kwargs)
    return as_request(caught.value.request)


@pytest.mark.parametrize("service,operation,kwargs,signing_name", [
    ("ec2", "describe_instances", {"Filters": [{"Name": "tag:Name", "Values": ["a b", "c+d", "ü&="]}]}, "ec2"),
    ("sts", "get_caller_identity", {}, "sts"),
    ("ecs", "list_clusters", {"maxResults": 5}, "ecs"),
    ("cloudwatch", "list_metrics", {"Namespace": "AWS/EC2 x"}, "monitoring"),
    ("lambda", "get_function", {"FunctionName": "my fn/with%odd+chars~", "Qualifier": "a b"}, "lambda"),
    ("lambda", "list_functions", {"Marker": "a b+c/=&", "MaxItems": 5}, "lambda"),
    ("logs", "put_log_events", {"logGroupName": "g", "logStreamName": "s",
                                "logEvents": [{"timestamp": 1, "message": "héllo\n"}]}, "logs"),
])
def test_boto3_clients_verify(service, operation, kwargs, signing_name):
    request = captured(service, operation, **kwargs)
    assert verify(request) == auth.Signed(KEY, "eu-west-1", signing_name, SIGNED_AT)
    assert auth.scope(request) == (KEY, "eu-west-1", signing_name)


def test_boto3_presigned_url_verifies():
    client = boto3.session.Session().client("ec2", region_name="us-west-2", endpoint_url=ENDPOINT,
                                            aws_access_key_id=KEY, aws_secret_access_key=SECRET)
    url = urlsplit(client.generate_presigned_url("describe_regions", Params={"RegionNames": ["a b", "c+d"]},
                                                 ExpiresIn=60))
    request = Request("GET", unquote(url.path), url.path, url.query, {"host": url.netloc})
    assert verify(request) == auth.Signed(KEY, "us-west-2", "ec2", SIGNED_AT)
    assert auth.scope(request) == (KEY, "us-west-2", "ec2")
    assert failure(request, SIGNED_AT + timedelta(seconds=61)).kind == "expired"


# --- failures --------------------------------------------------------------------------------------


def test_tampered_body():
    request = signed("POST", body=QUERY_BODY)
    request.body = QUERY_BODY.replace(b"a+b", b"a+c")
    err = failure(request)
    assert err.kind == "signature" and err.message == auth.SIGNATURE_MISMATCH


def test_tampered_body_under_declared_hash():
    request = signed("POST", body=b"one", headers={"X-Amz-Content-SHA256": hashlib.sha256(b"one").hexdigest()})
    request.body = b"two"
    assert failure(request).kind == "signature"


def test_bad_declared_hash():
    request = signed("POST", body=b"one", headers={"X-Amz-Content-SHA256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"})
    assert failure(request).kind == "malformed"


def test_tampered_signed_header():
    request = signed("POST", body=b"{}", headers={"X-Amz-Target": "AmazonEC2ContainerServiceV20141113.ListTasks"})
    request.headers["x-amz-target"] = "AmazonEC2ContainerServiceV20141113.DeleteCluster"
    assert failure(request).kind == "signature"


def test_tampered_path_and_query():
    request = signed(url=ENDPOINT + "/a?x=1")
    request.raw_path = "/b"
    assert failure(request).kind == "signature"
    request = signed(url=ENDPOINT + "/a?x=1")
    request.query_string = "x=2"
    assert failure(request).kind == "signature"


def test_wrong_secret():
    err = failure(signed(creds=Credentials(KEY, "x" * 40)))
    assert err.kind == "signature" and err.message == auth.SIGNATURE_MISMATCH


def test_unknown_key():
    assert failure(signed(creds=Credentials("AKIAUNKNOWNKEY000000", SECRET))).kind == "unknown_key"


def test_non_ascii_signature_is_a_mismatch():
    request = signed()
    request.headers["authorization"] = request.headers["authorization"].rsplit("=", 1)[0] + "=ü"
    assert failure(request).kind == "signature"


@pytest.mark.parametrize("minutes", [-14, 14])
def test_small_skew_is_accepted(minutes):
    assert verify(signed(), SIGNED_AT + timedelta(minutes=minutes)).access_key == KEY


def test_skew_into_the_past():
    err = failure(signed(), SIGNED_AT + timedelta(minutes=16))
    assert err.kind == "expired"
    assert err.message == ("Signature expired: 20240101T001000Z is now earlier than 20240101T001100Z "
                           "(20240101T002600Z - 15 min.)")


def test_skew_into_the_future():
    err = failure(signed(), SIGNED_AT - timedelta(minutes=16))
    assert err.kind == "expired"
    assert err.message == ("Signature not yet current: 20240101T001000Z is still later than 20240101T000900Z "
                           "(20231231T235400Z + 15 min.)")


def test_no_auth_at_all():
    assert failure(Request("GET", "/", "/", "Action=DescribeRegions", {"host": "h"})).kind == "missing"
    assert failure(Request("GET", "/", "/", "", {"host": "h", "authorization": "  "})).kind == "missing"


@pytest.mark.parametrize("header", [
    "Bearer x",
    "AWS AKIACLOUDLETTEST0001:c2lnbmF0dXJl",
    "AWS4-HMAC-SHA256",
    "AWS4-HMAC-SHA256 Credential=AKIA/2020/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=00",
    "AWS4-HMAC-SHA256 Credential=/////",
    "AWS4-HMAC-SHA256 Credential=K/20240101/us-east-1/ec2/aws4_request, SignedHeaders=host",
    "AWS4-HMAC-SHA256 Credential=K/20240101/us-east-1/ec2/aws5_request, SignedHeaders=host, Signature=00",
    "AWS4-HMAC-SHA256 Credential=K/20240101/us-east-1/ec2/aws4_request, SignedHeaders=x-amz-date, Signature=00",
    "AWS4-HMAC-SHA256 Credential=K/20240101/us-east-1/ec2, SignedHeaders=host, Signature=00",
    "AWS4-HMAC-SHA256 Credential=, SignedHeaders=, Signature=",
])
def test_junk_authorization(header):
    request = Request("GET", "/", "/", "", {"host": "h", "x-amz-date": "20240101T001000Z", "authorization": header})
    assert failure(request).kind == "malformed"


@pytest.mark.parametrize("date", [None, "2024-01-01T00:10:00Z", "20241301T001000Z", "20240101T001000"])
def test_bad_or_missing_date(date):
    request = signed()
    del request.headers["x-amz-date"]
    if date is not None:
        request.headers["x-amz-date"] = date
    assert failure(request).kind == "malformed"


def test_scope_date_must_match_request_date():
    request = signed()
    request.headers["x-amz-date"] = "20240102T001000Z"
    err = failure(request, SIGNED_AT + timedelta(days=1))
    assert err.kind == "signature" and "Date in Credential scope does not match" in err.message


# --- scope (unverified, for routing) ---------------------------------------------------------------


def test_scope():
    assert auth.scope(signed(service="ecs", region="eu-north-1")) == (KEY, "eu-north-1", "ecs")
    assert auth.scope(presigned(service="sts")) == (KEY, "us-east-1", "sts")
    assert auth.scope(Request("GET", "/", "/", "", {})) is None
    junk = Request("GET", "/", "/", "", {"authorization": "AWS4-HMAC-SHA256 Credential=/////"})
    assert auth.scope(junk) is None
    assert auth.scope(Request("GET", "/", "/", "X-Amz-Credential=a%2Fb", {})) is None


# --- errors per protocol ---------------------------------------------------------------------------


JSON_PROTOCOLS = ["json", "rest-json", "smithy-rpc-v2-cbor"]
EXPECTED = {
    "signature": {"ec2": ("SignatureDoesNotMatch", 403), "query": ("SignatureDoesNotMatch", 403),
                  "json": ("InvalidSignatureException", 403)},
    "unknown_key": {"ec2": ("AuthFailure", 401), "query": ("InvalidClientTokenId", 403),
                    "json": ("UnrecognizedClientException", 403)},
    "expired": {"ec2": ("RequestExpired", 403), "query": ("SignatureDoesNotMatch", 403),
                "json": ("InvalidSignatureException", 403)},
    "missing": {"ec2": ("AuthFailure", 401), "query": ("MissingAuthenticationToken", 403),
                "json": ("MissingAuthenticationTokenException", 403)},
    "malformed": {"ec2": ("IncompleteSignature", 403), "query": ("IncompleteSignature", 403),
                  "json": ("IncompleteSignatureException", 403)},
}


@pytest.mark.parametrize("kind", EXPECTED)
@pytest.mark.parametrize("protocol", ["ec2", "query", *JSON_PROTOCOLS])
def test_error_for(kind, protocol):
    family = "json" if protocol in JSON_PROTOCOLS else protocol
    error = auth.error_for(kind, protocol, "why")
    assert (error.code, error.status, error.message) == (*EXPECTED[kind][family], "why")
    assert error.sender


def test_error_messages_default_to_aws_text():
    assert auth.error_for("unknown_key", "ec2", "").message == \
        "AWS was not able to validate the provided access credentials"
    assert auth.error_for("unknown_key", "query", "").message == \
        "The security token included in the request is invalid."
    assert auth.error_for("missing", "query", "").message == "Request is missing Authentication Token"
    unknown = failure(signed(creds=Credentials("AKIAUNKNOWNKEY000000", SECRET)))
    assert auth.error_for(unknown.kind, "rest-json", unknown.message).message == \
        "The security token included in the request is invalid."


def test_headers_that_must_be_signed():
    json_headers = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "AmazonEC2ContainerServiceV20141113.ListTasks"}
    must = ("X-Amz-Target", "Content-Type")
    assert auth.verify(signed("POST", body=b"{}", headers=json_headers), secrets, SIGNED_AT, must).access_key == KEY
    added = signed("POST", body=b"{}", headers={"Content-Type": "application/x-amz-json-1.1"})
    added.headers["x-amz-target"] = "AmazonEC2ContainerServiceV20141113.DeleteCluster"
    with pytest.raises(auth.AuthFailure) as err:
        auth.verify(added, secrets, SIGNED_AT, must)
    assert (err.value.kind, err.value.message) == \
        ("malformed", "'X-Amz-Target' must be a 'SignedHeader' in the AWS Authorization.")
    assert verify(added).access_key == KEY  # headers that decide nothing may go unsigned
