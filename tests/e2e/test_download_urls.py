"""GetDownloadUrlForLayer's URLs (security review, issue 11): a URL fetches its one blob of
its one repository for an hour, as AWS's presigned S3 URLs do, and its token opens nothing
else: not the catalog, not another blob or repository, not manifests, uploads or DELETE,
not as a registry password, and not once it has expired."""

import base64
import hashlib
import secrets
import time
import urllib.request
from urllib.parse import parse_qs, urlsplit

import pytest

from cloudlet.registry.tokens import Tokens
from cloudlet.store import Store
from tests.e2e.registry_http import V2


@pytest.fixture
def repos(ecr):
    names = [f"dl/{secrets.token_hex(4)}" for _ in range(2)]
    for name in names:
        ecr.create_repository(repositoryName=name)
    yield names
    for name in names:
        ecr.delete_repository(repositoryName=name, force=True)


def refused(reply, status: int, code: str) -> None:
    """A refusal in the distribution spec's error envelope."""
    assert reply.status == status, (reply.status, reply.body)
    error = reply.json()["errors"][0]
    assert error["code"] == code and error["message"]


def test_a_download_url_fetches_its_blob_and_nothing_else(server, ecr, v2, repos):
    mine, theirs = repos
    layer, other = secrets.token_bytes(70_000), secrets.token_bytes(100)
    d, other_d = v2.push_blob(mine, layer), v2.push_blob(mine, other)
    v2.push_blob(theirs, layer)
    image, _ = v2.push_image(mine, "v1", [layer])
    url = ecr.get_download_url_for_layer(repositoryName=mine, layerDigest=d)["downloadUrl"]

    with urllib.request.urlopen(url, timeout=10) as r:  # no credentials: the URL is enough
        body = r.read()
        assert r.headers["Docker-Content-Digest"] == d
    assert body == layer and "sha256:" + hashlib.sha256(body).hexdigest() == d
    parts = urlsplit(url)
    head = V2(server.endpoint, None).request("HEAD", f"{parts.path}?{parts.query}")
    assert head.status == 200 and head.headers["content-length"] == str(len(layer))

    token = parse_qs(parts.query)["download"][0]
    anonymous = V2(server.endpoint, None)
    q = f"download={token}"
    refused(anonymous.request("GET", f"/v2/_catalog?{q}"), 403, "DENIED")
    refused(anonymous.request("GET", f"/v2/?{q}"), 403, "DENIED")
    refused(anonymous.request("DELETE", f"/v2/{mine}/manifests/{image}?{q}"), 403, "DENIED")
    refused(anonymous.request("GET", f"/v2/{mine}/manifests/{image}?{q}"), 403, "DENIED")
    refused(anonymous.request("GET", f"/v2/{mine}/blobs/{other_d}?{q}"), 403, "DENIED")
    refused(anonymous.request("GET", f"/v2/{theirs}/blobs/{d}?{q}"), 403, "DENIED")
    refused(anonymous.request("POST", f"/v2/{mine}/blobs/uploads/?{q}"), 403, "DENIED")
    refused(anonymous.request("DELETE", f"/v2/{mine}/blobs/{d}?{q}"), 403, "DENIED")
    refused(anonymous.request("GET", f"/v2/{mine}/tags/list?{q}"), 403, "DENIED")
    assert v2.request("GET", f"/v2/{mine}/manifests/{image}").status == 200  # the DELETE did nothing

    # Nor does it pass for the 12-hour registry password, wherever a password may go.
    refused(V2(server.endpoint, token).request("GET", "/v2/_catalog"), 401, "UNAUTHORIZED")
    refused(anonymous.request("GET", f"/v2/_catalog?token={token}"), 401, "UNAUTHORIZED")
    payload, _, signature = token.partition(".")
    forged = base64.urlsafe_b64encode(base64.urlsafe_b64decode(payload + "==").replace(
        mine.encode(), theirs.encode())).decode().rstrip("=")
    refused(anonymous.request("GET", f"/v2/{theirs}/blobs/{d}?download={forged}.{signature}"), 401, "UNAUTHORIZED")
    refused(anonymous.request("GET", f"/v2/{mine}/blobs/{d}?download=%C3%A9.%C3%A9"), 401, "UNAUTHORIZED")
    refused(V2(server.endpoint, "\u00e9.\u00e9").request("GET", "/v2/"), 401, "UNAUTHORIZED")


def test_a_download_url_lasts_an_hour(server, ecr, v2, repos):
    repo = repos[0]
    d = v2.push_blob(repo, b"expiring layer")
    url = ecr.get_download_url_for_layer(repositoryName=repo, layerDigest=d)["downloadUrl"]
    store = Store(server.data_dir / "state.db")
    try:
        tokens = Tokens(store)
        grant = tokens.read_download(parse_qs(urlsplit(url).query)["download"][0])
        assert 3590 < grant.expires_at - time.time() <= 3600
        account = server.client("sts").get_caller_identity()["Account"]
        # One the server signed an hour and a second ago, as the first would be by then.
        old = tokens.issue_download(account, "us-east-1", repo, d, now=time.time() - 3601)
    finally:
        store.close()
    reply = V2(server.endpoint, None).request("GET", f"/v2/{repo}/blobs/{d}?download={old}")
    refused(reply, 401, "UNAUTHORIZED")
    assert "expired" in reply.json()["errors"][0]["message"]
