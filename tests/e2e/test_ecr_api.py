"""The ECR API through boto3 and the AWS CLI: repositories and their settings, ECR's own
layer upload API, images put, listed, described, fetched and deleted, policies, tags,
authorization tokens, and AWS's errors for the mistakes."""

import base64
import json
import secrets
import time
import urllib.request

import pytest

from tests.e2e.errors import code
from tests.e2e.registry_http import OCI_CONFIG, OCI_MANIFEST, V2, digest


@pytest.fixture
def repo(ecr):
    name = f"api/{secrets.token_hex(4)}"
    ecr.create_repository(repositoryName=name)
    yield name
    ecr.delete_repository(repositoryName=name, force=True)


def upload_layer(ecr, repo: str, data: bytes, part: int = 4) -> str:
    """As clients of ECR's own API do: skip layers the repository has (completing an upload
    of one is LayerAlreadyExistsException), send the others in parts."""
    if ecr.batch_check_layer_availability(repositoryName=repo, layerDigests=[digest(data)])["layers"]:
        return digest(data)
    upload = ecr.initiate_layer_upload(repositoryName=repo)["uploadId"]
    for first in range(0, len(data), part):
        chunk = data[first:first + part]
        reply = ecr.upload_layer_part(repositoryName=repo, uploadId=upload, partFirstByte=first,
                                      partLastByte=first + len(chunk) - 1, layerPartBlob=chunk)
        assert reply["lastByteReceived"] == first + len(chunk) - 1
    return ecr.complete_layer_upload(repositoryName=repo, uploadId=upload, layerDigests=[digest(data)])["layerDigest"]


def manifest(ecr, repo: str, layer: bytes) -> str:
    config = b'{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}'
    doc = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
           "config": {"mediaType": OCI_CONFIG, "digest": upload_layer(ecr, repo, config), "size": len(config)},
           "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                       "digest": upload_layer(ecr, repo, layer), "size": len(layer)}]}
    return json.dumps(doc)


def test_repository_lifecycle_with_the_cli(server):
    name = f"shop/web-{secrets.token_hex(3)}"
    created = json.loads(server.aws("ecr", "create-repository", "--repository-name", name,
                                    "--image-scanning-configuration", "scanOnPush=true",
                                    "--encryption-configuration", "encryptionType=KMS").stdout)["repository"]
    assert created["imageScanningConfiguration"] == {"scanOnPush": True}
    assert created["encryptionConfiguration"]["encryptionType"] == "KMS"
    assert created["repositoryArn"].endswith(f":repository/{name}")
    listed = json.loads(server.aws("ecr", "describe-repositories", "--repository-names", name).stdout)
    assert listed["repositories"] == [created]
    password = server.aws("ecr", "get-login-password").stdout.strip()
    assert V2(server.endpoint, password).request("GET", f"/v2/{name}/tags/list").json()["tags"] == []
    server.aws("ecr", "delete-repository", "--repository-name", name)
    gone = server.aws("ecr", "describe-repositories", "--repository-names", name, check=False)
    assert gone.returncode != 0 and "RepositoryNotFoundException" in gone.stderr


def test_repository_errors(ecr, repo):
    assert code(ecr.create_repository, repositoryName=repo) == "RepositoryAlreadyExistsException"
    assert code(ecr.create_repository, repositoryName="Upper/Case") == "InvalidParameterException"
    assert code(ecr.describe_repositories, repositoryNames=["nope/nope"]) == "RepositoryNotFoundException"
    assert code(ecr.delete_repository, repositoryName="nope/nope") == "RepositoryNotFoundException"
    assert code(ecr.create_repository, repositoryName="x/y",
                encryptionConfiguration={"encryptionType": "AES256", "kmsKey": "k"}) == "InvalidParameterException"
    assert code(ecr.describe_repositories, registryId="000000000000") == "InvalidParameterException"


def test_layers_images_and_their_errors(ecr, repo):
    body = manifest(ecr, repo, b"layer bytes")
    image_digest = digest(body.encode())
    put = ecr.put_image(repositoryName=repo, imageManifest=body, imageTag="1.0")["image"]
    assert put["imageId"] == {"imageDigest": image_digest, "imageTag": "1.0"}
    assert code(ecr.put_image, repositoryName=repo, imageManifest=body, imageTag="1.0") == \
        "ImageAlreadyExistsException"
    assert code(ecr.put_image, repositoryName=repo, imageManifest=body, imageTag="2.0",
                imageDigest=digest(b"x")) == "ImageDigestDoesNotMatchException"
    missing = json.loads(body)
    missing["layers"][0]["digest"] = digest(b"never uploaded")
    assert code(ecr.put_image, repositoryName=repo, imageManifest=json.dumps(missing), imageTag="bad") == \
        "LayersNotFoundException"
    ecr.put_image(repositoryName=repo, imageManifest=body, imageTag="latest")

    details = ecr.describe_images(repositoryName=repo)["imageDetails"]
    assert [(d["imageDigest"], sorted(d["imageTags"]), d["imageSizeInBytes"]) for d in details] == \
        [(image_digest, ["1.0", "latest"], len(b"layer bytes"))]
    assert details[0]["imageManifestMediaType"] == OCI_MANIFEST
    got = ecr.batch_get_image(repositoryName=repo, imageIds=[{"imageTag": "1.0"}, {"imageTag": "nope"}])
    assert got["images"][0]["imageManifest"] == body
    assert [f["failureCode"] for f in got["failures"]] == ["ImageNotFound"]
    assert code(ecr.describe_images, repositoryName=repo, imageIds=[{"imageTag": "nope"}]) == \
        "ImageNotFoundException"

    ecr.put_image_tag_mutability(repositoryName=repo, imageTagMutability="IMMUTABLE")
    other = manifest(ecr, repo, b"other layer")
    assert code(ecr.put_image, repositoryName=repo, imageManifest=other, imageTag="1.0") == \
        "ImageTagAlreadyExistsException"
    ecr.put_image(repositoryName=repo, imageManifest=other)  # untagged is fine
    untagged = ecr.list_images(repositoryName=repo, filter={"tagStatus": "UNTAGGED"})["imageIds"]
    assert untagged == [{"imageDigest": digest(other.encode())}]
    assert code(ecr.delete_repository, repositoryName=repo) == "RepositoryNotEmptyException"

    deleted = ecr.batch_delete_image(repositoryName=repo, imageIds=[{"imageTag": "1.0"}, {"imageTag": "nope"}])
    assert deleted["imageIds"] == [{"imageDigest": image_digest, "imageTag": "1.0"}]
    assert deleted["failures"][0]["failureCode"] == "ImageNotFound"
    assert ecr.list_images(repositoryName=repo, filter={"tagStatus": "TAGGED"})["imageIds"] == \
        [{"imageDigest": image_digest, "imageTag": "latest"}]
    ecr.batch_delete_image(repositoryName=repo, imageIds=[{"imageTag": "latest"}])  # its last tag: the image goes
    assert ecr.list_images(repositoryName=repo)["imageIds"] == [{"imageDigest": digest(other.encode())}]


