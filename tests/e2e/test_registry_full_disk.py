"""A registry whose disk fills up (security review, issue 11): a push that does not fit is
refused with 507 in the distribution spec's envelope (the ECR API: LimitExceededException),
its partial upload is removed at once, and pushes work again once there is space. The data
dir is a small tmpfs of the test's own."""

import json
import os
import secrets

import boto3
import pytest
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError

from tests.e2e.errors import code
from tests.e2e.registry_http import OCI_CONFIG, OCI_MANIFEST, V2, digest
from tests.e2e.server import on_tmpfs

DISK = 64 << 20


@pytest.fixture
def small(tmp_path):
    with on_tmpfs(tmp_path, DISK) as server:
        server.ecr = server.client("ecr")
        profile = server.profile()
        # SDKs retry LimitExceededException as throttling; this client shows the first answer.
        server.once = boto3.client("ecr", endpoint_url=server.endpoint, region_name="us-east-1",
                                   aws_access_key_id=profile["aws_access_key_id"],
                                   aws_secret_access_key=profile["aws_secret_access_key"],
                                   config=BotoConfig(retries={"total_max_attempts": 1}))
        server.ecr.create_repository(repositoryName="full")
        server.v2 = V2.login(server, server.ecr)
        server.ingests = server.data_dir / "engine/images/content/ingest"
        yield server


def used(server) -> int:
    st = os.statvfs(server.data_dir)
    return (st.f_blocks - st.f_bfree) * st.f_frsize


def too_big(reply) -> None:
    assert reply.status == 507, (reply.status, reply.body)
    error = reply.json()["errors"][0]
    assert error["code"] == "BLOB_UPLOAD_INVALID" and "no space left" in error["message"]


def test_a_push_larger_than_the_disk_is_refused_and_leaves_nothing(small):
    v2, before = small.v2, used(small)
    big = secrets.token_bytes(DISK + (16 << 20))
    too_big(v2.request("POST", f"/v2/full/blobs/uploads/?digest={digest(big)}", big))
    assert list(small.ingests.iterdir()) == [] and used(small) - before < 1 << 20

    location = v2.request("POST", "/v2/full/blobs/uploads/").headers["location"]
    too_big(v2.request("PATCH", location, big))
    assert list(small.ingests.iterdir()) == [] and used(small) - before < 1 << 20
    again = v2.request("PATCH", location, b"more")  # as a client retrying the chunk would
    assert again.status == 404 and again.error() == "BLOB_UPLOAD_UNKNOWN"
    assert "no space left" in again.json()["errors"][0]["message"]

    fits = secrets.token_bytes(8 << 20)
    d = v2.push_blob("full", fits)
    assert v2.request("GET", f"/v2/full/blobs/{d}").body == fits


def test_a_full_disk_refuses_pushes_until_space_is_freed(small):
    v2, once, filler = small.v2, small.once, small.data_dir / "filler"
    layer = secrets.token_bytes(100_000)  # less than a sealed chunk: written at the commit
    config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}})
    config_digest = v2.push_blob("full", config.encode())
    manifest = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "layers": [], "config": {
        "mediaType": OCI_CONFIG, "digest": config_digest, "size": len(config)}}).encode()
    pending = once.initiate_layer_upload(repositoryName="full")["uploadId"]
    once.upload_layer_part(repositoryName="full", uploadId=pending, partFirstByte=0, partLastByte=len(layer) - 1,
                           layerPartBlob=layer)
    with open(filler, "wb") as f, pytest.raises(OSError):
        while True:
            f.write(bytes(1 << 20))
            f.flush()
    with pytest.raises(ClientError) as refused:
        once.complete_layer_upload(repositoryName="full", uploadId=pending, layerDigests=[digest(layer)])
    assert refused.value.response["Error"]["Code"] == "LimitExceededException"
    too_big(v2.request("POST", f"/v2/full/blobs/uploads/?digest={digest(layer)}", layer))
    assert code(once.initiate_layer_upload, repositoryName="full") == "LimitExceededException"
    put = v2.request("PUT", "/v2/full/manifests/v1", manifest, {"Content-Type": OCI_MANIFEST})
    assert put.status == 507 and put.error() == "DENIED", put.body
    assert list(small.ingests.iterdir()) == []
    filler.unlink()
    d = v2.push_blob("full", layer)
    assert v2.request("GET", f"/v2/full/blobs/{d}").body == layer
    assert v2.request("PUT", "/v2/full/manifests/v1", manifest, {"Content-Type": OCI_MANIFEST}).status == 201


def parts_until_refused(ecr, upload: str, part: bytes) -> tuple[dict, int]:
    first = 0
    with pytest.raises(ClientError) as refused:
        while True:
            ecr.upload_layer_part(repositoryName="full", uploadId=upload, partFirstByte=first,
                                  partLastByte=first + len(part) - 1, layerPartBlob=part)
            first += len(part)
    return refused.value.response["Error"], first


def test_ecr_layer_parts_past_the_disk_are_refused_clearly(small):
    once = small.once
    part = secrets.token_bytes(16 << 20)
    upload = once.initiate_layer_upload(repositoryName="full")["uploadId"]
    error, first = parts_until_refused(once, upload, part)
    assert error["Code"] == "LimitExceededException" and "no space left" in error["Message"]
    assert list(small.ingests.iterdir()) == []
    assert code(once.upload_layer_part, repositoryName="full", uploadId=upload, partFirstByte=first,
                partLastByte=first, layerPartBlob=b"x") == "UploadNotFoundException"

    # A retrying SDK's second try hears why the upload is gone.
    error, _ = parts_until_refused(small.ecr, small.ecr.initiate_layer_upload(repositoryName="full")["uploadId"],
                                   part)
    assert error["Code"] in ("LimitExceededException", "UploadNotFoundException")
    assert "no space left" in error["Message"]
    assert list(small.ingests.iterdir()) == []

    layer = secrets.token_bytes(1000)
    again = once.initiate_layer_upload(repositoryName="full")["uploadId"]
    once.upload_layer_part(repositoryName="full", uploadId=again, partFirstByte=0, partLastByte=999,
                           layerPartBlob=layer)
    done = once.complete_layer_upload(repositoryName="full", uploadId=again, layerDigests=[digest(layer)])
    assert done["layerDigest"] == digest(layer)
