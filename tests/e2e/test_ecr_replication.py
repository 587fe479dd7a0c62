"""ECR replication through boto3 and the /v2/ API: images pushed to repositories a rule picks
land, with their tags, in other regions and in other accounts that allow it, and are pulled
there byte for byte; DescribeImageReplicationStatus says how each went."""

import json

import pytest

from tests.e2e.errors import code
from tests.e2e.registry_http import OCI_INDEX, OCI_MANIFEST, V2, digest
from tests.e2e.server import module_server

# a registry's replication rules reach every push of its account: a server of its own
server = module_server("ecr-replication")
WEST, EU = "us-west-2", "eu-west-1"


@pytest.fixture(scope="module")
def account(ecr):
    return ecr.describe_registry()["registryId"]


@pytest.fixture(scope="module")
def other(server):
    key, secret = server.new_account("ecr-replication-other")
    return {region: server.client("ecr", region, key=key, secret=secret) for region in ("us-east-1", WEST, EU)}


def v2_in(server, client, region: str) -> V2:
    account = client.describe_registry()["registryId"]
    return V2.login(server, client, host=f"{account}.dkr.ecr.{region}.localhost:{server.port}")


def rules(*destinations: tuple[str, str], prefixes=("prod/",)) -> dict:
    return {"rules": [{"destinations": [{"region": r, "registryId": a} for r, a in destinations],
                       "repositoryFilters": [{"filter": p, "filterType": "PREFIX_MATCH"} for p in prefixes]}]}


def statuses(ecr, repo: str, tag: str) -> list[dict]:
    return ecr.describe_image_replication_status(repositoryName=repo, imageId={"imageTag": tag})[
        "replicationStatuses"]


def pulled(v2: V2, repo: str, tag: str) -> tuple[bytes, list[bytes]]:
    """The manifest and every blob it names, as a client pulls them."""
    reply = v2.request("GET", f"/v2/{repo}/manifests/{tag}", headers={"Accept": OCI_MANIFEST})
    assert reply.status == 200, reply.body
    doc = json.loads(reply.body)
    blobs = []
    for d in (doc["config"], *doc["layers"]):
        blob = v2.request("GET", f"/v2/{repo}/blobs/{d['digest']}")
        assert blob.status == 200 and digest(blob.body) == d["digest"]
        blobs.append(blob.body)
    return reply.body, blobs


def test_a_push_lands_in_the_other_region_with_its_tag(server, ecr, account):
    west = server.client("ecr", WEST)
    ecr.create_repository(repositoryName="prod/web")
    ecr.create_repository(repositoryName="dev/web")
    v2 = V2.login(server, ecr)
    v2.push_image("prod/web", "before", [b"pushed before the rule"])
    ecr.put_replication_configuration(replicationConfiguration=rules((WEST, account)))
    try:
        pushed, manifest = v2.push_image("prod/web", "1", [b"layer one", b"layer two"])
        v2.push_image("dev/web", "1", [b"not picked"])
        assert statuses(ecr, "prod/web", "1") == [{"region": WEST, "registryId": account, "status": "COMPLETE"}]
        # made there with ECR's defaults; only what came after the rule, only what it picks
        [repo] = west.describe_repositories()["repositories"]
        assert repo["repositoryName"] == "prod/web" and repo["imageTagMutability"] == "MUTABLE"
        assert repo["repositoryArn"] == f"arn:aws:ecr:{WEST}:{account}:repository/prod/web"
        [image] = west.describe_images(repositoryName="prod/web")["imageDetails"]
        assert image["imageDigest"] == pushed and image["imageTags"] == ["1"]
        body, blobs = pulled(v2_in(server, west, WEST), "prod/web", "1")
        assert body == manifest and blobs[1:] == [b"layer one", b"layer two"]
        assert statuses(ecr, "prod/web", "before") == [] and statuses(ecr, "dev/web", "1") == []
        # a tag moved to an image there is moved there too; deleting at the source is not replicated
        v2.push_image("prod/web", "latest", [b"layer one", b"layer two"])
        assert {t for i in west.describe_images(repositoryName="prod/web")["imageDetails"]
                for t in i.get("imageTags", [])} == {"1", "latest"}
        ecr.batch_delete_image(repositoryName="prod/web", imageIds=[{"imageDigest": pushed}])
        assert west.describe_images(repositoryName="prod/web")["imageDetails"][0]["imageDigest"] == pushed
    finally:
        ecr.put_replication_configuration(replicationConfiguration={"rules": []})
        for client, name in ((ecr, "prod/web"), (ecr, "dev/web"), (west, "prod/web")):
            client.delete_repository(repositoryName=name, force=True)