def test_layer_upload_errors_and_availability(ecr, repo):
    data = b"some layer bytes"
    upload = ecr.initiate_layer_upload(repositoryName=repo)["uploadId"]
    assert code(ecr.upload_layer_part, repositoryName=repo, uploadId=upload, partFirstByte=5, partLastByte=9,
                layerPartBlob=b"12345") == "InvalidLayerPartException"
    assert code(ecr.complete_layer_upload, repositoryName=repo, uploadId=upload,
                layerDigests=[digest(data)]) == "EmptyUploadException"
    ecr.upload_layer_part(repositoryName=repo, uploadId=upload, partFirstByte=0, partLastByte=len(data) - 1,
                          layerPartBlob=data)
    assert code(ecr.complete_layer_upload, repositoryName=repo, uploadId=upload,
                layerDigests=[digest(b"other")]) == "InvalidLayerException"
    assert code(ecr.upload_layer_part, repositoryName=repo, uploadId=upload, partFirstByte=0, partLastByte=0,
                layerPartBlob=b"x") == "UploadNotFoundException"
    checked = ecr.batch_check_layer_availability(repositoryName=repo, layerDigests=[digest(data), "sha256:zz"])
    assert [f["failureCode"] for f in checked["failures"]] == ["MissingLayerDigest", "InvalidLayerDigest"]
    layer = upload_layer(ecr, repo, data)
    again = ecr.initiate_layer_upload(repositoryName=repo)["uploadId"]
    ecr.upload_layer_part(repositoryName=repo, uploadId=again, partFirstByte=0, partLastByte=len(data) - 1,
                          layerPartBlob=data)
    assert code(ecr.complete_layer_upload, repositoryName=repo, uploadId=again, layerDigests=[layer]) == \
        "LayerAlreadyExistsException"
    available = ecr.batch_check_layer_availability(repositoryName=repo, layerDigests=[layer])["layers"]
    assert available == [{"layerDigest": layer, "layerAvailability": "AVAILABLE", "layerSize": len(data)}]
    url = ecr.get_download_url_for_layer(repositoryName=repo, layerDigest=layer)["downloadUrl"]
    with urllib.request.urlopen(url, timeout=10) as r:  # presigned: no credentials needed
        assert r.read() == data
    assert code(ecr.get_download_url_for_layer, repositoryName=repo, layerDigest=digest(b"no")) == \
        "LayersNotFoundException"


def test_policies_tags_and_tokens(ecr, repo):
    assert code(ecr.get_repository_policy, repositoryName=repo) == "RepositoryPolicyNotFoundException"
    policy = json.dumps({"Version": "2012-10-17", "Statement": []})
    ecr.set_repository_policy(repositoryName=repo, policyText=policy)
    assert ecr.get_repository_policy(repositoryName=repo)["policyText"] == policy
    ecr.delete_repository_policy(repositoryName=repo)
    assert code(ecr.set_repository_policy, repositoryName=repo, policyText="{nope") == "InvalidParameterException"
    assert code(ecr.get_lifecycle_policy, repositoryName=repo) == "LifecyclePolicyNotFoundException"

    arn = ecr.describe_repositories(repositoryNames=[repo])["repositories"][0]["repositoryArn"]
    ecr.tag_resource(resourceArn=arn, tags=[{"Key": "team", "Value": "shop"}])
    assert ecr.list_tags_for_resource(resourceArn=arn)["tags"] == [{"Key": "team", "Value": "shop"}]
    ecr.untag_resource(resourceArn=arn, tagKeys=["team"])
    assert ecr.list_tags_for_resource(resourceArn=arn)["tags"] == []

    data = ecr.get_authorization_token()["authorizationData"][0]
    user, _, password = base64.b64decode(data["authorizationToken"]).decode().partition(":")
    assert user == "AWS" and password
    hours = (data["expiresAt"].timestamp() - time.time()) / 3600
    assert 11.9 < hours <= 12
    assert data["proxyEndpoint"].startswith("http://") and ".dkr.ecr.us-east-1." in data["proxyEndpoint"]
