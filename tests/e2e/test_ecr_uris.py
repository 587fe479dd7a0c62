"""Repository URIs and GetAuthorizationToken's proxyEndpoint name the host and port the client
reached cloudlet by (its Host header), so that a push to the repositoryUri as given goes to
the registry that answered; a Host header that is not a plain host[:port] never makes it
into a URI, and never fails the call."""

import json
import secrets
import socket

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.e2e.registry_http import V2

ECR_TARGET = "AmazonEC2ContainerRegistry_V20150921"


def client_as(server, host: str | None):
    """An ECR client that signs and sends `host` as its Host header (what a client reaching
    cloudlet through a forwarded port or a DNS name sends), while it connects to the server."""
    ecr = server.client("ecr")
    if host is not None:
        def put_host(request, **_):
            del request.headers["Host"]
            request.headers["Host"] = host
        ecr.meta.events.register("before-sign.ecr.*", put_host)
    return ecr


@pytest.fixture(scope="module")
def account(server):
    return server.client("sts").get_caller_identity()["Account"]


def uris(ecr) -> tuple[str, str, str]:
    """(CreateRepository's repositoryUri, DescribeRepositories', proxyEndpoint) of a new repository."""
    name = f"uris/{secrets.token_hex(4)}"
    try:
        created = ecr.create_repository(repositoryName=name)["repository"]["repositoryUri"]
        described = ecr.describe_repositories(repositoryNames=[name])["repositories"][0]["repositoryUri"]
        endpoint = ecr.get_authorization_token()["authorizationData"][0]["proxyEndpoint"]
    finally:
        ecr.delete_repository(repositoryName=name, force=True)
    assert created == described and created.endswith(f"/{name}")
    return created, described, endpoint


def test_uris_carry_the_port_of_the_test_server(server, ecr, account):
    host = f"{account}.dkr.ecr.us-east-1.localhost:{server.port}"
    created, _, endpoint = uris(ecr)
    assert created.split("/")[0] == host and endpoint == f"http://{host}"
    listed = json.loads(server.aws("ecr", "describe-repositories").stdout)["repositories"]
    assert all(r["repositoryUri"].startswith(f"{host}/") for r in listed)


def test_a_push_to_the_uri_as_given_lands_in_the_repository(server, account):
    ecr = client_as(server, f"cloud.example:{server.port}")
    name = f"uris/{secrets.token_hex(4)}"
    uri = ecr.create_repository(repositoryName=name)["repository"]["repositoryUri"]
    try:
        host, _, path = uri.partition("/")
        assert host == f"{account}.dkr.ecr.us-east-1.cloud.example:{server.port}" and path == name
        assert ecr.get_authorization_token()["authorizationData"][0]["proxyEndpoint"] == f"http://{host}"
        # what `podman push <uri>:1` does once cloud.example's names resolve to the server
        V2.login(server, ecr, host=host).push_image(path, "1", [b"a layer"])
        tags = [i["imageTag"] for i in ecr.list_images(repositoryName=name)["imageIds"]]
        assert tags == ["1"]
    finally:
        ecr.delete_repository(repositoryName=name, force=True)


@pytest.mark.parametrize("host, domain", [
    ("127.0.0.1:5000", "localhost:5000"),  # an address has no subdomains: the README's /etc/hosts names
    ("[::1]:5000", "localhost:5000"),
    ("Cloud.Example.", "cloud.example"),  # no port: the scheme's own, as the client used
    ("localhost:5000", "localhost:5000"),
])
def test_the_domain_and_port_follow_the_host_header(server, account, host, domain):
    created, _, endpoint = uris(client_as(server, host))
    assert created.split("/")[0] == f"{account}.dkr.ecr.us-east-1.{domain}"
    assert endpoint == f"http://{account}.dkr.ecr.us-east-1.{domain}"


def test_another_accounts_repository_host_gives_only_its_domain(server, account):
    other = "999999999999" if account != "999999999999" else "111111111111"
    created, _, endpoint = uris(client_as(server, f"{other}.dkr.ecr.us-west-2.localhost:6000"))
    assert created.split("/")[0] == f"{account}.dkr.ecr.us-east-1.localhost:6000"
    assert other not in endpoint


@pytest.mark.parametrize("host", [
    "a" * 300 + ".example:5000",  # longer than a DNS name may be
    ("b" * 63 + ".") * 3 + "b" * 40 + ".example",  # a DNS name, too long with the registry's prefix
    "evil.example/path:5000", "evil.example:5000/v2/", "user@evil.example:5000",
    "evil.example:99999", "evil.example:0", "evil.example:12:13", "evil..example", "-evil.example",
    "evil.example\tx", "10.0.0.1.999", "x.999999999999.dkr.ecr.us-east-1.localhost",
])
def test_a_hostile_host_header_never_reaches_a_uri(server, account, host):
    created, _, endpoint = uris(client_as(server, host))
    assert created.split("/")[0] == f"{account}.dkr.ecr.us-east-1.localhost:{server.port}"
    assert endpoint == f"http://{account}.dkr.ecr.us-east-1.localhost:{server.port}"


def raw_call(server, host: bytes) -> bytes:
    """DescribeRepositories signed as botocore signs it, sent with the bytes `host` as its Host
    header's value (what no HTTP library lets through: CR, LF, folded lines)."""
    profile = server.profile()
    body = b"{}"
    request = AWSRequest("POST", server.endpoint + "/", data=body, headers={
        "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": f"{ECR_TARGET}.DescribeRepositories",
        "Host": host.decode("latin-1")})
    SigV4Auth(Credentials(profile["aws_access_key_id"], profile["aws_secret_access_key"]), "ecr",
              "us-east-1").add_auth(request)
    head = b"".join(f"{k}: {v}\r\n".encode("latin-1") for k, v in request.headers.items() if k != "Host")
    wire = b"POST / HTTP/1.1\r\nHost: " + host + b"\r\n" + head + b"Content-Length: 2\r\nConnection: close\r\n\r\n"
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as s:
        s.sendall(wire + body)
        reply = b""
        while chunk := s.recv(65536):
            reply += chunk
    return reply


@pytest.mark.parametrize("host", [b"cloud.example\r\n injected.example:1", b"cloud.example\rX-Evil: 1",
                                  b"cloud.example\x00.evil", b"cloud.example\r\n\tfolded:1", "évil.example".encode()])
def test_bytes_no_client_sends_in_a_host_header_neither_crash_nor_reach_a_uri(server, ecr, account, host):
    name = f"uris/{secrets.token_hex(4)}"
    ecr.create_repository(repositoryName=name)
    try:
        head, _, body = raw_call(server, host).partition(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        if b"\r" in host or b"\n" in host or b"\0" in host:
            assert status == 400  # the HTTP server refuses the request before anything reads it
        else:
            assert status == 200, body
            listed = [r["repositoryUri"] for r in json.loads(body)["repositories"]]
            assert f"{account}.dkr.ecr.us-east-1.localhost:{server.port}/{name}" in listed
            assert not any("vil" in uri for uri in listed)
        assert ecr.describe_repositories(repositoryNames=[name])["repositories"]  # still answering
    finally:
        ecr.delete_repository(repositoryName=name, force=True)