def test_another_account_takes_images_only_as_its_registry_policy_allows(server, ecr, account, other):
    theirs = other["us-east-1"].describe_registry()["registryId"]
    ecr.create_repository(repositoryName="prod/shared")
    v2 = V2.login(server, ecr)
    ecr.put_replication_configuration(replicationConfiguration=rules((WEST, theirs)))
    try:
        v2.push_image("prod/shared", "1", [b"refused"])
        [status] = statuses(ecr, "prod/shared", "1")
        assert status["status"] == "FAILED" and "ecr:ReplicateImage" in status["failureCode"]
        assert code(other[WEST].describe_repositories, repositoryNames=["prod/shared"]) == \
            "RepositoryNotFoundException"
        # ReplicateImage alone does not let the repository be made there
        allow = {"Sid": "In", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                 "Action": ["ecr:ReplicateImage"], "Resource": f"arn:aws:ecr:{WEST}:{theirs}:repository/*"}
        other[WEST].put_registry_policy(policyText=json.dumps({"Version": "2012-10-17", "Statement": [allow]}))
        v2.push_image("prod/shared", "2", [b"still refused"])
        [status] = statuses(ecr, "prod/shared", "2")
        assert status["status"] == "FAILED" and "ecr:CreateRepository" in status["failureCode"]
        # a Deny wins over an Allow
        allow["Action"] = "ecr:*"
        deny = {"Effect": "Deny", "Principal": "*", "Action": "ecr:Replicate*", "Resource": "*"}
        other[WEST].put_registry_policy(policyText=json.dumps({"Statement": [allow, deny]}))
        v2.push_image("prod/shared", "3", [b"denied"])
        assert statuses(ecr, "prod/shared", "3")[0]["status"] == "FAILED"
        other[WEST].put_registry_policy(policyText=json.dumps({"Statement": [allow]}))
        pushed, manifest = v2.push_image("prod/shared", "4", [b"allowed"])
        assert statuses(ecr, "prod/shared", "4") == [{"region": WEST, "registryId": theirs, "status": "COMPLETE"}]
        [image] = other[WEST].describe_images(repositoryName="prod/shared")["imageDetails"]
        assert image["imageDigest"] == pushed and image["registryId"] == theirs
        body, blobs = pulled(v2_in(server, other[WEST], WEST), "prod/shared", "4")
        assert body == manifest and blobs[1:] == [b"allowed"]
        # the source's own registry in that region has none of it
        assert code(server.client("ecr", WEST).describe_repositories, repositoryNames=["prod/shared"]) == \
            "RepositoryNotFoundException"
    finally:
        ecr.put_replication_configuration(replicationConfiguration={"rules": []})
        other[WEST].delete_registry_policy()
        ecr.delete_repository(repositoryName="prod/shared", force=True)
        other[WEST].delete_repository(repositoryName="prod/shared", force=True)


def test_an_index_goes_with_its_images_and_replicas_go_no_further(server, ecr, account, other):
    west = server.client("ecr", WEST)
    ecr.create_repository(repositoryName="prod/multi")
    v2 = V2.login(server, ecr)
    # the destination's own rules would send what it gets on again: replication is not transitive
    west.put_replication_configuration(replicationConfiguration=rules((EU, account)))
    ecr.put_replication_configuration(replicationConfiguration=rules((WEST, account)))
    try:
        image, body = v2.push_image("prod/multi", "amd64", [b"an amd64 layer"])
        index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
            {"mediaType": OCI_MANIFEST, "digest": image, "size": len(body),
             "platform": {"architecture": "amd64", "os": "linux"}}] * 3}).encode()
        reply = v2.request("PUT", "/v2/prod/multi/manifests/multi", index, {"Content-Type": OCI_INDEX})
        assert reply.status == 201, reply.body
        assert statuses(ecr, "prod/multi", "multi")[0]["status"] == "COMPLETE"
        there = v2_in(server, west, WEST)
        got = there.request("GET", "/v2/prod/multi/manifests/multi", headers={"Accept": OCI_INDEX})
        assert got.status == 200 and got.body == index
        assert pulled(there, "prod/multi", image)[0] == body
        assert code(server.client("ecr", EU).describe_repositories, repositoryNames=["prod/multi"]) == \
            "RepositoryNotFoundException"
    finally:
        for client in (ecr, west):
            client.put_replication_configuration(replicationConfiguration={"rules": []})
            client.delete_repository(repositoryName="prod/multi", force=True)


def test_an_immutable_destination_keeps_its_tag(server, ecr, account):
    west = server.client("ecr", WEST)
    west.create_repository(repositoryName="prod/pinned", imageTagMutability="IMMUTABLE")
    V2.login(server, west, host=f"{account}.dkr.ecr.{WEST}.localhost:{server.port}").push_image(
        "prod/pinned", "1", [b"the destination's own"])
    ecr.create_repository(repositoryName="prod/pinned")
    ecr.put_replication_configuration(replicationConfiguration=rules((WEST, account)))
    try:
        V2.login(server, ecr).push_image("prod/pinned", "1", [b"the source's"])
        [status] = statuses(ecr, "prod/pinned", "1")
        assert status["status"] == "FAILED" and "immutable" in status["failureCode"]
        [kept] = west.describe_images(repositoryName="prod/pinned")["imageDetails"]
        assert kept["imageTags"] == ["1"]
        assert pulled(v2_in(server, west, WEST), "prod/pinned", "1")[1][1:] == [b"the destination's own"]
    finally:
        ecr.put_replication_configuration(replicationConfiguration={"rules": []})
        for client in (ecr, west):
            client.delete_repository(repositoryName="prod/pinned", force=True)


def test_replication_status_of_what_is_not_there(ecr):
    assert code(ecr.describe_image_replication_status, repositoryName="prod/none",
                imageId={"imageTag": "1"}) == "RepositoryNotFoundException"
    ecr.create_repository(repositoryName="prod/empty")
    try:
        assert code(ecr.describe_image_replication_status, repositoryName="prod/empty",
                    imageId={"imageTag": "1"}) == "ImageNotFoundException"
        assert code(ecr.describe_image_replication_status, repositoryName="prod/empty", imageId={}) == \
            "InvalidParameterException"
    finally:
        ecr.delete_repository(repositoryName="prod/empty")
