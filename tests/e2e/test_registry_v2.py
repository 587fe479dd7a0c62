"""The OCI distribution API at /v2/ with a raw HTTP client: auth, monolithic and chunked
uploads, ranges, mounts, manifests by tag and digest, tag paging, referrers, the catalog,
repository URIs as host names, and every error the spec names for the mistakes."""

import json
import secrets
import sqlite3

import pytest

from tests.e2e.registry_http import OCI_INDEX, OCI_MANIFEST, V2, digest


@pytest.fixture
def repo(ecr):
    name = f"v2/{secrets.token_hex(4)}"
    ecr.create_repository(repositoryName=name)
    yield name
    ecr.delete_repository(repositoryName=name, force=True)


def test_base_needs_the_ecr_token(server, v2):
    anonymous = V2(server.endpoint, None).request("GET", "/v2/")
    assert anonymous.status == 401 and anonymous.error() == "UNAUTHORIZED"
    assert anonymous.headers["www-authenticate"].startswith("Basic realm=")
    assert V2(server.endpoint, "forged.token").request("GET", "/v2/").status == 401
    ok = v2.request("GET", "/v2/")
    assert ok.status == 200 and ok.headers["docker-distribution-api-version"] == "registry/2.0"


def test_monolithic_upload_and_ranged_reads(v2, repo):
    data = secrets.token_bytes(5000)
    d = v2.push_blob(repo, data)
    head = v2.request("HEAD", f"/v2/{repo}/blobs/{d}")
    assert head.status == 200 and head.headers["content-length"] == "5000" and head.headers["docker-content-digest"] == d
    part = v2.request("GET", f"/v2/{repo}/blobs/{d}", headers={"Range": "bytes=100-199"})
    assert part.status == 206 and part.body == data[100:200]
    assert v2.request("GET", f"/v2/{repo}/blobs/{d}").body == data
    tail = v2.request("GET", f"/v2/{repo}/blobs/{d}", headers={"Range": "bytes=-10"})
    assert tail.status == 206 and tail.body == data[-10:] and tail.headers["content-range"] == "bytes 4990-4999/5000"
    outside = v2.request("GET", f"/v2/{repo}/blobs/{d}", headers={"Range": "bytes=6000-"})
    assert outside.status == 416 and outside.headers["content-range"] == "bytes */5000"


def test_chunked_upload_with_status_and_a_bad_range(v2, repo):
    data = secrets.token_bytes(3 * 1024 + 7)
    start = v2.request("POST", f"/v2/{repo}/blobs/uploads/")
    assert start.status == 202 and start.headers["range"] == "0-0"
    location = start.headers["location"]
    first = v2.request("PATCH", location, data[:1024], {"Content-Range": "0-1023"})
    assert first.status == 202 and first.headers["range"] == "0-1023"
    status = v2.request("GET", location)
    assert status.status == 204 and status.headers["range"] == "0-1023"
    gap = v2.request("PATCH", location, data[2048:], {"Content-Range": f"2048-{len(data) - 1}"})
    assert gap.status == 416 and gap.error() == "BLOB_UPLOAD_INVALID" and gap.headers["range"] == "0-1023"
    assert v2.request("PATCH", location, data[1024:2048], {"Content-Range": "1024-2047"}).status == 202
    done = v2.request("PUT", f"{location}?digest={digest(data)}", data[2048:])
    assert done.status == 201 and done.headers["docker-content-digest"] == digest(data)
    assert v2.request("GET", f"/v2/{repo}/blobs/{digest(data)}").body == data
    assert v2.request("GET", location).status == 404  # the upload is over


def test_wrong_digest_is_refused_and_leaves_nothing(v2, repo):
    data = b"the bytes"
    location = v2.request("POST", f"/v2/{repo}/blobs/uploads/").headers["location"]
    wrong = digest(b"other bytes")
    reply = v2.request("PUT", f"{location}?digest={wrong}", data)
    assert reply.status == 400 and reply.error() == "DIGEST_INVALID"
    assert v2.request("GET", location).status == 404
    for d in (wrong, digest(data)):
        assert v2.request("HEAD", f"/v2/{repo}/blobs/{d}").status == 404
    monolithic = v2.request("POST", f"/v2/{repo}/blobs/uploads/?digest={wrong}", data)
    assert monolithic.status == 400 and monolithic.error() == "DIGEST_INVALID"
    assert v2.request("PUT", f"{location}?digest=sha256:nothex").status == 404
    missing = v2.request("PUT", v2.request("POST", f"/v2/{repo}/blobs/uploads/").headers["location"], data)
    assert missing.status == 400 and missing.error() == "DIGEST_INVALID"


