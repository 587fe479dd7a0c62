"""The registry core's errors in ECR API terms."""

from contextlib import contextmanager

from cloudlet.edge.errors import AWSError
from cloudlet.registry import RegistryError

_CODES = {
    "NAME_UNKNOWN": "RepositoryNotFoundException",
    "MANIFEST_UNKNOWN": "ImageNotFoundException",
    "BLOB_UNKNOWN": "LayersNotFoundException",
    "MANIFEST_BLOB_UNKNOWN": "LayersNotFoundException",
    "BLOB_UPLOAD_UNKNOWN": "UploadNotFoundException",
    "DIGEST_INVALID": "InvalidLayerException",
    "MANIFEST_INVALID": "InvalidParameterException",
    "BLOB_UPLOAD_INVALID": "InvalidLayerPartException",
}


def repository_not_found(name: str, registry_id: str) -> AWSError:
    return AWSError("RepositoryNotFoundException", f"The repository with name '{name}' does not exist in the "
                    f"registry with id '{registry_id}'")


@contextmanager
def as_aws():
    try:
        yield
    except RegistryError as e:
        raise AWSError(e.ecr or _CODES.get(e.code, "InvalidParameterException"), e.message) from None


def id_text(image_id: dict) -> str:
    parts = [f"{k}:'{image_id[k]}'" for k in ("imageDigest", "imageTag") if image_id.get(k)]
    return "{" + ", ".join(parts) + "}"
