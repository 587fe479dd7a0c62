"""An image that unpacks to more than the host allows (security review, issue 11): a layer
of a gigabyte of zeros in a megabyte of gzip, pushed to ECR and run as a FARGATE task, stops
the task with CannotPullContainerError naming the limit, and leaves no layer directory
and no engine tag behind; an image within the limits runs."""

import hashlib
import json
import tarfile
import zlib

import pytest

from tests.e2e.registry_http import LAYER, OCI_CONFIG, OCI_MANIFEST, V2
from tests.integration.ecs_fixtures import module_cloud, register, run, wait

pytestmark = [pytest.mark.root, pytest.mark.runc, pytest.mark.netns]
cloud = module_cloud("ecs-limits", "10.16.0.0/12")
MiB = 1 << 20
LIMIT = 64 * MiB


def zeros_layer(files: int = 1024) -> tuple[bytes, str]:
    """(gzip layer, DiffID) of files of a MiB of zeros each, written as a stream: the tar's
    gigabyte never sits in memory."""
    gz, tar_hash = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS), hashlib.sha256()
    out, zeros = [], bytes(MiB)

    def emit(data: bytes) -> None:
        tar_hash.update(data)
        out.append(gz.compress(data))

    for i in range(files):
        info = tarfile.TarInfo(f"zeros/{i:04}")
        info.size = MiB
        emit(info.tobuf(tarfile.PAX_FORMAT))
        emit(zeros)
    emit(bytes(1024))  # the end-of-archive blocks
    out.append(gz.flush())
    return b"".join(out), "sha256:" + tar_hash.hexdigest()


@pytest.fixture(scope="module")
def limited(cloud):
    limits = cloud.data_dir / "engine/images/limits.json"
    limits.write_text(json.dumps({"max_bytes": LIMIT, "max_files": 100_000}))
    yield cloud
    limits.unlink()


def bomb_image(cloud, repo: str) -> str:
    """busybox's image, pushed by the CLI, with the zeros layer on top, pushed over /v2/."""
    cloud.home_.cli("push", "busybox", f"{repo}:base")
    v2 = V2.login(cloud, cloud.client("ecr"))
    base = v2.request("GET", f"/v2/{repo}/manifests/base", headers={"Accept": OCI_MANIFEST}).json()
    config = json.loads(v2.request("GET", f"/v2/{repo}/blobs/{base['config']['digest']}").body)
    layer, diff_id = zeros_layer()
    assert len(layer) < 2 * MiB  # a gigabyte unpacked
    config["rootfs"]["diff_ids"].append(diff_id)
    config_bytes = json.dumps(config).encode()
    manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                "config": {"mediaType": OCI_CONFIG, "digest": v2.push_blob(repo, config_bytes),
                           "size": len(config_bytes)},
                "layers": base["layers"] + [{"mediaType": LAYER, "digest": v2.push_blob(repo, layer),
                                             "size": len(layer)}]}
    reply = v2.request("PUT", f"/v2/{repo}/manifests/bomb", json.dumps(manifest).encode(),
                       {"Content-Type": OCI_MANIFEST})
    assert reply.status == 201, reply.body
    return diff_id


def test_a_layer_past_the_limit_stops_the_task_and_leaves_nothing(limited):
    ecr = limited.client("ecr")
    uri = ecr.create_repository(repositoryName="limits/bomb")["repository"]["repositoryUri"]
    diff_id = bomb_image(limited, "limits/bomb")
    layers = limited.data_dir / "engine/images/layers/sha256"
    before = {p.name for p in layers.iterdir()}

    arn = run(limited, register(limited, "bomb", {"name": "bomb", "image": f"{uri}:bomb",
                                                  "command": ["sh", "-c", "exit 0"]}))
    stopped = wait(limited, arn, "STOPPED", timeout=120)
    assert stopped["stopCode"] == "TaskFailedToStart"
    reason = stopped["stoppedReason"]
    assert reason.startswith(f"CannotPullContainerError: {uri}:bomb: the image unpacks to more than "
                             f"{LIMIT} bytes"), reason
    assert "max_bytes" in reason and "limits.json" in reason
    # Neither the zeros nor busybox's layers under them, nor a half-unpacked directory.
    assert {p.name for p in layers.iterdir()} == before and diff_id.split(":")[1] not in before
    assert not [ref for ref in limited.home_.engine().images.tags() if "limits/bomb" in ref]

    fits = run(limited, register(limited, "fits", {"name": "fits", "image": f"{uri}:base",
                                                   "command": ["sh", "-c", "exit 0"]}))
    done = wait(limited, fits, "STOPPED", timeout=120)
    assert done["containers"][0]["exitCode"] == 0, done