def test_cancel_and_unknown_uploads(v2, repo):
    location = v2.request("POST", f"/v2/{repo}/blobs/uploads/").headers["location"]
    v2.request("PATCH", location, b"partial")
    assert v2.request("DELETE", location).status == 204
    assert v2.request("GET", location).error() == "BLOB_UPLOAD_UNKNOWN"
    assert v2.request("PATCH", f"/v2/{repo}/blobs/uploads/0000ffff-0000-0000-0000-000000000000", b"x").status == 404


def test_cross_repository_mount(ecr, v2, repo):
    d = v2.push_blob(repo, b"shared layer")
    other = repo + "-mounted"
    ecr.create_repository(repositoryName=other)
    try:
        mounted = v2.request("POST", f"/v2/{other}/blobs/uploads/?mount={d}&from={repo}")
        assert mounted.status == 201 and mounted.headers["location"].endswith(d)
        assert v2.request("GET", f"/v2/{other}/blobs/{d}").body == b"shared layer"
        absent = v2.request("POST", f"/v2/{other}/blobs/uploads/?mount={digest(b'nope')}&from={repo}")
        assert absent.status == 202  # no such blob there: an ordinary upload begins instead
    finally:
        ecr.delete_repository(repositoryName=other, force=True)


def test_manifests_by_tag_and_digest(v2, repo):
    d, body = v2.push_image(repo, "1.0", [b"layer one"])
    for ref in ("1.0", d):
        got = v2.request("GET", f"/v2/{repo}/manifests/{ref}", headers={"Accept": OCI_MANIFEST})
        assert (got.status, got.body, got.headers["content-type"]) == (200, body, OCI_MANIFEST)
        assert got.headers["docker-content-digest"] == d
    head = v2.request("HEAD", f"/v2/{repo}/manifests/1.0")
    assert head.status == 200 and head.headers["content-length"] == str(len(body)) and head.body == b""
    index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
        {"mediaType": OCI_MANIFEST, "digest": d, "size": len(body),
         "platform": {"architecture": "amd64", "os": "linux"}}]}).encode()
    put = v2.request("PUT", f"/v2/{repo}/manifests/multi", index, {"Content-Type": OCI_INDEX})
    assert put.status == 201 and put.headers["docker-content-digest"] == digest(index)
    assert v2.request("DELETE", f"/v2/{repo}/manifests/multi").status == 202  # the tag only
    assert v2.request("GET", f"/v2/{repo}/manifests/{digest(index)}").status == 200
    assert v2.request("DELETE", f"/v2/{repo}/manifests/{d}").status == 202  # the image and its tags
    assert v2.request("GET", f"/v2/{repo}/manifests/1.0").error() == "MANIFEST_UNKNOWN"


def test_bad_manifests(v2, repo):
    def put(ref, body, media=OCI_MANIFEST):
        return v2.request("PUT", f"/v2/{repo}/manifests/{ref}", body, {"Content-Type": media})

    config = v2.push_blob(repo, b"{}")
    unknown_layer = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                                "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                           "digest": config, "size": 2},
                                "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                                            "digest": digest(b"never pushed"), "size": 12}]}).encode()
    reply = put("1", unknown_layer)
    assert reply.status == 400 and reply.error() == "MANIFEST_BLOB_UNKNOWN"
    assert put("1", b"{not json").error() == "MANIFEST_INVALID"
    assert put("1", json.dumps({"schemaVersion": 1}).encode()).error() == "MANIFEST_INVALID"
    assert put(digest(b"something else"), b"{}").error() == "DIGEST_INVALID"
    assert put("bad:tag", b"{}").error() == "TAG_INVALID"
    assert v2.request("GET", f"/v2/{repo}/tags/list").json()["tags"] == []


def test_tags_paging_and_catalog(v2, repo):
    for tag in ("c", "a", "b"):
        v2.push_image(repo, tag, [tag.encode()])
    assert v2.request("GET", f"/v2/{repo}/tags/list").json() == {"name": repo, "tags": ["a", "b", "c"]}
    first = v2.request("GET", f"/v2/{repo}/tags/list?n=2")
    assert first.json()["tags"] == ["a", "b"]
    assert first.headers["link"] == f'</v2/{repo}/tags/list?last=b&n=2>; rel="next"'
    assert v2.request("GET", f"/v2/{repo}/tags/list?n=2&last=b").json()["tags"] == ["c"]
    assert v2.request("GET", f"/v2/{repo}/tags/list?n=-1").error() == "PAGINATION_NUMBER_INVALID"
    assert repo in v2.request("GET", "/v2/_catalog").json()["repositories"]


