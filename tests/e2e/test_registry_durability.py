"""The registry survives a kill -9 mid-push, `cloudlet registry fsck` finds damage, and
`cloudlet registry gc` removes what no image uses while sparing a push under way."""

import subprocess

import pytest

from tests.e2e.registry_http import V2, digest
from tests.e2e.server import Server

CHUNK = 1 << 20  # the content store seals whole chunks of this size


@pytest.fixture(scope="module")
def own(tmp_path_factory):
    """A server of this module's own: these tests kill it and damage its files."""
    srv = Server(tmp_path_factory.mktemp("durable")).start()
    yield srv
    srv.stop()


def cli(server, *args: str) -> subprocess.CompletedProcess:
    return server.cloudlet("registry", *args)


def test_kill_9_mid_upload_then_resume(own):
    ecr = own.client("ecr")
    ecr.create_repository(repositoryName="durable/push")
    v2 = V2.login(own, ecr)
    data = bytes(range(256)) * (6 * CHUNK // 256)
    location = v2.request("POST", "/v2/durable/push/blobs/uploads/").headers["location"]
    assert v2.request("PATCH", location, data[:CHUNK + 1000]).status == 202
    own.proc.kill()  # no shutdown of any kind
    own.proc.wait()
    own.start()
    status = v2.request("GET", location)
    # What was sealed in whole chunks survived; the client goes on from where it is told.
    assert status.status == 204 and status.headers["range"] == f"0-{CHUNK - 1}"
    assert v2.request("PATCH", location, data[CHUNK:], {"Content-Range": f"{CHUNK}-{len(data) - 1}"}).status == 202
    assert v2.request("PUT", f"{location}?digest={digest(data)}").status == 201
    assert v2.request("GET", f"/v2/durable/push/blobs/{digest(data)}").body == data
    check = cli(own, "fsck")
    assert check.returncode == 0 and "no problems" in check.stdout


def test_fsck_finds_a_damaged_blob(own):
    ecr = own.client("ecr")
    ecr.create_repository(repositoryName="durable/damaged")
    v2 = V2.login(own, ecr)
    d = v2.push_blob("durable/damaged", b"soon to be damaged" * 100)
    path = own.data_dir / "engine" / "images" / "content" / "blobs" / "sha256" / d.split(":")[1]
    original = path.read_bytes()
    path.chmod(0o644)
    path.write_bytes(original[:-5] + bytes(b ^ 0xFF for b in original[-5:]))
    try:
        check = cli(own, "fsck")
        assert check.returncode == 1 and d in check.stderr
    finally:
        path.write_bytes(original)
    assert cli(own, "fsck").returncode == 0


def test_gc_removes_what_no_image_uses_and_spares_a_push_under_way(own):
    ecr = own.client("ecr")
    ecr.create_repository(repositoryName="durable/gc")
    v2 = V2.login(own, ecr)
    image, _ = v2.push_image("durable/gc", "1", [b"kept layer"])
    orphan = v2.push_blob("durable/gc", b"a layer no manifest will ever name")
    blobs = own.data_dir / "engine" / "images" / "content" / "blobs" / "sha256"
    spared = cli(own, "gc")  # the orphan is fresh: it may belong to a push under way
    assert spared.returncode == 0 and (blobs / orphan.split(":")[1]).exists()
    collected = cli(own, "gc", "--grace", "0")
    assert collected.returncode == 0 and f"durable/gc@{orphan}" in collected.stdout
    assert not (blobs / orphan.split(":")[1]).exists()
    assert v2.request("HEAD", f"/v2/durable/gc/blobs/{orphan}").status == 404
    assert v2.request("GET", f"/v2/durable/gc/manifests/{image}").status == 200
    assert v2.request("GET", f"/v2/durable/gc/blobs/{digest(b'kept layer')}").body == b"kept layer"