def test_referrers(v2, repo):
    subject, body = v2.push_image(repo, "app", [b"app layer"])
    sbom, _ = v2.push_image(repo, "sbom", [b"{}"], artifactType="application/spdx+json",
                            subject={"mediaType": OCI_MANIFEST, "digest": subject, "size": len(body)})
    listed = v2.request("GET", f"/v2/{repo}/referrers/{subject}").json()
    assert [(m["digest"], m["artifactType"]) for m in listed["manifests"]] == [(sbom, "application/spdx+json")]
    filtered = v2.request("GET", f"/v2/{repo}/referrers/{subject}?artifactType=text/plain")
    assert filtered.json()["manifests"] == [] and filtered.headers["oci-filters-applied"] == "artifactType"


def test_unknown_names_and_unsupported_operations(v2, repo):
    assert v2.request("GET", "/v2/no/such/repo/tags/list").error() == "NAME_UNKNOWN"
    assert v2.request("POST", "/v2/no/such/repo/blobs/uploads/").status == 404
    assert v2.request("HEAD", f"/v2/{repo}/blobs/{digest(b'absent')}").status == 404
    d = v2.push_blob(repo, b"kept")
    refused = v2.request("DELETE", f"/v2/{repo}/blobs/{d}")
    assert refused.status == 405 and refused.error() == "UNSUPPORTED"


def test_repository_uri_host_names_the_account_and_region(server, ecr, repo):
    account = server.client("sts").get_caller_identity()["Account"]
    uri = ecr.describe_repositories(repositoryNames=[repo])["repositories"][0]["repositoryUri"]
    assert uri == f"{account}.dkr.ecr.us-east-1.localhost:{server.port}/{repo}"
    by_host = V2.login(server, ecr, host=uri.split("/")[0])
    assert repo in by_host.request("GET", "/v2/_catalog").json()["repositories"]
    # The same token with a host of another region sees that region's (empty) registry.
    west = V2.login(server, ecr, host=f"{account}.dkr.ecr.us-west-2.localhost")
    assert repo not in west.request("GET", "/v2/_catalog").json()["repositories"]


def test_one_account_never_sees_anothers(server, ecr, repo):
    key, secret = server.new_account(f"registry-{secrets.token_hex(3)}")
    other_ecr = server.client("ecr", key=key, secret=secret)
    other = V2.login(server, other_ecr)
    assert repo not in other.request("GET", "/v2/_catalog").json()["repositories"]
    assert other.request("GET", f"/v2/{repo}/tags/list").error() == "NAME_UNKNOWN"
    account = server.client("sts").get_caller_identity()["Account"]
    intruder = V2.login(server, other_ecr, host=f"{account}.dkr.ecr.us-east-1.localhost")
    assert intruder.request("GET", f"/v2/{repo}/tags/list").status == 403


def test_blobs_are_encrypted_at_rest_and_shared_across_keys(server, ecr, v2):
    secret = b"plaintext that must never reach the disk " * 500
    names = [f"enc/{secrets.token_hex(3)}" for _ in range(2)]
    ecr.create_repository(repositoryName=names[0], encryptionConfiguration={"encryptionType": "AES256"})
    ecr.create_repository(repositoryName=names[1], encryptionConfiguration={
        "encryptionType": "KMS", "kmsKey": "arn:aws:kms:us-east-1:111122223333:key/shop"})
    try:
        d = v2.push_blob(names[0], secret)
        assert v2.request("POST", f"/v2/{names[1]}/blobs/uploads/?mount={d}&from={names[0]}").status == 201
        blobs = server.data_dir / "engine" / "images" / "content" / "blobs"
        on_disk = [p.read_bytes() for p in blobs.rglob("*") if p.is_file()]
        assert on_disk and not any(b"never reach the disk" in raw for raw in on_disk)
        with sqlite3.connect(server.data_dir / "state.db") as db:
            wrapped = {row[0] for row in db.execute("SELECT wrapped_key FROM ecr_blobs WHERE digest = ?", (d,))}
        assert len(wrapped) == 2  # each repository keeps the blob's key under its own
        ecr.delete_repository(repositoryName=names[0], force=True)
        assert v2.request("GET", f"/v2/{names[1]}/blobs/{d}").body == secret
        assert v2.request("GET", f"/v2/{names[0]}/blobs/{d}").status == 404
    finally:
        for name in names:
            try:
                ecr.delete_repository(repositoryName=name, force=True)
            except ecr.exceptions.RepositoryNotFoundException:
                pass
